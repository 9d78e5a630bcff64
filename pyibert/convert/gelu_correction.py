"""i-GELU's systematic error, measured on calibration text and folded into the FFN down projection
(models/FORMAT.md §4.9).

I-BERT's erf polynomial (erf2) is off by up to 0.018 in GELU units, and the error has a sign pattern
(the integer GELU is too high around |x| ≈ 0.5 and 2, too low around 1.5), so over a channel's inputs
it does not average out: the tokens of a channel carry similar offsets, and FFN down sums 4H of them
coherently into every output. Per channel f, the converter fits GELU ≈ gain[f] · iGELU + offset[f]
by least squares, running the runtime's own i-GELU integers on the float model's GELU inputs; FFN down
then reads iGELU with the columns W[:, f] · gain[f] and the bias b + W · offset. This is the bias
correction of Nagel et al. ("Data-Free Quantization"), applied to a nonlinearity's error rather than a
weight's, with a gain as well. Nothing in the runtime changes: the file's weights and bias say it.
The cubic of format version 7 (erf3) is off by at most 0.0028; the fit, made on the form the file will
have, still lowers its error per channel on text it was not fitted on (tests/python/test_gelu_correction.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..golden.ops import igelu, sat
from .architectures import LinearParams
from .nonlinear import GELU_INPUT_BITS, GELU_INPUT_SCALE, GeluConstants

MAX_GAIN_CHANGE = 0.1       # gain stays within 1 ± this (see GeluFitter.fits)


def integer_gelu(x: torch.Tensor, constants: GeluConstants) -> np.ndarray:
    """The runtime's integer GELU of x (GELU inputs, real units) in real units, float64."""
    t = sat(np.rint(x.detach().to(torch.float64).numpy() / GELU_INPUT_SCALE), GELU_INPUT_BITS).astype(np.int64)
    g = igelu(t, constants.golden())
    return g.astype(np.float64) * (GELU_INPUT_SCALE * constants.sigma / 2)


@dataclass
class GeluFit:
    """Per channel of one layer's GELU: the erf GELU ≈ gain · i-GELU + offset, by least squares."""
    gain: np.ndarray     # [F]
    offset: np.ndarray   # [F]
    form: str            # the integer GELU it was fitted on (ibert.gelu.form)


class GeluFitter:
    """Accumulates, per point (`blk.{l}.gelu`) and channel, the sums that the least-squares fit of the
    erf GELU on the runtime's integer GELU (of `constants`) needs."""

    def __init__(self, constants: GeluConstants) -> None:
        self.constants = constants
        self._sums: dict[str, np.ndarray] = {}   # [5, F]: n, Σi, Σg, Σi², Σi·g

    def add(self, point: str, rows: torch.Tensor) -> None:
        """rows: [tokens, channels] GELU inputs of real (unpadded) tokens."""
        if not rows.numel():
            return
        i = integer_gelu(rows, self.constants)
        g = torch.nn.functional.gelu(rows.detach().to(torch.float64)).numpy()
        sums = np.stack([np.full(i.shape[1], float(i.shape[0])), i.sum(0), g.sum(0), (i * i).sum(0), (i * g).sum(0)])
        self._sums[point] = self._sums.get(point, 0.0) + sums

    def fits(self) -> dict[str, GeluFit]:
        out = {}
        for point, (n, si, sg, sii, sig) in self._sums.items():
            variance = sii - si * si / n
            covariance = sig - si * sg / n
            # i-GELU's error is a few percent of GELU at most, so a gain far from 1 is a fit to the input's
            # rounding on a channel that barely moves: the gain is kept within MAX_GAIN_CHANGE of 1
            # (a channel that does not move at all keeps 1, and only its mean is corrected)
            steady = variance <= 1e-12 * np.maximum(sii, 1e-30)
            gain = np.where(steady, 1.0, covariance / np.where(steady, 1.0, variance))
            gain = np.clip(gain, 1.0 - MAX_GAIN_CHANGE, 1.0 + MAX_GAIN_CHANGE)
            out[point] = GeluFit(gain, (sg - gain * si) / n, self.constants.form)
        return out


def corrected_down_projection(params: LinearParams, fit: GeluFit) -> LinearParams:
    """FFN down reading i-GELU: W·(gain ⊙ i + offset) + b = (W·diag(gain))·i + (b + W·offset)."""
    weight = params.weight.detach().to(torch.float64)
    gain = torch.from_numpy(np.asarray(fit.gain, dtype=np.float64))
    offset = torch.from_numpy(np.asarray(fit.offset, dtype=np.float64))
    bias = params.bias.detach().to(torch.float64) + weight @ offset
    return LinearParams((weight * gain).to(params.weight.dtype), bias.to(params.bias.dtype))
