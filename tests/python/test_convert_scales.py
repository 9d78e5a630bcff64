"""Per-channel int8 scales of layer-norm and GELU outputs (folded into the next linear layer's input
columns), the headless model's common output scale, and the least-error range search.

Tiny random checkpoints: these check the bookkeeping of scales exactly, not accuracy."""
from __future__ import annotations

import math
import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pyibert.convert.activation_points import ActivationRanges  # noqa: E402
from pyibert.convert.architectures import encoder_params  # noqa: E402
from pyibert.convert.checkpoint import load_checkpoint  # noqa: E402
from pyibert.convert.gelu_zero_point import igelu_minimum  # noqa: E402
from pyibert.convert.lowbit import LowBitPlan  # noqa: E402
from pyibert.convert.nonlinear import GELU_INPUT_SCALE  # noqa: E402
from pyibert.convert.quantize import PER_TENSOR, ScaleOptions, quantize  # noqa: E402
from pyibert.convert.range_search import CLIP_RATIOS, mse_clip  # noqa: E402
from test_convert import FFN, HEADS, HIDDEN, LAYERS, make_checkpoint  # noqa: E402


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    from test_convert import _sst2_sentences

    return _sst2_sentences(1500)


def _params(tmp_path_factory, sentences, architecture):
    src = make_checkpoint(tmp_path_factory.mktemp(architecture), architecture, sentences)
    checkpoint = load_checkpoint(src)
    return encoder_params(checkpoint.model, checkpoint.arch)


@pytest.fixture(scope="module")
def classifier(tmp_path_factory, sentences):
    return _params(tmp_path_factory, sentences, "BertForSequenceClassification")


@pytest.fixture(scope="module")
def headless(tmp_path_factory, sentences):
    return _params(tmp_path_factory, sentences, "BertModel")


def _ranges(num_layers: int) -> ActivationRanges:
    """Made-up ranges whose layer-norm and GELU channels spread over a factor of 30, like MiniLM's."""
    rng = np.random.default_rng(1)
    absmax, channels = {"embd_sum": 20.0}, {}
    norm_points = ["embd_norm"]
    for l in range(num_layers):
        b = f"blk.{l}."
        absmax.update({b + "q": 6.0, b + "k": 7.0, b + "v": 3.0, b + "ctx": 2.5, b + "attn_res": 30.0,
                       b + "ffn_res": 40.0})
        norm_points += [b + "attn_norm", b + "ffn_norm"]
        channels[b + "gelu"] = rng.uniform(0.1, 3.0, FFN)
    for point in norm_points:
        channels[point] = rng.uniform(0.3, 9.0, HIDDEN)
    for point, per_channel in channels.items():
        absmax[point] = float(per_channel.max())
    return ActivationRanges(absmax, "test", 0, residual_margin=2.0, channel_absmax=channels)


def _ratio(model, name: str) -> np.ndarray:
    return model.tensors[f"{name}.rq_mult"] / 2.0 ** model.tensors[f"{name}.rq_shift"]


def _norm_output_scale(model, params, name: str) -> np.ndarray:
    """The output scale a layer-norm rescale realizes: m/2^s = γ·√H / (2^30 · s_out) (FORMAT.md §4.5)."""
    gamma = params.weight.double().numpy()
    return gamma * math.sqrt(HIDDEN) / (2.0**30 * _ratio(model, name))


