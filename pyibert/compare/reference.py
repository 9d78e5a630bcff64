"""The reference side of `pyibert compare`: a Hugging Face checkpoint run with forward hooks.

Each step is compared with the tensor below (module paths as in a BERT; RoBERTa and I-BERT have the
same tree). Float checkpoints run in FP32 with eager attention:

    embd_sum      input of embeddings.LayerNorm (word + position + type embeddings)
    embd          output of embeddings.LayerNorm
    q, k, v       outputs of attention.self.query / key / value
    scores        q·kᵀ/√D per head, recomputed in float64 from those q and k
    probs         the attention probabilities (output_attentions)
    ctx           input of attention.output.dense
    attn_sum      input of attention.output.LayerNorm (dense output + layer input)
    attn_norm     output of attention.output.LayerNorm
    gelu_in       output of intermediate.dense
    gelu          input of output.dense
    ffn_sum       input of output.LayerNorm
    ffn_norm      output of output.LayerNorm
    cls_dense     BERT, and every multiple choice: output of pooler.dense; RoBERTa, I-BERT sequence
                  classification and regression: output of classifier.dense
    cls_tanh      the pooler's output, or the input of classifier.out_proj
    mlm_gelu_in   fill-mask: output of the head's dense (cls.predictions.transform.dense, lm_head.dense)
    mlm_act       fill-mask: input of the head's LayerNorm (its GELU's output)
    mlm_norm      fill-mask: output of the head's LayerNorm
    logits        the model's logits (question answering: start and end logits as two columns; fill-mask:
                  the rows of the mask token's positions, as the head's other steps)

An I-BERT checkpoint runs in its quant_mode; there the encoder steps are the outputs of the QuantAct
modules whose ranges the converter takes (pyibert.convert.architectures.ibert_quant_acts), i.e. the
values HF's next integer step reads.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..convert.architectures import (base_model, calibration_hooks, encoder_params, ibert_quant_acts,
                                     masked_lm_head)
from ..convert.checkpoint import Checkpoint, load_checkpoint
from ..tasks import names

# calibration point names that differ from the golden model's trace keys
_TRACE_KEY = {"embd_norm": "embd", "attn_res": "attn_sum", "ffn_res": "ffn_sum"}


def _trace_key(point: str) -> str:
    prefix, _, last = point.rpartition(".")
    key = _TRACE_KEY.get(last, last)
    return f"{prefix}.{key}" if prefix else key


def hook_points(checkpoint: Checkpoint, task: str) -> dict[str, tuple[nn.Module, str]]:
    """Trace key → (module, "input" or "output") whose first tensor is that step's real value."""
    model, arch = checkpoint.model, checkpoint.arch
    if arch.family == "ibert":
        points = {point: (act, "output") for point, act in ibert_quant_acts(model, arch).items()}
    else:
        points = calibration_hooks(model, arch)
    points = {_trace_key(point): where for point, where in points.items()}
    base = base_model(model, arch)
    for l, layer in enumerate(base.encoder.layer):
        points[f"blk.{l}.gelu_in"] = (layer.intermediate.dense, "output")
    if task in names.FIRST_TOKEN_TASKS:
        if arch.family == "bert" or task == names.MULTIPLE_CHOICE:   # the pooler, then the classifier
            points["cls_dense"], points["cls_tanh"] = (base.pooler.dense, "output"), (base.pooler, "output")
        else:
            points["cls_dense"] = (model.classifier.dense, "output")
            points["cls_tanh"] = (model.classifier.out_proj, "input")
    elif task == names.FILL_MASK:
        dense, norm, _ = masked_lm_head(model, arch)
        points.update({"mlm_gelu_in": (dense, "output"), "mlm_act": (norm, "input"), "mlm_norm": (norm, "output")})
    return points


def _first_tensor(value) -> torch.Tensor:
    """HF float modules give a tensor; I-BERT's quantized ones a (tensor, scaling factor) pair."""
    return value[0] if isinstance(value, (tuple, list)) else value


