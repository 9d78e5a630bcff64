"""The masked-LM head of a fill-mask file (models/FORMAT.md §4.11) in numpy integers."""
from __future__ import annotations

import numpy as np

from . import ops

LOGIT_BITS = 32
GELU_INPUT_BITS = 20
SUM_BITS = 22


def masked_positions(ids: np.ndarray, key_mask: np.ndarray, mask_token_id: int) -> np.ndarray:
    """The positions the head predicts: id = the mask token and attention mask 1, in order."""
    return np.flatnonzero((ids == mask_token_id) & key_mask)


def masked_lm_logits(model, x: np.ndarray, positions: np.ndarray, trace: dict) -> np.ndarray:
    """[len(positions), V] int32 logits from the final hidden states x (`model` is a GoldenModel: its
    linear layers, layer norms and i-GELU)."""
    rows = x[positions]
    trace["mlm_gelu_in"] = t = ops.sat(model._linear(rows, "mlm_dense"), GELU_INPUT_BITS)
    trace["mlm_act"] = a = ops.sat(ops.rq(ops.igelu(t, model.gelu), *model._rescale("mlm_gelu")), SUM_BITS)
    trace["mlm_norm"] = h = model._layer_norm(a, "mlm_norm")
    trace["logits"] = logits = ops.sat(model._linear(h, "mlm_decoder"), LOGIT_BITS)
    return logits.astype(np.int32)
