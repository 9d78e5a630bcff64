"""pyibert convert on tiny random checkpoints made here with transformers: every supported architecture,
both weight file formats, both calibration file formats, the errors, the arithmetic helpers, and the
integers against HF's float model through the numpy golden model.

Random tiny models only show that shapes, scales and signs are right; how accurate the integers are on
a real model is measured on the MiniLM example (models/make_example_model.py)."""
from __future__ import annotations

import json
import math
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import gguf  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from tiny_checkpoint import FFN, HEADS, HIDDEN, LABELS, LAYERS, POSITIONS, make_checkpoint  # noqa: E402
from tiny_checkpoint import sst2_sentences as _sst2_sentences  # noqa: E402

from pyibert.convert import CalibrationWarning, ConversionError, ConversionSummary, convert_checkpoint  # noqa: E402
from pyibert.convert.data import FEW_CALIBRATION_TOKENS  # noqa: E402
from pyibert.convert.gelu_split import GELU_SPLIT_CHANNELS  # noqa: E402
from pyibert.convert.dyadic import dyadic, layer_norm_rescale  # noqa: E402
from pyibert.convert.nonlinear import exp_constants, gelu_constants  # noqa: E402

@pytest.fixture(scope="module")
def sentences() -> list[str]:
    return _sst2_sentences(1500)


