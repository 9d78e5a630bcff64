"""Sentence embeddings (a file whose task is "sentence-embedding", models/FORMAT.md §4.10) and the
cosine-similarity helpers of semantic search.

libibert pools and normalizes in integers; here the integers only get their scale, and similarity and
search are float conveniences over the embeddings, as sentence-transformers' util functions are.
"""
from __future__ import annotations

from typing import Iterable, Union

import numpy as np

from . import names
from .check import require_task


def embed(model, texts: Union[str, bytes, Iterable[Union[str, bytes]]], normalize: bool | None = None,
          progress=None) -> np.ndarray:
    """float32 [n, hidden] embeddings of `texts` (model: a pyibert.Model of a sentence-embedding file).

    normalize None keeps what the file computes (unit length if the checkpoint had a Normalize module);
    True scales each row to unit length; False on a file that normalizes in integers is an error, since
    the length is gone by then. `progress`, if given, is called with the number of texts done after each.
    """
    require_task(model, "embed", (names.SENTENCE_EMBEDDING,))
    if normalize is False and model.normalizes:
        raise ValueError(f"{model.path} normalizes its embeddings in integers (the checkpoint's Normalize "
                         "module); embed(normalize=False) cannot undo that: convert without Normalize")
    ids = [np.asarray(row, dtype=np.int32) for row in model.tokenize(texts)]

    def one(context, row):
        out = model._forward_one(context, row, None, None)
        if progress is not None:
            progress(1)
        return out

    integers = np.stack(model._map(one, ids))
    embeddings = integers.astype(np.float64) * model.output_scale
    if normalize and not model.normalizes:
        embeddings = _unit_rows(embeddings)
    return embeddings.astype(np.float32)


def _unit_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def _matrix(name: str, values) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or not array.size:
        raise ValueError(f"{name} must be a non-empty [n, dim] array of embeddings, not shape {array.shape}")
    return array


def similarity(a, b) -> np.ndarray:
    """The cosine similarity of every row of a with every row of b: float32 [len(a), len(b)]."""
    a, b = _matrix("a", a), _matrix("b", b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"a has {a.shape[1]} dimensions, b {b.shape[1]}: embeddings of one model are needed")
    return (_unit_rows(a) @ _unit_rows(b).T).astype(np.float32)


def search(query_embeddings, corpus_embeddings, top_k: int = 10) -> list[list[dict]]:
    """For each query the top_k most similar rows of the corpus by cosine similarity, best first:
    [{"corpus_id": row, "score": cosine}, ...] (sentence-transformers' util.semantic_search's form)."""
    if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
        raise ValueError(f"top_k must be a positive integer, not {top_k!r}")
    scores = similarity(query_embeddings, corpus_embeddings)
    k = min(top_k, scores.shape[1])
    best = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return [[{"corpus_id": int(j), "score": float(scores[i, j])} for j in row] for i, row in enumerate(best)]
