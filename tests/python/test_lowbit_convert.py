"""Q-BERT in `pyibert convert` and the validation of low-bit files (format version 3), on tiny random
checkpoints and random models: shapes and flags only, never accuracy (that is bench/qbert_runtime.py on
real classifiers)."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from gguf import GGUFReader

os.environ.setdefault("HF_HUB_OFFLINE", "1")
from tiny_checkpoint import make_checkpoint, sst2_sentences  # noqa: E402

from pyibert._native import ffi, lib  # noqa: E402
from pyibert.cli import main as cli_main  # noqa: E402
from pyibert.convert import ConversionError, convert_checkpoint  # noqa: E402
from pyibert.convert.budget import BudgetOptions  # noqa: E402
from pyibert.convert.lowbit import LowBitPlan  # noqa: E402
from pyibert.convert.quantize import ScaleOptions  # noqa: E402
from pyibert.golden import GoldenModel  # noqa: E402
from pyibert.golden.model_file import ModelFileError, read_model_file  # noqa: E402

from test_runtime_vs_golden import Native, random_model  # noqa: E402

# the int8 file sizes are measured against: the checkpoint's FFN, as every low-bit and --max-size file
# keeps it (a default int8 file of a float checkpoint splits its wide GELU channels: convert/gelu_split.py),
# and no GELU zero points, which a low-bit FFN down and a --max-size file do without (gelu_zero_point.py)
UNSPLIT = ScaleOptions(gelu_split_channels=0, gelu_zero_point=False)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("lowbit")
    sentences = sst2_sentences(300)
    calibration = root / "calibration.tsv"
    calibration.write_text("sentence\tlabel\n" + "".join(f"{s}\t{i % 3}\n" for i, s in enumerate(sentences[:48])))
    return make_checkpoint(root / "bert", "BertForSequenceClassification", sentences), calibration


def _same_on_runtime_and_golden(path: Path) -> None:
    native, golden = Native(path), GoldenModel(path)
    try:
        rng = np.random.default_rng(3)
        for n in (1, 9, native.max_tokens):
            ids = rng.integers(0, native.vocab_size, n, dtype=np.int32)
            reference, _ = golden.forward(ids)
            np.testing.assert_array_equal(native.forward(ids), np.asarray(reference).reshape(-1))
    finally:
        native.close()


@pytest.mark.parametrize("bits,group,embedding,rounding", [(4, 32, 4, "nearest"), (3, 0, 2, "gptq"),
                                                           (6, 32, 8, "gptq")])
def test_uniform_widths_write_packed_layers(tmp_path, checkpoint, bits, group, embedding, rounding):
    src, calibration = checkpoint
    out = tmp_path / "m.ibert"
    summary = convert_checkpoint(src, out, calibration=calibration, progress=False,
                                 plan=LowBitPlan(bits, embedding, group, rounding))
    model = read_model_file(out)
    assert len(model.lowbit) == 12 and {w.bits for w in model.lowbit.values()} == {bits}
    # hidden 32: one group of the row (group size 0); the FFN's 64 inputs take groups of 32
    assert {name.rsplit(".", 1)[1]: w.group_size for name, w in model.lowbit.items()}["ffn_down"] == group
    assert model.lowbit["blk.0.attn_q"].group_size == 0
    assert (model.embedding is None) == (embedding == 8)
    assert summary.weight_widths == {bits: 12} and summary.embedding_bits == embedding
    _same_on_runtime_and_golden(out)


@pytest.mark.parametrize("bits,group,embedding", [(4, 0, 8), (3, 32, 4), (2, 0, 2)])
def test_size_accounting_matches_the_files_written(tmp_path, checkpoint, bits, group, embedding):
    """--max-size trusts qbert/sizes.py: a low-bit file is as much smaller than the int8 one as it says,
    up to the alignment padding the allocator keeps in reserve (ALIGNMENT_SLACK per tensor)."""
    from pyibert.convert.budget import ALIGNMENT_SLACK
    from pyibert.qbert.sizes import embedding_bytes, linear_bytes

    src, calibration = checkpoint
    int8 = convert_checkpoint(src, tmp_path / "int8.ibert", calibration=calibration, progress=False, scales=UNSPLIT)
    low = convert_checkpoint(src, tmp_path / "low.ibert", calibration=calibration, progress=False,
                             plan=LowBitPlan(bits, embedding, group))
    model = read_model_file(tmp_path / "low.ibert")
    shapes = [layer.codes.shape for layer in model.lowbit.values()]
    predicted = sum(linear_bytes(n, k, bits, group if group < k else 0) - n * k for n, k in shapes)
    vocab, hidden = model.meta["vocab_size"], model.meta["hidden_size"]
    predicted += embedding_bytes(vocab, hidden, embedding) - embedding_bytes(vocab, hidden, 8)
    tensors = 3 * (len(shapes) + 1)
    assert predicted - ALIGNMENT_SLACK * tensors <= low.file_size - int8.file_size <= predicted


def test_gptq_rounds_otherwise_than_nearest(tmp_path, checkpoint):
    src, calibration = checkpoint
    codes = {}
    for rounding in ("nearest", "gptq"):
        out = tmp_path / f"{rounding}.ibert"
        convert_checkpoint(src, out, calibration=calibration, progress=False, plan=LowBitPlan(3, 8, 32, rounding))
        codes[rounding] = read_model_file(out).lowbit["blk.1.ffn_down"].codes
    assert np.mean(codes["nearest"] != codes["gptq"]) > 0.01


def _int8_with_budget_tables(src, calibration, tmp_path):
    """The int8 file a --max-size conversion starts from: its position and token-type tables int8."""
    return convert_checkpoint(src, tmp_path / "int8.ibert", calibration=calibration, progress=False,
                              plan=LowBitPlan(added_table_bits=8), scales=UNSPLIT)


def test_budgeted_files_take_int8_position_tables(tmp_path, checkpoint):
    """A file under --max-size spends the int16 tables' bytes on its linear layers (LowBitPlan.
    added_table_bits); every other file keeps them int16 (FORMAT.md §3, version 4)."""
    src, calibration = checkpoint
    plain = convert_checkpoint(src, tmp_path / "plain.ibert", calibration=calibration, progress=False)
    convert_checkpoint(src, tmp_path / "budget.ibert", calibration=calibration, progress=False,
                       plan=LowBitPlan(group_size=32), budget=BudgetOptions(plain.file_size, "trace", 8, None, 2))
    for name, dtype in (("plain", np.int16), ("budget", np.int8)):
        tensors = read_model_file(tmp_path / f"{name}.ibert").tensors
        assert tensors["pos_embd.weight"].dtype == dtype and tensors["token_types.weight"].dtype == dtype
    _same_on_runtime_and_golden(tmp_path / "budget.ibert")


def test_max_size_fits_the_budget_with_mixed_widths(tmp_path, checkpoint):
    src, calibration = checkpoint
    int8 = _int8_with_budget_tables(src, calibration, tmp_path)
    # only the FFN's down projections (64 inputs) are smaller at 2-3 bits than int8 in this tiny model
    # (rows are padded to 128 codes), saving at most ~400 B net of the alignment slack
    budget = int8.file_size - 200
    summary = convert_checkpoint(src, tmp_path / "b.ibert", calibration=calibration, progress=False,
                                 plan=LowBitPlan(group_size=32),
                                 budget=BudgetOptions(budget, "trace", 16, "label", 4))
    assert summary.file_size <= budget
    assert len(summary.layers) == 13 and summary.layers[-1]["name"] == "token_embd"
    assert any(row["bits"] < 8 for row in summary.layers)
    _same_on_runtime_and_golden(tmp_path / "b.ibert")
    with pytest.raises(ConversionError, match="smallest file this model can make"):
        convert_checkpoint(src, tmp_path / "c.ibert", calibration=calibration, progress=False,
                           budget=BudgetOptions(20000, "trace", 8, None, 2))


def test_given_sensitivities_decide_which_layer_keeps_its_bits(tmp_path, checkpoint):
    """A sweep measures the Hessian once and passes it on (bench/qbert_sweep.py): the allocation then
    follows the given scores, so the one FFN down projection that matters keeps the most bits."""
    src, calibration = checkpoint
    int8 = _int8_with_budget_tables(src, calibration, tmp_path)
    layers = [f"blk.{layer}.{kind}" for layer in (0, 1)
              for kind in ("attn_q", "attn_k", "attn_v", "attn_out", "ffn_up", "ffn_down")]
    bits = {}
    # the allocator reserves 32 B of alignment per tensor, so this budget still takes ~1.3 kB off int8:
    # one FFN down projection at 2 bits and the other at 3 (both at 2 would leave 500 B unused)
    for important in ("blk.0.ffn_down", "blk.1.ffn_down"):
        scores = {name: (1e6 if name == important else 1e-9) for name in layers} | {"token_embd": 1e6}
        summary = convert_checkpoint(src, tmp_path / f"{important}.ibert", calibration=calibration, progress=False,
                                     plan=LowBitPlan(group_size=32),
                                     budget=BudgetOptions(int8.file_size + 300, sensitivities=scores))
        chosen = {row["name"]: row["bits"] for row in summary.layers}
        assert {row["name"]: row["sensitivity"] for row in summary.layers} == scores
        bits[important] = (chosen["blk.0.ffn_down"], chosen["blk.1.ffn_down"])
    assert bits["blk.0.ffn_down"][0] > bits["blk.0.ffn_down"][1]
    assert bits["blk.1.ffn_down"][1] > bits["blk.1.ffn_down"][0]


def test_gauss_newton_forms_are_the_costs(tmp_path, checkpoint):
    """Given forms (one per width), the allocator takes them as the costs: the layer whose narrow
    widths cost most keeps the most bits."""
    src, calibration = checkpoint
    int8 = _int8_with_budget_tables(src, calibration, tmp_path)
    layers = [f"blk.{layer}.{kind}" for layer in (0, 1)
              for kind in ("attn_q", "attn_k", "attn_v", "attn_out", "ffn_up", "ffn_down")]
    cheap = {8: 0.0, 6: 0.0, 4: 0.0, 3: 0.0, 2: 0.0}
    dear = {8: 0.0, 6: 1.0, 4: 10.0, 3: 100.0, 2: 1000.0}
    forms = {name: (dear if name == "blk.1.ffn_up" else cheap) for name in layers}
    forms["token_embd"] = {8: 0.0, 4: 1e6, 3: 1e7, 2: 1e8}
    summary = convert_checkpoint(src, tmp_path / "forms.ibert", calibration=calibration, progress=False,
                                 plan=LowBitPlan(group_size=32),
                                 budget=BudgetOptions(int8.file_size + 300, "gauss-newton", sensitivities=forms))
    chosen = {row["name"]: row["bits"] for row in summary.layers}
    assert chosen["blk.1.ffn_up"] == 8 and chosen["token_embd"] == 8
    assert {bits for name, bits in chosen.items() if name not in ("blk.1.ffn_up", "token_embd")} <= {2, 3, 4, 6, 8}
    assert min(chosen.values()) < 8
    assert all(row["forms"] == forms[row["name"]] for row in summary.layers)


@pytest.mark.parametrize("method", ["eigen", "trace", "gauss-newton"])
def test_cli_flags_and_json_report(tmp_path, checkpoint, capsys, method):
    src, calibration = checkpoint
    out = tmp_path / "cli.ibert"
    assert cli_main(["convert", str(src), "-o", str(out), "--calibration", str(calibration), "--quiet",
                     "--max-size", "1MB", "--sensitivity", method, "--hessian-samples", "8",
                     "--label-column", "label", "--group-size", "32", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["file_size"] == out.stat().st_size <= 10**6
    assert {row["name"] for row in report["layers"]} >= {"blk.0.attn_q", "token_embd"}
    forms = [row["forms"] for row in report["layers"]]
    if method == "gauss-newton":   # a form per width, never negative, growing as the width narrows
        for row in forms:
            values = [row[str(bits)] for bits in sorted(map(int, row), reverse=True)]
            assert min(values) >= 0 and values[-1] > values[0]
    else:
        assert forms == [None] * len(forms)
    with pytest.raises(SystemExit):
        cli_main(["convert", str(src), "-o", str(out), "--max-size", "12 parsecs"])
    assert "is not a number followed by one of" in capsys.readouterr().err


def _load_error(path: Path) -> str:
    handle = ffi.new("ibert_model **")
    status = lib.ibert_model_load_file(os.fsencode(path), handle)
    if status == lib.IBERT_OK:
        lib.ibert_model_free(handle[0])
        return ""
    return ffi.string(lib.ibert_last_error()).decode()


def _patched(src: Path, dst: Path, tensor: str, change) -> Path:
    """A copy of src with `change(array)` applied in place to the bytes of `tensor`."""
    shutil.copy(src, dst)
    reader = GGUFReader(str(dst), "r+")
    change(next(t for t in reader.tensors if t.name == tensor).data)
    reader.data.flush()
    del reader
    return dst


def test_bad_low_bit_fields_are_refused_by_name(tmp_path):
    good = random_model.write_random_model(tmp_path / "good.ibert", weight_bits=4, group_size=32,
                                           hidden_size=48, intermediate_size=128, num_heads=3, embedding_bits=4)
    assert _load_error(good) == ""
    cases = {
        "zero sub-scale": ("blk.0.ffn_down.qsub", lambda a: a.__setitem__((0, 1), 0),
                           "tensor 'blk.0.ffn_down.qsub': element [0, 1] is 0, expected 1 ... 63"),
        "group size 0 with a sub-scale": ("blk.0.attn_q.qsub", lambda a: a.__setitem__((2, 0), 5),
                                          "tensor 'blk.0.attn_q.qsub': element [2, 0] is 5, expected 1 (group size 0)"),
        # 48 codes padded to 128: byte 40 of a 4-bit row (run 2, lane 8) holds codes 72 and 88, padding
        # (u = 8); byte 0x87 (int8 -121) makes code 72 u = 7, q = -1
        "padding": ("blk.1.attn_v.qweight", lambda a: a.__setitem__((3, 40), 0x87 - 256),
                    "tensor 'blk.1.attn_v.qweight': row 3 pads its 48 codes with code -1 at column 72, expected 0"),
    }
    for name, (tensor, change, message) in cases.items():
        bad = _patched(good, tmp_path / f"{name}.ibert", tensor, change)
        assert _load_error(bad).endswith(": " + message), name
        with pytest.raises(ModelFileError):
            read_model_file(bad)


def test_accumulator_bound_and_version_2_are_refused(tmp_path):
    # 4224 inputs at 6 bits with every sub-scale 63 and biases ±2^30: K · 32 · 128 · 63 + 2^30 ≥ 2^31
    wide = random_model.write_random_model(tmp_path / "wide.ibert", weight_bits=6, group_size=32, extreme=True,
                                           intermediate_size=4224, num_layers=1)
    assert "can overflow its accumulator" in _load_error(wide)
    with pytest.raises(ModelFileError, match="can overflow its accumulator"):
        read_model_file(wide)
    low = random_model.write_random_model(tmp_path / "v3.ibert", weight_bits=4, num_layers=1)
    v2 = _patched(low, tmp_path / "v2.ibert", "blk.0.attn_q.bias", lambda a: None)
    reader = GGUFReader(str(v2), "r+")
    reader.fields["ibert.format_version"].parts[-1][0] = 2
    reader.data.flush()
    del reader
    # a version-2 file has no ibert.task: rename the key to an ignored general.* key of the same length
    data = v2.read_bytes()
    assert data.count(b"ibert.task") == 1
    v2.write_bytes(data.replace(b"ibert.task", b"general.tk"))
    assert _load_error(v2).endswith("tensor 'blk.0.attn_q.qweight' is new in format version 3, but the file says "
                                    "version 2")
    with pytest.raises(ModelFileError, match="new in format version 3"):
        read_model_file(v2)