@pytest.mark.parametrize("alpha", [0.5, 1.0])
def test_per_channel_layer_norm_scales_are_folded_into_the_reading_columns(classifier, alpha):
    ranges = _ranges(LAYERS)
    model = quantize(classifier, ranges, HEADS, hf_ibert=False, options=ScaleOptions(norm_alpha=alpha, gelu_alpha=0.0))
    s_x = ranges.channel_scales("embd_norm", alpha)
    assert s_x.shape == (HIDDEN,) and np.ptp(s_x) > 0
    # the layer norm writes channel k at scale s_x[k] ...
    assert np.allclose(_norm_output_scale(model, classifier.embd_norm, "embd_norm"), s_x, rtol=1e-8)
    # ... the residual path rescales each channel on its own ...
    assert np.allclose(_ratio(model, "blk.0.attn_res"), s_x / ranges.scale("blk.0.attn_res"), rtol=1e-8)
    # ... and q's weight columns carry s_x: W_int[n, k] · s_w[n] / s_x[k] is W[n, k] to half a step
    weight = classifier.layers[0].attn_q.weight.double().numpy()
    row_scale = _ratio(model, "blk.0.attn_q") * ranges.scale("blk.0.q")   # bias scale s_w[n] (in_scale folded)
    w_int = model.tensors["blk.0.attn_q.weight"].astype(np.float64)
    step = row_scale[:, None] / s_x[None, :]
    assert np.all(np.abs(w_int * step - weight) <= step / 2 * (1 + 1e-9))
    # Before rounding, the folded layer is the float one: (x / s_x) · (W · s_x)ᵀ = x · Wᵀ
    x = np.random.default_rng(0).normal(size=(5, HIDDEN))
    folded = weight * s_x[None, :]
    assert np.allclose((x / s_x) @ folded.T, x @ weight.T, rtol=1e-12, atol=1e-12)
    # every linear layer reading a layer norm has its columns scaled, so its rows peak at 127 in |W·s|
    for name, point in (("blk.0.ffn_up", "blk.0.attn_norm"), ("blk.1.attn_v", "blk.0.ffn_norm"),
                        ("cls_dense", f"blk.{LAYERS - 1}.ffn_norm")):
        assert np.all(np.abs(model.tensors[f"{name}.weight"]).max(axis=1) == 127), name


def test_gelu_outputs_span_igelus_minimum_to_each_channels_maximum_with_a_zero_point(classifier):
    """Format version 6: the 256 codes of channel f cover [i-GELU's minimum, its maximum] (a channel
    narrower than the dip keeps ± its maximum), u = rq(g) + z, and FFN down's bias takes −W·z, so that
    W·u + bias is still the float layer. Not before a low-bit FFN down (layer 0 here)."""
    ranges = _ranges(LAYERS)
    ranges.channel_absmax["blk.1.gelu"][:3] = [0.05, 0.1, 25.0]    # two channels narrower than the dip
    plan = LowBitPlan(widths={"blk.0.ffn_down": 4})
    model = quantize(classifier, ranges, HEADS, hf_ibert=False, options=ScaleOptions(), plan=plan)
    assert "blk.0.ffn_gelu.zero_point" not in model.tensors
    zero = model.tensors["blk.1.ffn_gelu.zero_point"]
    assert zero.dtype == np.int32 and zero.shape == (FFN,)
    top = ranges.channel_absmax["blk.1.gelu"]
    low = np.minimum(-igelu_minimum(model.gelu), top)
    assert -igelu_minimum(model.gelu) == pytest.approx(0.1687, abs=1e-4)   # erf3's (erf2: 0.1678)
    # ffn_gelu's ratio is s_g · σ / 2 / step[f]
    step = GELU_INPUT_SCALE * model.gelu.sigma / 2 / _ratio(model, "blk.1.ffn_gelu")
    np.testing.assert_allclose(step, (top + low) / 255, rtol=1e-8)
    # the ends of the range land on the ends of int8 (step here is the dyadic ratio's, a code off at a tie)
    assert np.abs(np.rint(-low / step) + zero + 128).max() <= 1
    assert np.abs(np.rint(top / step) + zero - 127).max() <= 1
    assert zero[0] == zero[1] == 0      # symmetric for the narrow channels
    # W·(u − z) + bias: bias + W·z is the float bias at the accumulator's scale
    row_scale = _ratio(model, "blk.1.ffn_down") * ranges.scale("blk.1.ffn_res")
    w_int = model.tensors["blk.1.ffn_down.weight"].astype(np.int64)
    unfolded = model.tensors["blk.1.ffn_down.bias"].astype(np.int64) + w_int @ zero
    float_bias = classifier.layers[1].ffn_down.bias.double().numpy()
    assert np.all(np.abs(unfolded * row_scale - float_bias) <= row_scale / 2 * (1 + 1e-9))
    # I-BERT checkpoints keep HF's symmetric grid
    assert not any(name.endswith("zero_point") for name in quantize(classifier, ranges, HEADS, hf_ibert=True).tensors)


