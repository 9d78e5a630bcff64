"""The fill-mask head (FORMAT.md §4.11): libibert's logits equal the golden model's on every kernel set,
on random and extreme files (tests/fixtures/random_model.py, shape coverage only); the output contract
(only the mask token's positions, in order); the loader's checks of the head's keys and tensors; and
Model.fill_mask's results in the idiom of transformers' fill-mask pipeline."""
from __future__ import annotations

import itertools
import platform

import numpy as np
import pytest

import pyibert
from pyibert._native import ffi, lib
from pyibert.golden import GoldenModel

KERNEL_SETS = ["ref"] + {"x86_64": ["avx2", "avx512vnni"], "aarch64": ["neon", "dotprod", "i8mm"]}.get(
    platform.machine(), [])
FILES = {
    "bert-tied": dict(seed=11),
    "bert-own-decoder": dict(seed=12, tied_decoder=False),
    "gpt2-extreme-tied": dict(seed=13, tokenizer="gpt2", extreme=True),
    "bert-extreme-own-decoder": dict(seed=14, extreme=True, tied_decoder=False),
    # the cubic GELU (format version 7) in the encoder and the head's transform
    "bert-erf3": dict(seed=15, gelu_form="erf3"),
    "gpt2-erf3-extreme": dict(seed=16, tokenizer="gpt2", extreme=True, gelu_form="erf3"),
}


def _write(random_model, path, **options):
    return random_model.write_random_model(path, num_labels=0, task="fill-mask", max_positions=70, **options)


def _load(path, kernels, monkeypatch) -> pyibert.Model:
    monkeypatch.setenv("IBERT_KERNELS", kernels)
    try:
        return pyibert.Model(path, threads=2)
    except ValueError as error:
        if "is not a kernel set of this build" in str(error) or "needs CPU features" in str(error):
            pytest.skip(str(error))
        raise


def _forward(model: pyibert.Model, ids, mask=None) -> np.ndarray:
    """forward's output for one sequence, in a buffer one row longer than the contract says, whose
    last row must stay untouched."""
    ids = np.ascontiguousarray(ids, dtype=np.int32)
    mask_ptr = ffi.NULL if mask is None else ffi.from_buffer("int32_t[]", np.ascontiguousarray(mask, np.int32))
    k = lib.ibert_fill_mask_count(model._model, ffi.from_buffer("int32_t[]", ids), mask_ptr, len(ids))
    out = np.full((k + 1, model.vocab_size), 0x5A5A5A5A, dtype=np.int32)
    context = model._take_context()
    status = lib.ibert_forward(context, ffi.from_buffer("int32_t[]", ids), ffi.NULL, mask_ptr, len(ids),
                               ffi.from_buffer("int32_t[]", out))
    model._contexts.put(context)
    assert status == lib.IBERT_OK, ffi.string(lib.ibert_last_error()).decode()
    assert (out[k] == 0x5A5A5A5A).all(), "forward wrote past the masked positions' rows"
    return out[:k]


@pytest.mark.parametrize("name,kernels", list(itertools.product(FILES, KERNEL_SETS)), ids="-".join)
def test_every_logit_equals_the_golden_model(random_model, tmp_path, monkeypatch, name, kernels):
    path = _write(random_model, tmp_path / "fill-mask.ibert", **FILES[name])
    model, golden = _load(path, kernels, monkeypatch), GoldenModel(path)
    assert model.task == golden.task == "fill-mask"
    mask_id = model.mask_token_id
    rng = np.random.default_rng(len(name))
    for n in (1, 2, 3, 17, 63, model.max_tokens):
        ids = rng.integers(0, model.vocab_size, n)
        ids[rng.random(n) < 0.3] = mask_id
        ids[rng.integers(n)] = mask_id
        attention = (rng.random(n) < 0.8).astype(np.int64)
        attention[0] = 1
        if n > 4:
            attention[-2:] = 0   # padding at the end, with a mask token in it
            ids[-1] = mask_id
        for mask in (None, attention):
            expected, scale = golden.forward(ids, attention_mask=mask)
            got = _forward(model, ids, mask)
            assert scale == model.output_scale
            np.testing.assert_array_equal(got, expected, err_msg=f"n={n} mask={mask is not None}")
    model.close()


