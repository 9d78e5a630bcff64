"""Activation ranges of an I-BERT checkpoint, taken from its QuantAct modules' x_min / x_max buffers."""
from __future__ import annotations

import torch

from .activation_points import ActivationRanges
from .architectures import base_model, ibert_quant_acts
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
    return ActivationRanges(absmax, "I-BERT QuantAct ranges", 0, residual_margin=1.0,
                            exp16_ranges=exp16_ranges(checkpoint))


def exp16_ranges(checkpoint: Checkpoint) -> list[float]:
    """Per layer, the range of HF's 16-bit softmax QuantAct (IntSoftmax.act) over the largest exp its
    IntSoftmax makes, the exp of a row's maximum score (HF's int_exp(0), the same in every row).

    IntSoftmax requantizes its integer exps to 16 bits at that range, so a largest exp of 1 becomes
    32767 / ratio, clamped at 32767 where the ratio is below 1. HF's int_exp(0) depends on the scores'
    scale, which HF sets in its forward pass, so one forward pass of two tokens records it.
    """
    model, layers = checkpoint.model, base_model(checkpoint.model, checkpoint.arch).encoder.layer
    largest, handles = {}, []

    def record(layer: int):
        def hook(module, args):
            largest[layer] = float(args[0].max())   # the integer exps IntSoftmax hands its act
        return hook

    for l, layer in enumerate(layers):
        handles.append(layer.attention.self.softmax.act.register_forward_pre_hook(record(l)))
    ids = torch.arange(2)[None] + checkpoint.config.pad_token_id + 1   # no pad id: positions count from it
    training = model.training
    try:
        model.eval()
        with torch.no_grad():
            base_model(model, checkpoint.arch)(input_ids=ids)
    finally:
        model.train(training)
        for handle in handles:
            handle.remove()
    ranges = []
    for l, layer in enumerate(layers):
        act = layer.attention.self.softmax.act
        ranges.append(max(abs(float(act.x_min)), abs(float(act.x_max))) / largest[l])
    return ranges
