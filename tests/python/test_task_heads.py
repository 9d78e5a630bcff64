"""The task heads (FORMAT.md §4.10) end to end on tiny random checkpoints: every *For* class of BERT,
RoBERTa and I-BERT converts to its task's tensors and keys; libibert and the golden model give the same
integers on a pair; Model's task methods return what they promise and refuse what the head cannot serve;
tag() groups exactly as transformers' token-classification pipeline does given the same logits; answer()
windows a long context with the stride. Shape coverage only: agreement with HF float is measured by bench/tasks_accuracy.py.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import gguf  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from tiny_checkpoint import HIDDEN, make_checkpoint, sst2_sentences  # noqa: E402

import pyibert  # noqa: E402
from pyibert.convert import ConversionError, convert_checkpoint  # noqa: E402
from pyibert.golden import GoldenModel  # noqa: E402
from pyibert.tasks import answer as answer_module  # noqa: E402

# (class suffix, labels in the checkpoint, task written, C in the file, pooler)
HEADS = [
    ("ForSequenceClassification", 1, "regression", 1, True),
    ("ForTokenClassification", 5, "token-classification", 5, False),
    ("ForQuestionAnswering", 2, "question-answering", 2, False),
    ("ForMultipleChoice", 3, "multiple-choice", 1, True),
]
FAMILIES = ["Bert", "Roberta", "IBert"]


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    return sst2_sentences(400)


@pytest.fixture(scope="module")
def short(sentences) -> list[str]:
    """Sentences whose pairs fit the tiny models' 40 positions with room for padding."""
    return [s for s in sentences if 3 <= len(s.split()) <= 6]


@pytest.fixture(scope="module")
def calibration_txt(tmp_path_factory, sentences):
    path = tmp_path_factory.mktemp("calibration") / "sample.txt"
    path.write_text("\n".join(sentences[:32]) + "\n", encoding="utf-8")
    return path


def _convert(tmp_path, family, suffix, labels, sentences, calibration_txt):
    src = make_checkpoint(tmp_path / "hf", family + suffix, sentences, labels=labels)
    out = tmp_path / "model.ibert"
    convert_checkpoint(src, out, calibration=None if family == "IBert" else calibration_txt, progress=False)
    return src, out


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("suffix, labels, task, num_labels, pooler", HEADS, ids=[h[0] for h in HEADS])
def test_each_head_converts_and_runs_bit_exact(family, suffix, labels, task, num_labels, pooler, tmp_path, sentences,
                                               short, calibration_txt):
    _, out = _convert(tmp_path, family, suffix, labels, sentences, calibration_txt)
    reader = gguf.GGUFReader(out)
    fields = {key: field.contents() for key, field in reader.fields.items() if key.startswith("ibert.")}
    tensors = {t.name: np.array(t.data) for t in reader.tensors}
    # I-BERT files carry HF's 16-bit softmax exps (version 5), float ones the cubic GELU (version 7)
    version = 5 if family == "IBert" else 7
    assert (fields["ibert.format_version"], fields["ibert.task"], fields["ibert.num_labels"]) == (version, task, num_labels)
    assert ("cls_dense.weight" in tensors) == pooler
    assert tensors["cls_out.weight"].shape == (num_labels, HIDDEN)
    if task == "question-answering":
        assert fields["ibert.labels"] == ["start", "end"]

    model = pyibert.Model(out, threads=1)
    golden = GoldenModel(out)
    assert model.task == golden.task == task and model.num_labels == num_labels
    encoded = model.tokenize(short[:3], short[3:6], max_length=model.max_tokens - 4)   # room for padding
    for ids, types in zip(encoded["input_ids"], encoded["token_type_ids"]):
        ours, scale = model.forward(ids, token_type_ids=types)
        reference, golden_scale = golden.forward(ids, token_type_ids=types)
        assert scale == golden_scale == 2.0**-16
        expected_shape = (len(ids), num_labels) if not pooler else (num_labels,)
        assert ours.shape == expected_shape
        np.testing.assert_array_equal(ours, reference.reshape(expected_shape))
    # padding at the end: not computed, rows 0; the rows before it unchanged
    ids = encoded["input_ids"][0]
    padded = np.array(ids + [0] * 4, dtype=np.int32)
    mask = np.array([1] * len(ids) + [0] * 4, dtype=np.int32)
    out_padded, _ = model.forward(padded, attention_mask=mask)
    np.testing.assert_array_equal(out_padded, golden.forward(padded, attention_mask=mask)[0].reshape(out_padded.shape))
    if not pooler:
        assert not out_padded[len(ids):].any()
        np.testing.assert_array_equal(out_padded[:len(ids)], model.forward(ids)[0])


