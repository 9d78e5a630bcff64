"""GPTQ rounding of int8 weight rows (convert/weights.py, the converter's default for int8 layers): the
scales of rounding to nearest, codes in ±127, a lower layer-output error on inputs it was not fitted on,
and in a converted file only the weight codes change; hidden-state and fill-mask files round to nearest."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
from tiny_checkpoint import make_checkpoint, sst2_sentences  # noqa: E402

from pyibert.convert import convert_checkpoint  # noqa: E402
from pyibert.convert.lowbit import LowBitPlan  # noqa: E402
from pyibert.convert.weights import quantize_rows  # noqa: E402
from pyibert.golden.model_file import read_model_file  # noqa: E402
from pyibert.qbert.gptq import second_moment  # noqa: E402


def _weights(rows=48, cols=96, seed=0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    # heavy-tailed like trained weights, rows and columns of different magnitudes
    w = rng.standard_t(4, size=(rows, cols)) * rng.uniform(0.2, 2.0, (rows, 1)) * rng.uniform(0.5, 1.5, cols)
    return torch.from_numpy(w)


def _correlated_inputs(rows: int, cols: int, seed: int) -> np.ndarray:
    """Inputs from one distribution (a fixed mixing of few factors, as layer activations are), drawn anew
    with each seed."""
    mixing = np.random.default_rng(100).standard_normal((12, cols))
    rng = np.random.default_rng(seed)
    return rng.standard_normal((rows, 12)) @ mixing + 0.2 * rng.standard_normal((rows, cols))


def test_gptq_keeps_the_scales_and_lowers_the_error_on_unseen_inputs():
    w = _weights()
    near_codes, near_scale = quantize_rows(w, hf_ibert=False)
    codes, scale = quantize_rows(w, hf_ibert=False, hessian=second_moment(_correlated_inputs(2000, 96, seed=1)))
    np.testing.assert_array_equal(scale, near_scale)   # the bias and rescales stay those of nearest
    assert codes.dtype == np.int8 and np.abs(codes.astype(int)).max() <= 127
    assert np.mean(codes != near_codes) > 0.05
    held_out = _correlated_inputs(2000, 96, seed=2)
    w64 = w.numpy()
    error = lambda c: float(((held_out @ (c * scale[:, None] - w64).T) ** 2).sum())  # noqa: E731
    # measured: 0.09 of nearest's squared output error
    assert error(codes) < 0.3 * error(near_codes)


def test_gptq_with_uncorrelated_inputs_is_rounding_to_nearest():
    """A diagonal H has nothing to compensate through: every code is the nearest one."""
    w = _weights()
    hessian = np.diag(np.random.default_rng(3).uniform(0.5, 2.0, 96))
    np.testing.assert_array_equal(quantize_rows(w, hf_ibert=False, hessian=hessian)[0],
                                  quantize_rows(w, hf_ibert=False)[0])


def test_hf_ibert_weights_are_never_gptq_rounded():
    with pytest.raises(ValueError, match="HF's rule"):
        quantize_rows(_weights(), hf_ibert=True, hessian=np.eye(96))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    root = tmp_path_factory.mktemp("gptq")
    sentences = sst2_sentences(300)
    calibration = root / "calibration.tsv"
    calibration.write_text("sentence\n" + "".join(f"{s}\n" for s in sentences[:64]))
    return make_checkpoint(root / "bert", "BertForSequenceClassification", sentences), calibration


def test_default_conversion_gptq_rounds_the_int8_layers_and_changes_only_their_codes(tmp_path, checkpoint):
    src, calibration = checkpoint
    auto = convert_checkpoint(src, tmp_path / "auto.ibert", calibration=calibration, progress=False)
    nearest = convert_checkpoint(src, tmp_path / "nearest.ibert", calibration=calibration, progress=False,
                                 plan=LowBitPlan(rounding="nearest"))
    assert auto.rounding == "gptq" and nearest.rounding == "nearest"
    a, b = read_model_file(auto.output).tensors, read_model_file(nearest.output).tensors
    assert a.keys() == b.keys()
    encoder_weights = {name for name in a if name.startswith("blk.") and name.endswith(".weight")}
    assert len(encoder_weights) == 6 * 2   # q, k, v, attn_out, ffn_up, ffn_down in each of 2 layers
    for name in a:
        if name in encoder_weights:
            assert np.mean(a[name] != b[name]) > 0.01, name
        elif name.endswith("ffn_down.bias"):   # it holds −W·z (the GELU zero points): the same before that
            zero = a[name.replace("ffn_down.bias", "ffn_gelu.zero_point")].astype(np.int64)
            weight = name.replace(".bias", ".weight")
            np.testing.assert_array_equal(a[name] + a[weight].astype(np.int64) @ zero,
                                          b[name] + b[weight].astype(np.int64) @ zero, err_msg=name)
        else:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_auto_leaves_low_bit_layers_to_nearest(tmp_path, checkpoint):
    src, calibration = checkpoint
    widths = {"blk.0.ffn_down": 4, "blk.1.ffn_down": 4}
    auto = convert_checkpoint(src, tmp_path / "auto.ibert", calibration=calibration, progress=False,
                              plan=LowBitPlan(widths=widths))
    nearest = convert_checkpoint(src, tmp_path / "nearest.ibert", calibration=calibration, progress=False,
                                 plan=LowBitPlan(widths=widths, rounding="nearest"))
    assert auto.rounding == "gptq on 10 of 12 layers, nearest on the rest"
    low_auto, low_nearest = read_model_file(auto.output).lowbit, read_model_file(nearest.output).lowbit
    for name in widths:
        np.testing.assert_array_equal(low_auto[name].codes, low_nearest[name].codes)


@pytest.mark.parametrize("architecture", ["BertModel", "BertForMaskedLM"])
def test_auto_rounds_hidden_state_and_fill_mask_files_to_nearest(tmp_path, checkpoint, architecture):
    """Hidden-state, sentence-embedding and fill-mask files: GPTQ lost on real embeddings and a real
    masked LM, so "auto" is nearest there, and "gptq" still asks for it."""
    _, calibration = checkpoint
    src = make_checkpoint(tmp_path / "encoder", architecture, sst2_sentences(300))
    auto = convert_checkpoint(src, tmp_path / "auto.ibert", calibration=calibration, progress=False)
    nearest = convert_checkpoint(src, tmp_path / "nearest.ibert", calibration=calibration, progress=False,
                                 plan=LowBitPlan(rounding="nearest"))
    gptq = convert_checkpoint(src, tmp_path / "gptq.ibert", calibration=calibration, progress=False,
                              plan=LowBitPlan(rounding="gptq"))
    assert (auto.rounding, gptq.rounding) == ("nearest", "gptq")
    a, b, c = (read_model_file(s.output).tensors for s in (auto, nearest, gptq))
    assert all(np.array_equal(a[name], b[name]) for name in a)
    assert not np.array_equal(a["blk.0.ffn_down.weight"], c["blk.0.ffn_down.weight"])
