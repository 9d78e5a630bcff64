"""Symmetric low-bit weights in groups of inputs, each group with an integer sub-scale under its row's scale.

A weight row w[n, :] of K inputs is cut into groups of `group_size` consecutive inputs. Each weight is
an integer code q in [−2^(b−1), 2^(b−1) − 1] (all 2^b levels used; zero is exact), and its value is

    w ≈ q · row_scale[n] · sub[n, g]            sub[n, g] ∈ {1, …, 63}   (SUB_SCALE_BITS = 6 unsigned)

so the integer runtime multiplies each group's int32 partial sum by the small integer sub[n, g] and
applies one dyadic rescale per row, as llama.cpp's k-quants do with their 6-bit block scales under a
super-block scale, but per output row (MiniLM's 384 inputs are too few for 256-wide super-blocks).
group_size 0 means one scale per row (every sub-scale 1).

Clipping is searched for least squared error, never taken from the maximum: without groups the row
scale over 36 fractions of the row's absmax; with groups each group's integer sub-scale over 12 clipping
fractions of the group's absmax, under each of ROW_FRACTIONS row scales.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SUB_SCALE_BITS = 6
SUB_SCALE_MAX = 2**SUB_SCALE_BITS - 1
WEIGHT_WIDTHS = (2, 3, 4, 6, 8)
# Fractions of the absmax tried as clipping points for a row scale.
CLIP_FRACTIONS = np.linspace(0.30, 1.0, 36)
# Row scales tried under group sub-scales (fractions of the one that puts the largest group at 63).
ROW_FRACTIONS = (1.0, 0.85, 0.7)


def code_range(bits: int) -> tuple[int, int]:
    if bits not in WEIGHT_WIDTHS:
        raise ValueError(f"weight width {bits} is not one of {WEIGHT_WIDTHS}")
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


@dataclass
class GroupQuantized:
    """codes int8 [N, K]; row_scale float64 [N]; sub_scale uint8 [N, G] (all 1 when group_size is 0)."""
    codes: np.ndarray
    row_scale: np.ndarray
    sub_scale: np.ndarray
    bits: int
    group_size: int

    def group_scales(self) -> np.ndarray:
        """The float scale of each weight's group, broadcast to [N, K]."""
        width = self.group_size or self.codes.shape[1]
        per_group = self.row_scale[:, None] * self.sub_scale.astype(np.float64)
        return np.repeat(per_group, width, axis=1)[:, : self.codes.shape[1]]

    def dequantize(self) -> np.ndarray:
        return self.codes.astype(np.float64) * self.group_scales()


def check_group_size(columns: int, group_size: int) -> None:
    if group_size < 0 or (group_size and columns % group_size):
        raise ValueError(f"group size {group_size} does not divide the {columns} inputs of the matrix "
                         "(0 means one scale per row)")


def _round(w: np.ndarray, scale: np.ndarray, bits: int) -> np.ndarray:
    lo, hi = code_range(bits)
    return np.clip(np.rint(w / scale), lo, hi)


def _best_row_scale(w: np.ndarray, bits: int) -> np.ndarray:
    """Per row of w [N, K] the scale, among CLIP_FRACTIONS of absmax/2^(b−1), with least squared error."""
    _, hi = code_range(bits)
    absmax = np.abs(w).max(axis=1)
    absmax = np.where(absmax > 0, absmax, 1.0)
    best_err = np.full(w.shape[0], np.inf)
    best = absmax / (hi + 1)
    for fraction in CLIP_FRACTIONS:
        scale = fraction * absmax / (hi + 1)
        err = ((_round(w, scale[:, None], bits) * scale[:, None] - w) ** 2).sum(axis=1)
        better = err < best_err
        best_err = np.where(better, err, best_err)
        best = np.where(better, scale, best)
    return best


def best_sub_scales(groups: np.ndarray, row_scale: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """For groups [N, G, g] under row_scale [N]: the sub-scale in 1..63 of least squared error per group
    among those that put the group's clipping point at CLIP_FRACTIONS of its absmax, and that error
    summed per row."""
    _, hi = code_range(bits)
    absmax = np.abs(groups).max(axis=2)
    best_err = np.full(groups.shape[:2], np.inf)
    best_sub = np.ones(groups.shape[:2], dtype=np.uint8)
    for fraction in CLIP_FRACTIONS[::3]:
        sub = np.clip(np.rint(fraction * absmax / (hi + 1) / row_scale[:, None]), 1, SUB_SCALE_MAX)
        scale = (row_scale[:, None] * sub)[:, :, None]
        err = ((_round(groups, scale, bits) * scale - groups) ** 2).sum(axis=2)
        better = err < best_err
        best_err = np.where(better, err, best_err)
        best_sub = np.where(better, sub, best_sub).astype(np.uint8)
    return best_sub, best_err.sum(axis=1)


def row_scales_for_groups(w: np.ndarray, bits: int, group_size: int) -> np.ndarray:
    """The row scale under which the groups' integer sub-scales give the least error. At fraction 1
    the largest group's absmax sits at sub-scale 63; smaller row scales give the small groups finer
    sub-scale steps at the price of clipping the largest group harder."""
    n, k = w.shape
    groups = w.reshape(n, k // group_size, group_size)
    _, hi = code_range(bits)
    absmax = np.abs(w).max(axis=1)
    absmax = np.where(absmax > 0, absmax, 1.0)
    best_err = np.full(n, np.inf)
    best = absmax / (hi + 1) / SUB_SCALE_MAX
    for fraction in ROW_FRACTIONS:
        row_scale = fraction * absmax / (hi + 1) / SUB_SCALE_MAX
        _, err = best_sub_scales(groups, row_scale, bits)
        better = err < best_err
        best_err = np.where(better, err, best_err)
        best = np.where(better, row_scale, best)
    return best


def row_scales(w: np.ndarray, bits: int, group_size: int) -> np.ndarray:
    """The scale of each row of w [N, K]: MSE-searched without groups, else the one under its groups."""
    return _best_row_scale(w, bits) if group_size == 0 else row_scales_for_groups(w, bits, group_size)


def quantize_nearest(weight: np.ndarray, bits: int, group_size: int) -> GroupQuantized:
    """Round to nearest under MSE-searched scales."""
    w = np.asarray(weight, dtype=np.float64)
    n, k = w.shape
    check_group_size(k, group_size)
    row_scale = row_scales(w, bits, group_size)
    if group_size == 0:
        sub = np.ones((n, 1), dtype=np.uint8)
    else:
        sub, _ = best_sub_scales(w.reshape(n, k // group_size, group_size), row_scale, bits)
    q = GroupQuantized(np.zeros((n, k), np.int8), row_scale, sub, bits, group_size)
    q.codes = _round(w, q.group_scales(), bits).astype(np.int8)
    return q


def quantize_embedding(table: np.ndarray, bits: int) -> GroupQuantized:
    """Word embeddings: one MSE-searched scale per row (token), no groups."""
    return quantize_nearest(table, bits, 0)
