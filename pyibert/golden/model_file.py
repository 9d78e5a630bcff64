"""Reading a .ibert file for the golden model: metadata and tensors in FORMAT.md's numpy order.

The checks here are the ones the golden model's arithmetic relies on: the tensors FORMAT.md §3 lists,
each with its type and shape, and no other; the values of §2 and §3 that bound the integers. The C
loader's validation (every field, every message) is tested on its own; this reader only refuses to
compute on a file that breaks the spec.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from gguf import GGUFReader

from ..tasks import names
from . import ops
from .lowbit import LOWBIT_LINEARS, LowBitError, LowBitWeights, decode_codes, decode_linear

FORMAT_VERSION = 7
READABLE_VERSIONS = (2, 3, 4, 5, 6, 7)
# Tables that format version 4 lets be int16 (FORMAT.md §3).
INT16_TABLES = ("pos_embd.weight", "token_types.weight")
# Rescales that may have one value or one per channel (format version 2): name suffix -> the channel
# count's metadata key.
_ONE_OR_PER_CHANNEL = {"attn_res": "hidden_size", "ffn_res": "hidden_size", "ffn_gelu": "intermediate_size"}

_DIMENSIONS = ("vocab_size", "hidden_size", "num_layers", "num_heads", "intermediate_size", "max_positions",
               "type_vocab_size", "position_offset", "num_labels")


class ModelFileError(ValueError):
    """The file is not a model FORMAT.md allows."""


@dataclass(frozen=True)
class ModelFile:
    meta: dict            # the ibert.* values, keyed without the "ibert." prefix
    labels: list[str]
    tensors: dict         # name -> int8 / int16 / int32 / int64 numpy array, shapes as FORMAT.md §3
    lowbit: dict          # low-bit linear prefix (e.g. "blk.0.ffn_up") -> LowBitWeights (§3.1)
    embedding: LowBitWeights | None = None   # low-bit token_embd codes (sub all 1), or None for int8


def _value(reader: GGUFReader, key: str):
    field = reader.fields.get(key)
    if field is None:
        raise ModelFileError(f"metadata key {key} is missing")
    return field.contents()


def _rescale(name: str, channels: int, layer_norm: bool = False) -> list[tuple[str, type, tuple]]:
    specs = [(f"{name}.rq_mult", np.int32, (channels,)), (f"{name}.rq_shift", np.int32, (channels,))]
    if layer_norm:
        specs.append((f"{name}.rq_bias", np.int64, (channels,)))
    return specs


def _linear(name: str, n_out: int, n_in: int, low_bit: bool = False) -> list[tuple[str, type, tuple]]:
    """A linear layer's tensors; a low-bit one (§3.1) has .qweight and .qsub, their widths (None) read
    from the file."""
    weights = ([(f"{name}.qweight", np.int8, (n_out, None)), (f"{name}.qsub", np.int8, (n_out, None))] if low_bit
               else [(f"{name}.weight", np.int8, (n_out, n_in))])
    return weights + [(f"{name}.bias", np.int32, (n_out,))] + _rescale(name, n_out)


def expected_tensors(meta: dict, stored: frozenset = frozenset()) -> list[tuple[str, type, tuple]]:
    """(name, dtype, numpy shape) of every tensor FORMAT.md §3 requires for these dimensions (the
    rescales of _ONE_OR_PER_CHANNEL and token_embd's as [1]; `allowed_shape` also takes their
    per-channel shape). A layer or table whose .qweight is among the `stored` names is low-bit (§3.1);
    a None in a shape is a width the file decides."""
    v, h, f, p, t, c = (meta[k] for k in ("vocab_size", "hidden_size", "intermediate_size", "max_positions",
                                           "type_vocab_size", "num_labels"))
    embd = ("token_embd.qweight", np.int8, (v, None)) if "token_embd.qweight" in stored else \
        ("token_embd.weight", np.int8, (v, h))
    specs = [embd, ("pos_embd.weight", np.int8, (p, h)), ("token_types.weight", np.int8, (t, h))]
    specs += _rescale("token_embd", 1) + _rescale("pos_embd", 1) + _rescale("token_types", 1)
    specs += _rescale("embd_norm", h, layer_norm=True)
    for layer in range(meta["num_layers"]):
        b = f"blk.{layer}."

        def lin(name, n_out, n_in):
            return _linear(b + name, n_out, n_in, low_bit=f"{b}{name}.qweight" in stored)
        specs += lin("attn_q", h, h) + lin("attn_k", h, h) + lin("attn_v", h, h)
        specs += _rescale(b + "attn_scores", 1) + _rescale(b + "attn_ctx", 1)
        specs += lin("attn_out", h, h) + _rescale(b + "attn_res", 1)
        specs += _rescale(b + "attn_norm", h, layer_norm=True)
        specs += lin("ffn_up", f, h) + _rescale(b + "ffn_gelu", 1)
        specs += lin("ffn_down", h, f) + _rescale(b + "ffn_res", 1)
        specs += _rescale(b + "ffn_norm", h, layer_norm=True)
    if meta["task"] in names.FIRST_TOKEN_TASKS:
        specs += _linear("cls_dense", h, h)
    if meta["task"] in names.FIRST_TOKEN_TASKS + names.EVERY_TOKEN_TASKS:
        specs += _linear("cls_out", c, h)
    if meta["task"] == names.FILL_MASK:   # §4.11; mlm_decoder.weight is optional (_optional_tensors)
        specs += _linear("mlm_dense", h, h) + _rescale("mlm_gelu", 1) + _rescale("mlm_norm", h, layer_norm=True)
        specs += [("mlm_decoder.bias", np.int32, (v,))] + _rescale("mlm_decoder", v)
    if meta["task"] == names.SENTENCE_EMBEDDING:
        specs += _rescale("pool_norm", h, layer_norm=True)
    return specs


def _optional_tensors(meta: dict) -> list[tuple[str, type, tuple]]:
    """Tensors a file may leave out: a fill-mask decoder that is not tied to token_embd.weight, the
    16-bit exp rescales of an I-BERT file's softmax (format version 5) and the GELU outputs' zero points
    (version 6; shaped as their rescale, `allowed_shape`)."""
    specs = [spec for layer in range(meta["num_layers"]) for spec in _rescale(f"blk.{layer}.attn_exp16", 1)]
    specs += [(f"blk.{layer}.ffn_gelu.zero_point", np.int32, (1,)) for layer in range(meta["num_layers"])]
    if meta["task"] == names.FILL_MASK:
        specs.append(("mlm_decoder.weight", np.int8, (meta["vocab_size"], meta["hidden_size"])))
    return specs


def allowed_shape(name: str, shape: tuple, expected: tuple, meta: dict) -> bool:
    """Whether a tensor of `shape` is what FORMAT.md §3 allows where expected_tensors says `expected`."""
    kind = name.rsplit(".", 2)[-2]
    if name.startswith("blk.") and kind in _ONE_OR_PER_CHANNEL:
        return shape in ((1,), (meta[_ONE_OR_PER_CHANNEL[kind]],))
    if name.startswith("token_embd.rq_"):       # format version 3: one scale per row allowed
        return shape in ((1,), (meta["vocab_size"],))
    return len(shape) == len(expected) and all(e is None or e == d for d, e in zip(shape, expected))


def _check_values(meta: dict, tensors: dict) -> None:
    """§3's value ranges (weights, biases, rescales, the attention-score bound)."""
    for name, array in tensors.items():
        if name.endswith(".weight") and array.size and array.min() < -np.iinfo(array.dtype).max:
            raise ModelFileError(f"tensor {name}: weight {array.min()} (FORMAT.md allows ±{np.iinfo(array.dtype).max})")
        if name.endswith(".bias") and array.size and np.abs(array.astype(np.int64)).max() > 2**30:
            raise ModelFileError(f"tensor {name}: a bias exceeds 2^30 in magnitude")
        if name.endswith(".rq_shift") and (array.min() < 1 or array.max() > 62):
            raise ModelFileError(f"tensor {name}: shift outside 1 … 62")
        if name.endswith(".rq_mult") and array.min() == -(2**31):
            raise ModelFileError(f"tensor {name}: multiplier −2^31")
        if name.endswith(".rq_bias") and np.abs(array).max() > 2**61:
            raise ModelFileError(f"tensor {name}: a layer-norm bias exceeds 2^61 in magnitude")
    head_size = meta["hidden_size"] // meta["num_heads"]
    for layer in range(meta["num_layers"]):
        m = abs(int(tensors[f"blk.{layer}.attn_scores.rq_mult"][0]))
        s = int(tensors[f"blk.{layer}.attn_scores.rq_shift"][0])
        if m * 2**14 * head_size >= 2 ** (30 + s):
            raise ModelFileError(f"blk.{layer}.attn_scores: |m| · 2^14 · D ≥ 2^(30 + s) (FORMAT.md §4.6)")
        exp16 = f"blk.{layer}.attn_exp16"
        if exp16 + ".rq_mult" in tensors:   # the row's largest exp, c, must stay ≥ 1 in 16 bits (§4.6)
            m, s = int(tensors[exp16 + ".rq_mult"][0]), int(tensors[exp16 + ".rq_shift"][0])
            if m <= 0 or (meta["exp.poly_c"] * m + 2 ** (s - 1)) >> s < 1:
                raise ModelFileError(f"{exp16}: rescale {m} · 2^-{s} takes i-exp's largest value "
                                     f"{meta['exp.poly_c']} below 1 (FORMAT.md §4.6)")


