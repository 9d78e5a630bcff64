"""Model.answer: extractive question answering, as transformers' question-answering pipeline does it.

Each (question, context) becomes windows [CLS] question [SEP] context tokens [SEP] (RoBERTa: two
separators between), the context cut into pieces of the room a window leaves that overlap by doc_stride
tokens (the tokenizer's overflowing tokens with a stride; a stride that leaves a window no new token,
possible only for models with few positions, becomes half the window's context). Per window the start and end logits are
softmaxed over the window's tokens with everything but the context masked out, the best spans
(start ≤ end < start + max_answer_len) score start_p · end_p, and the top_k of all windows win.
"""
from __future__ import annotations

import numpy as np

from . import names
from .check import require_task
from .scores import softmax

MAX_WINDOW = 384     # the pipeline's default max_seq_len (capped by the model's max_tokens)
MASKED_LOGIT = -10000.0


def _as_list(values, name: str) -> list:
    if isinstance(values, (str, bytes)):
        return [values]
    values = list(values)
    if not values:
        raise ValueError(f"{name} is empty")
    return values


def _windows(model, question, context, doc_stride: int):
    """(input_ids, token_type_ids, offsets, first context index, context length) of each window."""
    window = min(MAX_WINDOW, model.max_tokens)
    # every token covers at least one byte of its text, so this holds them all, untruncated
    capacity = len(str(question).encode()) + len(str(context).encode()) + 8
    alone = model.tokenize([question, context], max_length=capacity)
    n_question, n_context = len(alone[0]) - 2, len(alone[1]) - 2
    full = model.tokenize([question], [context], return_offsets=True, max_length=capacity)
    ids, types, offsets = full["input_ids"][0], full["token_type_ids"][0], full["offset_mapping"][0]
    prefix = len(ids) - n_context - 1            # [CLS] question [SEP] (RoBERTa: [SEP] [SEP])
    room = window - prefix - 1
    if room < 1:
        raise ValueError(f"the question has {n_question} tokens, which leaves no room for the context in a "
                         f"{window}-token window")
    # A stride as long as the room would never advance: a small model's windows overlap by half instead.
    if doc_stride >= room:
        doc_stride = room // 2
    start = 0
    while True:
        end = min(start + room, n_context)
        take = slice(prefix + start, prefix + end)
        yield (ids[:prefix] + ids[take] + ids[-1:], types[:prefix] + types[take] + types[-1:],
               offsets[:prefix] + offsets[take] + offsets[-1:], prefix, end - start)
        if end >= n_context:
            return
        start = end - doc_stride


def _spans(start_p: np.ndarray, end_p: np.ndarray, top_k: int, max_answer_len: int, allowed: np.ndarray):
    """(start, end, score) of the top_k spans start ≤ end < start + max_answer_len, both ends allowed."""
    outer = np.tril(np.triu(np.outer(start_p, end_p)), max_answer_len - 1)
    outer[~allowed, :] = 0
    outer[:, ~allowed] = 0
    flat = outer.ravel()
    best = np.argsort(-flat, kind="stable")[:top_k]
    return [(int(i // outer.shape[1]), int(i % outer.shape[1]), float(flat[i])) for i in best if flat[i] > 0]


def _answer_one(model, question, context, top_k, max_answer_len, doc_stride) -> list[dict]:
    candidates = []
    for ids, types, offsets, first, length in _windows(model, question, context, doc_stride):
        logits = model.run_encoded({"input_ids": [ids], "token_type_ids": [types]})[0]
        logits = logits.astype(np.float64) * model.output_scale     # [n, 2]: start, end
        allowed = np.zeros(len(ids), dtype=bool)
        allowed[first:first + length] = True
        allowed_or_cls = allowed.copy()
        allowed_or_cls[0] = True        # the pipeline softmaxes over the context and [CLS] ...
        start_p = softmax(np.where(allowed_or_cls, logits[:, 0], MASKED_LOGIT))
        end_p = softmax(np.where(allowed_or_cls, logits[:, 1], MASKED_LOGIT))
        start_p[0] = end_p[0] = 0.0     # ... then gives [CLS] no probability (no "impossible answer")
        for s, e, score in _spans(start_p, end_p, top_k, max_answer_len, allowed):
            char_start, char_end = offsets[s][0], offsets[e][1]
            candidates.append({"answer": context[char_start:char_end], "score": score, "start": char_start,
                               "end": char_end})
    candidates.sort(key=lambda c: -c["score"])
    return candidates[:top_k]


def answer(model, questions, contexts, top_k: int = 1, max_answer_len: int = 30, doc_stride: int = 128) -> list:
    require_task(model, "answer", (names.QUESTION_ANSWERING,))
    for name, value in (("top_k", top_k), ("max_answer_len", max_answer_len)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, not {value!r}")
    if not isinstance(doc_stride, int) or isinstance(doc_stride, bool) or doc_stride < 0:
        raise ValueError(f"doc_stride must be a non-negative integer, not {doc_stride!r}")
    questions, contexts = _as_list(questions, "questions"), _as_list(contexts, "contexts")
    if len(questions) != len(contexts):
        raise ValueError(f"{len(questions)} questions but {len(contexts)} contexts: pass one context per question")
    results = []
    for question, context in zip(questions, contexts):
        best = _answer_one(model, question, context, top_k, max_answer_len, doc_stride)
        results.append((best[0] if best else None) if top_k == 1 else best)
    return results
