#!/usr/bin/env python3
"""Accuracy of the integer-only path on classifiers we did not make the spec with.

    python3 bench/accuracy.py [--models-dir /work/evalmodels] [--models sst2-seed1,agnews]
        [--checkpoint NAME=DIR] [--data-dir ../shared/data] [--limit N] [--json]
    python3 bench/accuracy.py --show RESULTS.json [MORE.json ...]

For each evaluation model of bench/eval_models.py (made by it under --models-dir) and the shipped
model's checkpoint (minilm-sst2-shipped, when present): converts the checkpoint with the installed
`pyibert convert` (calibration: the first training rows of its task, never evaluated on, as many as
its default token budget takes), then
runs on the task's evaluation rows
  FP32      the Hugging Face checkpoint in torch
  pyibert   the converted .ibert file through the installed pyibert (its C library)
  ORT int8  the checkpoint exported to ONNX, after ONNX Runtime's quantize_dynamic (per-channel
            QInt8 weights, activations quantized at run time)
and prints per model: accuracy (Δ in points against FP32), label agreement with FP32 and the mean
|Δ margin|. The margin is the logit of FP32's label minus the largest other logit (for two labels
that is ±(logit₁ − logit₀)), in each engine's own logits; |Δ margin| is how far an engine moved it
from FP32's, against FP32's own mean |margin| for scale. A second table gives the agreement by
token count (the Hugging Face tokenizer's, [CLS] and [SEP] included). The converted files and
ONNX models are left under build/accuracy/.

Needs the `bench` extra (torch, transformers, onnx, onnxruntime). Nothing here depends on the
format version: it measures whatever pyibert is installed.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common import csv_list, table
from eval_models import DATA, MODELS_DIR, RECIPES, SHIPPED, TASKS, Rows, is_made, write_tsv
from onnx_export import export_classifier, quantize_int8

os.environ.setdefault("HF_HUB_OFFLINE", "1")

WORK = Path(__file__).resolve().parent.parent / "build" / "accuracy"
MODEL_TASKS = {SHIPPED[0]: SHIPPED[1], **{name: recipe.task for name, recipe in RECIPES.items()}}
BUCKETS = [(0, 16, "<16"), (16, 32, "16-32"), (32, 64, "32-64"), (64, 1 << 30, ">64")]
BATCH = 64
# |FP32 margin| below which a row counts as a near-tie: flips there are what any quantization moves
NEAR_TIE = 0.25


@dataclass
class Engine:
    """What one engine computed on the evaluation rows."""
    logits: np.ndarray  # (rows, labels) float64

    @property
    def labels(self) -> np.ndarray:
        return self.logits.argmax(axis=1)


def margins(logits: np.ndarray, anchor: np.ndarray) -> np.ndarray:
    """Logit of the anchor label minus the largest other logit, per row."""
    rows = np.arange(len(logits))
    others = logits.copy()
    others[rows, anchor] = -np.inf
    return logits[rows, anchor] - others.max(axis=1)


def by_length(texts: list[str], tokenizer) -> tuple[list[int], list[int]]:
    """Token counts, and the row order that batches similar lengths together (less padding)."""
    counts = [len(ids) for ids in tokenizer(texts, truncation=True)["input_ids"]]
    return counts, sorted(range(len(texts)), key=counts.__getitem__)


def run_batched(texts: list[str], order: list[int], tokenizer, forward) -> np.ndarray:
    """forward(input_ids, attention_mask) → logits over length-sorted batches, in row order."""
    out = None
    for start in range(0, len(order), BATCH):
        rows = order[start : start + BATCH]
        batch = tokenizer([texts[i] for i in rows], padding=True, truncation=True, return_tensors="np")
        logits = np.asarray(forward(batch["input_ids"].astype(np.int64), batch["attention_mask"].astype(np.int64)),
                            dtype=np.float64)
        if out is None:
            out = np.empty((len(texts), logits.shape[1]))
        out[rows] = logits
    return out


def convert(checkpoint: Path, calibration: Rows, labels: list[str], work: Path) -> Path:
    """The checkpoint as .ibert, by the installed `pyibert convert` (-P: not this checkout's pyibert)."""
    calibration_file, output = work / "calibration.tsv", work / "model.ibert"
    write_tsv(calibration_file, calibration, labels)
    command = [sys.executable, "-P", "-m", "pyibert", "convert", str(checkpoint), "-o", str(output),
               "--calibration", str(calibration_file), "--quiet"]
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if done.returncode:
        sys.exit(f"pyibert convert {checkpoint} failed:\n{done.stderr}")
    return output


def evaluate(name: str, checkpoint: Path, data_dir: Path, limit: int | None) -> dict:
    import onnxruntime
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from pyibert import Model

    task = TASKS[MODEL_TASKS[name]]
    rows = task.evaluation(data_dir)[:limit]
    texts, truth = [text for text, _ in rows], np.array([label for _, label in rows])
    work = WORK / name
    work.mkdir(parents=True, exist_ok=True)
    print(f"{name}: converting", file=sys.stderr, flush=True)
    ibert_file = convert(checkpoint, task.calibration(data_dir), task.labels, work)

    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModelForSequenceClassification.from_pretrained(checkpoint, attn_implementation="eager").float().eval()
    if [model.config.id2label[i] for i in range(len(task.labels))] != task.labels:
        sys.exit(f"{checkpoint}: labels {model.config.id2label} are not the task's {task.labels}")
    counts, order = by_length(texts, tokenizer)

    print(f"{name}: FP32 on {len(texts)} rows", file=sys.stderr, flush=True)
    torch.set_num_threads(2)
    with torch.no_grad():
        fp32 = Engine(run_batched(texts, order, tokenizer, lambda ids, mask: model(
            torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).logits.numpy()))

    print(f"{name}: ONNX Runtime int8", file=sys.stderr, flush=True)
    export_classifier(model, work / "fp32.onnx")
    quantize_int8(work / "fp32.onnx", work / "int8.onnx", per_channel=True)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    session = onnxruntime.InferenceSession(str(work / "int8.onnx"), options, providers=["CPUExecutionProvider"])
    ort = Engine(run_batched(texts, order, tokenizer, lambda ids, mask: session.run(
        None, {"input_ids": ids, "attention_mask": mask})[0]))

    print(f"{name}: pyibert", file=sys.stderr, flush=True)
    with Model(ibert_file) as integer_model:
        hf_ids = tokenizer(texts, truncation=True)["input_ids"]
        token_mismatches = sum(ours != list(theirs) for ours, theirs in zip(integer_model.tokenize(texts), hf_ids))
        ibert = Engine(np.concatenate([integer_model.logits(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)])
                       .astype(np.float64))

    fp32_margin = margins(fp32.logits, fp32.labels)
    counts = np.array(counts)
    result = {"model": name, "task": task.name, "architecture": model.config.architectures[0], "rows": len(rows),
              "token_mismatches": token_mismatches, "fp32_accuracy": float((fp32.labels == truth).mean()),
              "fp32_mean_abs_margin": float(np.abs(fp32_margin).mean()),
              "fp32_near_ties": int((np.abs(fp32_margin) < NEAR_TIE).sum())}
    for key, engine in (("pyibert", ibert), ("ort_int8", ort)):
        agree = engine.labels == fp32.labels
        result[key] = {
            "flips": int((~agree).sum()),
            # how near a tie the widest flip was: a flip at a wide FP32 margin is an error, not noise
            "largest_flipped_fp32_margin": float(np.abs(fp32_margin[~agree]).max(initial=0.0)),
            "accuracy": float((engine.labels == truth).mean()),
            "accuracy_delta_points": 100.0 * float((engine.labels == truth).mean() - (fp32.labels == truth).mean()),
            "agreement": float(agree.mean()),
            "mean_abs_delta_margin": float(np.abs(margins(engine.logits, fp32.labels) - fp32_margin).mean()),
            "agreement_by_tokens": {label: {"rows": int(((counts >= lo) & (counts < hi)).sum()),
                                            "agreement": float(agree[(counts >= lo) & (counts < hi)].mean())
                                            if ((counts >= lo) & (counts < hi)).any() else None}
                                    for lo, hi, label in BUCKETS},
        }
    return result


def tables(results: list[dict]) -> str:
    def engine_cells(r, key):
        e = r[key]
        return [f"{100 * e['accuracy']:.2f} ({e['accuracy_delta_points']:+.2f})", f"{100 * e['agreement']:.1f}%",
                f"{e['mean_abs_delta_margin']:.3f}"]

    # "\|": a bar inside a Markdown table cell
    main = table(["model", "rows", "FP32 acc %", "FP32 mean \\|margin\\|", "pyibert acc % (Δ)", "agree",
                  "mean \\|Δ margin\\|", "ORT int8 acc % (Δ)", "agree", "mean \\|Δ margin\\|"],
                 [[r["model"], str(r["rows"]), f"{100 * r['fp32_accuracy']:.2f}", f"{r['fp32_mean_abs_margin']:.2f}",
                   *engine_cells(r, "pyibert"), *engine_cells(r, "ort_int8")] for r in results])

    def bucket(b):
        return "-" if b["agreement"] is None else f"{100 * b['agreement']:.1f}% ({b['rows']})"

    lengths = table(["model", "engine", *(f"{label} tokens" for _, _, label in BUCKETS)],
                    [[r["model"], engine, *(bucket(r[key]["agreement_by_tokens"][label]) for _, _, label in BUCKETS)]
                     for r in results for key, engine in (("pyibert", "pyibert"), ("ort_int8", "ORT int8"))])
    flip_rows = [[r["model"], engine, str(r[key]["flips"]), f"{r[key]['largest_flipped_fp32_margin']:.3f}",
                  str(r["fp32_near_ties"])]
                 for r in results if "flips" in r["pyibert"]   # the JSON of older runs has no flip counts
                 for key, engine in (("pyibert", "pyibert"), ("ort_int8", "ORT int8"))]
    flips = [] if not flip_rows else [
        "Rows whose label differs from FP32's, and how near a tie they were:\n\n"
        + table(["model", "engine", "flips", "largest \\|FP32 margin\\| flipped",
                 f"rows with \\|FP32 margin\\| < {NEAR_TIE}"], flip_rows)]
    notes = [f"{r['model']}: pyibert's tokenizer differs from Hugging Face's on {r['token_mismatches']} rows"
             for r in results if r["token_mismatches"]]
    return "\n\n".join([main, "Agreement with FP32 by token count (rows):\n\n" + lengths, *flips, *notes])


def checkpoint_dirs(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, Path]:
    """{model name: checkpoint dir} of --models (under --models-dir, or as --checkpoint NAME=DIR says) that
    exist; the missing ones are named on stderr."""
    unknown = [name for name in args.models if name not in MODEL_TASKS]
    if unknown:
        parser.error(f"unknown model {', '.join(unknown)}: choose from {', '.join(MODEL_TASKS)}")
    checkpoints = {name: args.models_dir / name for name in args.models}
    for item in args.checkpoint:
        name, _, path = item.partition("=")
        if name not in MODEL_TASKS or not path:
            parser.error(f"--checkpoint {item!r}: expected NAME=DIR with NAME one of {', '.join(MODEL_TASKS)}")
        checkpoints[name] = Path(path)
    missing = [f"{name} ({path})" for name, path in checkpoints.items() if not is_made(path)]
    if missing:
        print(f"skipped, no checkpoint: {', '.join(missing)} (make them with bench/eval_models.py)", file=sys.stderr)
    return {name: path for name, path in checkpoints.items() if is_made(path)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR,
                        help=f"where the checkpoints are, one folder per model (default: {MODELS_DIR})")
    parser.add_argument("--models", type=lambda text: csv_list(text), default=list(MODEL_TASKS),
                        help=f"comma-separated, of {', '.join(MODEL_TASKS)} (default: all that exist)")
    parser.add_argument("--checkpoint", action="append", default=[], metavar="NAME=DIR",
                        help="take model NAME from DIR instead of --models-dir/NAME (repeatable)")
    parser.add_argument("--data-dir", type=Path, default=DATA, help=f"shared data (default: {DATA})")
    parser.add_argument("--limit", type=int, help="evaluate only the first N rows of each model's set")
    parser.add_argument("--json", action="store_true", help="print one JSON list instead of the tables")
    parser.add_argument("--show", type=Path, nargs="+", metavar="JSON",
                        help="evaluate nothing: print the tables of earlier --json runs (e.g. models run in parallel)")
    args = parser.parse_args()
    if args.show:
        print(tables([result for path in args.show for result in json.loads(path.read_text(encoding="utf-8"))]))
        return 0
    checkpoints = checkpoint_dirs(parser, args)
    results = [evaluate(name, path, args.data_dir, args.limit) for name, path in checkpoints.items()]
    if not results:
        parser.error("no model to evaluate")
    print(json.dumps(results, indent=2) if args.json else tables(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
