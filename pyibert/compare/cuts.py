"""`pyibert compare --cuts`: where a sequence classifier's output error is made.

The SQNR table says how far each step's integers are from the checkpoint's values; it does not say
what that costs at the output, because a layer norm, the residual path and the later layers can damp
or amplify an error. Here, for every cut point, the golden model's integers at that step (dequantized
with the scales of scales.py) go into the float checkpoint, which runs the rest of the model to the
logits. Read top to bottom, the rows where the mean |Δ margin| rises are the steps that make the
output's error. Measured this way on MiniLM SST-2 classifiers, most of it is made in layer 0's FFN
(README, "Finding where accuracy is lost").

Cut points, per layer: the attention layer norm (the FFN runs in float), FFN up (GELU and FFN down in
float), the FFN's 22-bit residual sum (its layer norm in float) and the layer's output; before them
the embeddings. No cut sits at the GELU output: the converter folds its fit of the float GELU on
i-GELU into FFN down's columns (FORMAT.md §4.9), so those integers alone are not meant to match the
float GELU. Float BERT and RoBERTa checkpoints only (an I-BERT checkpoint's reference is its
quant_mode, which cannot be continued from arbitrary values).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..convert.architectures import base_model
from ..convert.checkpoint import Checkpoint
from .metrics import output_agreement

# trace key → (step title as in the SQNR table, what the float checkpoint runs of the same layer)
_LAYER_CUTS = {"attn_norm": ("attn LN", "FFN"), "gelu_in": ("FFN up", "GELU, FFN down"),
               "ffn_sum": ("FFN down+res", "FFN LN"), "ffn_norm": ("FFN LN", "")}


@dataclass
class CutResult:
    name: str                   # the golden model's trace key where the integers stop ("logits": the file)
    block: str                  # "embeddings", "layer 2", "head"
    step: str                   # "FFN up"
    float_after: str            # what the float checkpoint runs from there
    agreement: float            # label agreement with the reference
    flips: int
    mean_abs_margin_delta: float


@dataclass(frozen=True)
class CutPoint:
    """Where the file's integers stop (`name`, a trace key; `layer` None before the first layer) and
    how the report names the row."""
    name: str
    layer: int | None
    block: str
    step: str
    float_after: str


def _layers(first: int, last: int) -> str:
    if first > last:
        return "the head"
    return f"layer {first}, the head" if first == last else f"layers {first}-{last}, the head"


def cut_points(num_layers: int) -> list[CutPoint]:
    last = num_layers - 1
    cuts = [CutPoint("embd", None, "embeddings", "LN", _layers(0, last))]
    for layer in range(num_layers):
        for key, (step, in_layer) in _LAYER_CUTS.items():
            after = _layers(layer + 1, last)
            cuts.append(CutPoint(f"blk.{layer}.{key}", layer, f"layer {layer}", step,
                             f"{in_layer}; {after}" if in_layer else after))
    return cuts


class FloatContinuation:
    """The float checkpoint from any cut point to its logits."""

    def __init__(self, checkpoint: Checkpoint):
        self.model = checkpoint.model
        self.base = base_model(self.model, checkpoint.arch)
        self.layers = self.base.encoder.layer
        self.pooled = checkpoint.arch.family == "bert"   # BERT: pooler, then classifier; RoBERTa: its head
        self.dtype = next(self.model.parameters()).dtype

    def _from_hidden(self, x: torch.Tensor, first_layer: int) -> np.ndarray:
        for layer in self.layers[first_layer:]:
            out = layer(x)
            x = out[0] if isinstance(out, tuple) else out
        logits = self.model.classifier(self.base.pooler(x) if self.pooled else x)
        return logits[0].double().numpy()

    def logits(self, cut: CutPoint, trace: dict, scales: dict) -> np.ndarray:
        def real(key: str) -> torch.Tensor:
            return torch.as_tensor(trace[key] * scales[key], dtype=self.dtype)[None]

        with torch.inference_mode():
            if cut.layer is None:
                return self._from_hidden(real(cut.name), 0)
            block, key = self.layers[cut.layer], cut.name.rsplit(".", 1)[1]
            value = real(cut.name)
            if key == "attn_norm":
                x = block.output(block.intermediate(value), value)
            elif key == "gelu_in":
                x = block.output(block.intermediate.intermediate_act_fn(value), real(f"blk.{cut.layer}.attn_norm"))
            elif key == "ffn_sum":
                x = block.output.LayerNorm(value)
            else:
                x = value
            return self._from_hidden(x, cut.layer + 1)


def cut_results(cuts: list[CutPoint], at_cut: dict[str, list[np.ndarray]], integer: list[np.ndarray],
                reference: list[np.ndarray]) -> list[CutResult]:
    """One result per cut, then the file's own logits as the last row."""
    ref = np.stack(reference)
    rows = [(cut, np.stack(at_cut[cut.name])) for cut in cuts]
    rows.append((CutPoint("logits", None, "head", "logits", "nothing: the whole file"), np.stack(integer)))
    results = []
    for cut, logits in rows:
        agreement = output_agreement(logits, ref, None)
        flips = int((logits.argmax(axis=1) != ref.argmax(axis=1)).sum())
        results.append(CutResult(cut.name, cut.block, cut.step, cut.float_after, agreement["agreement"], flips,
                                 agreement["mean_abs_margin_delta"]))
    return results