@pytest.fixture(scope="module")
def calibration_txt(tmp_path_factory, sentences) -> Path:
    path = tmp_path_factory.mktemp("calibration") / "sample.txt"
    path.write_text("\n".join(sentences[:48]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def bert_classifier(tmp_path_factory, sentences) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("bert"), "BertForSequenceClassification", sentences)


def read_model(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    reader = gguf.GGUFReader(path)
    metadata = {key: field.contents() for key, field in reader.fields.items() if not key.startswith("GGUF.")}
    tensors = {t.name: np.array(t.data) for t in reader.tensors}
    return metadata, tensors


def expected_tensors(num_labels: int, vocab: int, positions: int, types: int, per_channel: bool,
                     pooler: bool = True, ffn: int = FFN) -> dict[str, tuple[type, tuple]]:
    """FORMAT.md §3: name → (dtype, numpy shape). per_channel: the converter's per-channel layer-norm and
    GELU output scales (float checkpoints), which make attn_res, ffn_res [H] and ffn_gelu [F], the GELU
    outputs with zero points ffn_gelu.zero_point [F] (format version 6). pooler:
    a head on the first token (cls_dense), not on every token (§4.10). ffn: F as written (a float sequence
    classifier's widest GELU channels are split into more, convert/gelu_split.py)."""
    H, F = HIDDEN, ffn
    expected = {}

    def rescale(name, n, norm=False):
        expected[f"{name}.rq_mult"] = (np.int32, (n,))
        expected[f"{name}.rq_shift"] = (np.int32, (n,))
        if norm:
            expected[f"{name}.rq_bias"] = (np.int64, (n,))

    def linear(name, n, k):
        expected[f"{name}.weight"] = (np.int8, (n, k))
        expected[f"{name}.bias"] = (np.int32, (n,))
        rescale(name, n)

    # a float checkpoint's word embeddings have a scale per row, its position and type tables are int16
    # (format version 4); an I-BERT checkpoint's three tables are HF's int8 with one scale each
    for name, rows in (("token_embd", vocab), ("pos_embd", positions), ("token_types", types)):
        expected[f"{name}.weight"] = (np.int16 if per_channel and name != "token_embd" else np.int8, (rows, H))
        rescale(name, rows if per_channel and name == "token_embd" else 1)
    rescale("embd_norm", H, norm=True)
    for l in range(LAYERS):
        for part in ("attn_q", "attn_k", "attn_v", "attn_out"):
            linear(f"blk.{l}.{part}", H, H)
        for part in ("attn_scores", "attn_ctx"):
            rescale(f"blk.{l}.{part}", 1)
        if not per_channel:   # an I-BERT checkpoint: HF's 16-bit softmax exps (format version 5)
            rescale(f"blk.{l}.attn_exp16", 1)
        for part, channels in (("attn_res", H), ("ffn_res", H), ("ffn_gelu", F)):
            rescale(f"blk.{l}.{part}", channels if per_channel else 1)
        if per_channel:
            expected[f"blk.{l}.ffn_gelu.zero_point"] = (np.int32, (F,))
        rescale(f"blk.{l}.attn_norm", H, norm=True)
        rescale(f"blk.{l}.ffn_norm", H, norm=True)
        linear(f"blk.{l}.ffn_up", F, H)
        linear(f"blk.{l}.ffn_down", H, F)
    if num_labels and pooler:
        linear("cls_dense", H, H)
    if num_labels:
        linear("cls_out", num_labels, H)
    return expected


ARCHITECTURES = ["BertModel", "BertForSequenceClassification", "RobertaModel", "RobertaForSequenceClassification",
                 "IBertModel", "IBertForSequenceClassification"]


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_each_architecture_converts_to_the_tensors_and_keys_of_the_format(architecture, tmp_path, sentences,
                                                                         calibration_txt):
    src = make_checkpoint(tmp_path / "hf", architecture, sentences)
    is_ibert = architecture.startswith("IBert")
    summary = convert_checkpoint(src, tmp_path / "model.ibert", calibration=None if is_ibert else calibration_txt,
                                 progress=False)
    assert isinstance(summary, ConversionSummary)
    assert summary.output == tmp_path / "model.ibert" and summary.file_size == summary.output.stat().st_size
    assert (summary.architecture, summary.num_layers, summary.hidden_size) == (architecture, LAYERS, HIDDEN)
    assert "weights 8" in summary.format() and "residual sums 22" in summary.format()

    metadata, tensors = read_model(summary.output)
    has_head = "ForSequenceClassification" in architecture
    config = json.loads((src / "config.json").read_text())
    roberta_like = not architecture.startswith("Bert")
    assert metadata["general.architecture"] == "ibert"
    # I-BERT files carry HF's 16-bit softmax exps (version 5) and keep its GELU, erf2; float ones have the
    # cubic GELU (version 7) and GELU zero points
    assert metadata["ibert.format_version"] == (5 if is_ibert else 7)
    gelu = gelu_constants("erf2" if is_ibert else "erf3")
    if is_ibert:
        assert "ibert.gelu.form" not in metadata
        assert (metadata["ibert.gelu.c"], metadata["ibert.gelu.shift"]) == (gelu.c, gelu.shift)
    else:
        assert metadata["ibert.gelu.form"] == "erf3" and "ibert.gelu.c" not in metadata
        assert [metadata[f"ibert.gelu.{key}"] for key in ("d_mult", "c1", "c2", "c3")] == [46341, 541, 1310, 1971]
    assert (metadata["ibert.gelu.b"], metadata["ibert.gelu.one"]) == (gelu.b, gelu.one)
    assert metadata["ibert.task"] == ("sequence-classification" if has_head else "encoder")
    assert metadata["ibert.source_architecture"] == architecture
    assert metadata["ibert.vocab_size"] == config["vocab_size"]
    ffn = FFN + (0 if is_ibert else GELU_SPLIT_CHANNELS)
    assert (metadata["ibert.hidden_size"], metadata["ibert.num_layers"], metadata["ibert.num_heads"],
            metadata["ibert.intermediate_size"]) == (HIDDEN, LAYERS, HEADS, ffn)
    assert metadata["ibert.max_positions"] == POSITIONS
    assert metadata["ibert.type_vocab_size"] == (1 if roberta_like else 2)
    assert metadata["ibert.position_offset"] == (2 if roberta_like else 0)
    assert metadata["ibert.num_labels"] == (LABELS if has_head else 0)
    assert metadata.get("ibert.labels") == ([f"class{i}" for i in range(LABELS)] if has_head else None)
    assert (metadata["ibert.exp.frac_bits"], metadata["ibert.exp.poly_b"], metadata["ibert.exp.poly_c"]) == \
        (10, 3999, 6093716)
    assert metadata["ibert.calibration.count"] == (0 if is_ibert else 48)
    if has_head:
        assert (metadata["ibert.output_scale.multiplier"], metadata["ibert.output_scale.shift"]) == (1, 16)

    expected = expected_tensors(metadata["ibert.num_labels"], config["vocab_size"], POSITIONS,
                                metadata["ibert.type_vocab_size"], per_channel=not is_ibert, ffn=ffn)
    assert set(tensors) == set(expected)
    for name, (dtype, shape) in expected.items():
        assert (tensors[name].dtype, tensors[name].shape) == (dtype, shape), name
    # FORMAT.md §3's value ranges
    for name, array in tensors.items():
        if name.endswith(".weight") and array.dtype == np.int16:
            assert array.min() >= -32767 and np.abs(array).max() == 32767   # the table's absmax is its scale
        elif name.endswith(".weight"):
            assert array.min() >= -127 and array.max() <= (126 if is_ibert and not name.startswith("cls") else 127)
        elif name.endswith(".bias"):
            assert np.abs(array.astype(np.int64)).max() <= 2**30
        elif name.endswith(".rq_shift"):
            assert array.min() >= 1 and array.max() <= 62, name
        elif name.endswith(".rq_bias"):
            assert np.abs(array).max() <= 2**61
    for l in range(LAYERS):
        mult, shift = int(tensors[f"blk.{l}.attn_scores.rq_mult"][0]), int(tensors[f"blk.{l}.attn_scores.rq_shift"][0])
        assert abs(mult) * 2**14 * (HIDDEN // HEADS) < 2 ** (30 + shift)
        assert tensors[f"blk.{l}.ffn_gelu.rq_mult"][0] < 0   # the i-GELU factor σ is negative


def test_ibert_weights_are_hf_quant_mode_integers(tmp_path, sentences):
    src = make_checkpoint(tmp_path / "hf", "IBertForSequenceClassification", sentences)
    _, tensors = read_model(convert_checkpoint(src, tmp_path / "m.ibert", calibration=None, progress=False).output)
    model = transformers.IBertForSequenceClassification.from_pretrained(src).eval()
    with torch.no_grad():   # a quant_mode forward pass recomputes weight_integer from the float weights
        model(input_ids=torch.tensor([[0, 5, 6, 2]]))
    layer = model.ibert.encoder.layer[1]
    np.testing.assert_array_equal(tensors["blk.1.ffn_up.weight"], layer.intermediate.dense.weight_integer.numpy())
    np.testing.assert_array_equal(tensors["blk.1.attn_q.weight"], layer.attention.self.query.weight_integer.numpy())
    np.testing.assert_array_equal(tensors["token_embd.weight"],
                                  model.ibert.embeddings.word_embeddings.weight_integer.numpy())


def test_a_float_checkpoint_with_i_berts_gelu_is_a_version_6_file(tmp_path, bert_classifier, calibration_txt):
    """ScaleOptions(gelu_form="erf2"): the GELU of runtimes before version 7 (its fit made on erf2)."""
    from pyibert.convert.quantize import ScaleOptions

    out = convert_checkpoint(bert_classifier, tmp_path / "erf2.ibert", calibration=calibration_txt, progress=False,
                             scales=ScaleOptions(gelu_form="erf2")).output
    metadata, _ = read_model(out)
    gelu = gelu_constants("erf2")
    assert metadata["ibert.format_version"] == 6 and "ibert.gelu.form" not in metadata
    assert (metadata["ibert.gelu.c"], metadata["ibert.gelu.shift"], metadata["ibert.gelu.one"]) == \
        (gelu.c, gelu.shift, gelu.one)


def test_pytorch_model_bin_gives_the_same_file_as_safetensors(tmp_path, bert_classifier, calibration_txt):
    from_safetensors = convert_checkpoint(bert_classifier, tmp_path / "a.ibert", calibration=calibration_txt,
                                          progress=False).output
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for item in bert_classifier.iterdir():
        if item.name != "model.safetensors":
            (bin_dir / item.name).write_bytes(item.read_bytes())
    model = transformers.BertForSequenceClassification.from_pretrained(bert_classifier)
    torch.save(model.state_dict(), bin_dir / "pytorch_model.bin")
    from_bin = convert_checkpoint(bin_dir, tmp_path / "b.ibert", calibration=calibration_txt, progress=False).output
    tensors_a, tensors_b = read_model(from_safetensors)[1], read_model(from_bin)[1]
    assert tensors_a.keys() == tensors_b.keys()
    for name in tensors_a:
        np.testing.assert_array_equal(tensors_a[name], tensors_b[name], err_msg=name)


def test_tsv_calibration_with_a_text_column_equals_the_same_lines_as_txt(tmp_path, bert_classifier, sentences):
    texts = sentences[100:140]
    txt = tmp_path / "sample.txt"
    txt.write_text("\n".join(texts), encoding="utf-8")
    tsv = tmp_path / "sample.tsv"
    tsv.write_text("label\ttext\n" + "".join(f"0\t{t}\n" for t in texts), encoding="utf-8")
    a = convert_checkpoint(bert_classifier, tmp_path / "a.ibert", calibration=txt, progress=False)
    b = convert_checkpoint(bert_classifier, tmp_path / "b.ibert", calibration=tsv, text_column="text",
                           progress=False)
    assert a.calibration_count == b.calibration_count == 40
    tensors_a, tensors_b = read_model(a.output)[1], read_model(b.output)[1]
    for name in tensors_a:
        np.testing.assert_array_equal(tensors_a[name], tensors_b[name], err_msg=name)
    limited = convert_checkpoint(bert_classifier, tmp_path / "c.ibert", calibration=txt, max_calibration=7,
                                 progress=False)
    assert limited.calibration_count == 7


def test_calibration_takes_the_first_texts_that_hold_the_token_budget(tmp_path, bert_classifier, sentences):
    """--calibration-tokens: texts are taken in file order until their tokens (as the model reads them,
    [CLS] and [SEP] included) reach the budget; --max-calibration caps the count below that. A file that
    runs out below FEW_CALIBRATION_TOKENS (and the budget) gives a CalibrationWarning."""
    from transformers import AutoTokenizer

    from pyibert.convert.data import within_token_budget

    tokenizer = AutoTokenizer.from_pretrained(bert_classifier)
    # as the converter cuts them: at the tiny model's POSITIONS
    lengths = [len(ids) for ids in tokenizer(sentences[:200], truncation=True, max_length=POSITIONS)["input_ids"]]
    budget = sum(lengths[:30]) - 1        # reached by the 30th text, not by the 29th
    texts, tokens = within_token_budget(tokenizer, sentences[:200], budget, max_tokens=POSITIONS)
    assert texts == sentences[:30] and tokens == sum(lengths[:30])
    assert within_token_budget(tokenizer, sentences[:20], 10**9, POSITIONS) == (sentences[:20], sum(lengths[:20]))
    # a text longer than the model's positions counts as the tokens the model keeps of it
    assert within_token_budget(tokenizer, [" ".join(sentences[:40])], 10**9, max_tokens=16)[1] == 16

    txt = tmp_path / "sample.txt"
    txt.write_text("\n".join(sentences[:200]), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error", CalibrationWarning)   # a budget below FEW_CALIBRATION_TOKENS, as asked
        summary = convert_checkpoint(bert_classifier, tmp_path / "a.ibert", calibration=txt,
                                     calibration_tokens=budget, progress=False)
    assert (summary.calibration_count, summary.calibration_tokens) == (30, sum(lengths[:30]))
    with pytest.warns(CalibrationWarning, match=f"calibration ran on 200 texts, {sum(lengths)} tokens, fewer than "
                      f"the {FEW_CALIBRATION_TOKENS}"):
        # the file runs out below the default budget and below what measures ranges well
        convert_checkpoint(bert_classifier, tmp_path / "few.ibert", calibration=txt, progress=False)
    assert sum(lengths) < FEW_CALIBRATION_TOKENS
    assert f"30 texts, {sum(lengths[:30])} tokens" in summary.format()
    capped = convert_checkpoint(bert_classifier, tmp_path / "b.ibert", calibration=txt, calibration_tokens=budget,
                                max_calibration=12, progress=False)
    assert capped.calibration_count == 12
    with pytest.raises(ConversionError, match="--calibration-tokens must be at least 1"):
        convert_checkpoint(bert_classifier, tmp_path / "c.ibert", calibration=txt, calibration_tokens=0,
                           progress=False)


def test_calibration_from_a_file_sorted_by_length_is_warned_of(tmp_path, bert_classifier, sentences):
    """The budget takes a file's first texts; when those are far shorter than the rest (a file sorted by
    length), the converter says so. The same texts in file order are not warned of."""
    by_length = sorted(sentences[:400], key=len)
    for name, texts, expected in (("sorted.txt", by_length, True), ("as-is.txt", sentences[:400], False)):
        path = tmp_path / name
        path.write_text("\n".join(texts), encoding="utf-8")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            summary = convert_checkpoint(bert_classifier, tmp_path / "m.ibert", calibration=path,
                                         calibration_tokens=800, progress=False)
        assert summary.calibration_count >= 32            # enough texts on each side to compare
        sorted_warnings = [w for w in caught if "sorted by length" in str(w.message)]
        assert bool(sorted_warnings) == expected, (name, [str(w.message) for w in caught])
        if expected:
            assert issubclass(sorted_warnings[0].category, CalibrationWarning)
            assert f"first {summary.calibration_count} texts of sorted.txt" in str(sorted_warnings[0].message)


def test_pair_calibration_runs_the_second_column_as_token_type_1(tmp_path, bert_classifier, sentences, monkeypatch):
    """--pair-column: each row is encoded as a pair, as the model will see it (a pair model calibrated on
    single texts never sees token type 1 or the second [SEP])."""
    import pyibert.convert.calibration as calibration
    from pyibert.cli import main

    seen_types = []

    def spy(tokenizer, texts, **options):
        encoded = encode_texts(tokenizer, texts, **options)
        seen_types.append(int(encoded["token_type_ids"].max()))
        return encoded

    encode_texts = calibration.encode_texts
    monkeypatch.setattr(calibration, "encode_texts", spy)
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("sentence\tpair\n" + "".join(f"{a}\t{b}\n" for a, b in zip(sentences[200:240], sentences[300:340])),
                   encoding="utf-8")
    single = convert_checkpoint(bert_classifier, tmp_path / "single.ibert", calibration=tsv, progress=False)
    assert set(seen_types) == {0}
    seen_types.clear()
    assert main(["convert", str(bert_classifier), "-o", str(tmp_path / "pairs.ibert"), "--calibration", str(tsv),
                 "--pair-column", "pair", "--quiet"]) == 0
    assert set(seen_types) == {1}
    single_tensors, pair_tensors = read_model(single.output)[1], read_model(tmp_path / "pairs.ibert")[1]
    assert any(not np.array_equal(single_tensors[name], pair_tensors[name]) for name in single_tensors)
    out, txt = tmp_path / "out.ibert", tmp_path / "sample.txt"
    txt.write_text("one text\n", encoding="utf-8")
    _expect_error(r"pairs \(--pair-column\) need a .tsv file", bert_classifier, out, calibration=txt,
                  pair_column="pair")
    _expect_error(r"no column 'second'", bert_classifier, out, calibration=tsv, pair_column="second")


def _expect_error(match: str, src: Path, out: Path, **kwargs):
    kwargs.setdefault("calibration", None)
    with pytest.raises(ConversionError, match=match):
        convert_checkpoint(src, out, progress=False, **kwargs)
    assert not out.exists()


def _copy(src: Path, dst: Path, without: tuple[str, ...] = ()) -> Path:
    dst.mkdir()
    for item in src.iterdir():
        if item.name not in without:
            (dst / item.name).write_bytes(item.read_bytes())
    return dst


def test_errors_name_the_problem(tmp_path, bert_classifier, calibration_txt):
    out = tmp_path / "out.ibert"
    _expect_error("Pass --calibration FILE", bert_classifier, out)
    _expect_error("not a directory", tmp_path / "nowhere", out, calibration=calibration_txt)
    _expect_error("no config.json", _copy(bert_classifier, tmp_path / "a", ("config.json",)), out,
                  calibration=calibration_txt)
    _expect_error("no weights: expected model.safetensors or pytorch_model.bin",
                  _copy(bert_classifier, tmp_path / "b", ("model.safetensors",)), out, calibration=calibration_txt)
    _expect_error("no usable tokenizer",
                  _copy(bert_classifier, tmp_path / "c", ("tokenizer.json", "vocab.txt", "tokenizer_config.json")),
                  out, calibration=calibration_txt)
    other = _copy(bert_classifier, tmp_path / "d")
    config = json.loads((other / "config.json").read_text())
    config["architectures"] = ["BertForPreTraining"]
    (other / "config.json").write_text(json.dumps(config))
    _expect_error("BertForPreTraining is not supported; pyibert converts BertModel, ", other, out,
                  calibration=calibration_txt)
    _expect_error("calibration file .* not found", bert_classifier, out, calibration=tmp_path / "missing.txt")
    tsv = tmp_path / "sample.tsv"
    tsv.write_text("text\tlabel\nfine\t1\n", encoding="utf-8")
    _expect_error(r"no column 'sentence'; its columns are \['text', 'label'\]", bert_classifier, out, calibration=tsv)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    _expect_error("has no text", bert_classifier, out, calibration=empty)
    _expect_error("must be .txt .* or .tsv", bert_classifier, out, calibration=bert_classifier / "config.json")


def test_ibert_checkpoint_errors(tmp_path, sentences, calibration_txt):
    src = make_checkpoint(tmp_path / "ibert", "IBertForSequenceClassification", sentences)
    _expect_error("convert it without --calibration", src, tmp_path / "o.ibert", calibration=calibration_txt)
    config = transformers.IBertConfig.from_pretrained(src)
    raw = tmp_path / "raw"
    transformers.IBertForSequenceClassification(config).save_pretrained(raw)   # ranges never calibrated
    for item in src.glob("*token*"):
        (raw / item.name).write_bytes(item.read_bytes())
    _expect_error("never calibrated", raw, tmp_path / "o.ibert")


def test_cli_converts_and_exits_2_with_the_message(tmp_path, bert_classifier, calibration_txt, capsys):
    from pyibert.cli import main

    out = tmp_path / "cli.ibert"
    assert main(["convert", str(bert_classifier), "-o", str(out), "--calibration", str(calibration_txt),
                 "--max-calibration", "16", "--quiet"]) == 0
    printed = capsys.readouterr()
    assert str(out) in printed.out and "16 texts" in printed.out and out.is_file()
    # 16 short texts are far below the default budget: the CLI says so in one line of its own
    warning = [line for line in printed.err.splitlines() if "warning" in line]
    assert len(warning) == 1 and warning[0].startswith("pyibert convert: warning: calibration ran on 16 texts "
                                                       "(--max-calibration 16)")
    assert main(["convert", str(bert_classifier), "-o", str(out), "--calibration", str(calibration_txt),
                 "--calibration-tokens", "40", "--quiet"]) == 0
    printed = capsys.readouterr()
    texts, tokens = map(int, re.search(r"\((\d+) texts, (\d+) tokens\)", printed.out).groups())
    assert 1 <= texts < 16 and 40 <= tokens      # the first texts that reach 40 tokens
    assert "warning" not in printed.err           # a small budget asked for is no surprise
    with pytest.raises(SystemExit):
        main(["convert", str(bert_classifier), "-o", str(out), "--calibration", str(calibration_txt),
              "--calibration-tokens", "0"])
    assert "must be at least 1" in capsys.readouterr().err
    assert main(["convert", str(bert_classifier), "-o", str(tmp_path / "x.ibert")]) == 2
    assert "--calibration" in capsys.readouterr().err


def test_dyadic_takes_the_largest_shift_that_keeps_the_multiplier_in_int32():
    for r in (1e-9, 3.3e-4, 0.5, 0.7071, 1.0, 1234.5, 2.0**29):
        m, s = dyadic(r, "r")
        assert 2**30 <= m < 2**31 or s == 62
        assert abs(m / 2**s - r) <= 2.0**-s
    assert dyadic(-0.25, "r") == (-(2**30), 32)
    assert dyadic(2.0**-40, "r") == (2**22, 62)   # the shift stops at 62
    with pytest.raises(ConversionError, match="too large"):
        dyadic(2.0**31, "r")
    with pytest.raises(ConversionError, match="non-zero"):
        dyadic(0.0, "r")


def test_layer_norm_rescale_brings_the_shift_down_until_beta_fits():
    gamma = np.array([1.0, 0.0, 1e-33, -2.0])
    beta = np.array([0.1, 3.0, -0.5, 2.0**10])
    out_scale = 0.05
    mult, shift, bias = layer_norm_rescale(gamma, beta, out_scale, "norm")
    assert np.all(np.abs(bias) <= 2**61) and np.all((shift >= 1) & (shift <= 62))
    for n in range(4):
        s = int(shift[n])
        assert abs(int(mult[n]) / 2**s - gamma[n] * 2 / (2**30 * out_scale)) <= 2.0**-s
        assert abs((int(bias[n]) - 2 ** (s - 1)) / 2**s - beta[n] / out_scale) <= 2.0**-s
    assert mult[1] == mult[2] == 0   # γ = 0 and a γ too small to show are the constant β


def test_nonlinear_constants_follow_the_format_formulas():
    exp = exp_constants()
    assert (exp.frac_bits, exp.poly_b, exp.poly_c) == (10, 3999, 6093716)   # FORMAT.md §4.3
    cubic = gelu_constants("erf3")   # FORMAT.md §4.4: B = 2.27, d_mult = s_e · 2^26, c at 2^-14
    assert (cubic.b, cubic.d_mult, cubic.c1, cubic.c2, cubic.c3) == (-3288, 46341, 541, 1310, 1971)
    assert cubic.one == gelu_constants().one and cubic.sigma == 1 / cubic.one
    gelu = gelu_constants()
    s_e = 2.0**-10 / math.sqrt(2)
    assert gelu.b == math.floor(-1.769 / s_e) and gelu.c == math.floor((1 / -0.2888) / s_e**2)
    assert 2**10 <= -gelu.one <= 2**11 and (-gelu.c) >> gelu.shift <= 2**11
    assert gelu.one == math.floor(1 / (s_e**2 * -0.2888 * 2**gelu.shift))


def _hf_inputs(src: Path, texts: list[str]):
    tokenizer = transformers.AutoTokenizer.from_pretrained(src)
    return [tokenizer(t, truncation=True, max_length=POSITIONS - 2, return_tensors="pt") for t in texts]


@pytest.mark.parametrize("architecture", ["BertForSequenceClassification", "RobertaForSequenceClassification"])
def test_integer_logits_follow_hf_float_logits(architecture, tmp_path, sentences, calibration_txt):
    """Random weights give logits of about ±0.1; the integers must follow them to 0.01 (a wrong scale or
    sign anywhere is off by far more). Measured: max error ≈ 0.002."""
    from pyibert.golden import GoldenModel

    src = make_checkpoint(tmp_path / "hf", architecture, sentences)
    out = convert_checkpoint(src, tmp_path / "m.ibert", calibration=calibration_txt, progress=False).output
    model = getattr(transformers, architecture).from_pretrained(src).eval()
    golden = GoldenModel(out)
    errors = []
    for encoded in _hf_inputs(src, _sst2_sentences(40, skip=2000)):
        with torch.no_grad():
            reference = model(**encoded).logits[0].numpy()
        logits, scale = golden.forward(encoded["input_ids"][0].numpy())
        assert logits.dtype == np.int32 and logits.shape == (LABELS,) and scale == 2.0**-16
        errors.append(np.abs(logits * scale - reference).max())
    assert max(errors) < 0.01, f"max |logit error| {max(errors):.4f}"


def test_base_model_outputs_follow_hf_hidden_states(tmp_path, sentences, calibration_txt):
    """Without a head the output is the last layer norm's int8 states at output_scale; every token's
    vector points where HF's does (cosine > 0.99; measured ≈ 0.999 on this random model)."""
    from pyibert.golden import GoldenModel

    src = make_checkpoint(tmp_path / "hf", "BertModel", sentences)
    out = convert_checkpoint(src, tmp_path / "m.ibert", calibration=calibration_txt, progress=False).output
    model = transformers.BertModel.from_pretrained(src).eval()
    golden = GoldenModel(out)
    for encoded in _hf_inputs(src, _sst2_sentences(10, skip=2000)):
        with torch.no_grad():
            reference = model(**encoded).last_hidden_state[0].numpy()
        states, scale = golden.forward(encoded["input_ids"][0].numpy())
        ours = states.astype(np.float64) * scale
        assert ours.shape == reference.shape
        cosine = np.sum(ours * reference, 1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(reference, axis=1)
        assert cosine.min() > 0.99
