"""Low-bit weights in the converter (format version 3, models/FORMAT.md §3.1): which width each encoder
linear layer and the word embeddings get, and their packed integers."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..qbert.groupwise import GroupQuantized, quantize_embedding, quantize_nearest
from ..qbert.packing import pack_codes
from .errors import ConversionError
from .weights import ADDED_TABLE_BITS

WEIGHT_WIDTHS = (8, 6, 4, 3, 2)
EMBEDDING_WIDTHS = (8, 4, 3, 2)
GROUP_SIZES = (0, 32, 64, 128)
ROUNDINGS = ("auto", "nearest", "gptq")
ACC_LIMIT = 2**31


@dataclass(frozen=True)
class LowBitPlan:
    """The width of every encoder linear layer (by prefix, e.g. "blk.0.ffn_up"; absent: `weight_bits`),
    of the word embeddings, the group size and the rounding. 8 bits is today's int8 layer.

    Rounding "auto" is GPTQ for int8 layers and nearest for low-bit ones, in files with a classification,
    regression, tagging, QA or multiple-choice head (pipeline._resolve_auto: hidden-state, sentence-embedding
    and fill-mask files round to nearest): measured on our
    classifiers and task heads, GPTQ brings int8 layers' outputs closer to float, while low-bit layers
    lost accuracy with it (README, "Accuracy against size")."""
    weight_bits: int = 8
    embedding_bits: int = 8
    group_size: int = 0
    rounding: str = "auto"
    widths: dict = field(default_factory=dict)
    # The position and token-type tables: int16 (weights.ADDED_TABLE_BITS), or int8 (BUDGET_TABLE_BITS) in
    # a file with a size budget (--max-size), where their 0.2 MB buys the linear layers more bits (README,
    # "Accuracy against size": at 7x and 8x, 0.2 to 1.2 points more agreement with FP32 on three classifiers)
    added_table_bits: int = ADDED_TABLE_BITS
    # Hessian inputs for GPTQ: layer prefix -> H = 2·XᵀX/rows over the layer's float calibration inputs
    hessians: dict = field(default_factory=dict)

    def width(self, prefix: str) -> int:
        return self.widths.get(prefix, self.weight_bits)

    def rounds_with_gptq(self, prefix: str) -> bool:
        return self.rounding == "gptq" or (self.rounding == "auto" and self.width(prefix) == 8)

    def validate(self) -> None:
        for name, bits, allowed in (("--weight-bits", self.weight_bits, WEIGHT_WIDTHS),
                                    ("--embedding-bits", self.embedding_bits, EMBEDDING_WIDTHS)):
            if bits not in allowed:
                raise ConversionError(f"{name} {bits} is not one of {', '.join(map(str, allowed))}")
        if self.group_size not in GROUP_SIZES:
            raise ConversionError(f"--group-size {self.group_size} is not one of "
                                  f"{', '.join(map(str, GROUP_SIZES))} (0: one scale per output row)")
        if self.rounding not in ROUNDINGS:
            raise ConversionError(f"--rounding {self.rounding} is not one of {', '.join(ROUNDINGS)}")


UNIFORM_INT8 = LowBitPlan()


def group_size_for(columns: int, group_size: int, name: str) -> int:
    """The file's group size for a layer of `columns` inputs: a group as wide as the row is group size 0."""
    if group_size == 0 or group_size >= columns:
        return 0
    if columns % group_size:
        raise ConversionError(f"{name}: --group-size {group_size} does not divide its {columns} inputs")
    return group_size


def layer_input_point(prefix: str) -> str:
    """The calibration point (activation_points.py) whose values are the input of the encoder linear
    layer `prefix`, e.g. blk.2.attn_q reads blk.1.ffn_norm."""
    _, layer, kind = prefix.split(".")
    if kind in ("attn_q", "attn_k", "attn_v"):
        return "embd_norm" if layer == "0" else f"blk.{int(layer) - 1}.ffn_norm"
    return f"blk.{layer}." + {"attn_out": "ctx", "ffn_up": "attn_norm", "ffn_down": "gelu"}[kind]


def quantize_low_bit(weight: np.ndarray, bits: int, group_size: int, name: str,
                     hessian: np.ndarray | None = None) -> GroupQuantized:
    """Codes, row scales and sub-scales of a float [N, K] matrix: GPTQ when a Hessian is given."""
    group = group_size_for(weight.shape[1], group_size, name)
    if hessian is not None:
        from ..qbert.gptq import quantize_gptq
        return quantize_gptq(weight, hessian, bits, group)
    return quantize_nearest(weight, bits, group)


def low_bit_tensors(name: str, q: GroupQuantized, bias: np.ndarray) -> dict[str, np.ndarray]:
    """`name`.qweight and `name`.qsub (FORMAT.md §3.1), after checking the accumulator bound."""
    n, k = q.codes.shape
    bound = k * 2 ** (q.bits - 1) * 128 * q.sub_scale.astype(np.int64).max(axis=1) + np.abs(bias.astype(np.int64))
    if bound.max() >= ACC_LIMIT:
        row = int(np.argmax(bound))
        raise ConversionError(f"{name}: row {row} could overflow its int32 accumulator at {q.bits} bits "
                              f"(K · 2^(b−1) · 128 · max sub-scale + |bias| = {int(bound[row])} ≥ 2^31)")
    return {f"{name}.qweight": pack_codes(q.codes, q.bits).view(np.int8),
            f"{name}.qsub": q.sub_scale.astype(np.int8)}


def quantize_word_embeddings(table: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """(packed int8 [V, R], float64 row scales [V]) of a float table at `bits` < 8."""
    q = quantize_embedding(table, bits)
    return pack_codes(q.codes, bits).view(np.int8), q.row_scale
