"""Float weights → int8 with their scales: our rule for float checkpoints, HF's rule for I-BERT ones."""
from __future__ import annotations

import numpy as np
import torch

from ..qbert.gptq import quantize_rows_gptq

WEIGHT_BITS = 8
# The position and token-type tables are int16 (FORMAT.md §3, version 4): each of their rows is added to
# every token at that position or of that type, so their rounding error is the same on every text and
# does not average out downstream; at int8 with one scale (BERT's position table has entries 75 times
# its standard deviation) it was the largest error of the embedding sum. They are small (P + T rows).
ADDED_TABLE_BITS = 16
# ... except in a file with a size budget (--max-size), whose linear layers gain more from those bytes
BUDGET_TABLE_BITS = 8


def quantize_rows(weight: torch.Tensor, hf_ibert: bool, hessian: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per output channel (row): (int8 [N, K], float64 scales [N]).

    The scale is the row's absmax / 127 either way; with `hessian` (H = 2·XᵀX/rows of the layer's
    calibration inputs) the codes are GPTQ's, which keep the layer's output on those inputs closer than
    rounding each weight to nearest does (the README's accuracy tables measure by how much).
    """
    if hf_ibert:
        if hessian is not None:
            raise ValueError("an I-BERT checkpoint's weights are rounded by HF's rule, not GPTQ")
        return _hf_ibert_rule(weight, per_channel=True)
    w = weight.detach().to(torch.float64).numpy()
    absmax = np.abs(w).max(axis=1)
    # An all-zero row quantizes to zeros at any scale; it borrows the tensor's so its rescale stays
    # in proportion with the others.
    absmax = np.where(absmax > 0, absmax, absmax.max() if absmax.max() > 0 else 1.0)
    scale = absmax / 127.0
    if hessian is not None:
        return quantize_rows_gptq(w, hessian, scale, 127), scale
    return np.clip(np.rint(w / scale[:, None]), -127, 127).astype(np.int8), scale


def quantize_table(weight: torch.Tensor, hf_ibert: bool, bits: int = WEIGHT_BITS) -> tuple[np.ndarray, float]:
    """Symmetric int8 (or int16: `bits` 16) with one scale for the whole tensor (embedding tables)."""
    if hf_ibert:
        if bits != WEIGHT_BITS:
            raise ValueError("an I-BERT checkpoint's tables are int8 by HF's rule")
        q, scale = _hf_ibert_rule(weight, per_channel=False)
        return q, float(scale[0])
    w = weight.detach().to(torch.float64).numpy()
    limit = 2 ** (bits - 1) - 1
    scale = (float(np.abs(w).max()) or 1.0) / limit
    return np.clip(np.rint(w / scale), -limit, limit).astype(np.int8 if bits == 8 else np.int16), scale


def _hf_ibert_rule(weight: torch.Tensor, per_channel: bool) -> tuple[np.ndarray, np.ndarray]:
    """transformers' QuantLinear / QuantEmbedding weight quantization, step for step in float32
    (symmetric_linear_quantization_params + SymmetricQuantFunction), so the integers are HF's own:
    scale = max(|min|, |max|, 1e-8) / 127, w_int = clamp(round(w / scale), −127, 126)."""
    w = weight.detach().to(torch.float32)
    if per_channel:
        w_min, w_max = w.min(dim=1).values, w.max(dim=1).values
    else:
        w_min, w_max = w.min().expand(1), w.max().expand(1)
    scale = torch.clamp(torch.maximum(w_min.abs(), w_max.abs()), min=1e-8) / 127
    q = torch.clamp(torch.round(1.0 / scale.view(-1, 1) * w if per_channel else 1.0 / scale * w), -127, 126)
    return q.numpy().astype(np.int8), scale.to(torch.float64).numpy()
