"""The sentence-embedding head of models/FORMAT.md §4.10 in numpy integers: the last layer's
residual sums through a 16-bit layer norm, pooled over the unmasked tokens, optionally L2-normalized."""
from __future__ import annotations

import numpy as np

from . import ops

POOL_BITS = 16          # the pool layer norm's output width
NORMALIZED_SHIFT = 15   # a normalized embedding has scale 2^-15: |out| ≤ 2^15
NORM_EXTRA_BITS = 9     # the squared norm is taken 2^(2·9) larger before isqrt, for a precise divisor
POOLING_MODES = ("mean", "cls", "max")


def pool_layer_norm(r: np.ndarray, mult: np.ndarray, shift: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """§4.5's layer norm of each row of the 22-bit sums r, saturated to 16 bits instead of 8."""
    return ops.layernorm(r, mult, shift, bias, bits=POOL_BITS)


def pool(z: np.ndarray, key_mask: np.ndarray, mode: str) -> np.ndarray:
    """The pooled vector of the 16-bit rows z over the tokens with mask 1 (cls: row 0)."""
    z = np.asarray(z, dtype=np.int64)
    if mode == "cls":
        return z[0]
    rows = z[np.asarray(key_mask, dtype=bool)[: len(z)]]
    if not len(rows):
        return np.zeros(z.shape[-1], dtype=np.int64)
    if mode == "max":
        return rows.max(axis=0)
    count = len(rows)
    return (2 * rows.sum(axis=0) + count) // (2 * count)     # round half up


def l2_normalize(p: np.ndarray) -> np.ndarray:
    """round(p · 2^15 / ‖p‖) with an integer square root; 0 for p = 0."""
    p = np.asarray(p, dtype=np.int64)
    ops.check(p, -(2 ** (POOL_BITS - 1)), 2 ** (POOL_BITS - 1) - 1, "pooled embedding")
    squares = int((p * p).sum())                      # ≤ 8192 · 2^30 = 2^43
    if squares == 0:
        return np.zeros_like(p)
    norm = int(ops.isqrt(np.int64(squares << (2 * NORM_EXTRA_BITS))))   # √(Σp²) · 2^9, < 2^31
    numerator = p << (NORMALIZED_SHIFT + NORM_EXTRA_BITS + 1)           # |p| · 2^25 < 2^40
    return (numerator + norm) // (2 * norm)
