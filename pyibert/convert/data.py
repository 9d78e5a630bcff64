"""Calibration text: a .txt file (one text per line) or a .tsv file with a header row."""
from __future__ import annotations

from pathlib import Path

from ..tsv import read_columns
from .errors import ConversionError


def read_calibration_texts(path: Path, text_column: str = "sentence", limit: int | None = None,
                           what: str = "calibration file") -> list[str]:
    """The first `limit` non-empty texts of `path`; `what` names the file in error messages."""
    path = Path(path)
    if not path.is_file():
        raise ConversionError(f"{what} {path} not found")
    suffix = path.suffix.lower()
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
