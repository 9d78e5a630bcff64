"""Q-BERT measurements, first version: weights fake-quantized in float (no low-bit integer runtime yet),
activations float, accuracy vs .ibert file size on a classifier.

    python3 bench/qbert.py --model /work/evalmodels/minilm-sst2-shipped \
        --eval /work/evalmodels/sst2-seed1/eval.tsv --calibration /work/evalmodels/sst2-seed1/calibration.tsv

Prints one row per configuration as it finishes: uniform widths × group sizes with nearest and GPTQ
rounding, then the size-budgeted allocation (Hessian vs random vs inverted sensitivity) at given
reductions against the FP32 checkpoint. Sizes are the file the converter would write: the fixed parts
measured from models/minilm-sst2.ibert plus the packed weights (pyibert/qbert/sizes.py).
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from pyibert.qbert.allocate import Item, allocate, total_bytes
from pyibert.qbert.gptq import quantize_gptq, second_moment
from pyibert.qbert.groupwise import quantize_embedding, quantize_nearest
from pyibert.qbert.sensitivity import encoder_linears, hessian_sensitivity, make_batches
from pyibert.qbert.sizes import FileLayout, embedding_bytes, linear_bytes

REPO = Path(__file__).resolve().parents[1]
UNIFORM = [(4, 0), (3, 32), (3, 0), (4, 32), (8, 0), (6, 0), (3, 64), (4, 64), (3, 128), (4, 128)]
GPTQ = [(3, 32), (4, 0), (3, 64)]
ALLOC_WIDTHS = (8, 6, 4, 3, 2)


def read_rows(path: Path, label2id: dict) -> tuple[list[str], list[int]]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [r["sentence"] for r in rows], [label2id[r["label"]] if r["label"] in label2id else int(r["label"])
                                             for r in rows]


class Bench:
    def __init__(self, args):
        self.model = AutoModelForSequenceClassification.from_pretrained(
            args.model, attn_implementation="eager").eval()
        self.tokenizer = AutoTokenizer.from_pretrained(args.model)
        label2id = self.model.config.label2id
        texts, self.labels = read_rows(args.eval, label2id)
        self.eval_batches = make_batches(self.tokenizer, texts, None, 32)
        cal_texts, cal_labels = read_rows(args.calibration, label2id)
        self.calibration = (cal_texts[:args.samples], cal_labels[:args.samples])
        self.linears = encoder_linears(self.model)
        self.float_weights = {n: l.weight.detach().double().numpy().copy() for n, l in self.linears.items()}
        self.embedding = self.model.base_model.embeddings.word_embeddings
        self.float_embedding = self.embedding.weight.detach().double().numpy().copy()
        vocab, hidden = self.float_embedding.shape
        shapes = [w.shape for w in self.float_weights.values()]
        self.layout = FileLayout.from_ibert(str(args.ibert), shapes, vocab, hidden)
        self.fp32_bytes = os.path.getsize(Path(args.model) / "model.safetensors")
        self.hessians = None
        self.quantized = {}     # (name, bits, group size, rounding) → dequantized weights, reused across rows

    def accuracy(self) -> float:
        correct, start = 0, 0
        with torch.no_grad():
            for inputs, _ in self.eval_batches:
                pred = self.model(**inputs).logits.argmax(-1).numpy()
                correct += int((pred == np.array(self.labels[start:start + len(pred)])).sum())
                start += len(pred)
        return 100.0 * correct / start

    def input_hessians(self) -> dict[str, np.ndarray]:
        """H = 2XᵀX/rows of every linear's inputs on the calibration rows, from the float model."""
        if self.hessians is None:
            inputs = {n: [] for n in self.linears}
            real_tokens = None   # padding positions are not layer inputs the model ever uses

            def keep(name):
                return lambda module, x, y: inputs[name].append(x[0].reshape(-1, x[0].shape[-1])[real_tokens])
            hooks = [layer.register_forward_hook(keep(n)) for n, layer in self.linears.items()]
            with torch.no_grad():
                for batch, _ in make_batches(self.tokenizer, self.calibration[0], None, 32):
                    real_tokens = batch["attention_mask"].reshape(-1).bool()
                    self.model(**batch)
            for h in hooks:
                h.remove()
            self.hessians = {n: second_moment(torch.cat(x).double().numpy()) for n, x in inputs.items()}
        return self.hessians

    def set_weights(self, widths: dict[str, int], group_size: int, rounding: str, embedding_bits: int) -> int:
        """Fake-quantize every encoder linear at widths[name] and the word embeddings; the file bytes."""
        size = self.layout.fixed_bytes
        for name, layer in self.linears.items():
            w = self.float_weights[name]
            bits = widths[name]
            groups = 0 if bits == 8 else group_size
            layer.weight.data = torch.from_numpy(self.dequantized(name, bits, groups, rounding)).float()
            size += linear_bytes(*w.shape, bits, groups)
        table = self.float_embedding
        key = ("word embeddings", embedding_bits)
        if key not in self.quantized:
            if embedding_bits == 8:
                # Today's format: int8 with one scale for the table.
                scale = np.abs(table).max() / 127
                self.quantized[key] = np.clip(np.rint(table / scale), -127, 127) * scale
            else:
                self.quantized[key] = quantize_embedding(table, embedding_bits).dequantize()
        self.embedding.weight.data = torch.from_numpy(self.quantized[key]).float()
        return size + embedding_bytes(*table.shape, embedding_bits)

    def dequantized(self, name: str, bits: int, group_size: int, rounding: str) -> np.ndarray:
        key = (name, bits, group_size, rounding if bits < 8 else "nearest")
        if key not in self.quantized:
            w = self.float_weights[name]
            if key[3] == "gptq":
                q = quantize_gptq(w, self.input_hessians()[name], bits, group_size)
            else:
                q = quantize_nearest(w, bits, group_size)
            self.quantized[key] = q.dequantize()
        return self.quantized[key]

    def row(self, label: str, size: int, fp32: float, started: float) -> None:
        acc = self.accuracy()
        print(f"| {label} | {size / 1e6:.2f} | {self.fp32_bytes / size:.2f}x | {acc:.2f} | {acc - fp32:+.2f} | "
              f"{time.time() - started:.0f} s |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--eval", type=Path, required=True)
    parser.add_argument("--calibration", type=Path, required=True)
    parser.add_argument("--ibert", type=Path, default=REPO / "models" / "minilm-sst2.ibert",
                        help="a converted int8 file of the same architecture, for the fixed bytes")
    parser.add_argument("--samples", type=int, default=64, help="calibration rows for GPTQ and the Hessian")
    parser.add_argument("--embedding-bits", type=int, default=4)
    parser.add_argument("--parts", default="uniform,gptq,alloc")
    parser.add_argument("--sensitivity", choices=["eigen", "trace"], default="trace")
    parser.add_argument("--iterations", type=int, default=8)
    parser.add_argument("--alloc-group-size", type=int, default=32)
    parser.add_argument("--reductions", default="7,8,10,13")
    args = parser.parse_args()
    torch.set_num_threads(2)
    bench = Bench(args)
    parts = args.parts.split(",")
    start = time.time()
    fp32 = bench.accuracy()
    print(f"FP32 {args.model.name}: {fp32:.2f}% on {len(bench.labels)} rows; checkpoint {bench.fp32_bytes} B; "
          f"fixed file bytes {bench.layout.fixed_bytes}", flush=True)
    print("| weights / group / rounding / embeddings | MB | vs FP32 | acc % | Δ | time |\n|---|---|---|---|---|---|")
    eb = args.embedding_bits
    if "uniform" in parts:
        for bits, group in UNIFORM:
            size = bench.set_weights(dict.fromkeys(bench.linears, bits), group, "nearest", eb)
            bench.row(f"uniform {bits}-bit / g{group} / nearest / emb {eb}", size, fp32, start)
    if "gptq" in parts:
        for bits, group in GPTQ:
            size = bench.set_weights(dict.fromkeys(bench.linears, bits), group, "gptq", eb)
            bench.row(f"uniform {bits}-bit / g{group} / gptq / emb {eb}", size, fp32, start)
    if "alloc" in parts:
        batches = make_batches(bench.tokenizer, *bench.calibration, batch_size=max(1, args.samples // 2))
        t0 = time.time()
        sens = hessian_sensitivity(bench.model, batches, args.sensitivity, args.iterations)
        print(f"sensitivity ({args.sensitivity}, {args.samples} samples, {args.iterations} iterations): "
              f"{time.time() - t0:.0f} s; " + ", ".join(f"{s:.3g}" for s in sens.values()), flush=True)
        group = args.alloc_group_size
        errors = {n: [((bench.dequantized(n, b, 0 if b == 8 else group, "nearest") - w) ** 2).sum()
                      for b in ALLOC_WIDTHS] for n, w in bench.float_weights.items()}
        rng = np.random.default_rng(0)
        # random: the same scores shuffled over layers; inverted: the most sensitive layer gets the
        # least sensitive layer's score and so on.
        # A negative estimate (a noisy Hutchinson trace, or a saddle) counts as 0 sensitivity, not as a
        # reward for error.
        ranked, values = sorted(sens, key=sens.get), sorted(sens.values())
        orders = {"hessian": sens,
                  "random": dict(zip(sens, rng.permutation(list(sens.values())))),
                  "inverted": {name: values[-1 - i] for i, name in enumerate(ranked)}}
        emb = embedding_bytes(*bench.float_embedding.shape, eb)
        for reduction in [float(r) for r in args.reductions.split(",")]:
            budget = int(bench.fp32_bytes / reduction)
            for kind, scores in orders.items():
                items = [Item(n, ALLOC_WIDTHS, tuple(linear_bytes(*bench.float_weights[n].shape, b,
                                                                  0 if b == 8 else group) for b in ALLOC_WIDTHS),
                              tuple(max(scores[n], 0.0) * e for e in errors[n])) for n in bench.linears]
                try:
                    chosen = allocate(items, budget, bench.layout.fixed_bytes + emb)
                except ValueError as error:
                    print(f"{reduction}x {kind}: {error}", flush=True)
                    break
                size = bench.set_weights(chosen, group, "nearest", eb)
                mean_bits = np.mean([chosen[n] for n in bench.linears])
                bench.row(f"{reduction:g}x {kind} (mean {mean_bits:.2f} bits) / g{group} / nearest / emb {eb}",
                          size, fp32, start)
                assert size == total_bytes(items, chosen, bench.layout.fixed_bytes + emb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
