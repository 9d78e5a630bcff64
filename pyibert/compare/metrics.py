"""Error measures of `pyibert compare`, accumulated over every text, token and channel of a step."""
from __future__ import annotations

import math

import numpy as np

from ..cli.evaluate_tasks import spearman


SQNR_CEILING_DB = 150.0   # an exact value counts as this: far above any quantization error, below float64's own


def _sqnr_db(signal, noise):
    """10·log10(signal / noise), at most SQNR_CEILING_DB (noise 0: the values are exact)."""
    with np.errstate(over="ignore"):   # an exact step's ratio overflows to inf, which the ceiling caps
        ratio = np.asarray(signal, dtype=np.float64) / np.maximum(noise, math.ulp(0.0))
    return np.minimum(10.0 * np.log10(np.maximum(ratio, 10.0 ** (-SQNR_CEILING_DB / 10))), SQNR_CEILING_DB)


class StepError:
    """Signal-to-quantization-noise ratio and cosine of dequantized integers against real values,
    over all values seen (one long vector, not a mean over texts), how many integers sat at the
    step's saturation bounds, and for tensors of tokens × channels the SQNR of each channel.

    The SQNR over all values is dominated by the largest ones (outlier channels, [CLS]); the median
    of the channels' SQNRs shows what an ordinary channel keeps, e.g. when a few wide channels set
    one scale for the whole tensor.
    """

    def __init__(self) -> None:
        self.signal = self.noise = self.dot = self.dequantized = 0.0
        self.values = self.saturated = 0
        self.channel_signal = self.channel_noise = None   # per channel, for token × channel tensors

    def add(self, ints: np.ndarray, scale: np.ndarray, reference: np.ndarray, bits: int | None,
            zero_point: np.ndarray | int = 0) -> None:
        """Integers `ints` stand for (ints − zero_point) · scale (a zero point along the last axis)."""
        if ints.shape != reference.shape:
            raise ValueError(f"integer tensor of shape {ints.shape} against reference values of shape "
                             f"{reference.shape}")
        values = (ints - zero_point) * scale
        squared_error = np.square(values - reference)
        self.signal += float(np.square(reference).sum())
        self.noise += float(squared_error.sum())
        if values.ndim == 2:
            if self.channel_signal is None:
                self.channel_signal, self.channel_noise = np.zeros(values.shape[1]), np.zeros(values.shape[1])
            self.channel_signal += np.square(reference).sum(axis=0)
            self.channel_noise += squared_error.sum(axis=0)
        self.dot += float((values * reference).sum())
        self.dequantized += float(np.square(values).sum())
        self.values += ints.size
        if bits is not None:
            # In a channel with a zero point the bottom code is the grid's floor, GELU's minimum, which
            # values reach without being clipped (about a tenth of a GELU output's codes): only its top
            # code saturates.
            at_bottom = (ints <= -(2 ** (bits - 1))) & (np.asarray(zero_point) == 0)
            self.saturated += int(((ints >= 2 ** (bits - 1) - 1) | at_bottom).sum())

    @property
    def sqnr_db(self) -> float:
        """10·log10(Σ ref² / Σ (int − ref)²)."""
        return float(_sqnr_db(self.signal, self.noise))

    @property
    def channel_sqnr_db(self) -> float | None:
        """The median over channels of each channel's SQNR; None for other tensors (scores, P, logits)."""
        if self.channel_signal is None:
            return None
        return float(np.median(_sqnr_db(self.channel_signal, self.channel_noise)))

    @property
    def cosine(self) -> float:
        norms = math.sqrt(self.signal * self.dequantized)
        return self.dot / norms if norms > 0 else (1.0 if self.signal == self.dequantized else 0.0)

    @property
    def saturated_fraction(self) -> float:
        return self.saturated / self.values if self.values else 0.0


