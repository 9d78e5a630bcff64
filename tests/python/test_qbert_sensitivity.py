"""Hessian sensitivity on a tiny random BERT (shape coverage and the estimators' arithmetic, not
accuracy): power iteration finds the block's largest-magnitude eigenvalue and Hutchinson its trace,
both checked against the block Hessian built column by column."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from pyibert.qbert.sensitivity import encoder_linears, hessian_sensitivity  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
                                     intermediate_size=16, max_position_embeddings=16, num_labels=3, initializer_range=0.5,
                                     attn_implementation="eager")
    model = transformers.BertForSequenceClassification(config).eval()
    generator = torch.Generator().manual_seed(1)
    inputs = {"input_ids": torch.randint(0, 50, (6, 7), generator=generator),
              "attention_mask": torch.ones(6, 7, dtype=torch.long)}
    labels = torch.randint(0, 3, (6,), generator=generator)
    return model, inputs, labels


def _hessian_columns(model, inputs, labels, weight):
    """The columns of the Hessian (over every encoder linear weight) for the parameters of `weight`:
    [all encoder weights, weight.numel()], and the row range of `weight`'s own block."""
    weights = [layer.weight for layer in encoder_linears(model).values()]
    loss = torch.nn.functional.cross_entropy(model(**inputs).logits, labels)
    gradients = torch.autograd.grad(loss, weights, create_graph=True)
    index = next(i for i, w in enumerate(weights) if w is weight)
    columns = []
    for i in range(weight.numel()):
        e = torch.zeros(weight.numel())
        e[i] = 1
        hv = torch.autograd.grad(gradients[index], weights, grad_outputs=e.view_as(weight), retain_graph=True)
        columns.append(torch.cat([h.flatten() for h in hv]))
    start = sum(w.numel() for w in weights[:index])
    return torch.stack(columns, dim=1).double().numpy(), slice(start, start + weight.numel())


def test_finds_every_encoder_linear(tiny):
    assert len(encoder_linears(tiny[0])) == 12


LAYER = "encoder.layer.1.attention.output.dense"


def test_eigen_and_trace_match_the_hessian(tiny):
    model, inputs, labels = tiny
    weight = encoder_linears(model)[LAYER].weight
    columns, own = _hessian_columns(model, inputs, labels, weight)
    block = columns[own]
    assert np.allclose(block, block.T, atol=1e-6 + 1e-3 * np.abs(block).max())
    eigenvalues = np.linalg.eigvalsh((block + block.T) / 2)
    top = eigenvalues[np.argmax(np.abs(eigenvalues))]
    eigen = hessian_sensitivity(model, [(inputs, labels)], "eigen", iterations=200, progress=False, only=[LAYER])
    # One batch: the score is |λ| (std 0).
    assert eigen[LAYER] == pytest.approx(abs(top), rel=0.02)

    probes = 100
    trace = hessian_sensitivity(model, [(inputs, labels)], "trace", iterations=probes, progress=False)
    exact = np.trace(block)
    # Hutchinson's variance for one Rademacher probe: 2·(Σ of squared off-diagonal entries in these rows).
    sigma = np.sqrt(2 * ((columns ** 2).sum() - (np.diag(block) ** 2).sum()) / probes)
    assert abs(trace[LAYER] * weight.numel() - exact) < 4 * sigma
    assert sigma < abs(exact)      # the check above is not vacuous


def test_own_predictions_and_several_batches(tiny):
    model, inputs, _ = tiny
    half = {k: v[:3] for k, v in inputs.items()}, None
    other = {k: v[3:] for k, v in inputs.items()}, None
    layers = ["encoder.layer.0.attention.self.key", "encoder.layer.1.intermediate.dense"]
    scores = hessian_sensitivity(model, [half, other], "eigen", iterations=4, progress=False, only=layers)
    assert list(scores) == layers and all(np.isfinite(s) and s > 0 for s in scores.values())


def test_unknown_method_is_refused(tiny):
    with pytest.raises(ValueError, match="eigen"):
        hessian_sensitivity(tiny[0], [], "diag")
