"""Low-bit weights of format version 3 (models/FORMAT.md §3.1, §4.2.1) for the golden model: decoding
and checking a layer's packed codes and sub-scales, and its exact integer accumulator."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..qbert.packing import CHUNK, PLANES, unpack_codes
from .ops import check

GROUP_SIZES = (32, 64, 128)
SUB_SCALE_MAX = 63
ACC_LIMIT = 2**31

# The encoder linear layers that may be low-bit (the head's stay int8).
LOWBIT_LINEARS = ("attn_q", "attn_k", "attn_v", "attn_out", "ffn_up", "ffn_down")


class LowBitError(ValueError):
    """A low-bit tensor breaks FORMAT.md §3.1 (model_file turns it into ModelFileError)."""


@dataclass(frozen=True)
class LowBitWeights:
    """codes int8 [N, K]; sub int64 [N, groups]; group_size 0 = one group of K."""
    bits: int
    group_size: int
    codes: np.ndarray
    sub: np.ndarray

    def effective(self) -> np.ndarray:
        """s[n, group(k)] · q[n, k] as float64 [N, K]: each product is an integer of magnitude ≤ 63 · 32."""
        width = self.group_size or self.codes.shape[1]
        return self.codes.astype(np.float64) * np.repeat(self.sub.astype(np.float64), width, axis=1)


def width_of(columns: int, row_bytes: int) -> int | None:
    """The b of §3.1 with ⌈K/128⌉ · 16 · b = row_bytes, or None."""
    per_bit = -(-columns // CHUNK) * CHUNK // 8
    bits, rest = divmod(row_bytes, per_bit)
    return bits if rest == 0 and bits in PLANES else None


def decode_codes(name: str, packed: np.ndarray, columns: int) -> tuple[int, np.ndarray]:
    """(b, int8 codes [rows, columns]) of a packed I8 tensor [rows, R]; the padding must be q = 0."""
    bits = width_of(columns, packed.shape[1])
    if bits is None:
        raise LowBitError(f"tensor {name}: {packed.shape[1]} bytes per row is no width in {sorted(PLANES)} for "
                          f"{columns} codes (⌈K/128⌉ · 16 · b bytes)")
    raw = packed.view(np.uint8)
    padded = -(-columns // CHUNK) * CHUNK
    codes = unpack_codes(raw, bits, padded)
    if np.any(codes[:, columns:]):
        row = int(np.flatnonzero(np.any(codes[:, columns:], axis=1))[0])
        raise LowBitError(f"tensor {name}: row {row} pads its {columns} codes with a code other than 0")
    return bits, codes[:, :columns]


def decode_linear(name: str, qweight: np.ndarray, qsub: np.ndarray, bias: np.ndarray, columns: int
                  ) -> LowBitWeights:
    """The layer `name` (e.g. blk.0.ffn_up) from its .qweight, .qsub and .bias, with every check of §3.1."""
    bits, codes = decode_codes(f"{name}.qweight", qweight, columns)
    groups = qsub.shape[1]
    if groups == 1:
        group_size = 0
    elif columns % groups or columns // groups not in GROUP_SIZES:
        raise LowBitError(f"tensor {name}.qsub: {groups} groups of {columns} inputs is no group size in "
                          f"{GROUP_SIZES}")
    else:
        group_size = columns // groups
    sub = qsub.astype(np.int64)
    if sub.min() < 1 or sub.max() > SUB_SCALE_MAX:
        raise LowBitError(f"tensor {name}.qsub: sub-scales {sub.min()} … {sub.max()} leave 1 … {SUB_SCALE_MAX}")
    if group_size == 0 and sub.max() != 1:
        raise LowBitError(f"tensor {name}.qsub: one group per row (group size 0) needs every sub-scale 1")
    bound = columns * 2 ** (bits - 1) * 128 * sub.max(axis=1) + np.abs(bias.astype(np.int64))
    if bound.max() >= ACC_LIMIT:
        row = int(np.argmax(bound))
        raise LowBitError(f"{name}: row {row} can overflow its accumulator: K · 2^(b−1) · 128 · max s + |bias| = "
                          f"{int(bound[row])} ≥ 2^31 (FORMAT.md §3.1)")
    return LowBitWeights(bits, group_size, codes, sub)


def linear(x: np.ndarray, weights: LowBitWeights, effective: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """§4.2.1: bias[n] + Σ_G s[n, G] · Σ_{k∈G} x[i, k] · q[n, k] (int64 values of int32 range).

    `effective` is weights.effective(): with |x| ≤ 128 every partial sum of the float64 product is an
    integer below K · 128 · 63 · 32 < 2^53, so exact in any order, and equal to the grouped sum."""
    x = np.asarray(x, dtype=np.int64)
    check(x, -128, 127, "low-bit linear input")
    acc = (x.astype(np.float64) @ effective.T).astype(np.int64) + np.asarray(bias, dtype=np.int64)
    check(acc, -(2**31), 2**31 - 1, "low-bit linear accumulator")
    return acc
