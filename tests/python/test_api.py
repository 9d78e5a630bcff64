"""pyibert.Model on the shipped example model: the Python API's contract."""
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import pyibert


@pytest.fixture(scope="module")
def model(shipped_model_path):
    with pyibert.Model(shipped_model_path, threads=2) as loaded:
        yield loaded


def test_model_describes_itself(model):
    assert model.labels == ["negative", "positive"]
    assert model.num_labels == 2
    assert model.max_tokens == 512
    assert model.num_layers == 6 and model.hidden_size == 384
    assert model.output_scale > 0
    assert "2 labels" in repr(model)


def test_classify_returns_label_and_probability(model):
    results = model.classify(["a gripping, funny and moving film", "a tedious, lifeless mess"])
    assert [r["label"] for r in results] == ["positive", "negative"]
    assert all(0.5 < r["score"] <= 1.0 for r in results)
    assert model.classify("one text is a list of one") == model.classify(["one text is a list of one"])


def test_logits_are_dequantized_integers(model):
    logits = model.logits(["it 's a charming journey"])
    raw, scale = model.forward(np.array(model.tokenize(["it 's a charming journey"])[0]))
    assert logits.dtype == np.float32 and logits.shape == (1, 2)
    assert raw.dtype == np.int32
    np.testing.assert_allclose(logits[0], raw * scale, rtol=1e-6)


def test_tokenize_adds_special_tokens(model):
    (ids,) = model.tokenize(["hello world"])
    assert ids == [101, 7592, 2088, 102]


def test_batch_forward_with_padding_equals_unpadded(model):
    short, long = model.tokenize(["fine", "a long and winding review of a film"])
    batch = np.zeros((2, len(long)), dtype=np.int64)
    mask = np.zeros_like(batch)
    for row, ids in enumerate([short, long]):
        batch[row, : len(ids)] = ids
        mask[row, : len(ids)] = 1
    batched, _ = model.forward(batch, attention_mask=mask)
    assert np.array_equal(batched[0], model.forward(np.array(short))[0])
    assert np.array_equal(batched[1], model.forward(np.array(long))[0])


def test_threads_per_pass_do_not_change_the_integers(shipped_model_path, sst2_dev_rows):
    texts = [text for text, _ in sst2_dev_rows[:12]]
    with pyibert.Model(shipped_model_path, threads=1) as one, pyibert.Model(shipped_model_path, threads=3) as three:
        ids = one.tokenize(texts)
        longest = max(len(row) for row in ids)
        batch = np.zeros((len(ids), longest), dtype=np.int32)
        mask = np.zeros_like(batch)
        for row, row_ids in enumerate(ids):
            batch[row, : len(row_ids)] = row_ids
            mask[row, : len(row_ids)] = 1
        want, _ = one.forward(batch, attention_mask=mask)
        got, _ = three.forward(batch, attention_mask=mask)
        assert want.dtype == got.dtype == np.int32
        assert np.array_equal(want, got)
        for row_ids in ids[:4]:
            assert np.array_equal(one.forward(np.array(row_ids))[0], three.forward(np.array(row_ids))[0])


def test_threads_default_and_validation(shipped_model_path):
    with pyibert.Model(shipped_model_path) as default:
        assert 1 <= default.threads <= 8
    for bad in (0, -1, 65, 2.0, True, "2"):
        with pytest.raises(ValueError, match="threads must be an integer from 1 to 64"):
            pyibert.Model(shipped_model_path, threads=bad)


def test_model_is_usable_from_several_python_threads(model, sst2_dev_rows):
    texts = [text for text, _ in sst2_dev_rows[:16]]
    want = model.logits(texts)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda chunk: model.logits(texts[chunk : chunk + 4]), range(0, 16, 4)))
    assert np.array_equal(np.concatenate(results), want)


def test_long_text_is_truncated_with_a_warning(model):
    with pytest.warns(pyibert.TruncationWarning, match="truncated"):
        (ids,) = model.tokenize(["word " * 1000])
    assert len(ids) == model.max_tokens and ids[-1] == 102
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pyibert.TruncationWarning)
        assert len(model.classify(["word " * 1000])) == 1


@pytest.mark.parametrize(
    "texts, error, match",
    [
        ([], ValueError, "empty"),
        ([1, 2], TypeError, "not a string"),
        (None, TypeError, "list of strings"),
        ([b"caf\xc3"], ValueError, "UTF-8"),
        ([b"\xff\xfe"], ValueError, "UTF-8"),
        (["lone \udc80 surrogate"], ValueError, "UTF-8"),
    ],
)
def test_bad_texts_raise_clear_errors(model, texts, error, match):
    with pytest.raises(error, match=match):
        model.classify(texts)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"input_ids": np.array([101, 10**6, 102])}, "id"),
        ({"input_ids": np.array([], dtype=np.int32)}, "empty"),
        ({"input_ids": np.ones(513, dtype=np.int32)}, "513"),
        ({"input_ids": np.array([101, 102]), "attention_mask": np.array([1, 2])}, "mask"),
        ({"input_ids": np.array([101, 102]), "token_type_ids": np.array([0, 7])}, "type"),
        ({"input_ids": np.array([101, 102]), "attention_mask": np.array([1])}, "shape"),
        ({"input_ids": np.array([1.5, 2.0])}, "integers"),
    ],
)
def test_bad_forward_inputs_raise_clear_errors(model, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        model.forward(**kwargs)


def test_missing_and_malformed_files_raise(tmp_path):
    with pytest.raises(OSError, match="missing.ibert"):
        pyibert.Model(tmp_path / "missing.ibert")
    bad = tmp_path / "bad.ibert"
    bad.write_bytes(b"not a model file at all")
    with pytest.raises(pyibert.ModelFileError):
        pyibert.Model(bad)


def test_closed_model_refuses_work(shipped_model_path):
    model = pyibert.Model(shipped_model_path)
    model.close()
    with pytest.raises(ValueError, match="closed"):
        model.tokenize(["x"])
