"""The real value of one unit of every traced integer tensor, from the model file and the reference.

A .ibert file stores no scales, only the rescales between them (models/FORMAT.md §3-4), so each
scale is rebuilt here in forward order: from the reference's float weights where the integers were
quantized from them, then through the file's rescales. Where FORMAT.md fixes a step's scale outright
(the exp domain of the scores and the tanh input, P's 1/256, the GELU input's s_g, the tanh output's
1/127, the logits' output scale), that fixed scale is used instead, so a wrong rescale shows as a
drop at its own step or at the next step whose scale is fixed, never hidden by a matching scale.

Every scale is an array along the tensor's last axis, of length 1 or one per channel, so files with
per-channel activation scales are read like per-tensor ones.
"""
from __future__ import annotations

import math

import numpy as np

from ..convert.architectures import EncoderParams, LinearParams, NormParams
from ..convert.nonlinear import ERF_A
from ..golden.ops import ERF3, ERF3_D_SHIFT, ERF3_FRAC
from ..golden.model_file import ModelFile

PROB_SCALE = 1.0 / 256          # P_ij (§4.6)
TANH_OUTPUT_SCALE = 1.0 / 127   # the head's tanh (§4.6)


def _float(tensor) -> np.ndarray:
    return tensor.detach().double().numpy()


def _after_rescale(in_scale, tensors: dict, name: str) -> np.ndarray:
    """Scale of rq(x, name.rq) for x at in_scale: in_scale · 2^s / m, per channel where m, s are."""
    mult = tensors[f"{name}.rq_mult"].astype(np.float64)
    shift = tensors[f"{name}.rq_shift"].astype(np.float64)
    return np.asarray(in_scale, dtype=np.float64) * np.exp2(shift) / mult


def _least_squares_scale(real: np.ndarray, ints: np.ndarray, axis) -> np.ndarray:
    """s minimizing |real − s · ints|² along `axis` (0 where every integer is 0: the value is 0 anyway)."""
    ints = ints.astype(np.float64)
    num = (real * ints).sum(axis=axis)
    den = (ints * ints).sum(axis=axis)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


def _table_scale(table, tensors: dict, name: str) -> np.ndarray:
    """An embedding table's one scale (its rescale is [1]); the file may keep fewer rows (positions)."""
    ints = tensors[f"{name}.weight"]
    real = _float(table)[: ints.shape[0]]
    return np.atleast_1d(_least_squares_scale(real, ints, axis=None))


def _linear_scale(params: LinearParams, in_scale: np.ndarray, tensors: dict, name: str) -> np.ndarray:
    """Scale of rq(linear(x, name)) for x at in_scale (per input channel or one).

    The accumulator of output n has scale a[n] with W_int[n, k] · a[n] ≈ in_scale[k] · W[n, k] and
    bias_int[n] · a[n] ≈ bias[n]; a[n] is their least-squares fit, bias included (a large integer
    bias pins a[n] to about 1e−5).
    """
    real = np.concatenate([_float(params.weight) * in_scale, _float(params.bias)[:, None]], axis=1)
    ints = np.concatenate([tensors[f"{name}.weight"], tensors[f"{name}.bias"][:, None]], axis=1)
    return _after_rescale(_least_squares_scale(real, ints, axis=1), tensors, name)


