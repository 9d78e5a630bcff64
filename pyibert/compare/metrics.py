"""Error measures of `pyibert compare`, accumulated over every text, token and channel of a step."""
from __future__ import annotations

import math

import numpy as np


class StepError:
    """Signal-to-quantization-noise ratio and cosine of dequantized integers against real values,
    over all values seen (one long vector, not a mean over texts), and how many integers sat at the
    step's saturation bounds."""

    def __init__(self) -> None:
        self.signal = self.noise = self.dot = self.dequantized = 0.0
        self.values = self.saturated = 0

    def add(self, ints: np.ndarray, scale: np.ndarray, reference: np.ndarray, bits: int | None) -> None:
        if ints.shape != reference.shape:
            raise ValueError(f"integer tensor of shape {ints.shape} against reference values of shape "
                             f"{reference.shape}")
        values = ints * scale
        self.signal += float(np.square(reference).sum())
        self.noise += float(np.square(values - reference).sum())
        self.dot += float((values * reference).sum())
        self.dequantized += float(np.square(values).sum())
        self.values += ints.size
        if bits is not None:
            self.saturated += int(((ints <= -(2 ** (bits - 1))) | (ints >= 2 ** (bits - 1) - 1)).sum())

    @property
    def sqnr_db(self) -> float:
        """10·log10(Σ ref² / Σ (int − ref)²); +inf where they are equal."""
        if self.noise == 0.0:
            return math.inf
        return 10.0 * math.log10(max(self.signal, math.ulp(0.0)) / self.noise)

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