# The ibert.* keys format version 3 adds; a version-2 file with one of them is refused naming it.
_KEYS_NEW_IN_3 = ("ibert.task", "ibert.pooling.mode", "ibert.pooling.normalize")


def _read_task(reader: GGUFReader, version: int, num_labels: int, path) -> str:
    """ibert.task (format version 3), or what a version-2 file implies; checked against C."""
    if version == 2:
        for key in _KEYS_NEW_IN_3:
            if key in reader.fields:
                raise ModelFileError(f"{path}: metadata key {key} is new in format version 3, but the file is "
                                     "version 2")
        return names.task_of_version_2(num_labels)
    task = str(_value(reader, "ibert.task"))
    if task not in names.NUM_LABELS:
        known = task in names.TASKS
        raise ModelFileError(f"{path}: task '{task}' " + ("has a head this golden model does not compute" if known
                             else f"is not a task ({', '.join(names.TASKS)})"))
    low, high = names.NUM_LABELS[task]
    if not low <= num_labels <= high:
        raise ModelFileError(f"{path}: ibert.num_labels is {num_labels} but task '{task}' has {low} … {high}")
    return task


_ERF2_KEYS = tuple(f"gelu.{name}" for name in ops.ERF2_CONSTANTS)
_ERF3_KEYS = tuple(f"gelu.{name}" for name in ops.ERF3_CONSTANTS)


