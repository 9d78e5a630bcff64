"""Low-bit weights (format version 3, models/FORMAT.md §3.1, §4.2.1): libibert and the golden model
give identical integers for every width × group size, on every kernel set of this build, on normal
and extreme random models (extreme: every code at its ends, every sub-scale 63, biases ±2^30, so the
accumulator bound is reached and nothing may overflow); the golden model reads the packed codes
exactly as packing.py wrote them."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from pyibert.golden import GoldenModel
from pyibert.golden.model_file import read_model_file
from pyibert.qbert.packing import unpack_codes

from test_runtime_vs_golden import KERNEL_SETS, _inputs, _native_with_kernels, random_model

WIDTHS = (2, 3, 4, 6)
# hidden 128 / intermediate 256 let groups of 32, 64 and 128 exist; hidden 48 pads every row
# to 128 codes and takes group size 0 (its layers' K are not multiples of 32 … 128 beyond 48/96).
SHAPES = {"h128": dict(hidden_size=128, intermediate_size=256, num_heads=4),
          "h48": dict(hidden_size=48, intermediate_size=96, num_heads=3)}
CASES = [(bits, group, "h128") for bits, group in itertools.product(WIDTHS, (0, 32, 64, 128))]
CASES += [(bits, 0, "h48") for bits in WIDTHS] + [((2, 3, 4, 6, 8, 4), 32, "h128")]


def _write(path, bits, group, shape, extreme, num_labels, embedding_bits):
    return random_model.write_random_model(
        path, num_labels=num_labels, extreme=extreme, max_positions=40, seed=7 + group + len(str(bits)),
        weight_bits=bits, group_size=group, embedding_bits=embedding_bits, **SHAPES[shape])


@pytest.mark.parametrize("kernels", KERNEL_SETS)
@pytest.mark.parametrize("bits,group,shape", CASES, ids=lambda v: "-".join(map(str, v)) if isinstance(v, tuple)
                         else str(v))
@pytest.mark.parametrize("extreme", [False, True], ids=["normal", "extreme"])
def test_low_bit_model_equals_golden(tmp_path, kernels, bits, group, shape, extreme):
    embedding_bits = (2, 3, 4, 8)[(group // 32 + (bits if isinstance(bits, int) else 5)) % 4]
    num_labels = 0 if extreme and shape == "h48" else 3
    path = _write(tmp_path / "lowbit.ibert", bits, group, shape, extreme, num_labels, embedding_bits)
    native = _native_with_kernels(path, kernels)
    golden = GoldenModel(path)
    rng = np.random.default_rng(11)
    try:
        for n, mask_kind in ((1, "none"), (5, "random"), (17, "padded"), (native.max_tokens, "none")):
            ids, types, mask = _inputs(rng, n, native.vocab_size, native.type_vocab_size, mask_kind)
            ours = native.forward(ids, types, mask)
            reference, _ = golden.forward(ids, token_type_ids=types, attention_mask=mask)
            differ = np.flatnonzero(ours != np.asarray(reference).reshape(-1))
            assert differ.size == 0, f"n={n}: {differ.size} of {ours.size} integers differ"
    finally:
        native.close()


def test_golden_reads_the_codes_packing_wrote(tmp_path):
    path = _write(tmp_path / "m.ibert", 3, 32, "h128", False, 3, 4)
    model = read_model_file(path)
    layer = model.lowbit["blk.1.ffn_down"]
    assert (layer.bits, layer.group_size, layer.sub.shape) == (3, 32, (128, 8))
    packed = model.tensors["blk.1.ffn_down.qweight"].view(np.uint8)
    np.testing.assert_array_equal(unpack_codes(packed, 3, 256), layer.codes)
    assert model.embedding.bits == 4 and model.tensors["token_embd.rq_mult"].shape == (model.meta["vocab_size"],)
