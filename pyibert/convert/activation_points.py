"""The activations whose ranges set the model's scales, their bit widths, and ranges → scales.

Names: `embd_sum` (the 22-bit sum of the three embeddings, before the layer norm), `embd_norm` (its
int8 output), and per layer l:

    blk.{l}.q, .k, .v      linear outputs incl. bias, int8
    blk.{l}.ctx            attention context P·v, before the output dense, int8
    blk.{l}.attn_res       output dense + layer input, before the layer norm, 22 bits
    blk.{l}.attn_norm      attention layer norm output, int8
    blk.{l}.gelu           GELU output, int8
    blk.{l}.ffn_res        down projection + attention block output, before the layer norm, 22 bits
    blk.{l}.ffn_norm       FFN layer norm output (the layer's output), int8

and in a masked-LM head: `mlm_act` (the transform's GELU output, the input of its layer norm, 22 bits)
and `mlm_norm` (that layer norm's int8 output, the decoder's input).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

RESIDUAL_BITS = 22
ACTIVATION_BITS = 8
INT8_MAX = 2 ** (ACTIVATION_BITS - 1) - 1
MASKED_LM_POINTS = ("mlm_act", "mlm_norm")


def bits_of(point: str) -> int:
    return RESIDUAL_BITS if point in ("embd_sum", "mlm_act") or point.endswith("_res") else ACTIVATION_BITS


def kind_of(point: str) -> str:
    """The family a point belongs to, for choosing how its range is picked: "norm" (layer-norm outputs),
    "qkv", "ctx", "gelu" or "residual" (the 22-bit sums)."""
    if bits_of(point) == RESIDUAL_BITS:
        return "residual"
    if point == "embd_norm" or point.endswith("_norm"):
        return "norm"
    return {"q": "qkv", "k": "qkv", "v": "qkv"}.get(point.rsplit(".", 1)[-1], point.rsplit(".", 1)[-1])


@dataclass
class ActivationRanges:
    """The range taken at every point, where it came from, and the headroom given to the 22-bit sums.

    Calibrated ranges come from a sample of text, so the 22-bit sums get a margin of 2 (22 bits have
    precision to spare); an I-BERT checkpoint's ranges are the clamp ranges its own quant_mode uses, so
    they are taken as they are. `channel_absmax` holds one range per channel at the points that may get
    one int8 scale per channel (layer-norm and GELU outputs); points without an entry have one scale.
    `gelu_fit` holds, per `blk.{l}.gelu`, the per-channel fit of the float GELU on the integer one over
    the calibration text (gelu_correction.GeluFit), which FFN down's columns and bias take in; it is
    empty for an I-BERT checkpoint, which was trained with its integer GELU. `exp16_ranges` is set for
    an I-BERT checkpoint only: its softmax requantizes the exps to 16 bits (FORMAT.md §4.6, version 5).
    """

    absmax: dict[str, float]
    source: str
    count: int
    residual_margin: float
    channel_absmax: dict[str, np.ndarray] = field(default_factory=dict)
    gelu_fit: dict = field(default_factory=dict)   # point → gelu_correction.GeluFit
    # I-BERT: per layer, HF's 16-bit softmax exp range over its largest exp (ibert_ranges.exp16_ranges)
    exp16_ranges: list[float] | None = None
    tokens: int = 0   # calibration tokens the ranges were measured on (0: a checkpoint's own ranges)

    def scale(self, point: str) -> float:
        bits = bits_of(point)
        margin = self.residual_margin if bits == RESIDUAL_BITS else 1.0
        return margin * self.absmax[point] / (2 ** (bits - 1) - 1)

    def channel_scales(self, point: str, alpha: float, within_tensor_range: bool = False) -> float | np.ndarray:
        """The int8 scale of each channel of `point`, between one common scale (alpha = 0: the scale of
        the whole tensor, returned as a float) and each channel's own (alpha = 1):
        s[k] = t[k]^alpha · c^(1 − alpha), t[k] = the channel's range / 127, c = the tensor's scale;
        `within_tensor_range` caps t[k] at c (for a reader whose weights cannot afford a wide column).

        The per-channel scales are folded into the weights that read the point, so a channel whose
        range is far below the tensor's keeps its precision; alpha trades that against the precision
        of those weights (SmoothQuant's migration strength).
        """
        common = self.scale(point)
        if alpha == 0.0 or point not in self.channel_absmax:
            return common
        # A channel keeps its own maximum even where the tensor's range is a clipped percentile: the
        # values a percentile clips are BERT's massive activations, which sit in a few channels of a few
        # tokens ([CLS], [SEP]; in all-MiniLM-L6-v2 one layer-0 GELU channel reaches 25 on [CLS] where the
        # tensor's 99.99th percentile is 4.4), and clipping them there loses FFN down's largest outputs.
        # Per channel they cost the other channels nothing. The floor keeps a silent channel's scale > 0.
        own = np.clip(self.channel_absmax[point] / INT8_MAX, common * 2.0**-10,
                      common if within_tensor_range else None)
        return own**alpha * common ** (1.0 - alpha)