def _gelu_keys(reader: GGUFReader, version: int, path) -> dict:
    """ibert.gelu.* (§2, §4.4): the form (format version 7; older files are erf2) and its constants, the
    other form's keys absent; an erf3 file's constants checked as the C reader checks them."""
    if version < 7:
        if "ibert.gelu.form" in reader.fields:
            raise ModelFileError(f"{path}: metadata key ibert.gelu.form is new in format version 7, but the file "
                                 f"is version {version}")
        form = ops.ERF2
    else:
        form = str(_value(reader, "ibert.gelu.form"))
        if form not in (ops.ERF2, ops.ERF3):
            raise ModelFileError(f"{path}: ibert.gelu.form is '{form}', expected erf2 or erf3")
    own, other = (_ERF3_KEYS, _ERF2_KEYS) if form == ops.ERF3 else (_ERF2_KEYS, _ERF3_KEYS)
    for key in other:
        if f"ibert.{key}" in reader.fields:
            raise ModelFileError(f"{path}: metadata key ibert.{key} does not belong to ibert.gelu.form '{form}'")
    meta = {key: 0 for key in other}
    meta.update({key: int(_value(reader, f"ibert.{key}")) for key in ("gelu.b", "gelu.one") + own})
    meta["gelu.form"] = form
    if form == ops.ERF3:
        try:
            ops.check_erf3(gelu_of(meta))
        except ops.BoundError as error:
            raise ModelFileError(f"{path}: the erf3 GELU constants leave their bounds: {error}") from None
    return meta


