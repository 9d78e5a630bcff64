"""The i-GELU correction folded into FFN down (pyibert/convert/gelu_correction.py): the fit on the real
all-MiniLM-L6-v2's GELU inputs over SST-2 text, its folding into the layer, and where the converter
applies it."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pyibert.convert.architectures import LinearParams, encoder_params  # noqa: E402
from pyibert.convert.calibration import calibrate  # noqa: E402
from pyibert.convert.checkpoint import load_checkpoint  # noqa: E402
from pyibert.convert.errors import ConversionError  # noqa: E402
from pyibert.convert.gelu_correction import (MAX_GAIN_CHANGE, GeluFit, GeluFitter,  # noqa: E402
                                             corrected_down_projection, integer_gelu)
from pyibert.convert.nonlinear import GELU_INPUT_SCALE, gelu_constants  # noqa: E402
from pyibert.convert.quantize import ScaleOptions, quantize  # noqa: E402
from tiny_checkpoint import FFN, HEADS, LAYERS, POSITIONS, make_checkpoint  # noqa: E402


@pytest.fixture(scope="module")
def minilm_gelu_inputs(minilm_dir, sst2_dev_rows) -> list[torch.Tensor]:
    """Layer 2's GELU inputs on 96 SST-2 dev sentences, [tokens, 1536] per text, padding left out."""
    from transformers import AutoTokenizer, BertModel

    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    model = BertModel.from_pretrained(minilm_dir).eval()
    captured = []
    handle = model.encoder.layer[2].intermediate.dense.register_forward_hook(
        lambda module, args, output: captured.append(output[0]))
    try:
        with torch.inference_mode():
            for text, _ in sst2_dev_rows[:96]:
                model(**tokenizer(text, return_tensors="pt"))
    finally:
        handle.remove()
    return captured


@pytest.mark.parametrize("form, bound, least", [("erf2", 0.0182, 0.008), ("erf3", 0.0028, 0.001)])
def test_integer_gelu_is_the_erf_gelu_within_its_polynomial_error(form, bound, least):
    x = torch.linspace(-6, 6, 4001, dtype=torch.float64)
    error = integer_gelu(x, gelu_constants(form)) - torch.nn.functional.gelu(x).numpy()
    # I-BERT's erf polynomial is off by at most 0.0182 in GELU units, the cubic by 0.0028; the integers'
    # rounding (t to s_g, y's shift, one = ⌊1/σ⌋: about 2^-11 of (1 + erf), times |x|/2 ≤ 3) adds at
    # most 2 · s_g
    assert np.abs(error).max() < bound + 2 * GELU_INPUT_SCALE
    assert least < np.abs(error).max()       # and the error is really there: what the fit corrects
    assert integer_gelu(torch.zeros(1), gelu_constants(form))[0] == 0.0


@pytest.mark.parametrize("form", ["erf2", "erf3"])
def test_the_fit_on_real_activations_cancels_the_mean_error_and_lowers_it_on_other_text(minilm_gelu_inputs, form):
    fitting, held_out = minilm_gelu_inputs[:64], torch.cat(minilm_gelu_inputs[64:])
    constants = gelu_constants(form)
    fitter = GeluFitter(constants)
    for rows in fitting:
        fitter.add("blk.2.gelu", rows)
    fit = fitter.fits()["blk.2.gelu"]
    assert fit.gain.shape == fit.offset.shape == (1536,)
    assert np.all(np.abs(fit.gain - 1.0) <= MAX_GAIN_CHANGE)

    def errors(rows: torch.Tensor, gain, offset) -> np.ndarray:
        return gain * integer_gelu(rows, constants) + offset - torch.nn.functional.gelu(rows.double()).numpy()

    seen = torch.cat(fitting)
    raw, fitted = errors(seen, 1.0, 0.0), errors(seen, fit.gain, fit.offset)
    # least squares with an offset: no mean error left on the sample, and never more squared error
    assert np.abs(fitted.mean(axis=0)).max() < 1e-9
    assert np.all((fitted**2).mean(axis=0) <= (raw**2).mean(axis=0) * (1 + 1e-12))
    # the mean error per channel is i-GELU's systematic part: on other sentences the fit removes most of it
    raw, fitted = errors(held_out, 1.0, 0.0), errors(held_out, fit.gain, fit.offset)
    assert np.abs(fitted.mean(axis=0)).mean() < 0.5 * np.abs(raw.mean(axis=0)).mean()
    assert (fitted**2).mean() < (raw**2).mean()


def test_the_fit_is_folded_into_the_layer_exactly():
    rng = np.random.default_rng(0)
    weight, bias = torch.from_numpy(rng.normal(size=(6, 10))), torch.from_numpy(rng.normal(size=6))
    fit = GeluFit(gain=rng.uniform(0.9, 1.1, 10), offset=rng.normal(scale=0.01, size=10), form="erf3")
    folded = corrected_down_projection(LinearParams(weight, bias), fit)
    i = rng.normal(size=(4, 10))
    expected = (fit.gain * i + fit.offset) @ weight.numpy().T + bias.numpy()
    got = i @ folded.weight.numpy().T + folded.bias.numpy()
    assert np.allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_calibration_fits_every_layer_and_the_converter_folds_it_into_ffn_down(tmp_path, sst2_dev_rows):
    texts = [text for text, _ in sst2_dev_rows[:40]]
    src = make_checkpoint(tmp_path, "BertForSequenceClassification", texts)
    checkpoint = load_checkpoint(src)
    from pyibert.convert.pipeline import _load_tokenizer
    from pyibert.convert.range_search import choose_ranges

    stats = calibrate(checkpoint, _load_tokenizer(src), texts, POSITIONS, src / "texts.txt", progress=False)
    ranges = choose_ranges(stats)
    assert sorted(ranges.gelu_fit) == [f"blk.{l}.gelu" for l in range(LAYERS)]
    assert all(ranges.gelu_fit[f"blk.{l}.gelu"].offset.shape == (FFN,) for l in range(LAYERS))
    params = encoder_params(checkpoint.model, checkpoint.arch)
    corrected = quantize(params, ranges, HEADS, hf_ibert=False)
    plain = quantize(params, ranges, HEADS, hf_ibert=False, options=ScaleOptions(gelu_correction=False))
    differs = [name for name in corrected.tensors if not np.array_equal(corrected.tensors[name], plain.tensors[name])]
    assert differs and all(".ffn_down." in name for name in differs), differs
    # calibration fits the converter's GELU, erf3; a file of the other form would get the wrong correction
    assert {fit.form for fit in ranges.gelu_fit.values()} == {"erf3"}
    with pytest.raises(ConversionError, match="the GELU fit was made on erf3, the file's GELU is erf2"):
        quantize(params, ranges, HEADS, hf_ibert=False, options=ScaleOptions(gelu_form="erf2"))
