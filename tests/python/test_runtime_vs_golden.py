"""Contract 1 on random models: libibert's forward pass and the numpy golden model
give identical integers, every one of them.

tests/fixtures/random_model.py writes spec-valid models whose weights and
constants reach the ends of the ranges FORMAT.md allows; each is run on random
ids, token types and attention masks at awkward lengths (1, 2, 3, 17, 63 and the
model's maximum), with each task's head (and none) and as sentence embeddings in each
pooling mode, on every kernel set (IBERT_KERNELS) this build and CPU have. libibert is called through its public C
API (pyibert._native), with nothing in between.
"""
from __future__ import annotations

import importlib.util
import itertools
import os
import platform
from pathlib import Path

import numpy as np
import pytest
from gguf import GGUFReader

from pyibert._native import ffi, lib
from pyibert.golden import GoldenModel

REPO = Path(__file__).resolve().parents[2]
LENGTHS = [1, 2, 3, 17, 63]


def _load_fixture():
    spec = importlib.util.spec_from_file_location("random_model", REPO / "tests" / "fixtures" / "random_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


random_model = _load_fixture()


def _check(status: int) -> None:
    assert status == lib.IBERT_OK, ffi.string(lib.ibert_last_error()).decode()


class Native:
    """A model and one context of libibert."""

    def __init__(self, path: Path):
        # T is not in the C API; the file says it
        field = GGUFReader(path).fields["ibert.type_vocab_size"]
        self.type_vocab_size = int(field.parts[field.data[0]][0])
        self.path = path
        handle = ffi.new("ibert_model **")
        _check(lib.ibert_model_load_file(os.fsencode(path), handle))
        self.model = handle[0]
        context = ffi.new("ibert_context **")
        status = lib.ibert_context_new(self.model, context)
        if status != lib.IBERT_OK:
            lib.ibert_model_free(self.model)
            _check(status)
        self.context = context[0]
        self.max_tokens = int(lib.ibert_model_max_tokens(self.model))
        self.vocab_size = int(lib.ibert_model_vocab_size(self.model))
        self.num_labels = int(lib.ibert_model_num_labels(self.model))
        scale = lib.ibert_model_output_scale(self.model)
        self.scale = scale.multiplier / 2.0**scale.shift

    def forward_status(self, ids, types=None, mask=None, n=None):
        """(status, output) of ibert_forward; arrays are passed as given (int32)."""
        n = len(ids) if n is None else n
        out = np.full(max(int(lib.ibert_model_output_size(self.model, n)), 1), -7, dtype=np.int32)

        def pointer(array):
            return ffi.NULL if array is None else ffi.cast("int32_t *", ffi.from_buffer(array))

        status = lib.ibert_forward(self.context, pointer(ids), pointer(types), pointer(mask), n, pointer(out))
        return status, out

    def forward(self, ids, types=None, mask=None) -> np.ndarray:
        status, out = self.forward_status(ids, types, mask)
        _check(status)
        return out

    def close(self) -> None:
        lib.ibert_context_free(self.context)
        lib.ibert_model_free(self.model)


# (num_labels, extreme, tokenizer, task, pooling): with and without a head; the normal models'
# realistic scales and the extreme ones' limits; "gpt2" gives RoBERTa's position offset 2. Task None
# is a format-version-2 file (its head implied by num_labels); the others are version 3, one per
# head, and sentence embeddings (task sentence-embedding) with each pooling mode.
MODELS = {
    "classifier": (3, False, "bert", None, None),
    "encoder-only": (0, False, "gpt2", None, None),
    "classifier-extreme": (3, True, "gpt2", None, None),
    "encoder-only-extreme": (0, True, "bert", None, None),
    "embedding-mean": (0, False, "bert", None, ("mean", True)),
    "embedding-cls-extreme": (0, True, "gpt2", None, ("cls", True)),
    "embedding-max-extreme": (0, True, "bert", None, ("max", False)),
    "embedding-mean-extreme": (0, True, "bert", None, ("mean", True)),
    "regression": (1, False, "bert", "regression", None),
    "multiple-choice-extreme": (1, True, "bert", "multiple-choice", None),
    "token-classification": (5, False, "gpt2", "token-classification", None),
    "token-classification-extreme": (9, True, "bert", "token-classification", None),
    "question-answering": (2, False, "bert", "question-answering", None),
    "pairs-int16-tables": (2, False, "bert", "sequence-classification", None),
    "pairs-int16-tables-extreme": (2, True, "gpt2", "sequence-classification", None),
    "ibert-exp16": (2, False, "gpt2", "sequence-classification", None),
    "ibert-exp16-extreme": (4, True, "gpt2", "token-classification", None),
    "gelu-zero-point": (2, False, "bert", "sequence-classification", None),
    "gelu-zero-point-extreme": (3, True, "gpt2", "token-classification", None),
    "gelu-erf3": (2, False, "bert", "sequence-classification", None),
    "gelu-erf3-extreme": (4, True, "gpt2", "token-classification", None),
}
# Models with int16 position and token-type tables (format version 4)
INT16_TABLES = {"pairs-int16-tables", "pairs-int16-tables-extreme"}
# Models with I-BERT's 16-bit softmax exps (format version 5)
EXP16 = {"ibert-exp16", "ibert-exp16-extreme"}
# Models with GELU output zero points (format version 6)
GELU_ZERO_POINT = {"gelu-zero-point", "gelu-zero-point-extreme", "gelu-erf3"}
# Models with the cubic GELU (format version 7)
GELU_ERF3 = {"gelu-erf3", "gelu-erf3-extreme"}


# The kernel sets a build for this architecture has; the default (unset) is the best of
# those the CPU runs, and one the CPU lacks is skipped with the library's message.
KERNEL_SETS = ["ref"] + {
    "x86_64": ["avx2", "avx512vnni"],
    "aarch64": ["neon", "dotprod", "i8mm"],
}.get(platform.machine(), [])


def _native_with_kernels(path: Path, kernels: str) -> Native:
    """The model loaded with IBERT_KERNELS=kernels (the set is chosen at load); skips a
    set this build does not have or this CPU cannot run, as the library reports it."""
    saved = os.environ.get("IBERT_KERNELS")
    os.environ["IBERT_KERNELS"] = kernels
    try:
        handle = ffi.new("ibert_model **")
        status = lib.ibert_model_load_file(os.fsencode(path), handle)
        if status != lib.IBERT_OK:
            message = ffi.string(lib.ibert_last_error()).decode()
            if status == lib.IBERT_ERR_INVALID_ARGUMENT and (
                    "is not a kernel set of this build" in message or "needs CPU features" in message):
                pytest.skip(message)
            _check(status)
        lib.ibert_model_free(handle[0])
        native = Native(path)
    finally:
        if saved is None:
            del os.environ["IBERT_KERNELS"]
        else:
            os.environ["IBERT_KERNELS"] = saved
    assert ffi.string(lib.ibert_model_kernels(native.model)).decode() == kernels
    return native


@pytest.fixture(scope="module", params=list(itertools.product(MODELS, KERNEL_SETS)), ids="-".join)
def model_pair(request, tmp_path_factory):
    name, kernels = request.param
    num_labels, extreme, tokenizer, task, pooling = MODELS[name]
    path = tmp_path_factory.mktemp("random") / "random.ibert"
    random_model.write_random_model(path, num_labels=num_labels, extreme=extreme, tokenizer=tokenizer,
                                    max_positions=70, seed=100 + len(name), task=task, pooling=pooling,
                                    table_bits=16 if name in INT16_TABLES else 8, exp16=name in EXP16,
                                    gelu_zero_point=name in GELU_ZERO_POINT,
                                    gelu_form="erf3" if name in GELU_ERF3 else "erf2")
    native = _native_with_kernels(path, kernels)
    yield native, GoldenModel(path)
    native.close()


def _inputs(rng, n, vocab_size, type_vocab_size, mask_kind):
    ids = rng.integers(0, vocab_size, n, dtype=np.int32)
    types = rng.integers(0, type_vocab_size, n, dtype=np.int32)
    if mask_kind == "none":
        mask = None
    elif mask_kind == "random":
        mask = rng.integers(0, 2, n, dtype=np.int32)
    elif mask_kind == "padded":  # real batches: ones, then zeros
        mask = (np.arange(n) < rng.integers(1, n + 1)).astype(np.int32)
    else:  # every key masked: every attention row is 0
        mask = np.zeros(n, dtype=np.int32)
    return ids, types, mask


@pytest.mark.parametrize("mask_kind", ["none", "random", "padded", "all-masked"])
def test_every_output_integer_equals_the_golden_model(model_pair, mask_kind):
    native, golden = model_pair
    rng = np.random.default_rng(len(mask_kind) * 7919 + native.num_labels)
    lengths = sorted({n for n in LENGTHS if n <= native.max_tokens} | {native.max_tokens})
    for n in lengths:
        for trial in range(2):
            ids, types, mask = _inputs(rng, n, native.vocab_size, native.type_vocab_size, mask_kind)
            pass_types = None if trial == 0 else types
            ours = native.forward(ids, pass_types, mask)
            reference, scale = golden.forward(ids, token_type_ids=pass_types, attention_mask=mask)
            reference = np.asarray(reference)
            assert reference.dtype == np.int32
            assert scale == native.scale
            assert ours.shape == (reference.size,), (n, ours.shape, reference.shape)
            differ = np.flatnonzero(ours != reference.reshape(-1))
            assert differ.size == 0, (
                f"n={n} mask={mask_kind} types={'given' if pass_types is not None else 'default'}: "
                f"{differ.size} of {ours.size} integers differ, first at {differ[0]}: "
                f"libibert {ours[differ[0]]}, golden {reference.reshape(-1)[differ[0]]}")


def _error(native, *args, **kwargs) -> tuple[int, str]:
    status, _ = native.forward_status(*args, **kwargs)
    return status, ffi.string(lib.ibert_last_error()).decode()


def test_bad_arguments_are_rejected_with_the_position_and_value(model_pair):
    native, _ = model_pair
    n = min(3, native.max_tokens)
    ids = np.zeros(n, dtype=np.int32)

    bad_ids = ids.copy()
    bad_ids[n - 1] = native.vocab_size
    assert _error(native, bad_ids) == (
        lib.IBERT_ERR_INVALID_ARGUMENT,
        f"ibert_forward: input_ids[{n - 1}] is {native.vocab_size}, outside the vocabulary 0 ... "
        f"{native.vocab_size - 1}")
    bad_ids[n - 1] = -1
    assert _error(native, bad_ids)[1].startswith(f"ibert_forward: input_ids[{n - 1}] is -1,")

    assert _error(native, ids, np.full(n, native.type_vocab_size, dtype=np.int32)) == (
        lib.IBERT_ERR_INVALID_ARGUMENT,
        f"ibert_forward: token_type_ids[0] is {native.type_vocab_size}, expected 0 ... {native.type_vocab_size - 1}")

    mask = np.ones(n, dtype=np.int32)
    mask[n - 1] = 2
    assert _error(native, ids, None, mask) == (
        lib.IBERT_ERR_INVALID_ARGUMENT, f"ibert_forward: attention_mask[{n - 1}] is 2, expected 0 or 1")

    for bad_n in (0, native.max_tokens + 1):
        long_ids = np.zeros(bad_n + 1, dtype=np.int32)
        status, message = _error(native, long_ids, n=bad_n)
        assert status == lib.IBERT_ERR_INVALID_ARGUMENT
        assert message == (f"ibert_forward: n_tokens is {bad_n}, expected 1 ... {native.max_tokens} "
                           "(the model's maximum)")

    out = np.zeros(max(int(lib.ibert_model_output_size(native.model, n)), 1), dtype=np.int32)
    out_ptr = ffi.cast("int32_t *", ffi.from_buffer(out))
    ids_ptr = ffi.cast("int32_t *", ffi.from_buffer(ids))
    assert lib.ibert_forward(ffi.NULL, ids_ptr, ffi.NULL, ffi.NULL, n, out_ptr) == lib.IBERT_ERR_INVALID_ARGUMENT
    assert lib.ibert_forward(native.context, ffi.NULL, ffi.NULL, ffi.NULL, n, out_ptr) == \
        lib.IBERT_ERR_INVALID_ARGUMENT
    assert lib.ibert_forward(native.context, ids_ptr, ffi.NULL, ffi.NULL, n, ffi.NULL) == \
        lib.IBERT_ERR_INVALID_ARGUMENT
    # a rejected call leaves the context usable
    native.forward(ids)


def test_unknown_kernel_set_is_named_at_model_load(model_pair, monkeypatch):
    native, _ = model_pair
    monkeypatch.setenv("IBERT_KERNELS", "no-such-kernels")
    handle = ffi.new("ibert_model **")
    assert lib.ibert_model_load_file(os.fsencode(native.path), handle) == lib.IBERT_ERR_INVALID_ARGUMENT
    assert ffi.string(lib.ibert_last_error()).decode().startswith(
        "IBERT_KERNELS=no-such-kernels is not a kernel set of this build (valid: ref")
    assert handle[0] == ffi.NULL
    monkeypatch.setenv("IBERT_KERNELS", "ref")
    _check(lib.ibert_model_load_file(os.fsencode(native.path), handle))
    assert ffi.string(lib.ibert_model_kernels(handle[0])) == b"ref"
    assert lib.ibert_model_packed_bytes(handle[0]) == 0  # ref reads the file's weights
    context = ffi.new("ibert_context **")
    _check(lib.ibert_context_new(handle[0], context))
    lib.ibert_context_free(context[0])
    lib.ibert_model_free(handle[0])
