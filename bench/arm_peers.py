#!/usr/bin/env python3
"""ONNX Runtime int8 against pyibert on emulated Raspberry Pi CPUs: instructions per inference, counted
in the same run, and whether their labels agree.

    python3 bench/arm_peers.py --checkpoint DIR [--cpus cortex-a72,cortex-a76] [--seq-lens 16,64,128]
                               [--sentences 40] [--json]

DIR is the FP32 Hugging Face checkpoint of the MiniLM SST-2 classifier the shipped model was converted
from (BertForSequenceClassification). The script
  1. makes an emulated Pi OS 64-bit userland (Debian bookworm arm64, Python 3.11) with the aarch64
     wheels of numpy and ONNX Runtime, cached under build/arm-userland/ (bench/arm_userland.py);
  2. exports DIR to ONNX FP32 and ONNX Runtime's dynamic int8 (quantize_dynamic), cached under
     build/arm-peers/ (bench/onnx_export.py);
  3. counts ONNX Runtime int8 under ../shared/tools/armcount with qemu's -cpu, batch 1, one thread, on
     the token ids of bench/arm_instructions.py's text cut to exactly L tokens: bench/ort_run.py with 1
     and 3 inferences in one process, (count(3) - count(1)) / 2, start-up and session creation cancelled;
  4. counts pyibert the same way (bench/arm_instructions.py, the kernel set the library picks);
  5. classifies the first --sentences sentences of SST-2's dev split with ONNX Runtime FP32 and int8
     under qemu (cortex-a76) and with pyibert on the host (its integers are the same on every kernel
     set, tests/c/test_kernel_paths.c), on the same token ids, and reports how many labels agree.
LiteRT is not counted: converting the model to .tflite needs litert-torch and ai-edge-quantizer (about
2 GB of installs); its aarch64 runtime would be ai-edge-litert, as tflite-runtime has no wheel for
Python 3.11, the Python of Pi OS bookworm.
Needs root for debootstrap (the first time), qemu-user, the aarch64 cross compiler (for pyibert), and
on the host pyibert installed (`pip install .`) with torch, transformers, onnx and onnxruntime (the
`bench` extra).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

import arm_instructions
from arm_userland import CORES, Userland
from common import csv_list, table
from onnx_export import onnx_models

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
K, N = 1, 2   # inferences of the short run, extra ones of the long run


def checkpoint_digest(checkpoint: Path) -> str:
    """Names the export cache after the checkpoint's contents."""
    digest = hashlib.sha256()
    for name in ("config.json", "model.safetensors", "pytorch_model.bin"):
        if (checkpoint / name).is_file():
            digest.update((checkpoint / name).read_bytes())
    return digest.hexdigest()[:12]


def write_inputs(path: Path, rows: list[list[int]]) -> Path:
    lengths = np.array([len(r) for r in rows], dtype=np.int64)
    ids = np.zeros((len(rows), int(lengths.max())), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, :len(row)] = row
    np.savez(path, ids=ids, lengths=lengths)
    return path


def guest_command(userland: Userland, model: Path, inputs: Path, repeat: int) -> list[str]:
    return [str(userland.python), str(HERE / "ort_run.py"), str(model), str(inputs), str(repeat)]


def count_ort(args, userland: Userland, model: Path, inputs: dict[int, Path]) -> list[dict]:
    env = dict(arm_instructions.armcount_env(args.armcount), **userland.environment())
    rows = []
    for cpu in args.cpus:
        for length in args.seq_lens:
            print(f"counting ONNX Runtime int8 on {cpu} L={length}", file=sys.stderr)
            counts = [arm_instructions.count(args.armcount, env, cpu, "", guest_command(
                userland, model, inputs[length], repeat), sysroot=userland.sysroot(cpu)) for repeat in (K, K + N)]
            rows.append({"engine": "ort-int8", "cpu": cpu, "seq_len": length,
                         **{key: (counts[1][key] - counts[0][key]) / N for key in counts[0]}})
    return rows


def count_pyibert(args) -> list[dict]:
    """pyibert's count per CPU and L with the kernel set the library picks there (the last, best, of
    the sets it offers)."""
    rows = []
    for cpu in args.cpus:
        target = arm_instructions.target_of(cpu)
        arm_instructions.build(target, target.build_dir(ROOT / "build"))
        cli = arm_instructions.programs(target, ROOT / "build")[0]
        chosen = arm_instructions.kernel_sets(cli, cpu)[-1]
        own = arm_instructions.measure(argparse.Namespace(
            cpus=[cpu], seq_lens=args.seq_lens, kernels=[chosen], repeats=[K, N], no_per_op=True,
            build_root=ROOT / "build", armcount=args.armcount))
        rows += [{"engine": f"pyibert ({row['kernels']})", **{k: v for k, v in row.items() if not k.startswith("vs_")}}
                 for row in own["inference"]]
    return rows