def _layer_norm_scale(params: NormParams, tensors: dict, name: str) -> np.ndarray:
    """Output scale per channel: m/2^s = γ·√H/(2^30·s_out) (§4.5).

    A channel whose multiplier is 0 (γ ≈ 0) outputs the constant β: its scale comes from
    β_int = round(β/s_out · 2^s) + 2^(s−1), or, if β is 0 too, is the median of the others.
    """
    gamma, beta = _float(params.weight), _float(params.bias)
    mult = tensors[f"{name}.rq_mult"].astype(np.float64)
    shift = tensors[f"{name}.rq_shift"].astype(np.float64)
    beta_units = tensors[f"{name}.rq_bias"].astype(np.float64) - np.exp2(shift - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        from_gamma = gamma * math.sqrt(gamma.size) * np.exp2(shift) / (2.0**30 * mult)
        from_beta = beta * np.exp2(shift) / beta_units
    scale = np.where(mult != 0, from_gamma, np.where((beta_units != 0) & (beta != 0), from_beta, np.nan))
    known = np.isfinite(scale) & (scale > 0)
    return np.where(known, scale, np.median(scale[known]) if known.any() else 1.0)


def gelu_scales(meta: dict) -> tuple[float, float]:
    """(s_g, real value of one unit of the integer GELU's g) from the file's constants (§4.4).

    erf2: c = ⌊(1/A)/s_e²⌋ with A = −0.2888 and s_e = s_g/√2 gives s_g; σ = s_e² · A · 2^E = 2^E / c.
    erf3: d_mult = round(s_e · 2^26) gives s_g, and σ = 1/one. g stands for g · s_g · σ / 2.
    """
    if meta["gelu.form"] == ERF3:
        s_g = math.sqrt(2.0) * meta["gelu.d_mult"] / 2.0 ** (ERF3_FRAC + ERF3_D_SHIFT)
        return s_g, s_g / meta["gelu.one"] / 2
    c, shift = meta["gelu.c"], meta["gelu.shift"]
    s_g = math.sqrt(2.0 / (ERF_A * c))
    return s_g, s_g * (2.0**shift / c) / 2


def step_zero_points(model: ModelFile, params: EncoderParams) -> dict[str, np.ndarray]:
    """Trace key → the zero point its integers are offset by, for the steps that have one: the GELU
    outputs of a format-version-6 file (a split file's extra channels left out, as in step_scales)."""
    points = {}
    for l, layer in enumerate(params.layers):
        zero = model.tensors.get(f"blk.{l}.ffn_gelu.zero_point")
        if zero is not None:
            points[f"blk.{l}.gelu"] = zero.astype(np.int64)[: layer.ffn_up.weight.shape[0]]
    return points


def step_scales(model: ModelFile, params: EncoderParams) -> dict[str, np.ndarray]:
    """Trace key → real value of one integer unit (an array along the tensor's last axis)."""
    t, meta = model.tensors, model.meta
    exp_unit = math.log(2.0) / 2 ** meta["exp.frac_bits"]
    s_g, s_gelu_product = gelu_scales(meta)
    # the sum's scale through the position table, whose rescale is always [1] (the word embeddings' may
    # be one per row)
    scales = {"embd_sum": _after_rescale(_table_scale(params.pos_embd, t, "pos_embd"), t, "pos_embd")}
    scales["embd"] = s_x = _layer_norm_scale(params.embd_norm, t, "embd_norm")
    for l, layer in enumerate(params.layers):
        p = f"blk.{l}."
        scales[p + "q"] = _linear_scale(layer.attn_q, s_x, t, p + "attn_q")
        scales[p + "k"] = _linear_scale(layer.attn_k, s_x, t, p + "attn_k")
        scales[p + "v"] = s_v = _linear_scale(layer.attn_v, s_x, t, p + "attn_v")
        scales[p + "scores"] = np.array([exp_unit])          # 1/√D is folded into attn_scores.rq
        scales[p + "probs"] = np.array([PROB_SCALE])
        scales[p + "ctx"] = _after_rescale(PROB_SCALE * s_v, t, p + "attn_ctx")
        # The residual sum adds two rescaled terms; its scale is taken from the layer input's, so a wrong
        # rescale of either term shows here.
        scales[p + "attn_sum"] = _after_rescale(s_x, t, p + "attn_res")
        scales[p + "attn_norm"] = s_a = _layer_norm_scale(layer.attn_norm, t, p + "attn_norm")
        scales[p + "gelu_in"] = np.array([s_g])
        # a split file's extra GELU channels (copies, after the checkpoint's) are not compared
        scales[p + "gelu"] = _after_rescale(s_gelu_product, t, p + "ffn_gelu")[: layer.ffn_up.weight.shape[0]]
        scales[p + "ffn_sum"] = _after_rescale(s_a, t, p + "ffn_res")
        scales[p + "ffn_norm"] = s_x = _layer_norm_scale(layer.ffn_norm, t, p + "ffn_norm")
    if params.cls_dense is not None:
        scales["cls_dense"] = np.array([exp_unit / 2])       # ln2 / 2^(K+1): iexp(−|u|) is e^(−2x)
        scales["cls_tanh"] = np.array([TANH_OUTPUT_SCALE])
    if params.masked_lm is not None:
        scales["mlm_gelu_in"] = np.array([s_g])
        scales["mlm_act"] = _after_rescale(s_gelu_product, t, "mlm_gelu")
        scales["mlm_norm"] = _layer_norm_scale(params.masked_lm.norm, t, "mlm_norm")
    if "output_scale.multiplier" in meta:
        scales["logits"] = np.array([meta["output_scale.multiplier"] / 2.0 ** meta["output_scale.shift"]])
    return scales
