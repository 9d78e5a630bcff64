#!/usr/bin/env python3
"""Q-BERT on the integer runtime: accuracy against file size, and the allocation ablation, per model.

    python3 bench/qbert_sweep.py [--models-dir /work/evalmodels2] [--models minilm-sst2-shipped,sst2-seed1,agnews]
        [--checkpoint NAME=DIR] [--uniform 6/0/8,4/0/4,4/32/4,3/32/4,2/32/4] [--ratios 7,8,10,13]
        [--ablation 7,8] [--random-seeds 3] [--sensitivity gauss-newton] [--hessian-samples 64] [--group-size 0]
        [--sensitivities-from EARLIER.json] [--limit N] [--json OUT]
    python3 bench/qbert_sweep.py --show OUT.json [MORE.json ...]

For each evaluation model of bench/eval_models.py (calibration: the first training rows of its task
with their labels, as many as the converter's token budget takes; evaluation: its held-out rows) it
converts the checkpoint in this process with pyibert's converter into one .ibert file per row below,
runs each through libibert (the installed pyibert's, or PYIBERT_LIBRARY) and prints accuracy (Δ in
points against FP32 in torch on the same rows), label agreement with FP32 and mean |Δ margin|
(bench/accuracy.py's measures), bytes and the FP32 checkpoint's size over the file's:

  int8              every weight int8 (the format-version-2 model)
  uniform B/G/E     every encoder linear at B bits in groups of G inputs (0: one scale per row), word
                    embeddings at E bits
  hessian R×        --max-size FP32/R: widths by the Hessian sensitivity (--sensitivity), exact allocation,
                    low-bit layers in groups of --group-size inputs
  hessian = B/G/E   the same at the byte size of that uniform row (Hessian against uniform at equal size)
and at each --ablation ratio, at the same byte budget with the same allocator:
  flat R×           every encoder linear with the same sensitivity, the mean of the measured ones (least
                    total weight error)
  random R× sN      the encoder linears' measured sensitivities shuffled (seed N)
  inverted R×       the most sensitive linear gets the least sensitive one's score, and so on
(the word embeddings keep their own sensitivity in all of them).

The Hessian is measured once per model (its time is printed: the `--max-size` conversion time; or taken
from an earlier run's --json with --sensitivities-from), and the
activation ranges once per model too: they depend on the float model and the calibration texts only,
not on the weight widths. Converted files are left under build/qbert_sweep/NAME/.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from accuracy import BATCH, Engine, MODEL_TASKS, by_length, checkpoint_dirs, margins, run_batched
from common import csv_list, table
from eval_models import DATA, TASKS, write_tsv
from pyibert.qbert.sensitivity import METHODS

os.environ.setdefault("HF_HUB_OFFLINE", "1")

WORK = Path(__file__).resolve().parent.parent / "build" / "qbert_sweep"
DEFAULT_MODELS = ["minilm-sst2-shipped", "sst2-seed1", "agnews"]


def ratio_list(text: str) -> list[float]:
    """"7,8" → [7.0, 8.0]; "none" → []."""
    return [] if text.strip() == "none" else csv_list(text, float)


def uniform_spec(text: str) -> tuple[int, int, int]:
    """"4/32/4" → (weight bits, group size, embedding bits)."""
    try:
        bits, group, embedding = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected BITS/GROUP/EMBEDDING_BITS, e.g. 4/32/4, not {text!r}") from None
    return bits, group, embedding


def reused_sensitivities(result: dict) -> tuple[dict, dict]:
    """(what BudgetOptions.sensitivities takes, one score per layer) from an earlier --json result:
    JSON made the `gauss-newton` forms' widths strings."""
    sensitivities = {name: {int(bits): form for bits, form in value.items()} if isinstance(value, dict) else value
                     for name, value in result["sensitivities"].items()}
    return sensitivities, result.get("scores") or result["sensitivities"]


def ablation_orders(measured: dict[str, float], seeds: int) -> dict[str, dict[str, float]]:
    """The sensitivities of the ablation rows: flat (every linear at the mean of the measured scores, so
    the word embeddings' own score weighs as much against them as in the measured order), shuffled and
    inverted over the encoder linears."""
    linears = sorted((name for name in measured if name.startswith("blk.")), key=measured.__getitem__)
    values = [measured[name] for name in linears]
    orders = {"flat": {name: float(np.mean(values)) for name in linears}}
    for seed in range(seeds):
        shuffled = np.random.default_rng(seed).permutation(values)
        orders[f"random s{seed}"] = dict(zip(linears, map(float, shuffled)))
    orders["inverted"] = dict(zip(linears, reversed(values)))
    return {label: {**measured, **scores} for label, scores in orders.items()}


