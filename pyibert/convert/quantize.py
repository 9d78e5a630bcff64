"""All the integers of a .ibert file, from float parameters and activation scales (models/FORMAT.md §3-4)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from tqdm import tqdm

from .activation_points import ActivationRanges
from .architectures import EncoderParams, LinearParams, NormParams
from .dyadic import dyadic, dyadic_array, layer_norm_rescale
from .errors import ConversionError
from .gelu_correction import corrected_down_projection
from .gelu_split import GELU_SPLIT_CHANNELS
from .gelu_zero_point import asymmetric_grid, fold_into_bias, igelu_minimum
from .sentence_embedding import PoolingConfig
from .lowbit import UNIFORM_INT8, LowBitPlan, low_bit_tensors, quantize_low_bit, quantize_word_embeddings
from .nonlinear import (ERF2, ERF3, EXP16_MAX, GELU_INPUT_SCALE, ExpConstants, GeluConstants, exp_constants, exp_domain_scale,
                        gelu_constants)
from .weights import quantize_rows, quantize_table

BIAS_LIMIT = 2**30
PROB_SCALE = 1.0 / 256      # softmax probabilities P are k/256 (§4.6)
TANH_OUTPUT_SCALE = 1.0 / 127
LOGIT_SHIFT = 16            # logits have scale 2^−16
POOL_MAX = 2**15 - 1        # the sentence-embedding pool's layer norm is 16-bit (FORMAT.md §4.10)
POOL_MARGIN = 2.0           # its range: twice the calibration's maximum (16 bits have precision to spare)
NORMALIZED_SHIFT = 15       # a normalized embedding's scale is 2^−15


@dataclass
class QuantizedModel:
    tensors: dict[str, np.ndarray] = field(default_factory=dict)
    exp: ExpConstants | None = None
    gelu: GeluConstants | None = None
    output_scale: tuple[int, int] = (1, LOGIT_SHIFT)

    def add_rescale(self, name: str, ratio, what: str | None = None) -> None:
        """A rescale `name` (rq_mult, rq_shift) for one real factor or one per channel."""
        mult, shift = dyadic_array(np.atleast_1d(ratio), what or name)
        self.tensors[f"{name}.rq_mult"] = mult
        self.tensors[f"{name}.rq_shift"] = shift

    def add_linear(self, name: str, params: LinearParams, in_scale: float | np.ndarray, out_scale: float,
                   hf_ibert: bool, plan: LowBitPlan = UNIFORM_INT8) -> None:
        """int8 weight (or, for a layer the plan makes narrower, packed codes and sub-scales, FORMAT.md
        §3.1), int32 bias at scale in_scale · s_w[n], and the rescale to out_scale.

        A per-channel input scale in_scale[k] (the input's channel k is x[k] · in_scale[k]) is folded into
        the weight's columns: the integers are those of W[n, k] · in_scale[k], so the accumulator is
        at the weight's row scale alone.
        """
        bits = plan.width(name)
        weights: dict[str, np.ndarray]
        hessian = plan.hessians.get(name)   # only where the plan rounds this layer with GPTQ
        if hessian is not None and np.ndim(in_scale):
            # H is of the float inputs; folding in_scale into the columns divides them by in_scale
            inverse = 1.0 / np.asarray(in_scale, dtype=np.float64)
            hessian = hessian * np.outer(inverse, inverse)
        if bits < 8:
            w = params.weight.detach().double().numpy()
            folded = w if np.ndim(in_scale) == 0 else w * np.asarray(in_scale, dtype=np.float64)
            q = quantize_low_bit(folded, bits, plan.group_size, name, hessian)
            bias_scale = q.row_scale * (in_scale if np.ndim(in_scale) == 0 else 1.0)
        elif np.ndim(in_scale) == 0:
            weight, w_scale = quantize_rows(params.weight, hf_ibert, hessian)
            bias_scale = in_scale * w_scale
            weights = {f"{name}.weight": weight}
        else:
            folded = params.weight.detach().double() * torch.from_numpy(np.asarray(in_scale, dtype=np.float64))
            weight, bias_scale = quantize_rows(folded, hf_ibert, hessian)
            weights = {f"{name}.weight": weight}
        bias = np.rint(params.bias.detach().double().numpy() / bias_scale)
        worst = int(np.argmax(np.abs(bias)))
        if not np.all(np.isfinite(bias)) or abs(bias[worst]) > BIAS_LIMIT:
            raise ConversionError(
                f"{name}.bias[{worst}] = {float(params.bias[worst]):.6g} is {bias[worst]:.4g} units of its scale "
                f"{bias_scale[worst]:.4g}, beyond the ±2^30 an int32 accumulator allows; the layer's input "
                "range or weights are too small for its bias")
        if bits < 8:
            weights = low_bit_tensors(name, q, bias)
        self.tensors.update(weights)
        self.tensors[f"{name}.bias"] = bias.astype(np.int32)
        self.add_rescale(name, bias_scale / out_scale)

    def add_norm(self, name: str, params: NormParams, out_scale: float | np.ndarray) -> None:
        mult, shift, bias = layer_norm_rescale(params.weight.detach().double().numpy(),
                                               params.bias.detach().double().numpy(), out_scale, name)
        self.tensors[f"{name}.rq_mult"] = mult
        self.tensors[f"{name}.rq_shift"] = shift
        self.tensors[f"{name}.rq_bias"] = bias


def _check_scores_bound(model: QuantizedModel, layer: int, head_size: int) -> None:
    """FORMAT §4.6: |attn_scores.rq_mult| · 2^14 · D < 2^(30 + rq_shift), so |t_ij| < 2^30."""
    mult = int(model.tensors[f"blk.{layer}.attn_scores.rq_mult"][0])
    shift = int(model.tensors[f"blk.{layer}.attn_scores.rq_shift"][0])
    if abs(mult) * 2**14 * head_size >= 2 ** (30 + shift):
        raise ConversionError(
            f"blk.{layer}.attn_scores: the q·k rescale {mult}·2^-{shift} is too large for head size {head_size} "
            "(FORMAT.md §4.6 needs |m|·2^14·D < 2^(30+s)); the query and key ranges of this layer are too wide")


@dataclass(frozen=True)
class ScaleOptions:
    """How far the int8 layer-norm and GELU outputs get one scale per channel (ActivationRanges.
    channel_scales): 0 is one scale per tensor, 1 each channel's own range. The per-channel scales are
    folded into the input columns of the linear layers that read those outputs.

    The defaults were chosen by measurement on the shipped model's checkpoint (FORMAT.md §4.9): layer
    norms at 1 lost more in the weights, whose columns an outlier channel then widens, than they gained
    in the activations; 0.75 beat 0.5 and 1.
    """

    norm_alpha: float = 0.75
    gelu_alpha: float = 1.0
    # a masked-LM decoder with int8 rows of its own (one scale each, and the layer norm's per-channel
    # scales folded into them) instead of sharing the embedding table (int8 with one scale per row).
    # Measured on MiniLM (README, Fill-mask) the shared table agrees with float as often as own rows
    # (79.4% vs 78.4% and 77.4% vs 77.2% of top-1 tokens on two masked LMs; the table with one scale
    # for all rows: 75.1%), so by default a tied decoder shares the table and saves V · H bytes
    # (11 MiB; FORMAT.md §4.11)
    mlm_own_decoder: bool = False
    # FFN down's columns and bias take in the fit of the float GELU on i-GELU where calibration made one
    # (gelu_correction.py)
    gelu_correction: bool = True
    # extra GELU channels per layer that the widest channels are split into, where the pipeline splits
    # them (gelu_split.py; 0: none)
    gelu_split_channels: int = GELU_SPLIT_CHANNELS
    # GELU outputs on an int8 grid from i-GELU's minimum to each channel's maximum, with a zero point
    # (format version 6, gelu_zero_point.py), where FFN down is int8 and the checkpoint is not I-BERT
    gelu_zero_point: bool = True
    # the integer GELU of a float checkpoint (FORMAT.md §4.4): erf3, the cubic of format version 7, or
    # erf2, I-BERT's polynomial; an I-BERT checkpoint keeps erf2, the arithmetic it was trained with
    gelu_form: str = ERF3


PER_TENSOR = ScaleOptions(norm_alpha=0.0, gelu_alpha=0.0)


def quantize(params: EncoderParams, ranges: ActivationRanges, num_heads: int, hf_ibert: bool,
             options: ScaleOptions = ScaleOptions(), pooling: PoolingConfig | None = None,
             plan: LowBitPlan = UNIFORM_INT8, progress: bool = False) -> QuantizedModel:
    """hf_ibert: quantize the encoder's weights with HF I-BERT's rule, so they are its integers (and
    every activation at one scale, as HF's quant_mode has them). pooling: a sentence-embedding file's
    pool (§4.10), whose 16-bit layer norm reads the last layer's residual sums. `plan`: the low-bit
    widths (Q-BERT) and the rounding. `progress`: a bar over the layers (GPTQ takes seconds per layer)."""
    if hf_ibert:
        options = replace(PER_TENSOR, mlm_own_decoder=options.mlm_own_decoder)
    model = QuantizedModel(exp=exp_constants(), gelu=gelu_constants(ERF2 if hf_ibert else options.gelu_form))
    exp_unit = exp_domain_scale(model.exp.frac_bits)
    hidden = params.token_embd.shape[1]
    head_size = hidden // num_heads
    last = len(params.layers) - 1

    def norm_scales(point: str) -> float | np.ndarray:
        # A model without a head outputs the last layer norm's integers with one scale (FORMAT.md §4.8).
        headless = params.cls_out is None and params.masked_lm is None
        headless_output = headless and point == f"blk.{last}.ffn_norm"
        return ranges.channel_scales(point, 0.0 if headless_output else options.norm_alpha)

    s_sum = ranges.scale("embd_sum")
    table_scales = {}
    for name, table in (("token_embd", params.token_embd), ("pos_embd", params.pos_embd),
                        ("token_types", params.token_types)):
        if name == "token_embd" and plan.embedding_bits < 8:
            packed, row_scales = quantize_word_embeddings(table.detach().double().numpy(), plan.embedding_bits)
            model.tensors["token_embd.qweight"] = packed
            model.add_rescale(name, row_scales / s_sum)     # one per row (FORMAT.md §3.1)
            continue
        if hf_ibert:   # HF's QuantEmbedding: int8, one scale per table
            q, s_table = quantize_table(table, hf_ibert=True)
        elif name == "token_embd":
            q, s_table = quantize_rows(table, hf_ibert=False)   # a [V] rescale (FORMAT.md §3.1)
        else:
            q, s_table = quantize_table(table, hf_ibert=False, bits=plan.added_table_bits)
        table_scales[name] = s_table
        model.tensors[f"{name}.weight"] = q
        model.add_rescale(name, s_table / s_sum)
    s_x = norm_scales("embd_norm")
    model.add_norm("embd_norm", params.embd_norm, s_x)

    gelu_zero_points = options.gelu_zero_point and not hf_ibert   # an I-BERT checkpoint keeps HF's grid
    gelu_minimum = igelu_minimum(model.gelu) if gelu_zero_points else None   # 2^19 inputs: once, not per layer
    for l, layer in enumerate(tqdm(params.layers, desc="quantizing", unit="layer", disable=not progress)):
        blk = f"blk.{l}"
        s_q, s_k, s_v = (ranges.scale(f"{blk}.{p}") for p in ("q", "k", "v"))
        model.add_linear(f"{blk}.attn_q", layer.attn_q, s_x, s_q, hf_ibert, plan)
        model.add_linear(f"{blk}.attn_k", layer.attn_k, s_x, s_k, hf_ibert, plan)
        model.add_linear(f"{blk}.attn_v", layer.attn_v, s_x, s_v, hf_ibert, plan)
        model.add_rescale(f"{blk}.attn_scores", s_q * s_k / math.sqrt(head_size) / exp_unit)
        _check_scores_bound(model, l, head_size)
        if ranges.exp16_ranges is not None:   # I-BERT's softmax: i-exp's c stands for HF's largest exp
            model.add_rescale(f"{blk}.attn_exp16", EXP16_MAX / (ranges.exp16_ranges[l] * model.exp.poly_c))
        s_ctx = ranges.scale(f"{blk}.ctx")
        model.add_rescale(f"{blk}.attn_ctx", PROB_SCALE * s_v / s_ctx)

        s_res = ranges.scale(f"{blk}.attn_res")
        model.add_linear(f"{blk}.attn_out", layer.attn_out, s_ctx, s_res, hf_ibert, plan)
        model.add_rescale(f"{blk}.attn_res", s_x / s_res)    # per channel when s_x is
        s_a = norm_scales(f"{blk}.attn_norm")
        model.add_norm(f"{blk}.attn_norm", layer.attn_norm, s_a)

        model.add_linear(f"{blk}.ffn_up", layer.ffn_up, s_a, GELU_INPUT_SCALE, hf_ibert, plan)
        # A GELU channel keeps its own maximum above the tensor's (percentile) range, except before a
        # low-bit FFN down: the wide channel widens its column, and with 2-6-bit codes the rows it
        # dominates lose more than clipping costs (README, "Accuracy against size").
        low_bit_down = plan.width(f"{blk}.ffn_down") < 8
        s_u = ranges.channel_scales(f"{blk}.gelu", options.gelu_alpha, within_tensor_range=low_bit_down)
        # low-bit FFN down rows keep the symmetric grid they were measured with
        zero = None
        if gelu_zero_points and not low_bit_down:
            s_u, zero = asymmetric_grid(s_u, gelu_minimum)
        # igelu(t) = g stands for g · s_g · σ / 2 (σ < 0, so this multiplier is negative)
        model.add_rescale(f"{blk}.ffn_gelu", GELU_INPUT_SCALE * model.gelu.sigma / 2 / s_u)
        s_res = ranges.scale(f"{blk}.ffn_res")
        ffn_down = layer.ffn_down
        if f"{blk}.gelu" in ranges.gelu_fit and options.gelu_correction and not hf_ibert:
            if ranges.gelu_fit[f"{blk}.gelu"].form != model.gelu.form:
                raise ConversionError(f"{blk}: the GELU fit was made on {ranges.gelu_fit[f'{blk}.gelu'].form}, "
                                      f"the file's GELU is {model.gelu.form}")
            ffn_down = corrected_down_projection(ffn_down, ranges.gelu_fit[f"{blk}.gelu"])
        model.add_linear(f"{blk}.ffn_down", ffn_down, s_u, s_res, hf_ibert, plan)
        if zero is not None:
            model.tensors[f"{blk}.ffn_gelu.zero_point"] = zero
            model.tensors[f"{blk}.ffn_down.bias"] = fold_into_bias(model.tensors[f"{blk}.ffn_down.weight"],
                                                                   model.tensors[f"{blk}.ffn_down.bias"], zero)
        model.add_rescale(f"{blk}.ffn_res", s_a / s_res)
        s_x = norm_scales(f"{blk}.ffn_norm")
        model.add_norm(f"{blk}.ffn_norm", layer.ffn_norm, s_x)

    if params.masked_lm is not None:
        _add_masked_lm(model, params, ranges, s_x, table_scales["token_embd"], options)
    elif pooling is not None:
        s_pool = POOL_MARGIN * ranges.absmax[f"blk.{last}.ffn_norm"] / POOL_MAX
        model.add_norm("pool_norm", params.layers[last].ffn_norm, s_pool)
        model.output_scale = (1, NORMALIZED_SHIFT) if pooling.normalize else dyadic(s_pool, "output_scale (pool)")
    elif params.cls_out is None:
        model.output_scale = dyadic(s_x, "output_scale (the last layer norm's scale)")
    elif params.cls_dense is None:
        # a head on every token: the classifier reads the last layer norm's int8 output directly
        model.add_linear("cls_out", params.cls_out, s_x, 2.0**-LOGIT_SHIFT, hf_ibert=False)
        model.output_scale = (1, LOGIT_SHIFT)
    else:
        # HF runs the head in float, so it gets our float rule even in an I-BERT checkpoint.
        tanh_input_scale = exp_unit / 2   # ln2 / 2^(K+1): iexp(−|u|) is then e^(−2|x|)
        model.add_linear("cls_dense", params.cls_dense, s_x, tanh_input_scale, hf_ibert=False)
        model.add_linear("cls_out", params.cls_out, TANH_OUTPUT_SCALE, 2.0**-LOGIT_SHIFT, hf_ibert=False)
        model.output_scale = (1, LOGIT_SHIFT)
    return model


def _add_masked_lm(model: QuantizedModel, params: EncoderParams, ranges: ActivationRanges,
                   s_x: float | np.ndarray, s_table: float | np.ndarray, options: ScaleOptions) -> None:
    """The masked-LM head (FORMAT.md §4.11): dense → i-GELU → 22-bit sum → layer norm → decoder.

    With `options.mlm_own_decoder` or an untied checkpoint the decoder gets its own int8
    rows (one scale each) and the layer norm per-channel scales folded into them; otherwise a decoder
    tied to the word embeddings reads token_embd.weight (one scale per row, or for an I-BERT
    checkpoint one for the table), so the layer norm before it keeps one output scale.
    Either way the bias is at the accumulator's scale and the rescale takes each row to logits at
    2^−LOGIT_SHIFT. HF runs the head in float, so it gets our float rule even in an I-BERT checkpoint.
    """
    head = params.masked_lm
    model.add_linear("mlm_dense", head.dense, s_x, GELU_INPUT_SCALE, hf_ibert=False)
    s_act = ranges.scale("mlm_act")
    model.add_rescale("mlm_gelu", GELU_INPUT_SCALE * model.gelu.sigma / 2 / s_act)
    own_decoder = options.mlm_own_decoder or not head.tied   # s_table: token_embd.weight's scale(s)
    s_n = ranges.channel_scales("mlm_norm", options.norm_alpha if own_decoder else 0.0)
    model.add_norm("mlm_norm", head.norm, s_n)
    logit_scale = 2.0**-LOGIT_SHIFT
    if own_decoder:
        model.add_linear("mlm_decoder", head.decoder, s_n, logit_scale, hf_ibert=False)
        model.output_scale = (1, LOGIT_SHIFT)
        return
    acc_scale = float(s_n) * np.broadcast_to(np.asarray(s_table, np.float64), head.decoder.weight.shape[:1])
    bias = np.rint(head.decoder.bias.detach().double().numpy() / acc_scale)
    if not np.all(np.isfinite(bias)) or np.abs(bias).max() > BIAS_LIMIT:
        raise ConversionError("mlm_decoder.bias exceeds the ±2^30 an int32 accumulator allows at the scale of "
                              "the layer norm's output times the embedding table's")
    model.tensors["mlm_decoder.bias"] = bias.astype(np.int32)
    model.add_rescale("mlm_decoder", acc_scale / logit_scale)
    model.output_scale = (1, LOGIT_SHIFT)
