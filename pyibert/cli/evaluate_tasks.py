"""`pyibert eval` for the task heads other than single-text classification: the measure each task is
judged by, on a TSV file with a header row (standard library and numpy only: it runs on the device).

- sequence-classification with --pair-column: accuracy on (text, pair, label) rows;
- regression: Spearman rank correlation of the scores with the label column (text, [pair,] label);
- token-classification: token-level F1 of the non-"O" tags, columns `sentence` and `tags` (one tag per
  white-space-separated word of the sentence; a word's tag is its first token's);
- question-answering: exact match and F1 of the answers (SQuAD's normalization), columns `question`,
  `context`, `answer`;
- multiple-choice: accuracy, columns `prompt`, `choices` (separated by " | ") and `label` (the index).
"""
from __future__ import annotations

import re
import string
from collections import Counter
from pathlib import Path

import numpy as np

from ..tasks import names
from ..tsv import label_ids, read_columns


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1 … n, ties given their mean rank (as Spearman's ρ wants)."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    for value in np.unique(values):
        tied = values == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def spearman(a, b) -> float:
    return float(np.corrcoef(_ranks(np.asarray(a, float)), _ranks(np.asarray(b, float)))[0, 1])


def _normalize_answer(text: str) -> list[str]:
    """SQuAD's: lower case, no punctuation, no articles, single spaces; as words."""
    text = "".join(c for c in text.lower() if c not in string.punctuation)
    return re.sub(r"\b(a|an|the)\b", " ", text).split()


def answer_f1(predicted: str, truth: str) -> float:
    p, t = _normalize_answer(predicted), _normalize_answer(truth)
    common = sum((Counter(p) & Counter(t)).values())
    if not p or not t:
        return float(p == t)
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(t)
    return 2 * precision * recall / (precision + recall)


def _word_tags(model, sentence: str) -> list[str]:
    """The tag of each white-space word: its first token's (aggregation "first" without grouping)."""
    entities = model.tag(sentence, aggregation="none")[0]
    tags, at = [], 0
    for word in sentence.split():
        start = sentence.index(word, at)
        at = start + len(word)
        first = next((e for e in entities if start <= e["start"] < at), None)
        tags.append(first["entity"] if first else "O")
    return tags


def evaluate_task(model, args) -> dict:
    data = Path(args.data)

    def rows(columns):
        found = read_columns(data, columns)
        return found[: args.limit] if args.limit is not None else found

    if model.task in (names.SEQUENCE_CLASSIFICATION, names.REGRESSION):
        columns = [args.text_column] + ([args.pair_column] if args.pair_column else []) + [args.label_column]
        found = rows(columns)
        texts = [r[0] for r in found]
        pairs = [r[1] for r in found] if args.pair_column else None
        if model.task == names.REGRESSION:
            scores = [r["score"] for r in model.classify(texts, pairs)]
            return {"n": len(found), "spearman": spearman(scores, [float(r[-1]) for r in found])}
        truth = np.array(label_ids([r[-1] for r in found], model.labels))
        predicted = model.logits(texts, pairs).argmax(axis=1)
        return {"n": len(found), "correct": int((predicted == truth).sum()), "accuracy": float((predicted == truth).mean())}
    if model.task == names.TOKEN_CLASSIFICATION:
        found = rows(["sentence", "tags"])
        true_positive = predicted_positive = actual_positive = 0
        for sentence, tags in found:
            gold, ours = tags.split(), _word_tags(model, sentence)
            if len(gold) != len(ours):
                raise ValueError(f"{data}: {len(gold)} tags for the {len(ours)} words of {sentence!r}")
            true_positive += sum(g == o != "O" for g, o in zip(gold, ours))
            predicted_positive += sum(o != "O" for o in ours)
            actual_positive += sum(g != "O" for g in gold)
        precision = true_positive / predicted_positive if predicted_positive else 0.0
        recall = true_positive / actual_positive if actual_positive else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"n": len(found), "precision": precision, "recall": recall, "f1": f1}
    if model.task == names.QUESTION_ANSWERING:
        found = rows(["question", "context", "answer"])
        answers = model.answer([r[0] for r in found], [r[1] for r in found])
        predicted = [a["answer"] if a else "" for a in answers]
        exact = [_normalize_answer(p) == _normalize_answer(r[2]) for p, r in zip(predicted, found)]
        f1 = [answer_f1(p, r[2]) for p, r in zip(predicted, found)]
        return {"n": len(found), "exact_match": float(np.mean(exact)), "f1": float(np.mean(f1))}
    if model.task == names.MULTIPLE_CHOICE:
        found = rows(["prompt", "choices", "label"])
        chosen = model.choose([r[0] for r in found], [r[1].split(" | ") for r in found])
        correct = sum(c["best"] == int(r[2]) for c, r in zip(chosen, found))
        return {"n": len(found), "correct": correct, "accuracy": correct / len(found)}
    raise ValueError(f"{args.model} is a {model.task} model: pyibert eval has no measure for it")
