"""GPTQ-style error-compensating rounding (Frantar et al. 2022) for the group-wise codes of groupwise.py
and for int8 rows (convert/weights.py).

Columns (inputs) are rounded one after another; each column's rounding error is spread over the columns
not yet rounded through the inverse of H = 2·X·Xᵀ (X: the layer's calibration inputs), so the layer's
output on those inputs, not the weights, stays close. Row scales are chosen from the original weights
(they are shared by all groups of a row); each group's sub-scale is chosen when rounding reaches it, from
the weights as compensation has left them. Work is done in blocks of columns with one matrix product per
block for the columns after it (GPTQ's lazy batch update).
"""
from __future__ import annotations

import numpy as np

from .groupwise import GroupQuantized, _round, best_sub_scales, check_group_size, row_scales

DAMPING = 0.01      # fraction of the mean diagonal added to H, as GPTQ does, so it is invertible
BLOCK = 128


def second_moment(inputs: np.ndarray) -> np.ndarray:
    """H = 2·XᵀX/rows for the layer inputs [rows, K] (the mean keeps it independent of the row count)."""
    x = np.asarray(inputs, dtype=np.float64)
    return 2.0 * x.T @ x / max(len(x), 1)


def _inverse_cholesky(hessian: np.ndarray) -> np.ndarray:
    """The upper Cholesky factor U of H⁻¹ (H⁻¹ = UᵀU) after damping."""
    h = hessian.copy()
    h[np.diag_indices_from(h)] += DAMPING * float(np.mean(np.diag(h)))
    inverse = np.linalg.inv(h)
    return np.linalg.cholesky(inverse).T


def _compensated_codes(weight: np.ndarray, hessian: np.ndarray, block: int, round_column) -> np.ndarray:
    """GPTQ's loop: each column's codes from `round_column(column, w_block, i)` → (codes, scale per row),
    given the weights as compensation has left them (w_block[:, i] is that column); its rounding error
    spread over the columns not yet rounded."""
    w = np.array(weight, dtype=np.float64)
    n, k = w.shape
    if hessian.shape != (k, k):
        raise ValueError(f"H is {hessian.shape}, the weight has {k} inputs")
    h = np.array(hessian, dtype=np.float64)
    # An input that never varies carries no information: its weight does not matter, fix it to 0.
    dead = np.diag(h) == 0
    h[dead, dead] = 1.0
    w[:, dead] = 0.0
    u = _inverse_cholesky(h)
    codes = np.zeros((n, k), dtype=np.int8)
    for start in range(0, k, block):
        stop = min(start + block, k)
        w_block = w[:, start:stop].copy()
        errors = np.zeros_like(w_block)
        u_block = u[start:stop, start:stop]
        for i in range(stop - start):
            q, scale = round_column(start + i, w_block, i)
            codes[:, start + i] = q
            error = (w_block[:, i] - q * scale) / u_block[i, i]
            w_block[:, i:] -= np.outer(error, u_block[i, i:])
            errors[:, i] = error
        w[:, stop:] -= errors @ u[start:stop, stop:]
    return codes


def quantize_gptq(weight: np.ndarray, hessian: np.ndarray, bits: int, group_size: int) -> GroupQuantized:
    w = np.asarray(weight, dtype=np.float64)
    n, k = w.shape
    check_group_size(k, group_size)
    row_scale = row_scales(w, bits, group_size)
    sub = np.ones((n, k // group_size if group_size else 1), dtype=np.uint8)
    # Blocks hold whole groups, so a group's sub-scale sees the weights after all compensation so far.
    block = group_size * max(1, BLOCK // group_size) if group_size else BLOCK

    def round_column(column: int, w_block: np.ndarray, i: int):
        if group_size and column % group_size == 0:
            group = w_block[:, i:i + group_size][:, None, :]
            sub[:, column // group_size] = best_sub_scales(group, row_scale, bits)[0][:, 0]
        scale = row_scale * (sub[:, column // group_size] if group_size else 1.0)
        return _round(w_block[:, i], scale, bits), scale

    codes = _compensated_codes(w, hessian, block, round_column)
    return GroupQuantized(codes, row_scale, sub, bits, group_size)


def quantize_rows_gptq(weight: np.ndarray, hessian: np.ndarray, row_scale: np.ndarray, limit: int) -> np.ndarray:
    """int8 codes in [−limit, limit] of weight [N, K] at the given scale per row, GPTQ-rounded."""
    scale = np.asarray(row_scale, dtype=np.float64)
    return _compensated_codes(weight, hessian, BLOCK,
                              lambda column, w_block, i: (np.clip(np.rint(w_block[:, i] / scale), -limit, limit), scale))
