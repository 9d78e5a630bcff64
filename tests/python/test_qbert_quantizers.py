"""Low-bit group-wise quantizers (pyibert/qbert): codes in range, sub-scales integers, MSE clipping
no worse than absmax, GPTQ no worse than nearest on the layer output, embeddings one scale per row."""
from __future__ import annotations

import numpy as np
import pytest

from pyibert.qbert.groupwise import SUB_SCALE_MAX, code_range, quantize_embedding, quantize_nearest
from pyibert.qbert.gptq import quantize_gptq, second_moment


def _weights(rows=24, cols=128, seed=0):
    rng = np.random.default_rng(seed)
    # Heavy-tailed like trained weights, with per-row and per-column magnitude differences.
    return rng.standard_t(4, size=(rows, cols)) * rng.uniform(0.2, 2.0, (rows, 1)) * rng.uniform(0.5, 1.5, cols)


@pytest.mark.parametrize("bits", [2, 3, 4, 6, 8])
@pytest.mark.parametrize("group_size", [0, 32, 64])
def test_codes_and_sub_scales_are_in_range(bits, group_size):
    w = _weights()
    q = quantize_nearest(w, bits, group_size)
    lo, hi = code_range(bits)
    assert q.codes.dtype == np.int8 and q.codes.min() >= lo and q.codes.max() <= hi
    assert q.sub_scale.shape == (24, 128 // group_size if group_size else 1)
    assert q.sub_scale.min() >= 1 and q.sub_scale.max() <= SUB_SCALE_MAX
    assert q.dequantize().shape == w.shape


def _absmax_error(w, bits):
    _, hi = code_range(bits)
    scale = np.abs(w).max(axis=1, keepdims=True) / hi
    return ((np.clip(np.rint(w / scale), -hi - 1, hi) * scale - w) ** 2).sum()


@pytest.mark.parametrize("bits", [2, 3, 4])
def test_searched_clipping_beats_absmax(bits):
    w = _weights()
    err = ((quantize_nearest(w, bits, 0).dequantize() - w) ** 2).sum()
    assert err < _absmax_error(w, bits)


@pytest.mark.parametrize("bits", [3, 4])
def test_groups_lower_the_error(bits):
    w = _weights()
    errors = [((quantize_nearest(w, bits, g).dequantize() - w) ** 2).sum() for g in (0, 64, 32)]
    assert errors[0] > errors[1] > errors[2]


def test_error_falls_with_width():
    w = _weights()
    errors = [((quantize_nearest(w, b, 32).dequantize() - w) ** 2).sum() for b in (2, 3, 4, 6, 8)]
    assert all(a > b for a, b in zip(errors, errors[1:]))


def test_zero_row_and_group_quantize_to_zero():
    w = _weights()
    w[3] = 0.0
    w[5, 32:64] = 0.0
    q = quantize_nearest(w, 4, 32)
    assert not q.codes[3].any() and not q.codes[5, 32:64].any()


def test_group_size_must_divide_inputs():
    with pytest.raises(ValueError, match="does not divide"):
        quantize_nearest(_weights(), 4, 48)


@pytest.mark.parametrize("bits,group_size", [(2, 0), (3, 32), (4, 64), (4, 0), (6, 32)])
def test_gptq_lowers_output_error_on_correlated_inputs(bits, group_size):
    rng = np.random.default_rng(1)
    w = _weights()
    # Correlated inputs, as layer activations are: GPTQ's compensation only helps when H is not diagonal.
    x = rng.standard_normal((512, 16)) @ rng.standard_normal((16, 128)) + 0.1 * rng.standard_normal((512, 128))
    h = second_moment(x)
    nearest = quantize_nearest(w, bits, group_size).dequantize()
    gptq = quantize_gptq(w, h, bits, group_size)
    lo, hi = code_range(bits)
    assert gptq.codes.min() >= lo and gptq.codes.max() <= hi
    out_error = lambda wq: ((x @ (wq - w).T) ** 2).sum()  # noqa: E731
    assert out_error(gptq.dequantize()) < 0.9 * out_error(nearest)


def test_gptq_ignores_dead_inputs():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((256, 64))
    x[:, 7] = 0.0
    q = quantize_gptq(_weights(cols=64), second_moment(x), 4, 32)
    assert not q.codes[:, 7].any()


def test_embedding_rows_have_their_own_scales():
    rng = np.random.default_rng(3)
    table = rng.standard_normal((50, 64)) * np.geomspace(0.01, 10, 50)[:, None]
    q = quantize_embedding(table, 4)
    assert q.sub_scale.shape == (50, 1) and np.all(q.sub_scale == 1)
    rel = np.abs(q.dequantize() - table).max(axis=1) / np.abs(table).max(axis=1)
    assert rel.max() < 0.2     # a per-table scale would zero out the small rows entirely
