"""Activation ranges of an I-BERT checkpoint, taken from its QuantAct modules' x_min / x_max buffers."""
from __future__ import annotations

from .activation_points import ActivationRanges
from .architectures import ibert_quant_acts
from .checkpoint import Checkpoint
from .errors import ConversionError

# QuantAct initialises its range to ±1e-5 and widens it only when run in training mode.
_UNCALIBRATED = 1.1e-5


def ibert_ranges(checkpoint: Checkpoint) -> ActivationRanges:
    absmax = {}
    for point, act in ibert_quant_acts(checkpoint.model, checkpoint.arch).items():
        absmax[point] = max(abs(float(act.x_min)), abs(float(act.x_max)))
    uncalibrated = [p for p, v in absmax.items() if v <= _UNCALIBRATED]
    if uncalibrated:
        raise ConversionError(
            f"{checkpoint.path} is an I-BERT checkpoint whose activation ranges were never calibrated "
            f"(QuantAct x_min/x_max still at their initial ±1e-5 at {', '.join(uncalibrated[:3])}"
            f"{' …' if len(uncalibrated) > 3 else ''}); fine-tune or run it in training mode with "
            "quant_mode=True on sample text and save it again")
    return ActivationRanges(absmax, "I-BERT QuantAct ranges", 0, residual_margin=1.0)
