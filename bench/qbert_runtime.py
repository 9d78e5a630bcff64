"""Q-BERT files on the integer runtime: accuracy vs file size of converted .ibert files.

    python3 bench/qbert_runtime.py --eval /work/shared/data/sst2/dev.tsv \
        --fp32 /work/evalmodels/minilm-sst2-shipped/model.safetensors models/minilm-sst2.ibert build/m/*.ibert

Runs every file through the installed pyibert (libibert, its kernels for the file's widths) on the
evaluation rows (a .tsv with `sentence` and `label` columns, labels by name or index) and prints one
row per file: its low-bit widths (from the file), size, the FP32 checkpoint's size over it, accuracy.
Use bench/qbert.py for the float (fake-quant) exploration before converting.
"""
from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np

from pyibert import Model
from pyibert.golden.model_file import read_model_file


def read_rows(path: Path) -> tuple[list[str], list[str]]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [r["sentence"] for r in rows], [r["label"] for r in rows]


def widths(path: Path) -> str:
    """The file's widths, e.g. "36x4 e4" (36 encoder linear layers at 4 bits, 4-bit word embeddings)."""
    model = read_model_file(path)
    linears = 6 * model.meta["num_layers"]
    counts = {8: linears - len(model.lowbit)}
    for layer in model.lowbit.values():
        counts[layer.bits] = counts.get(layer.bits, 0) + 1
    groups = sorted({layer.group_size for layer in model.lowbit.values()})
    weights = "+".join(f"{n}x{b}" for b, n in sorted(counts.items()) if n)
    embedding = 8 if model.embedding is None else model.embedding.bits
    return f"{weights} g{','.join(map(str, groups)) or '-'} e{embedding}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--eval", type=Path, required=True)
    parser.add_argument("--fp32", type=Path, required=True, help="the FP32 checkpoint's weights file")
    parser.add_argument("--limit", type=int, default=0, help="first N rows only (0: all)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args()
    texts, labels = read_rows(args.eval)
    if args.limit:
        texts, labels = texts[:args.limit], labels[:args.limit]
    fp32 = args.fp32.stat().st_size
    results = []
    print(f"{'file':<34} {'widths':<22} {'bytes':>10} {'FP32/x':>7} {'acc %':>6} {'s':>6}", flush=True)
    for path in args.files:
        started = time.time()
        with Model(path) as model:
            predicted = [row["label"] for row in model.classify(texts)]
            names = model.labels
        truth = [label if label in names else names[int(label)] for label in labels]
        accuracy = 100.0 * float(np.mean([p == t for p, t in zip(predicted, truth)]))
        size = path.stat().st_size
        row = {"file": str(path), "widths": widths(path), "bytes": size, "ratio": fp32 / size,
               "accuracy": accuracy, "rows": len(texts)}
        results.append(row)
        print(f"{path.name:<34} {row['widths']:<22} {size:>10} {fp32 / size:>7.2f} {accuracy:>6.2f} "
              f"{time.time() - started:>6.0f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