def guest_labels(userland: Userland, cpu: str, model: Path, inputs: Path) -> list[int]:
    done = subprocess.run(["qemu-aarch64", "-cpu", cpu, "-L", str(userland.sysroot(cpu)),
                           *guest_command(userland, model, inputs, 1)],
                          env=userland.environment(), capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"ONNX Runtime failed under qemu -cpu {cpu}:\n{done.stderr[-3000:]}")
    return [int(line) for line in done.stdout.split()]


def compare_labels(args, userland: Userland, models: dict[str, Path], work: Path) -> dict:
    """Labels of ONNX Runtime (FP32, int8; arm64 under qemu) and pyibert on the same token ids."""
    import pyibert

    with (args.shared_data / "sst2" / "dev.tsv").open(encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f][1:args.sentences + 1]
    texts, gold = [r[0] for r in rows], [int(r[1]) for r in rows]
    with pyibert.Model(arm_instructions.MODEL) as model:
        ids = model.tokenize(texts)
        ours = [int(np.argmax(row)) for row in model.logits(texts)]
    inputs = write_inputs(work / "sentences.npz", ids)
    result = {"sentences": len(texts), "cpu": "cortex-a76", "pyibert_correct": sum(a == b for a, b in zip(ours, gold))}
    for name, path in models.items():
        theirs = guest_labels(userland, "cortex-a76", path, inputs)
        result[f"{name}_agree"] = sum(a == b for a, b in zip(ours, theirs))
        result[f"{name}_correct"] = sum(a == b for a, b in zip(theirs, gold))
    return result


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True,
                        help="the FP32 Hugging Face checkpoint (BertForSequenceClassification) of the shipped model")
    parser.add_argument("--cpus", type=csv_list, default=list(CORES), help=f"of {', '.join(CORES)}")
    parser.add_argument("--seq-lens", type=lambda t: csv_list(t, int), default=[16, 64, 128])
    parser.add_argument("--sentences", type=int, default=40, help="SST-2 dev sentences of the label check (0: none)")
    parser.add_argument("--shared-data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--armcount", type=Path, default=ROOT.parent / "shared" / "tools" / "armcount" / "armcount")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    args = parser.parse_args(argv)
    unknown = set(args.cpus) - set(CORES)
    if unknown:
        parser.error(f"no /proc/cpuinfo for {', '.join(sorted(unknown))}; choose from {', '.join(CORES)}")
    if not (args.checkpoint / "config.json").is_file():
        parser.error(f"{args.checkpoint} is not a Hugging Face checkpoint (no config.json)")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    userland = Userland(ROOT / "build" / "arm-userland")
    userland.ensure([sys.executable, "-m", "pip"])
    work = ROOT / "build" / "arm-peers" / f"{args.checkpoint.name}-{checkpoint_digest(args.checkpoint)}"
    fp32, int8 = onnx_models(args.checkpoint, work)

    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(args.checkpoint)
    inputs = {length: write_inputs(work / f"ids-{length}.npz", [tokenizer(
        arm_instructions.TEXT, truncation=True, max_length=length)["input_ids"]]) for length in args.seq_lens}
    rows = count_ort(args, userland, int8, inputs) + count_pyibert(args)
    if not args.json:  # the counts first: the label check takes a while under qemu
        print_counts(rows)
    labels = compare_labels(args, userland, {"ort-fp32": fp32, "ort-int8": int8}, work) if args.sentences else None
    if args.json:
        print(json.dumps({"checkpoint": str(args.checkpoint), "repeats": {"k": K, "n": N}, "inference": rows,
                          "labels": labels}, indent=1))
    elif labels:
        n = labels["sentences"]
        print(f"\nLabels on the first {n} SST-2 dev sentences (ONNX Runtime on arm64 under qemu {labels['cpu']}): "
              f"ORT FP32 agrees with pyibert on {labels['ort-fp32_agree']}/{n}, ORT int8 on "
              f"{labels['ort-int8_agree']}/{n}; correct: pyibert {labels['pyibert_correct']}, ORT FP32 "
              f"{labels['ort-fp32_correct']}, ORT int8 {labels['ort-int8_correct']}")
    return 0


def print_counts(rows: list[dict]) -> None:
    ort = {(r["cpu"], r["seq_len"]): r["instructions"] for r in rows if r["engine"] == "ort-int8"}
    print(f"Per inference, batch 1, one thread: (count({K + N}) - count({K})) / {N}\n")
    print(table(["cpu", "L", "engine", "M instructions", "÷ ORT int8", "M SDOT"],
                [[r["cpu"], str(r["seq_len"]), r["engine"], f"{r['instructions'] / 1e6:.1f}",
                  f"{r['instructions'] / ort[(r['cpu'], r['seq_len'])]:.2f}", f"{r['dotprod'] / 1e6:.1f}"]
                 for r in sorted(rows, key=lambda r: (r["cpu"], r["seq_len"], r["engine"]))]), flush=True)


if __name__ == "__main__":
    sys.exit(main())
