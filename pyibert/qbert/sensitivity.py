"""Hessian sensitivity of each encoder linear layer to the task loss (Q-BERT, HAWQ-V2).

`eigen`: the top eigenvalue of the layer's own Hessian block H_ll by power iteration with Hessian-vector
products (double backward through the loss), per batch; the score is |mean λ| + std λ over the batches,
as Q-BERT. `trace`: the Hutchinson estimate E[vᵀHv] (v Rademacher) of Tr(H_ll) divided by the layer's
parameter count, as HAWQ-V2; one full Hessian-vector product per probe serves every layer at once,
since E[v_lᵀ(Hv)_l] = Tr(H_ll). The loss is cross-entropy against the given labels, or against the
float model's own predictions when there are none.

`gauss-newton`: no per-layer score but, for every width a layer may get, the Gauss-Newton quadratic form
ΔwᵀGΔw along that width's own quantization error Δw = Q(W) − W: G = Jᵀ·H_z·J with J the Jacobian of the
logits z in the weights and H_z = diag(p) − ppᵀ the Hessian of the cross-entropy in the logits (p the
softmax), so ΔwᵀGΔw = E[(JΔw)ᵀ H_z (JΔw)], one forward-mode product JΔw per layer, width and batch
(labels are not needed). G is the positive semi-definite part of the Hessian, equal to it where the
model fits its data. Q-BERT's λ·‖Δw‖² bounds the form from above and HAWQ-V2's Tr(H)/n·‖Δw‖² is its mean
over random directions; a quantization error is not random (one scale per row puts the same error on
every column, whatever each input channel's weight in the loss). The form of the exact Hessian along
Δw was tried too: indefinite, it came out near 0 or negative for layers whose 2-bit error cost points,
and the allocation lost more than the eigenvalue's (bench/qbert_sweep.py).

With `embeddings`, the word embedding table is scored too (name "embeddings"): its trace is divided by
the parameters of the rows the batch's tokens use (the others have no curvature in this data, but
every row's quantization error counts), so it is per used parameter like the layers'.

The model must be loaded with attn_implementation="eager": PyTorch's SDPA kernels have no double
backward on CPU.
"""
from __future__ import annotations

import numpy as np
import torch
from tqdm import tqdm

from ..convert.data import encode_texts

LAYER_SCORE_METHODS = ("eigen", "trace")          # one score per layer: hessian_sensitivity
METHODS = LAYER_SCORE_METHODS + ("gauss-newton",)   # a form per layer and width: gauss_newton_forms
TOLERANCE = 1e-3    # power iteration stops when λ moves less than this, relatively


def encoder_linears(model: torch.nn.Module) -> dict[str, torch.nn.Linear]:
    """The linear layers of the encoder stack (attention q/k/v/out, FFN up/down), by module name."""
    encoder = model.base_model.encoder
    return {f"encoder.{name}": module for name, module in encoder.named_modules()
            if isinstance(module, torch.nn.Linear)}


def _batch_loss(model, inputs: dict, labels: torch.Tensor | None) -> torch.Tensor:
    logits = model(**inputs).logits
    if labels is None:
        labels = logits.detach().argmax(dim=-1)
    return torch.nn.functional.cross_entropy(logits, labels)


def _top_eigenvalue(gradient: torch.Tensor, weight: torch.Tensor, iterations: int,
                    generator: torch.Generator) -> float:
    v = torch.randn(weight.shape, generator=generator)
    v /= v.norm()
    eigenvalue = 0.0
    for _ in range(iterations):
        (hv,) = torch.autograd.grad(gradient, weight, grad_outputs=v, retain_graph=True)
        previous, eigenvalue = eigenvalue, float((hv * v).sum())
        norm = hv.norm()
        if norm == 0:
            return 0.0
        v = hv / norm
        if abs(eigenvalue - previous) <= TOLERANCE * abs(eigenvalue):
            break
    return eigenvalue


