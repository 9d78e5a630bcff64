"""Calibration text: a .txt file (one text per line) or a .tsv file with a header row, whose rows may
be pairs (a second column) for models that read `[CLS] a [SEP] b [SEP]`; which of its texts calibration
takes, and a CalibrationWarning when they look too few or unlike the rest of the file."""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import NamedTuple

from ..tsv import read_columns
from .errors import CalibrationWarning, ConversionError


Texts = list[str] | list[tuple[str, str]]   # single texts, or (text, pair) rows

# Below this many tokens the converter warns (when the budget asked for more): on the masked LM of the
# README's "Fill-mask", 3,168 and 6,493 calibration tokens gave 80.9% and 82.1% top-1 agreement, 10,736
# and more 84.3 to 86.3%.
FEW_CALIBRATION_TOKENS = 8192
# When the budget takes at least this many texts and leaves at least as many, and the mean lengths of
# the two parts differ by more than this factor, the converter asks whether the file is sorted by length
# (for random order, 32 texts put the factor's odds far below one in a thousand even for SST-2 phrases).
_TEXTS_TO_COMPARE, _LENGTH_FACTOR = 32, 2.0


class CalibrationLimits(NamedTuple):
    """How much of a calibration file is used: its first texts, at most `max_texts` of them (None: no
    cap) and no more than hold `tokens` tokens (--max-calibration, --calibration-tokens)."""
    max_texts: int | None
    tokens: int


def read_calibration_texts(path: Path, text_column: str = "sentence", limit: int | None = None,
                           what: str = "calibration file", pair_column: str | None = None) -> Texts:
    """The first `limit` non-empty texts of `path`, or with `pair_column` the (text, pair) rows whose
    text is not empty; `what` names the file in error messages."""
    path = Path(path)
    if not path.is_file():
        raise ConversionError(f"{what} {path} not found")
    suffix = path.suffix.lower()
    if pair_column is not None:
        if suffix != ".tsv":
            raise ConversionError(f"{what} {path}: pairs (--pair-column) need a .tsv file with a header row")
        rows = _rows_with_text(path, [text_column, pair_column], limit, what,
                               " (--text-column and --pair-column pick the columns)")
        return _texts_of(rows, pairs=True)
    if suffix == ".txt":
        texts = path.read_text(encoding="utf-8").splitlines()
    elif suffix == ".tsv":
        try:
            texts = [row[0] for row in read_columns(path, [text_column])]
        except ValueError as error:   # no such column (the message lists them), ragged rows, empty file
            raise ConversionError(f"{what} {error} (--text-column picks the text column)") from None
    else:
        raise ConversionError(f"{what} {path} must be .txt (one text per line) or .tsv "
                              "(a header row; the text column is chosen with --text-column)")
    texts = [t.strip() for t in texts if t.strip()]
    if not texts:
        raise ConversionError(f"{what} {path} has no text")
    return texts[:limit] if limit is not None else texts


def read_labelled_texts(path: Path, text_column: str, label_column: str, limit: int | None = None,
                        what: str = "calibration file", pair_column: str | None = None) -> tuple[Texts, list[str]]:
    """The first `limit` rows of the .tsv file `path` whose text is not empty, as texts (or (text, pair)
    rows) and their labels, read together so that a skipped row skips its label too."""
    path = Path(path)
    if path.suffix.lower() != ".tsv":
        raise ConversionError(f"--label-column needs a .tsv {what}, not {path}")
    columns = [text_column] + ([pair_column] if pair_column else []) + [label_column]
    rows = _rows_with_text(path, columns, limit, what)
    return _texts_of(rows, pairs=pair_column is not None), [row[-1] for row in rows]


def _rows_with_text(path: Path, columns: list[str], limit: int | None, what: str, hint: str = "") -> list[tuple]:
    """The first `limit` rows of `columns` of the .tsv file whose first column is not empty."""
    try:
        rows = [row for row in read_columns(path, columns) if row[0].strip()][:limit]
    except ValueError as error:   # no such column (the message lists them), ragged rows, empty file
        raise ConversionError(f"{what} {error}{hint}") from None
    if not rows:
        raise ConversionError(f"{what} {path} has no text")
    return rows