def test_rescale_shapes(classifier):
    ranges = _ranges(LAYERS)
    shapes = {}
    for options in (PER_TENSOR, ScaleOptions(norm_alpha=0.75, gelu_alpha=0.0), ScaleOptions()):
        model = quantize(classifier, ranges, HEADS, hf_ibert=False, options=options)
        shapes[options] = {name: model.tensors[f"blk.1.{name}.rq_mult"].shape
                           for name in ("attn_res", "ffn_res", "ffn_gelu")}
        for name, shape in shapes[options].items():
            assert model.tensors[f"blk.1.{name}.rq_shift"].shape == shape
    assert shapes[PER_TENSOR] == {"attn_res": (1,), "ffn_res": (1,), "ffn_gelu": (1,)}
    assert shapes[ScaleOptions(norm_alpha=0.75, gelu_alpha=0.0)] == {"attn_res": (HIDDEN,), "ffn_res": (HIDDEN,),
                                                                      "ffn_gelu": (1,)}
    assert shapes[ScaleOptions()] == {"attn_res": (HIDDEN,), "ffn_res": (HIDDEN,), "ffn_gelu": (FFN,)}


def test_per_channel_gelu_scales_are_folded_into_ffn_down(classifier):
    ranges = _ranges(LAYERS)
    model = quantize(classifier, ranges, HEADS, hf_ibert=False,
                     options=ScaleOptions(norm_alpha=0.0, gelu_alpha=1.0, gelu_zero_point=False))
    s_u = ranges.channel_scales("blk.0.gelu", 1.0)
    assert np.allclose(s_u, ranges.channel_absmax["blk.0.gelu"] / 127)
    sigma_term = _ratio(model, "blk.0.ffn_gelu") * s_u     # s_g · σ / 2, the same for every channel
    assert np.allclose(sigma_term, sigma_term[0], rtol=1e-8) and sigma_term[0] < 0
    weight = classifier.layers[0].ffn_down.weight.double().numpy()
    row_scale = _ratio(model, "blk.0.ffn_down") * ranges.scale("blk.0.ffn_res")
    step = row_scale[:, None] / s_u[None, :]
    w_int = model.tensors["blk.0.ffn_down.weight"].astype(np.float64)
    assert np.all(np.abs(w_int * step - weight) <= step / 2 * (1 + 1e-9))


def test_headless_model_keeps_one_scale_at_its_last_layer_norm(headless):
    ranges = _ranges(LAYERS)
    model = quantize(headless, ranges, HEADS, hf_ibert=False, options=ScaleOptions(norm_alpha=1.0, gelu_alpha=1.0))
    last = f"blk.{LAYERS - 1}.ffn_norm"
    s_out = _norm_output_scale(model, headless.layers[-1].ffn_norm, last)
    common = ranges.scale(last)
    assert np.allclose(s_out, common, rtol=1e-8)          # per-channel rq values, one output scale
    multiplier, shift = model.output_scale
    assert math.isclose(multiplier / 2.0**shift, common, rel_tol=1e-8)
    assert _ratio(model, f"blk.{LAYERS - 1}.ffn_res").shape == (HIDDEN,)   # its input is still per channel
    earlier = _norm_output_scale(model, headless.layers[0].ffn_norm, "blk.0.ffn_norm")
    assert np.ptp(earlier) > 0                              # the other layer norms are per channel


def test_ibert_checkpoints_keep_one_scale_per_tensor(tmp_path_factory, sentences):
    params = _params(tmp_path_factory, sentences, "IBertForSequenceClassification")
    model = quantize(params, _ranges(LAYERS), HEADS, hf_ibert=True, options=ScaleOptions(1.0, 1.0))
    for name in ("attn_res", "ffn_res", "ffn_gelu"):
        assert model.tensors[f"blk.0.{name}.rq_mult"].shape == (1,)


