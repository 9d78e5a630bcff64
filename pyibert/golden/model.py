"""The golden model: a .ibert file's forward pass (models/FORMAT.md §4.6) in numpy integers.

It is the reference libibert's kernels are compared with, integer for integer: each step is one
function of ops.py applied to whole arrays, in the order FORMAT.md writes them.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from . import lowbit, ops, pooling
from .heads import run_head
from .model_file import gelu_of, read_model_file

try:
    from threadpoolctl import ThreadpoolController
    _BLAS = ThreadpoolController()   # numpy, hence its BLAS, is loaded by now
except ImportError:  # only speed depends on it
    _BLAS = None


def _one_blas_thread():
    """The matrix products here are small: on a busy machine (tests next to a training job) BLAS
    threads waiting for each other make a forward pass 5-10x slower than on one thread."""
    return contextlib.nullcontext() if _BLAS is None else _BLAS.limit(limits=1, user_api="blas")


class GoldenModel:
    """A .ibert model: `forward` runs one sequence; `exp`, `gelu` hold the file's nonlinearity constants."""

    def __init__(self, path: str | Path):
        model = read_model_file(path)
        self._meta = model.meta
        self._labels = model.labels
        self._t = model.tensors
        # each linear weight once as float64 for the exact matrix products of ops.linear
        self._weights = {name: array.astype(np.float64) for name, array in model.tensors.items()
                         if name.endswith(".weight") and name.replace(".weight", ".bias") in model.tensors}
        if self.task == "fill-mask" and "mlm_decoder.weight" not in self._weights:   # tied to the embeddings
            self._weights["mlm_decoder.weight"] = model.tensors["token_embd.weight"].astype(np.float64)
        # low-bit layers (format version 3) as their s · q products, exact in float64 (golden/lowbit.py)
        self._lowbit = {prefix: (weights, weights.effective()) for prefix, weights in model.lowbit.items()}
        self._token_embd = (model.tensors["token_embd.weight"] if model.embedding is None
                            else model.embedding.codes)
        meta = self._meta
        self.exp = ops.ExpDomain(meta["exp.frac_bits"], meta["exp.poly_b"], meta["exp.poly_c"])
        self.gelu = gelu_of(meta)
        self.output_scale = meta["output_scale.multiplier"] / 2.0 ** meta["output_scale.shift"]

    @property
    def task(self) -> str:
        return self._meta["task"]

    @property
    def mask_token_id(self) -> int | None:
        return self._meta.get("mask_token_id")

    @property
    def num_labels(self) -> int:
        return self._meta["num_labels"]

    @property
    def labels(self) -> list[str]:
        return list(self._labels)

    @property
    def max_tokens(self) -> int:
        return self._meta["max_positions"] - self._meta["position_offset"]

    @property
    def hidden_size(self) -> int:
        return self._meta["hidden_size"]

    @property
    def vocab_size(self) -> int:
        return self._meta["vocab_size"]

    @property
    def type_vocab_size(self) -> int:
        return self._meta["type_vocab_size"]

    def _rescale(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        return self._t[name + ".rq_mult"], self._t[name + ".rq_shift"]

    def _exp16(self, p: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The layer's attn_exp16 rescale (format version 5, I-BERT's 16-bit softmax exps), if it has one."""
        return self._rescale(p + "attn_exp16") if p + "attn_exp16.rq_mult" in self._t else None

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        """rq(linear(x, name), name.rq): the int64 rescaled accumulators, not yet saturated."""
        if name in self._lowbit:
            acc = lowbit.linear(x, *self._lowbit[name], self._t[name + ".bias"])
        else:
            acc = ops.linear(x, self._weights[name + ".weight"], self._t[name + ".bias"])
        return ops.rq(acc, *self._rescale(name))

    def _layer_norm(self, x: np.ndarray, name: str) -> np.ndarray:
        return ops.layernorm(x, *self._rescale(name), self._t[name + ".rq_bias"])

    def _check_inputs(self, input_ids, token_type_ids, attention_mask):
        ids = np.asarray(input_ids, dtype=np.int64)
        if ids.ndim != 1 or not 1 <= ids.size <= self.max_tokens:
            raise ValueError(f"input_ids must be one sequence of 1 … {self.max_tokens} ids, got shape {ids.shape}")
        n = ids.size
        types = np.zeros(n, np.int64) if token_type_ids is None else np.asarray(token_type_ids, dtype=np.int64)
        mask = np.ones(n, np.int64) if attention_mask is None else np.asarray(attention_mask, dtype=np.int64)
        for name, values, low, high in (("input_ids", ids, 0, self.vocab_size - 1),
                                        ("token_type_ids", types, 0, self.type_vocab_size - 1),
                                        ("attention_mask", mask, 0, 1)):
            if values.shape != (n,):
                raise ValueError(f"{name} has shape {values.shape}, expected ({n},)")
            bad = np.flatnonzero((values < low) | (values > high))
            if bad.size:
                raise ValueError(f"{name}[{bad[0]}] is {values[bad[0]]}, expected {low} … {high}")
        return ids, types, mask.astype(bool)

    def forward(self, input_ids, token_type_ids=None, attention_mask=None,
                intermediates: dict | None = None) -> tuple[np.ndarray, float]:
        """(int32 output, its scale) for one sequence: the head's logits (C, or n × C for a per-token
        head; fill-mask: [k, V] vocabulary logits of the k positions holding the mask token), or the
        n × H final hidden states.

        `intermediates`, if given, receives every stage's integers by name ("embd", "blk.0.q", ...,
        "blk.0.scores" and "blk.0.probs" as [head, i, j]), for locating the first difference from
        another implementation and for `pyibert compare`.
        """
        ids, types, key_mask = self._check_inputs(input_ids, token_type_ids, attention_mask)
        with _one_blas_thread():
            return self._forward(ids, types, key_mask, intermediates if intermediates is not None else {})

    def _forward(self, ids: np.ndarray, types: np.ndarray, key_mask: np.ndarray, trace: dict
                 ) -> tuple[np.ndarray, float]:
        t, meta = self._t, self._meta
        positions = meta["position_offset"] + np.arange(ids.size)
        mult, shift = self._rescale("token_embd")
        if mult.shape[0] > 1:      # one scale per row (format version 3): each token its row's
            mult, shift = mult[ids][:, None], shift[ids][:, None]
        trace["embd_sum"] = e = ops.sat(
            ops.rq(self._token_embd[ids], mult, shift)
            + ops.rq(t["pos_embd.weight"][positions], *self._rescale("pos_embd"))
            + ops.rq(t["token_types.weight"][types], *self._rescale("token_types")), 22)
        trace["embd"] = x = self._layer_norm(e, "embd_norm")
        for layer in range(meta["num_layers"]):
            x = self._layer(x, key_mask, f"blk.{layer}.", trace)
        return run_head(self, self.task, ids, x, key_mask, trace).astype(np.int32), self.output_scale

    def _embedding(self, r: np.ndarray, key_mask: np.ndarray, trace: dict) -> np.ndarray:
        """§4.10: the last layer's residual sums r through the 16-bit pool layer norm, pooled, normalized."""
        trace["pool_norm"] = z = pooling.pool_layer_norm(r, *self._rescale("pool_norm"), self._t["pool_norm.rq_bias"])
        trace["pooled"] = p = pooling.pool(z, key_mask, self._meta["pooling.mode"])
        if self._meta["pooling.normalize"]:
            p = pooling.l2_normalize(p)
        return p

    def _layer(self, x: np.ndarray, key_mask: np.ndarray, p: str, trace: dict) -> np.ndarray:
        q, k, v = (ops.sat(self._linear(x, p + name), 8) for name in ("attn_q", "attn_k", "attn_v"))
        trace[p + "q"], trace[p + "k"], trace[p + "v"] = q, k, v
        attention_trace = {}
        trace[p + "ctx"] = ctx = ops.attention(q, k, v, key_mask, self._meta["num_heads"],
                                               self._rescale(p + "attn_scores"), self._rescale(p + "attn_ctx"),
                                               self.exp, attention_trace, self._exp16(p))
        trace.update((p + name, values) for name, values in attention_trace.items())
        trace[p + "attn_sum"] = r = ops.sat(self._linear(ctx, p + "attn_out")
                                            + ops.rq(x, *self._rescale(p + "attn_res")), 22)
        trace[p + "attn_norm"] = a = self._layer_norm(r, p + "attn_norm")
        trace[p + "gelu_in"] = g_in = ops.sat(self._linear(a, p + "ffn_up"), 20)
        # the GELU output's zero points (format version 6), 0 without them
        zero = self._t.get(p + "ffn_gelu.zero_point", 0)
        trace[p + "gelu"] = g = ops.sat(ops.rq(ops.igelu(g_in, self.gelu), *self._rescale(p + "ffn_gelu")) + zero, 8)
        trace[p + "ffn_sum"] = r = ops.sat(self._linear(g, p + "ffn_down") + ops.rq(a, *self._rescale(p + "ffn_res")), 22)
        trace[p + "ffn_norm"] = out = self._layer_norm(r, p + "ffn_norm")
        return out
