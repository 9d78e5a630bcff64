"""Real multipliers as dyadic numbers m · 2^−s (models/FORMAT.md §4.1, §4.5)."""
from __future__ import annotations

import math

import numpy as np

from .errors import ConversionError

MAX_SHIFT = 62
MULT_LIMIT = 2**31      # |m| < 2^31: m fits int32 and is never −2^31
LN_BIAS_LIMIT = 2**61   # |β| ≤ 2^61 keeps nrm · m + β inside int64


def _largest_shift(r: float) -> int:
    """The largest s ≤ 62 with |round(r · 2^s)| < 2^31 (r ≠ 0)."""
    _, exponent = math.frexp(abs(r))          # |r| = f · 2^exponent, 0.5 ≤ f < 1
    s = min(MAX_SHIFT, 31 - exponent)         # |r| · 2^s < 2^31, at most one step too far
    while s > 0 and abs(round(r * 2.0**s)) >= MULT_LIMIT:
        s -= 1
    return s


def dyadic(r: float, what: str) -> tuple[int, int]:
    """(m, s) with m · 2^−s ≈ r at the most precise shift; the sign of r stays in m."""
    if not math.isfinite(r) or r == 0.0:
        raise ConversionError(f"{what}: the rescale factor is {r}; it must be a finite non-zero number")
    s = _largest_shift(r)
    m = int(round(r * 2.0**s))
    if s < 1:
        raise ConversionError(f"{what}: the rescale factor {r:.6g} is too large (≥ 2^30) for a dyadic "
                              "multiplier; the activation ranges of this checkpoint are out of proportion")
    if m == 0:
        raise ConversionError(f"{what}: the rescale factor {r:.6g} is below 2^-63 and would round to zero")
    return m, s


def dyadic_array(r: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel dyadic(): int32 multipliers and shifts."""
    pairs = [dyadic(float(x), f"{what}[{n}]") for n, x in enumerate(np.asarray(r, dtype=np.float64).ravel())]
    return (np.array([m for m, _ in pairs], dtype=np.int32), np.array([s for _, s in pairs], dtype=np.int32))


def layer_norm_rescale(gamma: np.ndarray, beta: np.ndarray, out_scale: float | np.ndarray, what: str
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rq_mult, rq_shift, rq_bias) of an integer layer norm with int8 output scale out_scale (§4.5):
    one for all channels, or one per channel.

    nrm = (x − μ)/σ · 2^30/√H, so m/2^s = γ·√H/(2^30·s_out) and β_int = round(β/s_out·2^s) + 2^(s−1)
    (the rescale's rounding term is folded into β). The shift comes down from the dyadic one until
    |β_int| ≤ 2^61.
    """
    hidden = gamma.shape[0]
    out_scale = np.broadcast_to(np.asarray(out_scale, dtype=np.float64), (hidden,))
    ratio = gamma.astype(np.float64) * math.sqrt(hidden) / (2.0**30 * out_scale)
    offset = beta.astype(np.float64) / out_scale
    mult = np.zeros(hidden, dtype=np.int32)
    shift = np.zeros(hidden, dtype=np.int32)
    bias = np.zeros(hidden, dtype=np.int64)
    for n in range(hidden):
        r, b = float(ratio[n]), float(offset[n])
        if not (math.isfinite(r) and math.isfinite(b)):
            raise ConversionError(f"{what}[{n}]: layer norm weight or bias is not finite")
        # γ = 0 is legal (the channel is the constant β): any shift works, start at the top
        s = _largest_shift(r) if r != 0.0 else MAX_SHIFT
        if s < 1:
            raise ConversionError(f"{what}[{n}]: layer norm weight {gamma[n]:.6g} is too large for the output "
                                  f"scale {out_scale[n]:.6g}")
        while s >= 1 and abs(round(b * 2.0**s) + 2 ** (s - 1)) > LN_BIAS_LIMIT:
            s -= 1
        if s < 1:
            raise ConversionError(f"{what}[{n}]: layer norm bias {beta[n]:.6g} is too large for the output "
                                  f"scale {out_scale[n]:.6g} (|β/s_out| must stay below 2^60)")
        # A γ so small that m rounds to 0 (checkpoints have γ ≈ 1e−33) moves the output by far less than
        # one unit: the channel is the constant β, as with γ = 0.
        mult[n], shift[n] = int(round(r * 2.0**s)), s
        bias[n] = int(round(b * 2.0**s)) + 2 ** (s - 1)
    return mult, shift, bias
