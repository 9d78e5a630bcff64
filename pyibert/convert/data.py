"""Calibration text: a .txt file (one text per line) or a .tsv file with a header row, whose rows may
be pairs (a second column) for models that read `[CLS] a [SEP] b [SEP]`."""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from ..tsv import read_columns
from .errors import ConversionError


Texts = list[str] | list[tuple[str, str]]   # single texts, or (text, pair) rows


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