class Reference:
    """A loaded checkpoint: `run(batch)` gives, per sequence, every step's real values as float64.
    `mask_token_id` picks the rows of a fill-mask head's steps."""

    def __init__(self, hf_dir: Path, mask_token_id: int | None = None):
        self.checkpoint = load_checkpoint(hf_dir)
        self.model = self.checkpoint.model
        self.model.set_attn_implementation("eager")   # the attention probabilities come from its softmax
        self.params = encoder_params(self.model, self.checkpoint.arch)
        self.task = self.params.task
        self.mask_token_id = mask_token_id
        self.num_heads = self.checkpoint.config.num_attention_heads
        self.points = hook_points(self.checkpoint, self.task)
        names_of = {module: name for name, module in self.model.named_modules()}
        self.descriptions = {key: f"{side} of {names_of[module]}"
                             for key, (module, side) in self.points.items()}
        self.descriptions.update({f"blk.{l}.{key}": what for l in range(len(self.params.layers))
                                  for key, what in (("scores", "q·kᵀ/√D from q and k, float64"),
                                                    ("probs", "attention probabilities (output_attentions)"))})
        if self.task == names.QUESTION_ANSWERING:
            self.descriptions["logits"] = "the model's start and end logits"
        elif self.checkpoint.arch.has_head:
            self.descriptions["logits"] = "the model's logits"

    @property
    def kind(self) -> str:
        if self.checkpoint.arch.family == "ibert":
            return f"{self.checkpoint.arch.name} in quant_mode"
        return f"{self.checkpoint.arch.name} FP32"

    def run(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None
            ) -> list[dict[str, np.ndarray]]:
        """Per sequence of the batch, trace key → float64 values of its real (unpadded) tokens."""
        captured: dict[str, torch.Tensor] = {}

        def hook(key: str, side: str):
            def store(value) -> None:
                captured[key] = _first_tensor(value).detach()   # I-BERT's embeddings_act1 runs twice: last wins
            if side == "input":
                return lambda module, args: store(args)
            return lambda module, args, output: store(output)

        handles = [module.register_forward_pre_hook(hook(key, side)) if side == "input"
                   else module.register_forward_hook(hook(key, side))
                   for key, (module, side) in self.points.items()]
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            inputs["token_type_ids"] = token_type_ids
        if self.task == names.MULTIPLE_CHOICE:   # each sequence as a prompt with one choice: one score each
            inputs = {name: tensor[:, None] for name, tensor in inputs.items()}
        try:
            with torch.inference_mode():
                output = self.model(**inputs, output_attentions=True)
        finally:
            for handle in handles:
                handle.remove()
        if self.task == names.QUESTION_ANSWERING:
            captured["logits"] = torch.stack([output.start_logits, output.end_logits], dim=-1)
        elif self.checkpoint.arch.has_head:
            captured["logits"] = output.logits
        lengths = attention_mask.sum(dim=1).tolist()
        return [self._sequence(captured, output.attentions, input_ids[i, :n], i, n) for i, n in enumerate(lengths)]

    def _sequence(self, captured: dict, attentions, ids: torch.Tensor, i: int, n: int) -> dict[str, np.ndarray]:
        masked = None if self.mask_token_id is None else (ids == self.mask_token_id).nonzero().flatten()
        values = {}
        for key, tensor in captured.items():
            if key.startswith("mlm_") or (key == "logits" and self.task == names.FILL_MASK):
                row = tensor[i, masked]    # the head runs at the masked positions only
            elif key == "logits" and self.task not in names.EVERY_TOKEN_TASKS:
                row = tensor[i]
            elif key.startswith("cls_"):
                row = tensor[i:i + 1]      # the head reads token 0: one row, as in the golden model
            else:
                row = tensor[i, :n]
            values[key] = row.double().numpy()
        for l, probs in enumerate(attentions):
            p = f"blk.{l}."
            q, k = (values[p + name].reshape(n, self.num_heads, -1).transpose(1, 0, 2) for name in ("q", "k"))
            values[p + "scores"] = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1])
            values[p + "probs"] = probs[i, :, :n, :n].double().numpy()
        return values
