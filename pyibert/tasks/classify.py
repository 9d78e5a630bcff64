"""Model.classify and Model.logits: a head on the first token (sequence classification, regression,
multiple choice's per-sequence score), on single texts or pairs [CLS] a [SEP] b [SEP]."""
from __future__ import annotations

import numpy as np

from . import names
from .check import require_task
from .scores import softmax


def logits(model, texts, text_pairs=None) -> np.ndarray:
    """float32 [n, C]: the dequantized logits of each text or pair."""
    require_task(model, "logits", names.FIRST_TOKEN_TASKS)
    if text_pairs is None:   # single texts: token types all 0
        ids = model.tokenize(texts)
        encoded = {"input_ids": ids, "token_type_ids": [[0] * len(row) for row in ids]}
    else:
        encoded = model.tokenize(texts, text_pairs)
    outputs = model.run_encoded(encoded)
    return (np.stack(outputs).astype(np.float64) * model.output_scale).astype(np.float32)


def classify(model, texts, text_pairs=None) -> list[dict]:
    require_task(model, "classify", (names.SEQUENCE_CLASSIFICATION, names.REGRESSION))
    values = logits(model, texts, text_pairs).astype(np.float64)
    if model.task == names.REGRESSION:
        return [{"score": float(row[0])} for row in values]
    probabilities = softmax(values, axis=1)
    best = probabilities.argmax(axis=1)
    return [{"label": model.labels[k], "score": float(probabilities[i, k])} for i, k in enumerate(best)]