def test_the_output_contract(random_model, tmp_path):
    path = _write(random_model, tmp_path / "fill-mask.ibert", seed=21)
    model, golden = pyibert.Model(path, threads=1), GoldenModel(path)
    m = model.mask_token_id
    ids = np.array([2, 40, m, 41, m, 3])
    assert model.mask_token == "[MASK]" and lib.ibert_model_task(model._model) == lib.IBERT_TASK_FILL_MASK
    assert lib.ibert_model_output_size(model._model, 6) == 6 * model.vocab_size   # the most it writes
    both = _forward(model, ids)
    assert both.shape == (2, model.vocab_size)
    # row r is the r-th mask token's: with the first one masked out, its row goes and the second moves up
    np.testing.assert_array_equal(_forward(model, ids, [1, 1, 0, 1, 1, 1])[0],
                                  golden.forward(ids, None, [1, 1, 0, 1, 1, 1])[0][0])
    # a masked-out mask token is not predicted; no mask token: nothing written, nothing computed
    assert _forward(model, ids, [1, 1, 0, 1, 1, 1]).shape == (1, model.vocab_size)
    assert _forward(model, ids[:2]).shape == (0, model.vocab_size)
    assert lib.ibert_fill_mask_count(ffi.NULL, ffi.NULL, ffi.NULL, 0) == 0
    model.close()


def test_fill_mask_results_have_the_pipeline_shape(random_model, tmp_path):
    path = _write(random_model, tmp_path / "fill-mask.ibert", seed=22)
    with pyibert.Model(path, threads=1) as model:
        one = model.fill_mask("the cat [MASK] here", top_k=3)
        assert [sorted(p) for p in one] == [["score", "sequence", "token", "token_str"]] * 3
        scores = [p["score"] for p in one]
        assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1
        assert all(p["sequence"] == f"the cat {p['token_str']} here" for p in one
                   if not p["token_str"].startswith("##") and p["token_str"].isalpha())
        two = model.fill_mask(["[MASK] cat [MASK]", "a [MASK]"], top_k=2)
        assert len(two) == 2 and len(two[0]) == 2 and len(two[0][0]) == 2 and len(two[1]) == 2
        with pytest.raises(ValueError, match="has no mask token"):
            model.fill_mask("no mask here")
        with pytest.raises(ValueError, match="top_k"):
            model.fill_mask("a [MASK]", top_k=0)
        with pytest.raises(pyibert.TaskError, match="fill-mask model: forward"):
            model.forward([model.mask_token_id])


def test_a_classifier_cannot_fill_masks(shipped_model_path):
    with pyibert.Model(shipped_model_path, threads=1) as model:
        assert model.task == "sequence-classification" and model.mask_token_id is None
        with pytest.raises(pyibert.TaskError, match=r"is a sequence-classification model \(.*\); fill_mask\(\) needs a fill-mask model"):
            model.fill_mask("a [MASK] film")


class _Edited:
    """random_model's GGUFWriter with keys and tensors left out, added or replaced."""

    def __init__(self, random_model, monkeypatch, drop=(), keys=None, tensors=None):
        base = random_model.GGUFWriter

        class Writer(base):
            def add_tensor(self, name, array, *args, **kwargs):
                if name in drop:
                    return
                super().add_tensor(name, (tensors or {}).get(name, array), *args, **kwargs)

            def _set(self, key, value, add):
                if key in drop:
                    return
                if key in (keys or {}):
                    value, add = keys[key]
                add(self, key, value)

            def add_uint32(self, key, value):
                self._set(key, value, base.add_uint32)

            def add_string(self, key, value):
                self._set(key, value, base.add_string)

        monkeypatch.setattr(random_model, "GGUFWriter", Writer)


def _uint32(writer, key, value):
    type(writer).__mro__[1].add_uint32(writer, key, value)


def _string(writer, key, value):
    type(writer).__mro__[1].add_string(writer, key, value)