class Sweep:
    """One model's conversions: the converter with its activation ranges measured once."""

    def __init__(self, name: str, checkpoint: Path, data_dir: Path, limit: int | None):
        from pyibert.convert import pipeline

        self.name, self.checkpoint = name, checkpoint
        self.task = TASKS[MODEL_TASKS[name]]
        rows = self.task.evaluation(data_dir)[:limit]
        self.texts, self.truth = [text for text, _ in rows], np.array([label for _, label in rows])
        self.work = WORK / name
        self.work.mkdir(parents=True, exist_ok=True)
        self.calibration = self.work / "calibration.tsv"
        write_tsv(self.calibration, self.task.calibration(data_dir), self.task.labels)
        self.fp32_bytes = (checkpoint / "model.safetensors").stat().st_size
        measure, cache = pipeline._activation_ranges, {}

        def ranges_once(*args):  # the same checkpoint and calibration every time in this sweep
            if not cache:
                cache["ranges"] = measure(*args)
            return cache["ranges"]
        pipeline._activation_ranges = ranges_once
        self._restore = lambda: setattr(pipeline, "_activation_ranges", measure)
        self.fp32 = self._fp32_logits()
        self.fp32_margin = margins(self.fp32.logits, self.fp32.labels)
        self.fp32_accuracy = float((self.fp32.labels == self.truth).mean())
        self.sensitivities: dict[str, float | dict[int, float]] | None = None
        self.scores: dict[str, float] | None = None     # one per layer (the ablation's)

    def _fp32_logits(self) -> Engine:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(self.checkpoint)
        model = AutoModelForSequenceClassification.from_pretrained(self.checkpoint).float().eval()
        _, order = by_length(self.texts, tokenizer)
        print(f"{self.name}: FP32 on {len(self.texts)} rows", file=sys.stderr, flush=True)
        with torch.no_grad():
            return Engine(run_batched(self.texts, order, tokenizer, lambda ids, mask: model(
                torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).logits.numpy()))

    def convert(self, label: str, plan=None, budget=None) -> dict:
        """Convert under `plan` or `budget` and measure the file; a budget the model cannot reach is a row
        with the converter's message."""
        from pyibert.convert import ConversionError, convert_checkpoint
        from pyibert.convert.lowbit import UNIFORM_INT8

        out = self.work / (label.replace(" ", "_").replace("/", "-").replace("×", "x") + ".ibert")
        print(f"{self.name}: {label}", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            summary = convert_checkpoint(self.checkpoint, out, calibration=self.calibration, text_column="sentence",
                                         progress=False, plan=plan or UNIFORM_INT8, budget=budget)
        except ConversionError as error:
            return {"label": label, "error": str(error)}
        seconds = time.perf_counter() - started
        if budget is not None and self.sensitivities is None:
            # `gauss-newton`: the forms of every width are what a later budget reuses, the curvature along
            # the 4-bit error what the ablation orders shuffle
            self.sensitivities = {row["name"]: row["forms"] or row["sensitivity"] for row in summary.layers}
            self.scores = {row["name"]: row["sensitivity"] for row in summary.layers}
        return {"label": label, "seconds": seconds, **self.measure(out), "weight_widths": summary.weight_widths,
                "embedding_bits": summary.embedding_bits}

    def measure(self, path: Path) -> dict:
        from pyibert import Model

        with Model(path) as model:
            logits = np.concatenate([model.logits(self.texts[i:i + BATCH]) for i in range(0, len(self.texts), BATCH)])
        engine = Engine(logits.astype(np.float64))
        accuracy = float((engine.labels == self.truth).mean())
        return {"bytes": path.stat().st_size, "ratio": self.fp32_bytes / path.stat().st_size,
                "accuracy": accuracy, "delta_points": 100.0 * (accuracy - self.fp32_accuracy),
                "agreement": float((engine.labels == self.fp32.labels).mean()),
                "mean_abs_delta_margin": float(np.abs(margins(engine.logits, self.fp32.labels)
                                                      - self.fp32_margin).mean())}

    def close(self) -> None:
        self._restore()


def sweep(name: str, checkpoint: Path, args: argparse.Namespace) -> dict:
    from pyibert.convert.budget import BudgetOptions
    from pyibert.convert.lowbit import LowBitPlan

    run = Sweep(name, checkpoint, args.data_dir, args.limit)
    run.sensitivities, run.scores = args.sensitivities_from.get(name, (None, None))
    grouped = LowBitPlan(group_size=args.group_size)
    budget = lambda size, scores: BudgetOptions(int(size), args.sensitivity, args.hessian_samples, label_column="label",
                                                sensitivities=scores)
    try:
        rows = [run.convert("int8")]
        for bits, group, embedding in args.uniform:
            rows.append(run.convert(f"uniform {bits}/{group}/{embedding}", plan=LowBitPlan(bits, embedding, group)))
        for ratio in args.ratios:
            rows.append(run.convert(f"hessian {ratio:g}×", plan=grouped,
                                    budget=budget(run.fp32_bytes / ratio, run.sensitivities)))
        if run.sensitivities is not None:
            for uniform in [row for row in rows if row["label"].startswith("uniform") and "bytes" in row]:
                rows.append(run.convert(f"hessian = {uniform['label'].split()[1]}", plan=grouped,
                                        budget=budget(uniform["bytes"], run.sensitivities)))
            for ratio in args.ablation:
                for label, scores in ablation_orders(run.scores, args.random_seeds).items():
                    rows.append(run.convert(f"{label} {ratio:g}×", plan=grouped,
                                            budget=budget(run.fp32_bytes / ratio, scores)))
        return {"model": name, "rows": len(run.texts), "fp32_accuracy": run.fp32_accuracy, "fp32_bytes": run.fp32_bytes,
                "sensitivity": args.sensitivity, "sensitivities": run.sensitivities, "scores": run.scores, "files": rows}
    finally:
        run.close()


def tables(results: list[dict]) -> str:
    parts = []
    for result in results:
        rows = []
        for row in result["files"]:
            if "error" in row:
                rows.append([row["label"], "—", "—", "—", "—", "—", row["error"][:60]])
                continue
            widths = "+".join(f"{n}×{b}" for b, n in sorted(row["weight_widths"].items(), key=lambda kv: int(kv[0])))
            rows.append([row["label"], f"{row['bytes']:,}", f"{row['ratio']:.2f}×", f"{100 * row['accuracy']:.2f}",
                         f"{row['delta_points']:+.2f}", f"{100 * row['agreement']:.1f}",
                         f"{row['mean_abs_delta_margin']:.3f}  {widths} e{row['embedding_bits']}  {row['seconds']:.0f} s"])
        parts.append(f"{result['model']}: {result['rows']} rows, FP32 {100 * result['fp32_accuracy']:.2f}%, "
                     f"checkpoint {result['fp32_bytes']:,} B, sensitivity {result['sensitivity']}\n" +
                     table(["file", "bytes", "FP32/file", "acc %", "Δ pts", "agree %",
                            "mean |Δ margin|, widths, convert time"], rows))
    return "\n\n".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models-dir", type=Path, default=Path("/work/evalmodels2"),
                        help="where the checkpoints are, one folder per model (default: %(default)s)")
    parser.add_argument("--models", type=csv_list, default=DEFAULT_MODELS,
                        help=f"comma-separated, of {', '.join(MODEL_TASKS)} (default: {','.join(DEFAULT_MODELS)})")
    parser.add_argument("--checkpoint", action="append", default=[], metavar="NAME=DIR",
                        help="take model NAME from DIR instead of --models-dir/NAME (repeatable)")
    parser.add_argument("--data-dir", type=Path, default=DATA, help=f"shared data (default: {DATA})")
    parser.add_argument("--uniform", type=lambda t: csv_list(t, uniform_spec),
                        default=[(6, 0, 8), (4, 0, 4), (4, 32, 4), (3, 32, 4), (2, 32, 4)],
                        help="uniform rows, BITS/GROUP/EMBEDDING_BITS (default: 6/0/8,4/0/4,4/32/4,3/32/4,2/32/4)")
    parser.add_argument("--ratios", type=ratio_list, default=[7, 8, 10, 13],
                        help="--max-size rows: FP32 size over these, or none (default: 7,8,10,13)")
    parser.add_argument("--ablation", type=ratio_list, default=[7],
                        help="ratios of the flat/random/inverted rows, or none (default: 7)")
    parser.add_argument("--random-seeds", type=int, default=3, help="random orders per ablation ratio (default: 3)")
    parser.add_argument("--sensitivity", choices=METHODS, default="gauss-newton",
                        help="eigen, trace or gauss-newton (pyibert/qbert/sensitivity.py; default: %(default)s)")
    parser.add_argument("--hessian-samples", type=int, default=64,
                        help="calibration texts the Hessian is measured on (default: %(default)s)")
    parser.add_argument("--group-size", type=int, choices=(0, 32, 64, 128), default=0,
                        help="group size of the low-bit layers of the hessian and ablation rows (default: 0)")
    parser.add_argument("--sensitivities-from", type=Path, metavar="JSON",
                        help="take each model's Hessian sensitivities from an earlier --json run instead of measuring")
    parser.add_argument("--limit", type=int, help="evaluate only the first N rows of each model's set")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--show", type=Path, nargs="+", metavar="JSON", help="measure nothing: print earlier --json")
    args = parser.parse_args()
    if args.show:
        print(tables([result for path in args.show for result in json.loads(path.read_text(encoding="utf-8"))]))
        return 0
    earlier = json.loads(args.sensitivities_from.read_text(encoding="utf-8")) if args.sensitivities_from else []
    args.sensitivities_from = {result["model"]: reused_sensitivities(result) for result in earlier}
    results = []
    for name, checkpoint in checkpoint_dirs(parser, args).items():
        results.append(sweep(name, checkpoint, args))
        if args.json:  # after every model: a long sweep keeps what it measured
            args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
        print(tables(results[-1:]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
