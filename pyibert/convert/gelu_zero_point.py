"""GELU outputs on an asymmetric int8 grid (FORMAT.md §4.6 step 5, format version 6).

GELU's output never goes below about −0.17, so a symmetric grid of ±(the channel's maximum) spends
nearly half of its 256 codes on values that never occur. Over [the i-GELU minimum, the maximum] instead,
the steps are about half as wide: the rescale to int8 takes the finer step and a zero point z is added
(u = sat_8(rq(g) + z)), and FFN down's int32 bias takes −W·z, so FFN down still computes W·(u − z)
and the runtime does no extra work. Measured in the golden model on four models (README, "What is
left after the split"): 4 to 11% less output error against float, agreement the same or higher.
"""
from __future__ import annotations

import numpy as np

from ..golden.ops import igelu
from .nonlinear import GELU_INPUT_BITS, GELU_INPUT_SCALE, GeluConstants

INT8_CODES = 255      # steps between −128 and 127


def igelu_minimum(gelu: GeluConstants) -> float:
    """The lowest real value the integer GELU reaches over its 20-bit inputs (the converter's constants:
    −0.1678 for erf2, −0.1687 for erf3; the float GELU's is −0.1700): only negative inputs give negative
    outputs."""
    t = np.arange(-(2 ** (GELU_INPUT_BITS - 1)), 0, dtype=np.int64)
    return float((igelu(t, gelu.golden()) * (GELU_INPUT_SCALE * gelu.sigma / 2)).min())   # σ < 0: not igelu's minimum


def asymmetric_grid(symmetric_scale, gelu_minimum: float) -> tuple[np.ndarray, np.ndarray]:
    """(step, zero point) per channel for the codes −128 … 127 to cover [−low, top] instead of
    ±top, where top = 127 · the symmetric scale and low = min(|gelu_minimum|, top) (igelu_minimum):
    a channel narrower than GELU's dip keeps its symmetric grid (and a zero point of 0)."""
    top = 127.0 * np.atleast_1d(np.asarray(symmetric_scale, dtype=np.float64))
    low = np.minimum(-gelu_minimum, top)
    step = (top + low) / INT8_CODES
    zero = -128 + np.rint(low / step)
    return step, zero.astype(np.int32)


def fold_into_bias(weight: np.ndarray, bias: np.ndarray, zero: np.ndarray) -> np.ndarray:
    """The int32 bias of a layer that reads u − z where it is given u: bias − W · z (exact in int64;
    |W · z| ≤ 127 · 128 · F stays far inside the 2^30 FORMAT.md §3 allows a bias)."""
    folded = bias.astype(np.int64) - weight.astype(np.int64) @ np.broadcast_to(zero, weight.shape[1:]).astype(np.int64)
    return folded.astype(np.int32)
