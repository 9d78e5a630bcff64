"""`--max-size`: the width of every encoder linear layer and of the word embeddings chosen by the
Hessian of the task loss (Q-BERT / HAWQ-V2) under the whole file's byte budget.

Cost of a width = the layer's sensitivity × ‖Q(W) − W‖² (the predicted loss increase), minimised
exactly under the budget by qbert/allocate.py. The sensitivity comes from pyibert/qbert/sensitivity.py
on `--hessian-samples` calibration texts, against their labels (`--label-column`) or, without labels,
the float model's own predictions. Bytes per width are the file's: packed rows and sub-scales
(qbert/sizes.py) plus the fixed parts, measured on the int8 file this model makes.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..qbert.allocate import Item, allocate
from ..qbert.sizes import embedding_bytes, linear_bytes
from ..tsv import label_ids, read_columns
from .errors import ConversionError
from .lowbit import EMBEDDING_WIDTHS, WEIGHT_WIDTHS, LowBitPlan, group_size_for, quantize_low_bit

# HF module names of an encoder layer's linears → the file's names (BERT and RoBERTa alike).
_HF_LINEARS = {"attention.self.query": "attn_q", "attention.self.key": "attn_k", "attention.self.value": "attn_v",
               "attention.output.dense": "attn_out", "intermediate.dense": "ffn_up", "output.dense": "ffn_down"}
EMBEDDINGS = "token_embd"
BATCH = 8
# GGUF aligns every tensor to 32 bytes: the byte counts of qbert/sizes.py leave that padding out.
ALIGNMENT_SLACK = 32


@dataclass(frozen=True)
class BudgetOptions:
    max_size: int
    sensitivity: str = "eigen"
    hessian_samples: int = 64
    label_column: str | None = None
    iterations: int = 16
    # {file name: sensitivity} measured before (a sweep over sizes of one model measures the Hessian
    # once, bench/qbert_sweep.py); None: measure it here
    sensitivities: dict[str, float] | None = None


@dataclass
class LayerChoice:
    name: str               # blk.{l}.{kind} or token_embd
    sensitivity: float
    bits: int
    group_size: int
    bytes: int


def file_name(hf_name: str) -> str:
    """encoder.layer.3.attention.self.query → blk.3.attn_q."""
    parts = hf_name.split(".")
    layer = parts[2]
    return f"blk.{layer}.{_HF_LINEARS['.'.join(parts[3:])]}"


def _eager_copy(model: torch.nn.Module) -> torch.nn.Module:
    """The float model with eager attention: PyTorch's SDPA kernels have no double backward on CPU."""
    import copy
    clone = copy.deepcopy(model)
    clone.set_attn_implementation("eager")
    return clone


def _hessian_batches(tokenizer, calibration: Path, text_column: str, options: BudgetOptions, labels: list[str],
                     max_tokens: int):
    from ..qbert.sensitivity import make_batches
    texts = [row[0] for row in read_columns(calibration, [text_column])] if calibration.suffix == ".tsv" else \
        [t for t in calibration.read_text(encoding="utf-8").splitlines() if t.strip()]
    texts = texts[:options.hessian_samples]
    targets = None
    if options.label_column:
        if calibration.suffix != ".tsv":
            raise ConversionError("--label-column needs a .tsv calibration file")
        try:
            values = [row[0] for row in read_columns(calibration, [options.label_column])][:len(texts)]
            targets = label_ids(values, labels)
        except ValueError as error:
            raise ConversionError(f"--label-column: {error}") from None
    return make_batches(tokenizer, texts, targets, BATCH, max_length=min(128, max_tokens))


def _sensitivities(model, batches, options: BudgetOptions, progress: bool) -> dict[str, float]:
    """{file name: sensitivity} of every encoder linear and the word embeddings; negative estimates
    (a noisy trace, a saddle) count as 0."""
    from ..qbert.sensitivity import hessian_sensitivity
    scores = hessian_sensitivity(_eager_copy(model), batches, options.sensitivity, options.iterations,
                                 progress=progress, embeddings=True)
    return {(EMBEDDINGS if name == "embeddings" else file_name(name)): max(score, 0.0)
            for name, score in scores.items()}


