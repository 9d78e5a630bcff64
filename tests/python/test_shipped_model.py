"""The shipped example model reproduces the accuracy the README quotes.

Integer inference is deterministic, so the integer accuracy on all of SST-2 dev
must equal the number models/make_example_model.py recorded, and stay within
1.0 point of the FP32 checkpoint's (recorded by the same run; CI does not have
the FP32 checkpoint, which is not committed)."""
import json

import numpy as np

import pyibert


def test_integer_accuracy_on_sst2_dev_matches_the_recorded_one(shipped_model_path, sst2_dev_rows):
    recorded = json.loads(shipped_model_path.with_suffix(".results.json").read_text())
    texts = [text for text, _ in sst2_dev_rows]
    labels = np.array([int(label) for _, label in sst2_dev_rows])
    with pyibert.Model(shipped_model_path) as model:
        predicted = model.logits(texts).argmax(axis=1)
    accuracy = float((predicted == labels).mean())
    assert len(texts) == recorded["n"] == 6735
    assert accuracy == recorded["accuracy"]
    assert abs(recorded["accuracy"] - recorded["reference_accuracy"]) <= 0.01