def hessian_sensitivity(model: torch.nn.Module, batches: list[tuple[dict, torch.Tensor | None]],
                        method: str = "eigen", iterations: int = 16, seed: int = 0,
                        progress: bool = True, only: list[str] | None = None,
                        embeddings: bool = False) -> dict[str, float]:
    """{layer name: sensitivity} over `batches` of (tokenizer output, labels or None); `only` limits
    the eigenvalue work to those layers (the trace costs the same for all)."""
    if method not in LAYER_SCORE_METHODS:
        raise ValueError(f"sensitivity method {method!r} is not one of {LAYER_SCORE_METHODS} "
                         "(gauss-newton: gauss_newton_forms)")
    model.eval()
    layers = encoder_linears(model)
    if embeddings:
        layers["embeddings"] = model.base_model.embeddings.word_embeddings
    weights = [layer.weight for layer in layers.values()]
    generator = torch.Generator().manual_seed(seed)
    per_batch = {name: [] for name in layers}
    eigen_layers = len(layers) if only is None else len(only)
    steps = len(batches) * (eigen_layers if method == "eigen" else iterations)
    with tqdm(total=steps, desc=f"Hessian {method}", unit="layer" if method == "eigen" else "probe",
              disable=not progress) as bar:
        for inputs, labels in batches:
            loss = _batch_loss(model, inputs, labels)
            gradients = torch.autograd.grad(loss, weights, create_graph=True)
            if method == "eigen":
                for name, gradient, weight in zip(layers, gradients, weights):
                    if only is not None and name not in only:
                        continue
                    per_batch[name].append(_top_eigenvalue(gradient, weight, iterations, generator))
                    bar.update()
            else:
                traces = np.zeros(len(weights))
                for _ in range(iterations):
                    probes = [torch.randint(0, 2, w.shape, generator=generator).float() * 2 - 1 for w in weights]
                    products = torch.autograd.grad(gradients, weights, grad_outputs=probes, retain_graph=True)
                    traces += [float((p * hv).sum()) for p, hv in zip(probes, products)]
                    bar.update()
                for name, trace, weight in zip(layers, traces, weights):
                    count = weight.numel()
                    if name == "embeddings":
                        count = int(inputs["input_ids"].unique().numel()) * weight.shape[1]
                    per_batch[name].append(trace / iterations / count)
            del loss, gradients
    if method == "eigen":
        return {name: abs(float(np.mean(v))) + float(np.std(v)) for name, v in per_batch.items() if v}
    return {name: float(np.mean(v)) for name, v in per_batch.items()}


def gauss_newton_forms(model: torch.nn.Module, batches: list[tuple[dict, torch.Tensor | None]],
                       directions: dict[str, list[torch.Tensor]], progress: bool = True) -> dict[str, list[float]]:
    """{layer name: [ΔᵀGΔ for each Δ of directions[name]]}, each the mean over the texts of `batches`
    (their labels are not used); names as hessian_sensitivity's ("embeddings": the word embedding table)."""
    from torch.func import functional_call, jvp

    model.eval()
    layers = encoder_linears(model)
    layers["embeddings"] = model.base_model.embeddings.word_embeddings
    missing = sorted(set(directions) - set(layers))
    if missing:
        raise ValueError(f"no such layers: {', '.join(missing)}")
    parameter_names = {id(parameter): name for name, parameter in model.named_parameters()}
    sums = {name: np.zeros(len(deltas)) for name, deltas in directions.items()}
    texts = sum(len(labels if labels is not None else inputs["input_ids"]) for inputs, labels in batches)
    steps = len(batches) * sum(len(deltas) for deltas in directions.values())
    with torch.no_grad(), tqdm(total=steps, desc="Gauss-Newton", unit="width", disable=not progress) as bar:
        for inputs, _ in batches:
            for name, deltas in directions.items():
                weight = layers[name].weight
                parameter = parameter_names[id(weight)]

                def logits(w, parameter=parameter):
                    return functional_call(model, {parameter: w}, kwargs=inputs).logits
                for index, delta in enumerate(deltas):
                    z, jd = jvp(logits, (weight,), (delta.to(weight.dtype),))
                    p = torch.softmax(z, dim=-1)
                    form = (p * jd * jd).sum(-1) - (p * jd).sum(-1) ** 2     # (JΔ)ᵀ(diag p − ppᵀ)(JΔ)
                    sums[name][index] += float(form.sum())
                    bar.update()
    return {name: list(map(float, total / max(texts, 1))) for name, total in sums.items()}


def make_batches(tokenizer, texts: list[str] | list[tuple[str, str]], labels: list[int] | None, batch_size: int,
                 max_length: int = 128) -> list[tuple[dict, torch.Tensor | None]]:
    batches = []
    for start in range(0, len(texts), batch_size):
        chunk = texts[start:start + batch_size]
        inputs = encode_texts(tokenizer, chunk, padding=True, truncation=True, max_length=max_length,
                              return_tensors="pt")
        target = None if labels is None else torch.tensor(labels[start:start + batch_size])
        batches.append((dict(inputs), target))
    return batches

