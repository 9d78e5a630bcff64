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
"""
from __future__ import annotations

from dataclasses import dataclass

RESIDUAL_BITS = 22
ACTIVATION_BITS = 8


def bits_of(point: str) -> int:
    return RESIDUAL_BITS if point == "embd_sum" or point.endswith("_res") else ACTIVATION_BITS


@dataclass
class ActivationRanges:
    """max |x| seen at every point, where it came from, and the headroom given to the 22-bit sums.

    Calibrated ranges come from a sample of text, so the 22-bit sums get a margin of 2 (22 bits have
    precision to spare); an I-BERT checkpoint's ranges are the clamp ranges its own quant_mode uses, so
    they are taken as they are.
    """

    absmax: dict[str, float]
    source: str
    count: int
    residual_margin: float

    def scale(self, point: str) -> float:
        bits = bits_of(point)
        margin = self.residual_margin if bits == RESIDUAL_BITS else 1.0
        return margin * self.absmax[point] / (2 ** (bits - 1) - 1)
