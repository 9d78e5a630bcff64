"""`--max-size`: the width of every encoder linear layer and of the word embeddings chosen by the
Hessian of the task loss (Q-BERT / HAWQ-V2) under the whole file's byte budget.

Cost of a width = the predicted loss increase, minimised exactly under the budget by
qbert/allocate.py: the layer's sensitivity × ‖Q(W) − W‖² for `eigen` and `trace` (Q-BERT, HAWQ-V2), or
for `gauss-newton` the quadratic form ΔwᵀGΔw of the loss's Gauss-Newton Hessian along that width's own
error Δw = Q(W) − W (qbert/sensitivity.py says why); its table's sensitivity is then the curvature
along the 4-bit error, ΔwᵀGΔw/‖Δw‖². The sensitivity comes from pyibert/qbert/sensitivity.py
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
from ..tsv import label_ids
from .data import read_calibration_texts, read_labelled_texts
from .errors import ConversionError
from .lowbit import EMBEDDING_WIDTHS, WEIGHT_WIDTHS, LowBitPlan, group_size_for, quantize_low_bit
from .weights import quantize_rows, quantize_table

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
    sensitivity: str = "gauss-newton"
    hessian_samples: int = 64
    label_column: str | None = None
    iterations: int = 16
    # measured before (a sweep over sizes of one model measures the Hessian once, bench/qbert_sweep.py);
    # None: measure it here. {file name: sensitivity}, cost = sensitivity × ‖Q(W) − W‖², or for
    # `gauss-newton` {file name: {bits: ΔwᵀGΔw}} (LayerChoice.forms; the group size must be the same)
    sensitivities: dict[str, float | dict[int, float]] | None = None


@dataclass
class LayerChoice:
    name: str               # blk.{l}.{kind} or token_embd
    sensitivity: float
    bits: int
    group_size: int
    bytes: int
    forms: dict[int, float] | None = None     # `gauss-newton`: ΔwᵀGΔw of every width


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


def _hessian_batches(tokenizer, calibration: Path, text_column: str, pair_column: str | None,
                     options: BudgetOptions, labels: list[str], max_tokens: int):
    from ..qbert.sensitivity import make_batches
    if not options.label_column:
        texts = read_calibration_texts(calibration, text_column, options.hessian_samples, pair_column=pair_column)
        return make_batches(tokenizer, texts, None, BATCH, max_length=min(128, max_tokens))
    texts, values = read_labelled_texts(calibration, text_column, options.label_column, options.hessian_samples,
                                        pair_column=pair_column)
    try:
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


def _width_errors(weights: dict[str, np.ndarray], group_size: int, keep: bool,
                  progress: bool) -> tuple[dict[str, list[float]], dict[str, list[np.ndarray]]]:
    """({name: [‖Q(W) − W‖² for each width]}, {name: [Q(W) − W as float32 for each width]} if `keep`,
    else {}); widths: WEIGHT_WIDTHS, or EMBEDDING_WIDTHS for the word embeddings."""
    from tqdm import tqdm
    from ..qbert.groupwise import quantize_embedding

    norms, deltas = {}, {}
    with tqdm(total=len(weights), desc="width errors", unit="matrix", disable=not progress) as bar:
        for name, w in weights.items():
            if name == EMBEDDINGS:
                q, scale = quantize_table(torch.from_numpy(w), hf_ibert=False)
                rounded = [q * scale if bits == 8 else quantize_embedding(w, bits).dequantize()
                           for bits in EMBEDDING_WIDTHS]
            else:
                group = group_size_for(w.shape[1], group_size, name)
                q, scales = quantize_rows(torch.from_numpy(w), hf_ibert=False)
                rounded = [q * scales[:, None] if bits == 8 else quantize_low_bit(w, bits, group, name).dequantize()
                           for bits in WEIGHT_WIDTHS]
            norms[name] = [float(((q - w) ** 2).sum()) for q in rounded]
            if keep:
                deltas[name] = [(q - w).astype(np.float32) for q in rounded]
            bar.update()
    return norms, deltas


def _gauss_newton_forms(model, batches, deltas: dict[str, list[np.ndarray]],
                        progress: bool) -> dict[str, dict[int, float]]:
    """{file name: {bits: ΔwᵀGΔw}} of every encoder linear and the word embeddings."""
    from ..qbert.sensitivity import encoder_linears, gauss_newton_forms
    hf_names = {file_name(name): name for name in encoder_linears(model)}
    hf_names[EMBEDDINGS] = "embeddings"
    forms = gauss_newton_forms(_eager_copy(model), batches,
                               {hf_names[name]: [torch.from_numpy(d) for d in ds] for name, ds in deltas.items()},
                               progress=progress)
    return {name: dict(zip(EMBEDDING_WIDTHS if name == EMBEDDINGS else WEIGHT_WIDTHS, forms[hf_names[name]]))
            for name in deltas}


def _reported_sensitivity(score: float | dict[int, float], norms: list[float], widths: tuple[int, ...]) -> float:
    """The table's sensitivity: the score, or for `gauss-newton` the curvature along the 4-bit error."""
    if not isinstance(score, dict):
        return score
    return score[4] / max(norms[widths.index(4)], 1e-30)