def margins(logits: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """logit of `classes` minus the largest other logit, per row (for two labels ±(logit₁ − logit₀)).

    A single logit is its own margin.
    """
    if logits.shape[1] == 1:
        return logits[:, 0]
    rows = np.arange(len(logits))
    others = logits.copy()
    others[rows, classes] = -np.inf
    return logits[rows, classes] - others.max(axis=1)


def output_agreement(integer: np.ndarray, reference: np.ndarray, truth: np.ndarray | None) -> dict:
    """Label agreement and margin error of the integer logits against the reference's, per text.

    The margin is taken at the reference's label, so a flipped label counts its whole margin change;
    with labels also both accuracies.
    """
    if integer.shape[1] == 1:
        ref_labels, int_labels = reference[:, 0] > 0, integer[:, 0] > 0
        ref_classes = np.zeros(len(reference), dtype=int)
    else:
        ref_labels, int_labels = reference.argmax(axis=1), integer.argmax(axis=1)
        ref_classes = ref_labels
    ref_margin = margins(reference, ref_classes)
    result = {
        "agreement": float((int_labels == ref_labels).mean()),
        "mean_abs_margin_delta": float(np.abs(margins(integer, ref_classes) - ref_margin).mean()),
        "reference_mean_abs_margin": float(np.abs(ref_margin).mean()),
        "max_abs_logit_delta": float(np.abs(integer - reference).max()),
    }
    if truth is not None:
        result["accuracy"] = float((int_labels == truth).mean())
        result["reference_accuracy"] = float((ref_labels == truth).mean())
    return result


def token_agreement(integer: list[np.ndarray], reference: list[np.ndarray]) -> dict:
    """Token classification: label agreement and margin error over every token of every text."""
    return {"kind": "token_logits", "tokens": int(sum(len(r) for r in reference)),
            **output_agreement(np.concatenate(integer), np.concatenate(reference), None)}


def span_agreement(integer: list[np.ndarray], reference: list[np.ndarray]) -> dict:
    """Question answering: per text, does the integer model pick the reference's start token and its end
    token (argmax of each column of the [n, 2] logits over the text's tokens)?"""
    starts = [a[:, 0].argmax() == b[:, 0].argmax() for a, b in zip(integer, reference)]
    ends = [a[:, 1].argmax() == b[:, 1].argmax() for a, b in zip(integer, reference)]
    deltas = np.concatenate([np.abs(a - b).ravel() for a, b in zip(integer, reference)])
    return {"kind": "spans", "start_agreement": float(np.mean(starts)), "end_agreement": float(np.mean(ends)),
            "mean_abs_logit_delta": float(deltas.mean()), "max_abs_logit_delta": float(deltas.max())}


def score_agreement(integer: np.ndarray, reference: np.ndarray) -> dict:
    """Regression and multiple choice (one score per sequence): the scores' error and their Spearman
    rank correlation (None for fewer than two texts or constant scores)."""
    integer, reference = integer[:, 0], reference[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):   # one text or constant scores: no correlation
        rho = spearman(integer, reference) if len(integer) > 1 else math.nan
    return {"kind": "scores", "mean_abs_delta": float(np.abs(integer - reference).mean()),
            "max_abs_delta": float(np.abs(integer - reference).max()),
            "reference_mean_abs": float(np.abs(reference).mean()),
            "spearman": None if math.isnan(rho) else rho}


def masked_token_agreement(integer: list[np.ndarray], reference: list[np.ndarray]) -> dict:
    """Fill-mask: at every masked position, does the integer model's best token equal the reference's,
    and how many of the reference's 5 best tokens are among its own 5 best (the pipeline's top_k)?"""
    top_k = 5
    ours, theirs = np.concatenate(integer), np.concatenate(reference)
    top_ours = np.argsort(-ours, axis=1, kind="stable")[:, :top_k]
    top_theirs = np.argsort(-theirs, axis=1, kind="stable")[:, :top_k]
    overlap = [len(set(a) & set(b)) / top_k for a, b in zip(top_ours, top_theirs)]
    return {"kind": "masked_tokens", "masked": len(theirs),
            "top1_agreement": float((ours.argmax(axis=1) == theirs.argmax(axis=1)).mean()),
            "top5_overlap": float(np.mean(overlap)), "max_abs_logit_delta": float(np.abs(ours - theirs).max())}
