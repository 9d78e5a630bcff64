"""The integer operations of models/FORMAT.md §4, one function each, in numpy int64.

Each function computes exactly what its section of FORMAT.md says and checks the bounds that section
claims for its inputs and intermediates: a value outside them is a bug in the spec, in the converter or
in this code, and raises `BoundError` rather than giving a silently different integer.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class BoundError(AssertionError):
    """An integer left the range FORMAT.md promises for it."""


class ExpDomain(NamedTuple):
    """i-exp constants (§4.3): K = `ibert.exp.frac_bits`, b = `poly_b`, c = `poly_c`."""

    frac_bits: int
    poly_b: int
    poly_c: int


ERF2, ERF3 = "erf2", "erf3"   # `ibert.gelu.form` (§4.4): I-BERT's erf polynomial, the cubic one (version 7)
ERF3_FRAC = 14                 # erf3's D, p and L are multiples of 2^-14 ...
ERF3_D_SHIFT = 12              # ... and D = (d · d_mult) >> 12
# Each form's own constants (Gelu fields, metadata keys ibert.gelu.<name>); b and one belong to both.
ERF2_CONSTANTS = ("c", "shift")
ERF3_CONSTANTS = ("d_mult", "c1", "c2", "c3")


class Gelu(NamedTuple):
    """The integer GELU's constants (§4.4): b and one for both forms, c and shift for erf2, d_mult and
    c1 … c3 for erf3."""

    b: int
    c: int
    shift: int
    one: int
    form: str = ERF2
    d_mult: int = 0
    c1: int = 0
    c2: int = 0
    c3: int = 0


def check(values: np.ndarray, low: int, high: int, what: str) -> None:
    """Raise BoundError unless every element is in [low, high]."""
    if values.size and (values.min() < low or values.max() > high):
        raise BoundError(f"{what}: values {values.min()} … {values.max()} leave the bound {low} … {high}")


def sat(x: np.ndarray, bits: int) -> np.ndarray:
    """sat_b: clamp to [−2^(b−1), 2^(b−1) − 1]."""
    return np.clip(x, -(1 << (bits - 1)), (1 << (bits - 1)) - 1)


def rq(x: np.ndarray, mult: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """§4.1: (x · m + 2^(s−1)) >> s in int64; m and s broadcast along x's last axis (per channel)."""
    x = np.asarray(x, dtype=np.int64)
    mult = np.asarray(mult, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    check(x, -(2**31 + 2**19) + 1, 2**31 + 2**19 - 1, "rescale input")
    check(mult, -(2**31) + 1, 2**31 - 1, "rescale multiplier")
    check(shift, 1, 62, "rescale shift")
    return (x * mult + (np.int64(1) << (shift - 1))) >> shift


def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """§4.2: acc[i, n] = bias[n] + Σ_k x[i, k] · W[n, k], int32 values (returned as int64).

    The products are summed by a float64 matrix product: every partial sum is an integer of magnitude
    at most 128 · 127 · K ≤ 2^30 < 2^53, so each is exact in float64 whatever order BLAS adds them in.
    `weight` may be given as float64 already (GoldenModel converts each matrix once).
    """
    x = np.asarray(x, dtype=np.int64)
    check(x, -128, 127, "linear input")
    if weight.shape[-1] > 65536:
        raise BoundError(f"linear layer with {weight.shape[-1]} inputs: FORMAT.md bounds K ≤ 65536")
    products = x.astype(np.float64) @ np.asarray(weight, dtype=np.float64).T
    acc = products.astype(np.int64) + np.asarray(bias, dtype=np.int64)
    check(acc, -(2**31), 2**31 - 1, "linear accumulator")
    return acc


def iexp(w: np.ndarray, exp: ExpDomain) -> np.ndarray:
    """§4.3: i-exp of exp-domain integers w ≤ 0 (−w ≤ 2^31); ≈ c · 2^(w / 2^K)."""
    w = np.asarray(w, dtype=np.int64)
    check(w, -(2**31), 0, "i-exp input")
    n = -w
    q = n >> exp.frac_bits
    r = -(n - (q << exp.frac_bits))
    z = r * (r + exp.poly_b) + exp.poly_c
    check(z, 1, 2**31 - 1, "i-exp polynomial z")
    return np.where(q > 30, 0, z >> np.minimum(q, 30))


EXP16_MAX = 2**15 - 1   # the largest 16-bit exp of format version 5's I-BERT softmax


def softmax_rows(t: np.ndarray, key_mask: np.ndarray, exp: ExpDomain,
                 exp16: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """§4.6 step 2: P_ij (0 … 255, scale 1/256) from exp-domain scores t[..., i, j].

    Keys j with key_mask[j] false get 0 and enter neither the max nor the sum; a row with no key left
    is all 0. With `exp16` (a layer's attn_exp16 rescale, format version 5) the exps are first
    requantized to 16 bits and P is floored, as Hugging Face's I-BERT IntSoftmax computes it.
    """
    t = np.asarray(t, dtype=np.int64)
    check(t, -(2**30), 2**30, "attention scores in the exp domain")
    keys = np.asarray(key_mask, dtype=bool)
    if not keys.any():
        return np.zeros_like(t)
    row_max = t[..., keys].max(axis=-1, keepdims=True)
    e = np.where(keys, iexp(np.where(keys, t - row_max, 0), exp), 0)
    if exp16 is not None:
        e16 = np.minimum(EXP16_MAX, rq(e, *exp16))     # ≥ 1 at the row's max key (the file guarantees it)
        factor = (np.int64(1) << 32) // e16.sum(axis=-1, keepdims=True)
        return np.minimum(255, (e16 * factor) >> 24)   # e16 ≤ Σ, so e16 · factor ≤ 2^32
    total = e.sum(axis=-1, keepdims=True)
    check(total, exp.poly_c, 2**43, "softmax row sum")        # n ≤ 8192 terms ≤ c ≤ 2^30
    f = (np.int64(1) << 62) // total          # ≥ 2^19: 19 significant bits or more
    # rounded to nearest (format version 2); e ≤ total, so e · f ≤ 2^62 and + 2^53 fits int64
    return np.minimum(255, (e * f + (np.int64(1) << 53)) >> 54)


def _exact_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b of integer arrays whose partial sums stay below 2^53 in magnitude, exact via float64."""
    return (a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, key_mask: np.ndarray, num_heads: int,
              scores_rq: tuple[np.ndarray, np.ndarray], ctx_rq: tuple[np.ndarray, np.ndarray],
              exp: ExpDomain, trace: dict | None = None,
              exp16: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """§4.6 steps 2-3: the int8 context of n tokens from int8 q, k, v (n × H) and the keys' mask.

    Head h owns columns hD … hD + D − 1. The products q·k (|Σ| ≤ 2^14 · D ≤ 2^22) and P·v
    (|Σ| ≤ 255 · 128 · n ≤ 2^28) are exact in float64. `trace`, if given, receives the exp-domain
    scores t ("scores") and the probabilities P ("probs"), both [head, i, j].
    """
    n, hidden = q.shape
    d = hidden // num_heads
    for name, m in (("q", q), ("k", k), ("v", v)):
        check(np.asarray(m), -128, 127, f"attention {name}")
    heads = [np.asarray(m, dtype=np.int64).reshape(n, num_heads, d).transpose(1, 0, 2) for m in (q, k, v)]
    scores = _exact_matmul(heads[0], heads[1].transpose(0, 2, 1))        # [head, i, j]
    check(scores, -(2**31), 2**31 - 1, "attention scores q·k")
    t = rq(scores, *scores_rq)
    probs = softmax_rows(t, key_mask, exp, exp16)
    if trace is not None:
        trace["scores"], trace["probs"] = t, probs
    context = _exact_matmul(probs, heads[2])                             # [head, i, d]
    check(context, -(2**31), 2**31 - 1, "attention P·v")
    return sat(rq(context, *ctx_rq), 8).transpose(1, 0, 2).reshape(n, hidden)


def igelu(t: np.ndarray, gelu: Gelu) -> np.ndarray:
    """§4.4: g = t · (y + one), int64, for 20-bit inputs t at scale s_g; y by the file's erf form."""
    t = np.asarray(t, dtype=np.int64)
    check(t, -(2**19), 2**19 - 1, "i-GELU input")
    a = np.minimum(np.abs(t), -gelu.b)
    if gelu.form == ERF3:
        y = (np.sign(t) * _erf3_l(a + gelu.b, gelu) * gelu.one) >> ERF3_FRAC
    else:
        z = (a + gelu.b) ** 2 + gelu.c
        check(z, gelu.c, -1, "i-GELU z")
        y = (np.sign(t) * z) >> gelu.shift
        check(y, -(2**11) - 1, 2**11, "i-GELU y")
    g = t * (y + gelu.one)
    check(g, -(2**31 + 2**19) + 1, 2**31 + 2**19 - 1, "i-GELU product g")
    return g


def _erf3_l(d: np.ndarray, gelu: Gelu) -> np.ndarray:
    """§4.4, erf3: L ≈ erf(|x|/√2) · 2^14 for d = min(|t|, −b) + b, by the cubic in D = (d · d_mult) >> 12;
    every product, L · one too, within int32 (the readers enumerate every d)."""
    int32 = (-(2**31), 2**31 - 1)
    product = d * gelu.d_mult
    check(product, *int32, "erf3 d · d_mult")
    dd = product >> ERF3_D_SHIFT
    p = gelu.c3 * dd
    check(p, *int32, "erf3 c3 · D")
    p = ((p >> ERF3_FRAC) + gelu.c2) * dd
    check(p, *int32, "erf3 p · D")
    p = ((p >> ERF3_FRAC) + gelu.c1) * dd
    check(p, *int32, "erf3 p · D")
    l = (1 << ERF3_FRAC) + (p >> ERF3_FRAC)
    check(l * gelu.one, *int32, "erf3 L · one")
    return l


def check_erf3(gelu: Gelu) -> None:
    """Raise BoundError unless every d in [b, 0] keeps erf3's products within int32 and |y + one| ≤
    2^12 + 1 for both signs (what the readers check once per file, so that kernels use 32-bit lanes)."""
    l_one = _erf3_l(np.arange(gelu.b, 1, dtype=np.int64), gelu) * gelu.one
    for sign in (1, -1):
        check(((sign * l_one) >> ERF3_FRAC) + gelu.one, -(2**12) - 1, 2**12 + 1, "erf3 y + one")


def isqrt(v: np.ndarray) -> np.ndarray:
    """⌊√v⌋ exactly, element by element, for 0 ≤ v < 2^62.

    The float64 square root is within one of the answer (v's rounding to 53 bits moves √v by far less
    than 1 at these sizes); integer comparisons then correct it.
    """
    v = np.asarray(v, dtype=np.int64)
    check(v, 0, 2**62 - 1, "isqrt input")
    s = np.floor(np.sqrt(v.astype(np.float64))).astype(np.int64)
    s = np.where(s * s > v, s - 1, s)
    s = np.where((s + 1) * (s + 1) <= v, s + 1, s)
    if np.any(s * s > v) or np.any((s + 1) * (s + 1) <= v):
        raise BoundError("isqrt: the float estimate was off by more than one")
    return s


def layernorm(x: np.ndarray, mult: np.ndarray, shift: np.ndarray, bias: np.ndarray, bits: int = 8) -> np.ndarray:
    """§4.5: integer layer norm of each row of x (22-bit values) into int8 (the sentence-embedding pool's:
    16 bits, §4.10)."""
    x = np.asarray(x, dtype=np.int64)
    check(x, -(2**21), 2**21 - 1, "layer norm input")
    hidden = x.shape[-1]
    total = x.sum(axis=-1, keepdims=True)
    mean = (2 * total + hidden) // (2 * hidden)                  # floor division: round half up
    y = x - mean
    var = (y * y).sum(axis=-1, keepdims=True)
    check(var, 0, 2**57 - 1, "layer norm variance")
    std = isqrt(var)
    f = np.where(var > 0, (np.int64(1) << 31) // np.maximum(std, 1), 0)
    nrm = (y * f) >> 1
    check(nrm, -(2**30), 2**30, "normalized layer norm value")
    mult = np.asarray(mult, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    bias = np.asarray(bias, dtype=np.int64)
    check(mult, -(2**31) + 1, 2**31 - 1, "layer norm multiplier")
    check(shift, 1, 62, "layer norm shift")
    check(bias, -(2**61), 2**61, "layer norm bias")
    return sat((nrm * mult + bias) >> shift, bits)


def tanh_head(u: np.ndarray, exp: ExpDomain) -> np.ndarray:
    """§4.6 head: tanh of u (scale ln2 / 2^(K+1), |u| ≤ 2^30) as int8 at scale 1/127."""
    u = np.asarray(u, dtype=np.int64)
    check(u, -(2**30), 2**30, "tanh input")
    e = iexp(-np.abs(u), exp)
    c = exp.poly_c
    return np.sign(u) * ((254 * (c - e) + (c + e)) // (2 * (c + e)))