def choose_widths(checkpoint, params, tokenizer, calibration: Path, text_column: str, pair_column: str | None,
                  plan: LowBitPlan,
                  options: BudgetOptions, fixed_bytes: int, labels: list[str], max_tokens: int,
                  progress: bool) -> tuple[LowBitPlan, list[LayerChoice]]:
    """The plan whose file fits options.max_size at least predicted loss, and its per-layer table."""
    if calibration is None:
        raise ConversionError("--max-size needs --calibration: the Hessian is measured on its texts")
    weights = {f"blk.{l}.{kind}": getattr(layer, kind).weight.detach().double().numpy()
               for l, layer in enumerate(params.layers) for kind in _HF_LINEARS.values()}
    weights[EMBEDDINGS] = params.token_embd.detach().double().numpy()
    sensitivity = options.sensitivities
    forms = options.sensitivity == "gauss-newton" and sensitivity is None
    norms, deltas = _width_errors(weights, plan.group_size, forms, progress)
    if sensitivity is None:
        batches = _hessian_batches(tokenizer, Path(calibration), text_column, pair_column, options, labels,
                                   max_tokens)
        if forms:
            sensitivity = _gauss_newton_forms(checkpoint.model, batches, deltas, progress)
        else:
            sensitivity = _sensitivities(checkpoint.model, batches, options, progress)
    items = []
    for name, w in weights.items():
        if name == EMBEDDINGS:
            widths = EMBEDDING_WIDTHS
            sizes = [embedding_bytes(*w.shape, bits) for bits in widths]
        else:
            widths = WEIGHT_WIDTHS
            group = group_size_for(w.shape[1], plan.group_size, name)
            sizes = [linear_bytes(*w.shape, bits, 0 if bits == 8 else group) for bits in widths]
        score = sensitivity[name]
        costs = [max(score[bits], 0.0) if isinstance(score, dict) else score * norm
                 for bits, norm in zip(widths, norms[name])]
        items.append(Item(name, widths, tuple(sizes), tuple(costs)))
    tensors = 3 * len(items)
    slack = ALIGNMENT_SLACK * tensors
    # the DP runs over ~4096 units of the budget: exact to 1/4096 of it, whatever the model's size
    chosen = allocate(items, options.max_size - slack, fixed_bytes, unit=max(1, options.max_size // 4096))
    choices = [LayerChoice(item.name, _reported_sensitivity(sensitivity[item.name], norms[item.name], item.widths),
                           chosen[item.name],
                           0 if chosen[item.name] == 8 or item.name == EMBEDDINGS
                           else group_size_for(weights[item.name].shape[1], plan.group_size, item.name),
                           item.bytes[item.widths.index(chosen[item.name])],
                           sensitivity[item.name] if isinstance(sensitivity[item.name], dict) else None)
               for item in items]
    widths = {c.name: c.bits for c in choices if c.name != EMBEDDINGS}
    return dataclasses.replace(plan, widths=widths, embedding_bits=chosen[EMBEDDINGS]), choices
