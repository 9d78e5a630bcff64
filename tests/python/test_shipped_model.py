"""The shipped example models reproduce the accuracy the README quotes.

Integer inference is deterministic, so the integer accuracy on all of SST-2 dev
must equal the number models/make_example_model.py recorded, and stay within
1.0 point of the FP32 checkpoint's (recorded by the same run; CI does not have
the FP32 checkpoint, which is not committed). The same for the Q-BERT file, which
must also be at least 8x smaller than that checkpoint (90,867,952 B)."""
import json

import numpy as np
import pytest

import pyibert
from pyibert.golden.model_file import read_model_file

FP32_CHECKPOINT_BYTES = 90_867_952


@pytest.mark.parametrize("name", ["minilm-sst2.ibert", "minilm-sst2-qbert.ibert"])
def test_integer_accuracy_on_sst2_dev_matches_the_recorded_one(shipped_model_path, sst2_dev_rows, name):
    path = shipped_model_path.with_name(name)
    recorded = json.loads(path.with_suffix(".results.json").read_text())
    texts = [text for text, _ in sst2_dev_rows]
    labels = np.array([int(label) for _, label in sst2_dev_rows])
    with pyibert.Model(path) as model:
        predicted = model.logits(texts).argmax(axis=1)
    accuracy = float((predicted == labels).mean())
    assert len(texts) == recorded["n"] == 6735
    assert accuracy == recorded["accuracy"]
    assert abs(recorded["accuracy"] - recorded["reference_accuracy"]) <= 0.01


def test_the_qbert_model_is_8x_smaller_than_fp32_with_low_bit_weights(shipped_model_path):
    path = shipped_model_path.with_name("minilm-sst2-qbert.ibert")
    assert FP32_CHECKPOINT_BYTES / path.stat().st_size >= 8.0
    model = read_model_file(path)
    assert model.embedding is not None and model.embedding.bits < 8
    assert len(model.lowbit) >= 30 and max(layer.bits for layer in model.lowbit.values()) < 8