def gelu_of(meta: dict) -> ops.Gelu:
    """The integer GELU constants of a file's metadata (read_model_file's meta)."""
    return ops.Gelu(**{name: meta[f"gelu.{name}"] for name in ops.Gelu._fields})


def _pooling_keys(reader: GGUFReader, task: str, path) -> dict:
    """ibert.pooling.* (format version 3): a sentence-embedding file's pool; no other task has them."""
    present = [key for key in ("ibert.pooling.mode", "ibert.pooling.normalize") if key in reader.fields]
    if task != names.SENTENCE_EMBEDDING:
        if present:
            raise ModelFileError(f"{path}: {present[0]} is present but ibert.task is '{task}', not "
                                 "sentence-embedding")
        return {}
    mode = str(_value(reader, "ibert.pooling.mode"))
    if mode not in ("mean", "cls", "max"):
        raise ModelFileError(f"{path}: ibert.pooling.mode is '{mode}', expected mean, cls or max")
    return {"pooling.mode": mode, "pooling.normalize": bool(_value(reader, "ibert.pooling.normalize"))}


def read_model_file(path: str | Path) -> ModelFile:
    reader = GGUFReader(str(path))
    if _value(reader, "general.architecture") != "ibert":
        raise ModelFileError(f"{path}: general.architecture is not 'ibert'")
    version = _value(reader, "ibert.format_version")
    if version == 1:
        raise ModelFileError(f"{path}: model file format version 1 is no longer supported (softmax rounding "
                             "changed in version 2): re-convert the checkpoint with this pyibert")
    if version not in READABLE_VERSIONS:
        raise ModelFileError(f"{path}: format version {version} is unsupported (this reader knows "
                             f"{', '.join(map(str, READABLE_VERSIONS))})")
    meta = {key: int(_value(reader, f"ibert.{key}")) for key in _DIMENSIONS}
    meta["task"] = _read_task(reader, version, meta["num_labels"], path)
    if meta["task"] == names.FILL_MASK:
        meta["mask_token_id"] = int(_value(reader, "tokenizer.ggml.mask_token_id"))
        if not 0 <= meta["mask_token_id"] < meta["vocab_size"]:
            raise ModelFileError(f"{path}: tokenizer.ggml.mask_token_id {meta['mask_token_id']} is not a token id")
    meta.update(_pooling_keys(reader, meta["task"], path))
    for key in ("exp.frac_bits", "exp.poly_b", "exp.poly_c", "output_scale.multiplier", "output_scale.shift"):
        meta[key] = int(_value(reader, f"ibert.{key}"))
    meta.update(_gelu_keys(reader, version, path))
    if meta["hidden_size"] % meta["num_heads"]:
        raise ModelFileError(f"{path}: hidden size {meta['hidden_size']} is not divisible by "
                             f"{meta['num_heads']} heads")
    if not 0 <= meta["position_offset"] < meta["max_positions"]:
        raise ModelFileError(f"{path}: position offset {meta['position_offset']} is not below "
                             f"max_positions {meta['max_positions']}")
    labels = [str(label) for label in _value(reader, "ibert.labels")] if meta["num_labels"] else []
    if len(labels) != meta["num_labels"]:
        raise ModelFileError(f"{path}: {len(labels)} labels for num_labels = {meta['num_labels']}")

    stored = {tensor.name: tensor for tensor in reader.tensors}
    if version == 2:
        _refuse_version_3_tensors(path, stored)
    _check_exp16_tensors(path, stored, version, meta["num_layers"])
    if meta["task"] == names.FILL_MASK and "mlm_decoder.weight" not in stored and "token_embd.qweight" in stored:
        raise ModelFileError(f"{path}: the fill-mask decoder reads token_embd.weight (it has no mlm_decoder.weight), "
                             "but the word embeddings are low-bit token_embd.qweight: a tied decoder needs 8-bit "
                             "embeddings")
    tensors = {}
    optional = {name for name, _, _ in _optional_tensors(meta)}
    for name, dtype, shape in expected_tensors(meta, frozenset(stored)) + _optional_tensors(meta):
        tensor = stored.pop(name, None)
        if tensor is None and name in optional:
            continue
        if tensor is None:
            raise ModelFileError(f"{path}: tensor {name} is missing")
        # GGUFReader already presents the data in numpy order (its `shape` is GGUF's, fastest first)
        data = np.asarray(tensor.data)
        if name in INT16_TABLES and data.dtype == np.int16:
            if version < 4:
                raise ModelFileError(f"{path}: tensor {name} is int16, which is new in format version 4, but the "
                                     f"file says version {version}")
            dtype = np.int16
        if data.dtype != dtype or not allowed_shape(name, data.shape, shape, meta):
            raise ModelFileError(f"{path}: tensor {name} is {data.dtype} {list(data.shape)}, "
                                 f"expected {np.dtype(dtype)} {list(shape)}")
        if name.endswith(".rq_shift") and data.shape != tensors[name[:-len("shift")] + "mult"].shape:
            raise ModelFileError(f"{path}: tensor {name} is {list(data.shape)}, but its rq_mult is "
                                 f"{list(tensors[name[:-len('shift')] + 'mult'].shape)}: both tensors of a "
                                 "rescale have one shape")
        if name.endswith(".zero_point"):
            _check_zero_point(path, name, data, tensors[name[:-len("zero_point")] + "rq_mult"].shape, version)
        tensors[name] = data
    if stored:
        raise ModelFileError(f"{path}: unknown tensors {sorted(stored)[:5]}")
    _check_values(meta, tensors)
    try:
        lowbit, embedding = _decode_low_bit(meta, tensors)
    except LowBitError as error:
        raise ModelFileError(f"{path}: {error}") from None
    return ModelFile(meta, labels, tensors, lowbit, embedding)


