"""Integer constants of i-exp (softmax, tanh) and i-GELU, by the formulas of models/FORMAT.md §4.3-4.4."""
from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import ConversionError

EXP_FRAC_BITS = 10             # K: the exp domain's real value is w · ln2 / 2^K
GELU_INPUT_SCALE = 2.0**-10    # s_g: GELU inputs are rescaled to this one scale, saturated to ...
GELU_INPUT_BITS = 20           # ... this many bits (§4.4)
EXP16_MAX = 2**15 - 1          # I-BERT's softmax exps, requantized to 16 bits (FORMAT.md §4.6, version 5)

# I-BERT's polynomials (Kim et al., 2021): e^x ≈ a(x + b)² + c on (−ln2, 0]; erf ≈ −0.2888(x − 1.769)² + 1.
_EXP_A, _EXP_B = 0.35815147, 0.96963238
ERF_A, _ERF_B = -0.2888, -1.769   # ERF_A also gives pyibert compare the GELU scales of a file


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
    c: int
    shift: int
    one: int
    sigma: float   # real value of one unit of (y + one); the real GELU is g · s_g · sigma / 2


def exp_constants(frac_bits: int = EXP_FRAC_BITS) -> ExpConstants:
    sf = exp_domain_scale(frac_bits)
    b = math.floor((_EXP_B / _EXP_A) / sf)
    c = math.floor((1.0 / _EXP_A) / sf**2)
    if not (2 ** (frac_bits + 1) <= b <= 2**20 and 0 < c <= 2**30 and c > 2**frac_bits * (b - 2**frac_bits)):
        raise ConversionError(f"exp domain with K = {frac_bits} gives i-exp constants b = {b}, c = {c} "
                              "outside the bounds of FORMAT.md §2")
    return ExpConstants(frac_bits, b, c)


def gelu_constants(input_scale: float = GELU_INPUT_SCALE) -> GeluConstants:
    """i-GELU at input scale s_g; the shift E is the smallest that brings |one| to at most 2^11."""
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
