"""Model.tag: token classification, grouped into entities the way transformers' token-classification
pipeline groups them (its `aggregation_strategy`), with character offsets into the text.

Differences from the pipeline, for want of the vocabulary on the device: an entity's "word" is the text
it covers (original casing and spacing) rather than the tokens decoded, and a token continues a word
when it starts where the previous token ended and neither side of that boundary is punctuation
(BERT's pre-tokenizer: words end at white space and punctuation), for WordPiece and BPE alike.
"""
from __future__ import annotations

import unicodedata

import numpy as np

from . import names
from .check import require_task
from .scores import softmax

AGGREGATIONS = ("none", "simple", "first", "average", "max")
IGNORED = ("O",)


def _is_punctuation(char: str) -> bool:
    """BERT's punctuation: ASCII symbols and Unicode category P*."""
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _continues_word(text, start: int, previous_end: int | None) -> bool:
    if previous_end is None or start != previous_end or start == 0:
        return False
    before, first = text[start - 1:start], text[start:start + 1]
    if isinstance(text, bytes):   # offsets are bytes: decide on the bytes' characters where ASCII
        before, first = before.decode("latin-1"), first.decode("latin-1")
    return not (before.isspace() or _is_punctuation(before) or _is_punctuation(first))


def _split_tag(label: str) -> tuple[str, str]:
    """("B", "PER") for "B-PER", ("I", "PER") for "I-PER", else ("I", label), as the pipeline."""
    if label[:2] in ("B-", "I-"):
        return label[0], label[2:]
    return "I", label


def _token_entities(text, probabilities: np.ndarray, offsets) -> list[dict]:
    """One entry per non-special token: its probabilities, span, and whether it continues a word."""
    tokens, previous_end = [], None
    for row, (start, end) in zip(probabilities, offsets):
        if start == end:   # special tokens (and nothing else) have empty spans
            continue
        tokens.append({"scores": row, "start": start, "end": end,
                       "subword": _continues_word(text, start, previous_end)})
        previous_end = end
    return tokens


def _entity(model, scores: np.ndarray, text, start: int, end: int) -> dict:
    k = int(scores.argmax())
    return {"entity": model.labels[k], "score": float(scores[k]), "word": text[start:end], "start": start,
            "end": end}


def _words(tokens: list[dict]) -> list[list[dict]]:
    words = []
    for token in tokens:
        if token["subword"] and words:
            words[-1].append(token)
        else:
            words.append([token])
    return words


def _word_scores(word: list[dict], aggregation: str) -> np.ndarray:
    if aggregation == "first":
        return word[0]["scores"]
    if aggregation == "max":
        return max(word, key=lambda t: t["scores"].max())["scores"]
    return np.mean([t["scores"] for t in word], axis=0)   # average


def _group(entities: list[dict], text) -> list[dict]:
    """Adjacent entities of one type join unless a B- tag starts a new one; a group's score is the mean."""
    groups: list[list[dict]] = []
    for entity in entities:
        bi, kind = _split_tag(entity["entity"])
        if groups and bi != "B" and _split_tag(groups[-1][-1]["entity"])[1] == kind:
            groups[-1].append(entity)
        else:
            groups.append([entity])
    result = []
    for group in groups:
        start, end = group[0]["start"], group[-1]["end"]
        result.append({"entity": _split_tag(group[0]["entity"])[1],
                       "score": float(np.mean([e["score"] for e in group])),
                       "word": text[start:end], "start": start, "end": end})
    return result


def tag(model, texts, aggregation: str = "simple") -> list[list[dict]]:
    require_task(model, "tag", (names.TOKEN_CLASSIFICATION,))
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {', '.join(AGGREGATIONS)}, not {aggregation!r}")
    if isinstance(texts, (str, bytes)):
        texts = [texts]
    texts = list(texts)
    encoded = model.tokenize(texts, return_offsets=True)
    outputs = model.run_encoded(encoded)
    results = []
    for text, logits, offsets in zip(texts, outputs, encoded["offset_mapping"]):
        probabilities = softmax(logits.astype(np.float64) * model.output_scale, axis=1)
        tokens = _token_entities(text, probabilities, offsets)
        if aggregation in ("none", "simple"):
            entities = [_entity(model, t["scores"], text, t["start"], t["end"]) for t in tokens]
        else:
            entities = [_entity(model, _word_scores(word, aggregation), text, word[0]["start"], word[-1]["end"])
                        for word in _words(tokens)]
        if aggregation != "none":
            entities = _group(entities, text)
        results.append([e for e in entities if e["entity"] not in IGNORED])
    return results