def test_least_error_search_clips_a_heavy_tail_and_keeps_the_maximum_of_a_uniform_sample():
    rng = np.random.default_rng(0)
    uniform = rng.uniform(-1.0, 1.0, 200_000)
    assert mse_clip(uniform, float(np.abs(uniform).max())) == pytest.approx(np.abs(uniform).max())
    # Laplace(1): the best 8-bit clip is about 9.9 (Banner et al., 2019), below the maximum of 2·10^5 draws (~12)
    heavy = rng.laplace(size=200_000)
    largest = float(np.abs(heavy).max())
    clip = mse_clip(heavy, largest)
    assert 9.0 < clip < 0.9 * largest
    # per channel: one uniform column keeps its maximum, one heavy-tailed column is clipped
    columns = np.stack([uniform, heavy], axis=1)
    clips = mse_clip(columns, np.abs(columns).max(axis=0))
    assert clips[0] == pytest.approx(np.abs(uniform).max()) and clips[1] == pytest.approx(clip)
    assert CLIP_RATIOS[0] == 1.0


def test_channel_scales_interpolate_between_the_common_and_the_own_scale():
    ranges = ActivationRanges({"p_norm": 8.0}, "test", 0, 2.0, channel_absmax={"p_norm": np.array([8.0, 2.0, 0.0])})
    common = 8.0 / 127
    assert ranges.channel_scales("p_norm", 0.0) == common
    own = ranges.channel_scales("p_norm", 1.0)
    assert own[0] == pytest.approx(common) and own[1] == pytest.approx(2.0 / 127) and own[2] > 0
    half = ranges.channel_scales("p_norm", 0.5)
    assert half[1] == pytest.approx(math.sqrt(common * 2.0 / 127))


def test_a_channel_keeps_its_maximum_above_the_tensors_clipped_range():
    """The GELU output's tensor range is a 99.99th percentile, which clips massive activations (one
    channel of one token per text); with one scale per channel that channel keeps its own maximum."""
    ranges = ActivationRanges({"p_gelu": 4.0}, "test", 0, 2.0, channel_absmax={"p_gelu": np.array([25.0, 3.0])})
    own = ranges.channel_scales("p_gelu", 1.0)
    assert own[0] == pytest.approx(25.0 / 127) and own[1] == pytest.approx(3.0 / 127)
    assert ranges.channel_scales("p_gelu", 0.0) == pytest.approx(4.0 / 127)


def test_gelu_channels_stay_within_the_tensor_range_before_a_low_bit_ffn_down(classifier):
    """Before an int8 FFN down a GELU channel keeps its maximum above the tensor's (percentile) range;
    before a 4-bit one it is capped there, since its widened column would coarsen 4-bit rows."""
    ranges = _ranges(LAYERS)
    for l in range(2):
        ranges.absmax[f"blk.{l}.gelu"] = 1.0          # a percentile below the widest channels (up to 3)
    plan = LowBitPlan(widths={"blk.0.ffn_down": 4})
    model = quantize(classifier, ranges, HEADS, hf_ibert=False, options=ScaleOptions(gelu_zero_point=False), plan=plan)
    # ffn_gelu's ratio is s_g · σ / 2 / s_u[f]; layer 1 (int8 FFN down): s_u is every channel's own range
    gelu_unit = _ratio(model, "blk.1.ffn_gelu") * ranges.channel_absmax["blk.1.gelu"] / 127
    assert np.allclose(gelu_unit, gelu_unit[0], rtol=1e-8)
    # layer 0 (4-bit FFN down): the channels above the tensor's range are capped at it
    own = ranges.channel_absmax["blk.0.gelu"] / 127
    assert (own > 1.0 / 127).sum() > 10
    assert np.allclose(gelu_unit[0] / _ratio(model, "blk.0.ffn_gelu"), np.minimum(own, 1.0 / 127), rtol=1e-8)
