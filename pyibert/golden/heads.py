"""The task heads of models/FORMAT.md §4.10 in numpy integers, on the final hidden states x [n, H]."""
from __future__ import annotations

import numpy as np

from . import ops
from ..tasks import names

LOGIT_BITS = 32


def first_token_head(model, x: np.ndarray, trace: dict) -> np.ndarray:
    """Pooler and classifier on token 0: C logits (sequence classification, regression, multiple choice)."""
    u = np.clip(model._linear(x[:1], "cls_dense"), -(2**30), 2**30)
    trace["cls_dense"] = u
    trace["cls_tanh"] = y = ops.tanh_head(u, model.exp)
    trace["logits"] = logits = ops.sat(model._linear(y, "cls_out"), LOGIT_BITS)[0]
    return logits


def every_token_head(model, x: np.ndarray, key_mask: np.ndarray, trace: dict) -> np.ndarray:
    """cls_out on every token: [n, C] logits (token classification, question answering). The masked
    tokens at the end (padding) are not computed and get 0, as in FORMAT.md."""
    logits = ops.sat(model._linear(x, "cls_out"), LOGIT_BITS)
    unmasked = np.flatnonzero(key_mask)
    computed = unmasked[-1] + 1 if unmasked.size else 1
    logits[computed:] = 0
    trace["logits"] = logits
    return logits


def run_head(model, task: str, x: np.ndarray, key_mask: np.ndarray, trace: dict) -> np.ndarray:
    if task in names.FIRST_TOKEN_TASKS:
        return first_token_head(model, x, trace)
    if task in names.EVERY_TOKEN_TASKS:
        return every_token_head(model, x, key_mask, trace)
    return x