def test_each_method_serves_its_task_and_refuses_the_others(tmp_path, sentences, short, calibration_txt):
    models = {}
    for suffix, labels, task, _, _ in HEADS + [("ForSequenceClassification", 3, "sequence-classification", 3, True)]:
        _, out = _convert(tmp_path / task, "Bert", suffix, labels, sentences, calibration_txt)
        models[task] = pyibert.Model(out, threads=1)
    texts, pairs = short[:2], short[2:4]
    classes = models["sequence-classification"].classify(texts, pairs)
    assert [set(r) for r in classes] == [{"label", "score"}] * 2 and all(0 < r["score"] <= 1 for r in classes)
    scores = models["regression"].classify(texts, pairs)
    logits = models["regression"].logits(texts, pairs)
    assert [r["score"] for r in scores] == pytest.approx(logits[:, 0].tolist())
    # a pair is not the concatenation: the second text gets token type 1 and its own [SEP]
    assert models["regression"].logits(texts)[0, 0] != logits[0, 0]

    for aggregation in ("none", "simple", "first", "average", "max"):
        for entity in models["token-classification"].tag(texts[0], aggregation=aggregation)[0]:
            assert set(entity) == {"entity", "score", "word", "start", "end"}
            assert texts[0][entity["start"]:entity["end"]] == entity["word"]
    with pytest.raises(ValueError, match="aggregation must be one of"):
        models["token-classification"].tag(texts, aggregation="longest")

    context = " ".join(sentences[:12])
    best = models["question-answering"].answer(["what is it?"], [context], top_k=3)[0]
    assert 1 <= len(best) <= 3 and best == sorted(best, key=lambda a: -a["score"])
    for a in best:
        assert context[a["start"]:a["end"]] == a["answer"]
    one = models["question-answering"].answer("what is it?", context)[0]
    assert one == best[0]

    chosen = models["multiple-choice"].choose(["the film was"], [["good", "bad", "long"]])
    assert chosen[0]["best"] == int(np.argmax(chosen[0]["scores"])) and sum(chosen[0]["scores"]) == pytest.approx(1)

    with pytest.raises(pyibert.TaskError, match=r"is a sequence-classification model \(classify\(\) .*; tag\(\) "
                                                r"needs a token-classification model"):
        models["sequence-classification"].tag(texts)
    with pytest.raises(pyibert.TaskError, match="answer\\(\\) needs a question-answering model"):
        models["token-classification"].answer("q", "c")
    with pytest.raises(pyibert.TaskError, match="classify\\(\\) needs"):
        models["multiple-choice"].classify(texts)
    with pytest.raises(pyibert.TaskError, match="choose\\(\\) needs a multiple-choice model"):
        models["regression"].choose(["p"], [["a", "b"]])


def test_tag_groups_as_the_transformers_pipeline_given_the_same_logits(tmp_path, sentences, short, calibration_txt):
    """WordPiece: our word boundaries are the pipeline's (## continues a word), so every strategy's entities,
    spans and scores are the pipeline's postprocess of our logits (its "word" is the decoded tokens)."""
    src, out = _convert(tmp_path, "Bert", "ForTokenClassification", 5, sentences, calibration_txt)
    hf_model = transformers.BertForTokenClassification.from_pretrained(src)
    hf_model.config.id2label = {i: label for i, label in enumerate(["O", "B-POS", "I-POS", "B-NEG", "I-NEG"])}
    tokenizer = transformers.AutoTokenizer.from_pretrained(src)
    pipeline = transformers.pipeline("token-classification", model=hf_model, tokenizer=tokenizer)
    model = pyibert.Model(out, threads=1)
    model.labels = list(hf_model.config.id2label.values())
    texts = short[:40]
    encoded = model.tokenize(texts, return_offsets=True)
    compared = 0
    for text, ids, offsets in zip(texts, encoded["input_ids"], encoded["offset_mapping"]):
        logits = model.forward(ids)[0].astype(np.float64) * model.output_scale
        hf_inputs = tokenizer(text, return_special_tokens_mask=True, return_offsets_mapping=True, return_tensors="pt")
        assert hf_inputs["input_ids"][0].tolist() == ids
        outputs = {"logits": torch.from_numpy(logits)[None], "sentence": text, "input_ids": hf_inputs["input_ids"],
                   "offset_mapping": hf_inputs["offset_mapping"], "special_tokens_mask": hf_inputs["special_tokens_mask"]}
        for aggregation in ("none", "simple", "first", "average", "max"):
            ours = model.tag(text, aggregation=aggregation)[0]
            theirs = pipeline.postprocess([outputs], aggregation_strategy=aggregation)
            key = "entity" if aggregation == "none" else "entity_group"
            assert [(e["entity"], e["start"], e["end"]) for e in ours] == \
                [(e[key], e["start"], e["end"]) for e in theirs], (text, aggregation)
            assert [e["score"] for e in ours] == pytest.approx([float(e["score"]) for e in theirs], rel=1e-5)
            compared += len(ours)
    assert compared > 100


def test_answer_windows_cover_the_context_with_the_stride(tmp_path, sentences, calibration_txt):
    _, out = _convert(tmp_path, "Roberta", "ForQuestionAnswering", 2, sentences, calibration_txt)
    model = pyibert.Model(out, threads=1)
    question, context = "what did the critics say?", " ".join(sentences[:20])
    n_context = len(model.tokenize(context, max_length=10_000)[0]) - 2
    for stride in (0, 5, 17):
        windows = list(answer_module._windows(model, question, context, stride))
        assert len(windows) > 1
        covered, previous_end = 0, 0
        for ids, types, offsets, first, length in windows:
            assert len(ids) <= model.max_tokens and len(ids) == len(types) == len(offsets)
            start = covered - (stride if covered else 0)
            assert offsets[first] == model.tokenize([question], [context], return_offsets=True,
                                                    max_length=10_000)["offset_mapping"][0][first + start]
            covered = start + length
            previous_end = covered
        assert previous_end == n_context
    # a stride the window cannot advance by becomes half of its context room
    assert len(list(answer_module._windows(model, question, context, 1000))) == \
        len(list(answer_module._windows(model, question, context, windows[0][4] // 2)))
    found = model.answer(question, context, top_k=2, doc_stride=5)[0]
    assert all(context[a["start"]:a["end"]] == a["answer"] for a in found)


def test_unsupported_heads_are_named(tmp_path, sentences):
    src = make_checkpoint(tmp_path / "hf", "BertForNextSentencePrediction", sentences)
    with pytest.raises(ConversionError, match="BertForNextSentencePrediction is not supported; pyibert converts "
                                              "BertModel, BertForSequenceClassification, BertForTokenClassification"):
        convert_checkpoint(src, tmp_path / "m.ibert", calibration=None, progress=False)
