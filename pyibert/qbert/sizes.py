"""`--max-size` values and the byte count of a .ibert file for a choice of weight widths."""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .packing import packed_row_bytes

# B, kB, MB, GB are powers of 10; KiB, MiB, GiB powers of 2 (IEC). "KB" is read as kB.
UNITS = {"B": 1, "kB": 10**3, "KB": 10**3, "MB": 10**6, "GB": 10**9,
         "KiB": 2**10, "MiB": 2**20, "GiB": 2**30}
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]+)\s*")

# A tensor added to the file (a sub-scale table) costs its GGUF header entry and alignment padding.
TENSOR_OVERHEAD = 128
# Per-row rescale of a word embedding table quantized with one scale per row: int32 multiplier + int32 shift
# (FORMAT.md §3.1: the token_embd rescale [V]).
EMBEDDING_ROW_SCALE_BYTES = 8


def parse_size(text: str) -> int:
    """'12980000B', '12.98MB', '11MiB', '900kB' → bytes (rounded down)."""
    match = _SIZE.fullmatch(text)
    if not match or match.group(2) not in UNITS:
        raise ValueError(f"size {text!r} is not a number followed by one of {', '.join(UNITS)} "
                         "(e.g. 12.98MB, 11MiB, 12980000B)")
    try:
        size = int(Decimal(match.group(1)) * UNITS[match.group(2)])
    except InvalidOperation as error:
        raise ValueError(f"size {text!r}: {error}") from None
    if size <= 0:
        raise ValueError(f"size {text!r} is not positive")
    return size


def format_size(size: int) -> str:
    return f"{size} B ({size / 1e6:.2f} MB, {size / 2**20:.2f} MiB)"


def linear_bytes(rows: int, columns: int, bits: int, group_size: int) -> int:
    """The bytes a [rows, columns] linear weight takes beyond its int8-era fixed parts (bias, rescale):
    8 bits stays int8 with one scale per row; narrower widths are packed, with one uint8 sub-scale per
    group in a tensor of their own (`X.qsub`, one column of them when the row is one group)."""
    if bits == 8:
        return rows * columns
    groups = columns // group_size if group_size else 1
    return rows * packed_row_bytes(columns, bits) + rows * groups + TENSOR_OVERHEAD


def embedding_bytes(rows: int, columns: int, bits: int) -> int:
    """Word embeddings with one scale per row: int8, or packed codes."""
    row_bytes = columns if bits == 8 else packed_row_bytes(columns, bits)
    return rows * row_bytes + rows * EMBEDDING_ROW_SCALE_BYTES + (0 if bits == 8 else TENSOR_OVERHEAD)


@dataclass(frozen=True)
class FileLayout:
    """The bytes of a converted int8 file that do not depend on the widths chosen here: header,
    tokenizer, position/type tables, biases, rescales, norms, classifier. Measured from a real file
    as its size minus its encoder linear weights and word embedding table."""
    fixed_bytes: int

    @classmethod
    def from_ibert(cls, path: str, linear_shapes: list[tuple[int, int]], vocab: int, hidden: int) -> "FileLayout":
        import os
        variable = sum(r * c for r, c in linear_shapes) + embedding_bytes(vocab, hidden, 8)
        return cls(os.path.getsize(path) - variable)