def _texts_of(rows: list[tuple], pairs: bool) -> Texts:
    return [(row[0].strip(), row[1].strip()) if pairs else row[0].strip() for row in rows]


def encode_texts(tokenizer, texts: Texts, **options):
    """`tokenizer` on single texts, or on pairs as Hugging Face encodes them (token types 0, then 1)."""
    if texts and isinstance(texts[0], tuple):
        return tokenizer([a for a, _ in texts], [b for _, b in texts], **options)
    return tokenizer(texts, **options)


_COUNT_CHUNK = 1024   # texts tokenized at a time while counting toward a token budget


def within_token_budget(tokenizer, texts: Texts, budget: int, max_tokens: int) -> tuple[Texts, int]:
    """The first texts of `texts` that together hold at least `budget` tokens as the model reads them
    (special tokens included, each text cut at `max_tokens`), or all of them if they hold fewer; and
    how many tokens those are. Only as many texts are tokenized as the budget needs."""
    total = 0
    for start in range(0, len(texts), _COUNT_CHUNK):
        chunk = texts[start:start + _COUNT_CHUNK]
        lengths = encode_texts(tokenizer, chunk, truncation=True, max_length=max_tokens)["input_ids"]
        for index, ids in enumerate(lengths):
            total += len(ids)
            if total >= budget:
                return texts[:start + index + 1], total
    return texts, total


def mean_characters(texts: Texts) -> float:
    """The mean length of the texts in characters (a pair's two texts together)."""
    lengths = [len(text) if isinstance(text, str) else len(text[0]) + len(text[1] or "") for text in texts]
    return sum(lengths) / max(len(lengths), 1)


def calibration_texts(tokenizer, calibration: Path, text_column: str, pair_column: str | None,
                       limits: CalibrationLimits, max_tokens: int) -> Texts:
    """The calibration file's first texts, as far as `limits` allow; a CalibrationWarning if they hold
    fewer than FEW_CALIBRATION_TOKENS tokens where the budget asked for more, or look unlike the rest."""
    texts = read_calibration_texts(calibration, text_column, limits.max_texts, pair_column=pair_column)
    chosen, tokens = within_token_budget(tokenizer, texts, limits.tokens, max_tokens)
    if tokens < min(limits.tokens, FEW_CALIBRATION_TOKENS):
        cut = f" (--max-calibration {limits.max_texts})" if limits.max_texts == len(texts) else ""
        warnings.warn(CalibrationWarning(
            f"calibration ran on {len(chosen)} texts{cut}, {tokens} tokens, fewer than the {FEW_CALIBRATION_TOKENS} "
            f"that measure activation ranges well (the budget is {limits.tokens}): values the texts never reached "
            "will saturate on new text. Give --calibration more text like the model's (README, \"Converting a "
            "checkpoint\")."))
    _warn_if_unlike_the_rest(chosen, texts[len(chosen):], calibration)
    return chosen


def _warn_if_unlike_the_rest(chosen: Texts, rest: Texts, calibration: Path) -> None:
    """Calibration takes a file's first texts; in a file sorted by length those are all short (or all
    long), and the ranges then fit texts unlike most the model will see."""
    if min(len(chosen), len(rest)) < _TEXTS_TO_COMPARE:
        return
    first, others = mean_characters(chosen), mean_characters(rest)
    if first * _LENGTH_FACTOR < others or others * _LENGTH_FACTOR < first:
        warnings.warn(CalibrationWarning(
            f"calibration runs on the first {len(chosen)} texts of {calibration.name}, {first:.0f} characters "
            f"long on average, where its other {len(rest)} texts average {others:.0f}: if the file is sorted by "
            "length, shuffle it, so that the ranges are measured on texts like those the model will see."))