BAD_FILES = {
    "decoder bias missing": (dict(drop={"mlm_decoder.bias"}), "tensor 'mlm_decoder.bias' is missing"),
    "transform missing": (dict(drop={"mlm_dense.weight"}), "tensor 'mlm_dense.weight' is missing"),
    "gelu rescale per channel": (dict(tensors={"mlm_gelu.rq_mult": np.ones(32, np.int32),
                                               "mlm_gelu.rq_shift": np.ones(32, np.int32)}),
                                 "tensor 'mlm_gelu.rq_mult' has shape [32], expected [1]"),
    "decoder rows not the vocabulary": (dict(tensors={"mlm_decoder.rq_mult": np.ones(5, np.int32)}),
                                        "tensor 'mlm_decoder.rq_mult' has shape [5], expected"),
    "no mask token": (dict(drop={"tokenizer.ggml.mask_token_id"}), "tokenizer.ggml.mask_token_id"),
    "mask token outside the vocabulary": (dict(keys={"tokenizer.ggml.mask_token_id": (10**6, _uint32)}),
                                          "tokenizer.ggml.mask_token_id = 1000000 is outside 0 ..."),
    "unknown task": (dict(keys={"ibert.task": ("fill-in", _string)}), "ibert.task is 'fill-in', not a task"),
    "task key in a version 2 file": (dict(keys={"ibert.format_version": (2, _uint32)}),
                                     "'ibert.task' is new in format version 3, but the file is version 2"),
    "labels on a fill-mask file": (dict(keys={"ibert.num_labels": (2, _uint32)}),
                                   "ibert.num_labels is 2 but task 'fill-mask' has 0 ... 0"),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_fill_mask_files_are_refused_with_the_reason(random_model, tmp_path, monkeypatch, name):
    edits, message = BAD_FILES[name]
    _Edited(random_model, monkeypatch, **edits)
    path = _write(random_model, tmp_path / "bad.ibert", seed=23)
    with pytest.raises(pyibert.ModelFileError, match=message.replace("[", r"\[").replace(".", r"\.")):
        pyibert.Model(path, threads=1)


def test_fill_mask_command(random_model, tmp_path, capsys):
    import json

    from pyibert.cli import main

    path = _write(random_model, tmp_path / "fill-mask.ibert", seed=24)
    assert main(["fill-mask", str(path), "a [MASK] b [MASK]", "--top-k", "2", "--json", "--threads", "1"]) == 0
    result = json.loads(capsys.readouterr().out)["results"][0]
    assert result["text"] == "a [MASK] b [MASK]" and [len(m) for m in result["masks"]] == [2, 2]
    assert "[MASK]" not in result["masks"][0][0]["sequence"]   # the other mask is skipped, as HF does
    assert main(["fill-mask", str(path), "the [MASK]", "--top-k", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "the [MASK]" and len(lines) == 4 and all(line.startswith("  mask 1\t") for line in lines[1:])
    assert main(["fill-mask", str(random_model.write_random_model(tmp_path / "c.ibert")), "a [MASK]"]) == 2
    assert "fill_mask() needs a fill-mask model" in capsys.readouterr().err


@pytest.mark.parametrize("architecture,own_decoder", [("BertForMaskedLM", True), ("BertForMaskedLM", False),
                                                      ("RobertaForMaskedLM", True), ("IBertForMaskedLM", True),
                                                      ("IBertForMaskedLM", False)])
def test_every_masked_lm_class_converts_and_runs_as_its_golden_model(tmp_path, architecture, own_decoder):
    pytest.importorskip("torch")
    from gguf import GGUFReader
    from tiny_checkpoint import make_checkpoint, sst2_sentences

    from pyibert.convert.pipeline import convert_checkpoint
    from pyibert.convert.quantize import ScaleOptions

    sentences = sst2_sentences(80)
    src = make_checkpoint(tmp_path / "hf", architecture, sentences)
    calibration = tmp_path / "sample.txt"
    calibration.write_text("\n".join(sentences[:48]) + "\n", encoding="utf-8")
    summary = convert_checkpoint(src, tmp_path / "m.ibert", calibration=calibration, progress=False,
                                 scales=ScaleOptions(mlm_own_decoder=own_decoder))
    reader = GGUFReader(str(summary.output))
    names = {t.name for t in reader.tensors}
    assert {"mlm_dense.weight", "mlm_norm.rq_bias", "mlm_decoder.bias"} <= names
    # shared: the tied decoder reads the embedding table, stored once, with one scale per row (as every
    # float checkpoint's table has; an I-BERT table keeps HF's one scale)
    assert ("mlm_decoder.weight" in names) == own_decoder
    tensors = {t.name: t.data for t in reader.tensors}
    per_row = not architecture.startswith("IBert")
    assert tensors["token_embd.rq_mult"].size == (tensors["token_embd.weight"].shape[0] if per_row else 1)
    assert "fill-mask head" in summary.format()
    model, golden = pyibert.Model(summary.output, threads=1), GoldenModel(summary.output)
    for text in ("a fine [MASK] .", "the <mask> film", "it is [MASK] and [MASK]"):
        ids = np.array(model.tokenize(text.replace("<mask>", model.mask_token).replace("[MASK]", model.mask_token))[0])
        np.testing.assert_array_equal(_forward(model, ids), golden.forward(ids)[0])
    model.close()


def test_an_ibert_masked_lm_needs_sample_text_for_its_float_head(tmp_path):
    pytest.importorskip("torch")
    from tiny_checkpoint import make_checkpoint, sst2_sentences

    from pyibert.convert.errors import ConversionError
    from pyibert.convert.pipeline import convert_checkpoint

    src = make_checkpoint(tmp_path / "hf", "IBertForMaskedLM", sst2_sentences(80))
    with pytest.raises(ConversionError, match="its prediction head runs in float and has none. Pass --calibration"):
        convert_checkpoint(src, tmp_path / "m.ibert", calibration=None, progress=False)
