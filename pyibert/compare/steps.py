"""The steps `pyibert compare` measures: the golden model's traced integer tensors, in forward order.

A step's name is its key in GoldenModel.forward's `intermediates` ("embd", "blk.3.probs", "logits").
`inputs` are the steps it reads, so a step's drop is its SQNR against the worst of them: where error
enters rather than where it has piled up. `bits` is the width its integers saturate at (None: the
step has no saturating width of its own).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..tasks import names


@dataclass(frozen=True)
class Step:
    name: str                 # trace key
    block: str                # "embeddings", "layer 0", ..., "head"
    title: str                # the step's short name in the table
    inputs: tuple[str, ...]   # trace keys of the steps it reads
    bits: int | None


# (key within a layer, title, inputs within the layer ("input" = the layer's input), bits)
_LAYER = (
    ("q", "q", ("input",), 8),
    ("k", "k", ("input",), 8),
    ("v", "v", ("input",), 8),
    ("scores", "scores", ("q", "k"), None),
    ("probs", "P", ("scores",), None),
    ("ctx", "context", ("probs", "v"), 8),
    ("attn_sum", "attn out+res", ("ctx", "input"), 22),
    ("attn_norm", "attn LN", ("attn_sum",), 8),
    ("gelu_in", "FFN up", ("attn_norm",), 20),
    ("gelu", "GELU", ("gelu_in",), 8),
    ("ffn_sum", "FFN down+res", ("gelu", "attn_norm"), 22),
    ("ffn_norm", "FFN LN", ("ffn_sum",), 8),
)


def model_steps(num_layers: int, task: str) -> list[Step]:
    """The encoder's steps, then those of `task`'s head (tasks.names). The fill-mask head's steps hold
    the masked positions' rows only, as the head computes no others."""
    steps = [Step("embd_sum", "embeddings", "sum", (), 22),
             Step("embd", "embeddings", "LN", ("embd_sum",), 8)]
    layer_input = "embd"
    for layer in range(num_layers):
        prefix = f"blk.{layer}."
        for key, title, inputs, bits in _LAYER:
            reads = tuple(layer_input if i == "input" else prefix + i for i in inputs)
            steps.append(Step(prefix + key, f"layer {layer}", title, reads, bits))
        layer_input = prefix + "ffn_norm"
    return steps + _head_steps(task, layer_input)


def _head_steps(task: str, hidden: str) -> list[Step]:
    if task in names.FIRST_TOKEN_TASKS:
        return [Step("cls_dense", "head", "dense", (hidden,), None),
                Step("cls_tanh", "head", "tanh", ("cls_dense",), None),
                Step("logits", "head", "logits", ("cls_tanh",), None)]
    if task in names.EVERY_TOKEN_TASKS:
        return [Step("logits", "head", "logits", (hidden,), None)]
    if task == names.FILL_MASK:
        return [Step("mlm_gelu_in", "head", "dense", (hidden,), 20),
                Step("mlm_act", "head", "GELU", ("mlm_gelu_in",), 22),
                Step("mlm_norm", "head", "LN", ("mlm_act",), 8),
                Step("logits", "head", "decoder", ("mlm_norm",), None)]
    return []   # the encoder's final hidden states (a sentence-embedding file: before its pool)
