"""Integer constants of i-exp (softmax, tanh) and the integer GELU, by the formulas of models/FORMAT.md §4.3-4.4."""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..golden.ops import ERF2, ERF3, ERF3_D_SHIFT, ERF3_FRAC, BoundError, Gelu, check_erf3
from .errors import ConversionError

EXP_FRAC_BITS = 10             # K: the exp domain's real value is w · ln2 / 2^K
GELU_INPUT_SCALE = 2.0**-10    # s_g: GELU inputs are rescaled to this one scale, saturated to ...
GELU_INPUT_BITS = 20           # ... this many bits (§4.4)
EXP16_MAX = 2**15 - 1          # I-BERT's softmax exps, requantized to 16 bits (FORMAT.md §4.6, version 5)

# I-BERT's polynomials (Kim et al., 2021): e^x ≈ a(x + b)² + c on (−ln2, 0]; erf ≈ −0.2888(x − 1.769)² + 1.
_EXP_A, _EXP_B = 0.35815147, 0.96963238
ERF_A, _ERF_B = -0.2888, -1.769   # ERF_A also gives pyibert compare the GELU scales of a file
# erf3 (format version 7): erf(u) ≈ 1 + c1·d + c2·d² + c3·d³ with d = min(u, B) − B, fit by least squares
# weighted for the GELU's error on inputs ~ N(0, 1.5) (FORMAT.md §4.4): GELU error at most 0.0028, RMS
# 0.0014, where I-BERT's polynomial has 0.019 and 0.0082.
_ERF3_B = 2.27
_ERF3_COEFFICIENTS = (0.033, 0.07998, 0.12027)


def exp_domain_scale(frac_bits: int = EXP_FRAC_BITS) -> float:
    """The real value of one unit in the exp domain: ln2 / 2^K."""
    return math.log(2.0) / 2**frac_bits


@dataclass(frozen=True)
class ExpConstants:
    frac_bits: int
    poly_b: int
    poly_c: int


@dataclass(frozen=True)
class GeluConstants:
    b: int
    c: int          # erf2 only (0 for erf3)
    shift: int      # erf2 only
    one: int
    sigma: float    # real value of one unit of (y + one); the real GELU is g · s_g · sigma / 2
    form: str = ERF2
    d_mult: int = 0   # erf3 only
    c1: int = 0
    c2: int = 0
    c3: int = 0

    def golden(self) -> Gelu:
        """The constants as the golden model takes them."""
        return Gelu(**{name: getattr(self, name) for name in Gelu._fields})


def exp_constants(frac_bits: int = EXP_FRAC_BITS) -> ExpConstants:
    sf = exp_domain_scale(frac_bits)
    b = math.floor((_EXP_B / _EXP_A) / sf)
    c = math.floor((1.0 / _EXP_A) / sf**2)
    if not (2 ** (frac_bits + 1) <= b <= 2**20 and 0 < c <= 2**30 and c > 2**frac_bits * (b - 2**frac_bits)):
        raise ConversionError(f"exp domain with K = {frac_bits} gives i-exp constants b = {b}, c = {c} "
                              "outside the bounds of FORMAT.md §2")
    return ExpConstants(frac_bits, b, c)


def gelu_constants(form: str = ERF2, input_scale: float = GELU_INPUT_SCALE) -> GeluConstants:
    """The integer GELU at input scale s_g, of the form erf2 (I-BERT's) or erf3 (the cubic, §4.4)."""
    erf2 = _erf2_constants(input_scale)
    if form == ERF2:
        return erf2
    if form != ERF3:
        raise ConversionError(f"unknown integer GELU form '{form}' (erf2 or erf3)")
    s_e = input_scale / math.sqrt(2.0)
    c1, c2, c3 = (round(c * 2.0**ERF3_FRAC) for c in _ERF3_COEFFICIENTS)
    # one as erf2's (|one| ≤ 2^11 keeps |y + one| ≤ 2^12 + 1); y + one stands for (1 + erf) · one, so σ = 1/one
    gelu = GeluConstants(b=math.floor(-_ERF3_B / s_e), c=0, shift=0, one=erf2.one, sigma=1.0 / erf2.one, form=ERF3,
                         d_mult=round(s_e * 2.0 ** (ERF3_FRAC + ERF3_D_SHIFT)), c1=c1, c2=c2, c3=c3)
    if not (-(2**15) <= gelu.b < 0 and 0 < gelu.d_mult < 2**17):
        raise ConversionError(f"erf3 constants b = {gelu.b}, d_mult = {gelu.d_mult} at GELU input scale "
                              f"{input_scale} are outside FORMAT.md §2's bounds")
    try:
        check_erf3(gelu.golden())
    except BoundError as error:
        raise ConversionError(f"erf3 constants at GELU input scale {input_scale}: {error}") from None
    return gelu


def _erf2_constants(input_scale: float) -> GeluConstants:
    """I-BERT's i-GELU; the shift E is the smallest that brings |one| to at most 2^11."""
    s_e = input_scale / math.sqrt(2.0)
    b = math.floor(_ERF_B / s_e)
    c = math.floor((1.0 / ERF_A) / s_e**2)
    for shift in range(31):
        sigma = s_e**2 * ERF_A * 2.0**shift
        one = math.floor(1.0 / sigma)
        if -(2**11) <= one and (-c) >> shift <= 2**11:
            break
    else:
        raise ConversionError(f"no i-GELU shift fits the GELU input scale {input_scale}")
    if not (-(2**15) <= b < 0 and -(2**30) <= c < 0 and b * b + c < 0 and one < 0):
        raise ConversionError(f"i-GELU constants b = {b}, c = {c}, one = {one} are outside FORMAT.md §2's bounds")
    return GeluConstants(b, c, shift, one, sigma)
