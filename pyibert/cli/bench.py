"""`pyibert bench MODEL [--seq-lens 16,64,128] [--threads 1,2] [--runs N] [--warmup W] [--json]`:
forward-pass latency on this machine, batch 1, as percentiles per (sequence length, threads)."""
from __future__ import annotations

import json
import sys
import time

import numpy as np

PERCENTILES = (50, 90, 99)


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="measure forward-pass latency on this machine",
        description="Time forward passes of one sequence (batch 1) of each length with each thread count: "
        "W warm-up runs, then N timed ones. Prints p50, p90, p99 and mean in milliseconds. The token ids are "
        "fixed valid ids, so no tokenizer runs and the time is the forward pass alone.",
    )
    parser.add_argument("model", help="the .ibert model file")
    parser.add_argument("--seq-lens", type=_positive_list, default=[16, 64, 128], metavar="L,...",
                        help="sequence lengths in tokens (default 16,64,128)")
    parser.add_argument("--threads", type=_positive_list, default=[1, 2], metavar="T,...",
                        help="thread counts, pyibert.Model(threads=T) (default 1,2)")
    parser.add_argument("--runs", type=_positive, default=100, metavar="N", help="timed runs per case (default 100)")
    parser.add_argument("--warmup", type=_non_negative, default=5, metavar="W",
                        help="untimed runs before them (default 5)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def _integer(text: str, least: int, what: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"{value} is not {what}")
    return value


def _positive(text: str) -> int:
    return _integer(text, 1, "positive")


def _non_negative(text: str) -> int:
    return _integer(text, 0, "0 or more")


def _positive_list(text: str) -> list[int]:
    return [_positive(part.strip()) for part in text.split(",")]


def _token_ids(length: int, vocab_size: int) -> np.ndarray:
    """A fixed sequence of valid ids (spread over the vocabulary)."""
    return ((np.arange(length, dtype=np.int64) * 7919 + 1) % vocab_size).astype(np.int32)


class _Progress:
    """One self-overwriting status line on a terminal's stderr; silent elsewhere."""

    def __init__(self, total: int):
        self.total, self.done = total, 0
        self.enabled = sys.stderr.isatty()

    def step(self, label: str) -> None:
        self.done += 1
        if self.enabled and (self.done % 10 == 0 or self.done == self.total):
            print(f"\r{label}: {self.done}/{self.total} runs", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.enabled:
            print("\r\033[K", end="", file=sys.stderr, flush=True)


def measure(model, length: int, runs: int, warmup: int, progress: _Progress, label: str) -> dict:
    ids = _token_ids(length, model.vocab_size)
    for _ in range(warmup):
        model.forward(ids)
        progress.step(label)
    times = np.empty(runs)
    for i in range(runs):
        start = time.perf_counter()
        model.forward(ids)
        times[i] = time.perf_counter() - start
        progress.step(label)
    stats = {f"p{p}_ms": float(np.percentile(times, p)) * 1e3 for p in PERCENTILES}
    stats["mean_ms"] = float(times.mean()) * 1e3
    return stats


def run(args) -> int:
    from .._native import library_path
    from ..model import Model

    results, kernels = [], None
    progress = _Progress(len(args.threads) * len(args.seq_lens) * (args.runs + args.warmup))
    try:
        for threads in args.threads:
            with Model(args.model, threads=threads) as model:
                too_long = [length for length in args.seq_lens if length > model.max_tokens]
                if too_long:
                    raise ValueError(f"--seq-lens {too_long[0]} is more than the {model.max_tokens} tokens "
                                     f"{args.model} takes")
                kernels = model.kernels
                for length in args.seq_lens:
                    label = f"L={length} threads={threads}"
                    stats = measure(model, length, args.runs, args.warmup, progress, label)
                    results.append({"seq_len": length, "threads": threads, **stats})
    finally:
        progress.close()

    report = {"model": args.model, "library": str(library_path), "kernels": kernels, "runs": args.runs,
              "warmup": args.warmup, "results": results}
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{args.model}: batch 1, {args.runs} runs after {args.warmup} warm-up, kernels {kernels}")
    print(f"{'L':>5} {'threads':>7} {'p50 ms':>9} {'p90 ms':>9} {'p99 ms':>9} {'mean ms':>9}")
    for r in results:
        print(f"{r['seq_len']:>5} {r['threads']:>7} {r['p50_ms']:>9.3f} {r['p90_ms']:>9.3f} {r['p99_ms']:>9.3f} "
              f"{r['mean_ms']:>9.3f}")
    return 0
