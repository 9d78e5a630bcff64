"""Bit packing of 2/3/4/6-bit codes: exact round trip on every width and awkward lengths, the
documented SIMD layout, and errors for codes or buffers that do not fit."""
from __future__ import annotations

import numpy as np
import pytest

from pyibert.qbert.packing import CHUNK, pack_codes, packed_row_bytes, unpack_codes


@pytest.mark.parametrize("bits", [2, 3, 4, 6])
@pytest.mark.parametrize("columns", [1, 31, 128, 129, 384, 1536])
def test_round_trip_random_and_extreme(bits, columns):
    rng = np.random.default_rng(columns * 10 + bits)
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    codes = rng.integers(lo, hi + 1, size=(7, columns)).astype(np.int8)
    codes[0], codes[1] = lo, hi
    packed = pack_codes(codes, bits)
    assert packed.dtype == np.uint8 and packed.shape == (7, packed_row_bytes(columns, bits))
    np.testing.assert_array_equal(unpack_codes(packed, bits, columns), codes)


def test_row_bytes():
    assert packed_row_bytes(384, 4) == 192
    assert packed_row_bytes(384, 3) == 144
    assert packed_row_bytes(384, 2) == 96
    assert packed_row_bytes(384, 6) == 288
    assert packed_row_bytes(100, 4) == CHUNK // 2


def test_layout_16_consecutive_codes_per_field():
    # 4 bits: byte i = code i (low nibble) | code i+16 (high nibble), offset by 8.
    codes = (np.arange(128) % 16 - 8).astype(np.int8)[None]
    codes[0, 16:32] = np.arange(16) - 8
    codes[0, 16:32] = codes[0, 16:32][::-1]
    packed = pack_codes(codes, 4)[0]
    np.testing.assert_array_equal(packed[:16] & 15, codes[0, :16] + 8)
    np.testing.assert_array_equal(packed[:16] >> 4, codes[0, 16:32] + 8)
    # 3 bits: the 2-bit plane's 32 bytes come first, then the 1-bit plane's 16: byte i bit j = code 16j+i's bit 2.
    codes3 = np.random.default_rng(0).integers(-4, 4, size=(1, 128)).astype(np.int8)
    packed3 = pack_codes(codes3, 3)[0]
    unsigned = codes3[0].astype(int) + 4
    for j in range(8):
        np.testing.assert_array_equal((packed3[32:48] >> j) & 1, unsigned[16 * j:16 * j + 16] >> 2)
    np.testing.assert_array_equal(packed3[:16] & 3, unsigned[:16] & 3)


def test_out_of_range_codes_and_bad_buffers_are_refused():
    with pytest.raises(ValueError, match="outside"):
        pack_codes(np.full((1, 8), 2, dtype=np.int8), 2)
    with pytest.raises(ValueError, match="packed widths"):
        pack_codes(np.zeros((1, 8), dtype=np.int8), 5)
    with pytest.raises(ValueError, match="uint8 bytes"):
        unpack_codes(np.zeros((1, 10), dtype=np.uint8), 4, 128)