def _int8_row_error(w: np.ndarray) -> float:
    absmax = np.abs(w).max(axis=1, keepdims=True)
    scale = np.where(absmax > 0, absmax, 1.0) / 127
    return float(((np.clip(np.rint(w / scale), -127, 127) * scale - w) ** 2).sum())


def _int8_table_error(w: np.ndarray) -> float:
    scale = (float(np.abs(w).max()) or 1.0) / 127
    return float(((np.clip(np.rint(w / scale), -127, 127) * scale - w) ** 2).sum())


def choose_widths(checkpoint, params, tokenizer, calibration: Path, text_column: str, plan: LowBitPlan,
                  options: BudgetOptions, fixed_bytes: int, labels: list[str], max_tokens: int,
                  progress: bool) -> tuple[LowBitPlan, list[LayerChoice]]:
    """The plan whose file fits options.max_size at least predicted loss, and its per-layer table."""
    from tqdm import tqdm

    if calibration is None:
        raise ConversionError("--max-size needs --calibration: the Hessian is measured on its texts")
    sensitivity = options.sensitivities
    if sensitivity is None:
        batches = _hessian_batches(tokenizer, Path(calibration), text_column, options, labels, max_tokens)
        sensitivity = _sensitivities(checkpoint.model, batches, options, progress)

    weights = {f"blk.{l}.{kind}": getattr(layer, kind).weight.detach().double().numpy()
               for l, layer in enumerate(params.layers) for kind in _HF_LINEARS.values()}
    table = params.token_embd.detach().double().numpy()
    items = []
    low_widths = [b for b in WEIGHT_WIDTHS if b < 8]
    with tqdm(total=len(weights) * len(low_widths) + len(EMBEDDING_WIDTHS) - 1, desc="width errors",
              unit="matrix", disable=not progress) as bar:
        for name, w in weights.items():
            group = group_size_for(w.shape[1], plan.group_size, name)
            errors, sizes = [], []
            for bits in WEIGHT_WIDTHS:
                if bits == 8:
                    errors.append(_int8_row_error(w))
                else:
                    errors.append(float(((quantize_low_bit(w, bits, group, name).dequantize() - w) ** 2).sum()))
                    bar.update()
                sizes.append(linear_bytes(*w.shape, bits, 0 if bits == 8 else group))
            items.append(Item(name, WEIGHT_WIDTHS, tuple(sizes), tuple(sensitivity[name] * e for e in errors)))
        errors = []
        from ..qbert.groupwise import quantize_embedding
        for bits in EMBEDDING_WIDTHS:
            if bits == 8:
                errors.append(_int8_table_error(table))
            else:
                errors.append(float(((quantize_embedding(table, bits).dequantize() - table) ** 2).sum()))
                bar.update()
        items.append(Item(EMBEDDINGS, EMBEDDING_WIDTHS, tuple(embedding_bytes(*table.shape, b) for b in EMBEDDING_WIDTHS),
                          tuple(sensitivity[EMBEDDINGS] * e for e in errors)))
    tensors = 3 * len(items)
    slack = ALIGNMENT_SLACK * tensors
    # the DP runs over ~4096 units of the budget: exact to 1/4096 of it, whatever the model's size
    chosen = allocate(items, options.max_size - slack, fixed_bytes, unit=max(1, options.max_size // 4096))
    choices = [LayerChoice(item.name, sensitivity[item.name], chosen[item.name],
                           0 if chosen[item.name] == 8 or item.name == EMBEDDINGS
                           else group_size_for(weights[item.name].shape[1], plan.group_size, item.name),
                           item.bytes[item.widths.index(chosen[item.name])]) for item in items]
    widths = {c.name: c.bits for c in choices if c.name != EMBEDDINGS}
    return dataclasses.replace(plan, widths=widths, embedding_bits=chosen[EMBEDDINGS]), choices
