"""Model.fill_mask: the most likely tokens at each mask token, as transformers' fill-mask pipeline.

Integer logits at the masked positions come from libibert (the other vocabulary rows are never
computed); the probabilities are their softmax in float64, here on the Python side.
"""
from __future__ import annotations

import numpy as np

from .._native import ffi, lib
from . import names
from .check import require_task
from .scores import softmax


def masked_logits(model, context, ids: np.ndarray) -> np.ndarray:
    """[k, V] int32 logits of the k mask tokens of one sequence (k may be 0)."""
    handle = model._checked_handle()
    ids_pointer = ffi.from_buffer("int32_t[]", ids)
    k = int(lib.ibert_fill_mask_count(handle, ids_pointer, ffi.NULL, len(ids)))
    out = np.empty((k, model.vocab_size), dtype=np.int32)
    if k:
        model._raise_for(lib.ibert_forward(context, ids_pointer, ffi.NULL, ffi.NULL, len(ids),
                                           ffi.from_buffer("int32_t[]", out)))
    return out


def fill_mask(model, texts, top_k: int = 5) -> list:
    """Per text, per mask token, the top_k predictions [{"score", "token", "token_str", "sequence"}, ...]
    best first. Like transformers' pipeline: one text with one mask gives that mask's list; a text with
    several masks a list per mask; a list of texts a list of those."""
    require_task(model, "fill_mask", (names.FILL_MASK,))
    if not isinstance(top_k, int) or isinstance(top_k, bool) or not 1 <= top_k <= model.vocab_size:
        raise ValueError(f"top_k must be an integer from 1 to {model.vocab_size}, not {top_k!r}")
    single = isinstance(texts, (str, bytes, bytearray))
    id_lists = model.tokenize(texts)
    text_list = [texts] if single else list(texts)
    mask_id = model.mask_token_id

    def run(context, ids):
        return masked_logits(model, context, np.asarray(ids, dtype=np.int32))

    logits = model._map(run, id_lists)
    results = []
    for i, (ids, rows) in enumerate(zip(id_lists, logits)):
        if not len(rows):
            raise ValueError(f"text {i} has no mask token ({model.mask_token!r}): {text_list[i]!r}")
        probabilities = softmax(rows.astype(np.float64) * model.output_scale)
        positions = [p for p, token in enumerate(ids) if token == mask_id]
        per_mask = []
        for position, row in zip(positions, probabilities):
            best = np.argsort(-row, kind="stable")[:top_k]
            per_mask.append([_prediction(model, ids, position, int(t), float(row[t])) for t in best])
        results.append(per_mask[0] if len(per_mask) == 1 else per_mask)
    return results[0] if single else results


def _prediction(model, ids: list[int], position: int, token: int, score: float) -> dict:
    filled = list(ids)
    filled[position] = token
    return {"score": score, "token": token, "token_str": model.decode([token]),
            "sequence": model.decode(filled, skip_special_tokens=True)}