def _check_zero_point(path, name: str, data: np.ndarray, rescale_shape: tuple, version: int) -> None:
    """A GELU output zero point (format version 6): shaped as its rescale, each in −128 … 127."""
    if version < 6:
        raise ModelFileError(f"{path}: tensor {name} is new in format version 6, but the file says version {version}")
    if data.shape != rescale_shape:
        raise ModelFileError(f"{path}: tensor {name} is {list(data.shape)}, but its rescale is "
                             f"{list(rescale_shape)}")
    if data.size and (data.min() < -128 or data.max() > 127):
        raise ModelFileError(f"{path}: tensor {name}: a zero point outside −128 … 127")


def _check_exp16_tensors(path, stored: dict, version: int, num_layers: int) -> None:
    """attn_exp16 (format version 5): both tensors of the rescale or neither, in a version-5 file."""
    for layer in range(num_layers):
        present = [f"blk.{layer}.attn_exp16.rq_{part}" in stored for part in ("mult", "shift")]
        if any(present) and version < 5:
            raise ModelFileError(f"{path}: tensor blk.{layer}.attn_exp16 is new in format version 5, but the file "
                                 f"says version {version}")
        if any(present) and not all(present):
            raise ModelFileError(f"{path}: blk.{layer}.attn_exp16 has only one of rq_mult and rq_shift")


def _refuse_version_3_tensors(path, stored: dict) -> None:
    for name, tensor in stored.items():
        if name.endswith((".qweight", ".qsub")):
            raise ModelFileError(f"{path}: tensor {name} is new in format version 3, but the file says version 2")
    mult = stored.get("token_embd.rq_mult")
    if mult is not None and np.asarray(mult.data).shape != (1,):
        raise ModelFileError(f"{path}: a per-row token_embd rescale is new in format version 3, but the file says "
                             "version 2")


def _decode_low_bit(meta: dict, tensors: dict) -> tuple[dict, LowBitWeights | None]:
    lowbit = {}
    for layer in range(meta["num_layers"]):
        for kind in LOWBIT_LINEARS:
            prefix = f"blk.{layer}.{kind}"
            if prefix + ".qweight" in tensors:
                columns = meta["intermediate_size"] if kind == "ffn_down" else meta["hidden_size"]
                lowbit[prefix] = decode_linear(prefix, tensors[prefix + ".qweight"], tensors[prefix + ".qsub"],
                                               tensors[prefix + ".bias"], columns)
    embedding = None
    if "token_embd.qweight" in tensors:
        bits, codes = decode_codes("token_embd.qweight", tensors["token_embd.qweight"], meta["hidden_size"])
        embedding = LowBitWeights(bits, 0, codes, np.ones((codes.shape[0], 1), np.int64))
    return lowbit, embedding
