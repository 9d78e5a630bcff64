"""Hessian sensitivity on a tiny random BERT (shape coverage and the estimators' arithmetic, not
accuracy): power iteration finds the block's largest-magnitude eigenvalue and Hutchinson its trace,
both checked against the block Hessian built column by column; gauss_newton_forms ΔᵀJᵀH_zJΔ along given
directions, checked against the Jacobian of the logits built by autograd."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from pyibert.qbert.sensitivity import encoder_linears, gauss_newton_forms, hessian_sensitivity  # noqa: E402


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


def _gauss_newton_form(model, inputs, weight, delta) -> float:
    """The mean over the texts of (JΔ)ᵀ(diag p − ppᵀ)(JΔ), J the Jacobian of the logits in `weight`,
    built by autograd."""
    original = weight.detach().clone()
    with torch.no_grad():
        z = model(**inputs).logits.double()
    jacobian = torch.autograd.functional.jacobian(lambda w: torch.func.functional_call(
        model, {name: w for name, p in model.named_parameters() if p is weight}, kwargs=inputs).logits, original)
    jd = (jacobian.double() * delta.double()).flatten(2).sum(-1)          # [texts, labels]
    p = torch.softmax(z, dim=-1)
    hz = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]
    return float(torch.einsum("ti,tij,tj->t", jd, hz, jd).mean())


def test_gauss_newton_forms_match_the_jacobian(tiny):
    model, inputs, _ = tiny
    weight = encoder_linears(model)[LAYER].weight
    generator = torch.Generator().manual_seed(2)
    directions = [torch.randn(weight.shape, generator=generator) for _ in range(3)]
    directions.append(torch.zeros(weight.shape))
    forms = gauss_newton_forms(model, [(inputs, None)], {LAYER: directions}, progress=False)
    for form, delta in zip(forms[LAYER], directions):
        assert form == pytest.approx(_gauss_newton_form(model, inputs, weight, delta), rel=1e-4, abs=1e-9)
        assert form >= 0                      # G is positive semi-definite
    assert forms[LAYER][0] != pytest.approx(forms[LAYER][1], rel=1e-2)   # the directions differ


def test_gauss_newton_forms_average_the_texts_and_score_the_embeddings(tiny):
    model, inputs, labels = tiny
    first = {k: v[:2] for k, v in inputs.items()}, labels[:2]
    rest = {k: v[2:] for k, v in inputs.items()}, labels[2:]
    table = model.base_model.embeddings.word_embeddings.weight
    directions = {"embeddings": [torch.randn(table.shape, generator=torch.Generator().manual_seed(3))]}
    both = gauss_newton_forms(model, [first, rest], directions, progress=False)["embeddings"][0]
    alone = [gauss_newton_forms(model, [batch], directions, progress=False)["embeddings"][0] for batch in (first, rest)]
    assert both == pytest.approx((2 * alone[0] + 4 * alone[1]) / 6, rel=1e-5)    # 2 and 4 texts
    with pytest.raises(ValueError, match="no such layers: encoder.nothing"):
        gauss_newton_forms(model, [first], {"encoder.nothing": []}, progress=False)


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
