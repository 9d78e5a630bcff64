"""Exact packing of b-bit weight codes (b = 2, 3, 4, 6) into bytes, laid out for SIMD unpacking.

Codes q ∈ [−2^(b−1), 2^(b−1) − 1] are stored offset-binary, u = q + 2^(b−1) (unsigned, b bits). Each row
is padded with q = 0 to a multiple of CHUNK = 128 codes and packed chunk by chunk. A width is split into
power-of-two bit planes, low bits first: 2 = [2], 4 = [4], 3 = [2, 1], 6 = [4, 2]. A plane of p bits
packs a chunk as p runs of 16 bytes; in run r, byte i holds, in its bit field j (bits j·p … j·p+p−1),
the plane's bits of code  r·16·(8/p) + j·16 + i.

So one 16-byte load, an AND with the field mask and a shift right by j·p give 16 *consecutive* codes'
bits in 16 byte lanes: exactly the four-by-four consecutive K values one SDOT/SMMLA/VPDPBUSD step
wants, with no shuffle. A 3- or 6-bit code is its low plane OR (high plane << low width). The offset
2^(b−1) can be removed per lane after unpacking, or folded into the accumulator as
−2^(b−1)·Σx over the group. Bytes per row: padded K · b / 8.
"""
from __future__ import annotations

import numpy as np

CHUNK = 128
PLANES = {2: (2,), 3: (2, 1), 4: (4,), 6: (4, 2)}
LANES = 16


def packed_row_bytes(columns: int, bits: int) -> int:
    if bits not in PLANES:
        raise ValueError(f"packed widths are {sorted(PLANES)}, not {bits}")
    return -(-columns // CHUNK) * CHUNK * bits // 8


def _pack_plane(values: np.ndarray, width: int) -> np.ndarray:
    """values [N, chunks, 128] of `width` bits → [N, chunks, width·16] bytes."""
    per_byte = 8 // width
    n, chunks, _ = values.shape
    # [N, chunks, run r, field j, lane i]
    fields = values.reshape(n, chunks, width, per_byte, LANES).astype(np.uint16)
    shifts = (np.arange(per_byte, dtype=np.uint16) * width)[None, None, None, :, None]
    packed = (fields << shifts).sum(axis=3)
    return packed.astype(np.uint8).reshape(n, chunks, width * LANES)


def _unpack_plane(packed: np.ndarray, width: int) -> np.ndarray:
    per_byte = 8 // width
    n, chunks, _ = packed.shape
    runs = packed.reshape(n, chunks, width, 1, LANES)
    shifts = (np.arange(per_byte, dtype=np.uint8) * width)[None, None, None, :, None]
    fields = (runs >> shifts) & np.uint8((1 << width) - 1)
    return fields.reshape(n, chunks, CHUNK)


def pack_codes(codes: np.ndarray, bits: int) -> np.ndarray:
    """int8 codes [N, K] → uint8 [N, packed_row_bytes(K, bits)]."""
    codes = np.asarray(codes)
    n, k = codes.shape
    row_bytes = packed_row_bytes(k, bits)
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    if codes.size and (codes.min() < lo or codes.max() > hi):
        raise ValueError(f"codes outside [{lo}, {hi}] cannot be packed in {bits} bits")
    padded_k = row_bytes * 8 // bits
    unsigned = np.full((n, padded_k), 2 ** (bits - 1), dtype=np.uint8)
    unsigned[:, :k] = codes.astype(np.int16) + 2 ** (bits - 1)
    unsigned = unsigned.reshape(n, padded_k // CHUNK, CHUNK)
    planes, low = [], 0
    for width in PLANES[bits]:
        planes.append(_pack_plane((unsigned >> low) & ((1 << width) - 1), width))
        low += width
    return np.concatenate(planes, axis=2).reshape(n, row_bytes)


def unpack_codes(packed: np.ndarray, bits: int, columns: int) -> np.ndarray:
    """The inverse of pack_codes: uint8 [N, row bytes] → int8 codes [N, columns]."""
    n = packed.shape[0]
    row_bytes = packed_row_bytes(columns, bits)
    if packed.shape != (n, row_bytes) or packed.dtype != np.uint8:
        raise ValueError(f"packed {bits}-bit rows of {columns} codes are {row_bytes} uint8 bytes, "
                         f"got {packed.shape} {packed.dtype}")
    chunks = row_bytes * 8 // bits // CHUNK
    data = packed.reshape(n, chunks, bits * LANES)
    unsigned = np.zeros((n, chunks, CHUNK), dtype=np.int16)
    offset, low = 0, 0
    for width in PLANES[bits]:
        plane = _unpack_plane(data[:, :, offset:offset + width * LANES], width)
        unsigned |= plane.astype(np.int16) << low
        offset += width * LANES
        low += width
    return (unsigned.reshape(n, -1)[:, :columns] - 2 ** (bits - 1)).astype(np.int8)
