#!/usr/bin/env python3
"""ONNX Runtime int8 and LiteRT int8 against pyibert on emulated Raspberry Pi CPUs: instructions per
inference, counted in the same run, and whether their labels agree.

    python3 bench/arm_peers.py --checkpoint DIR [--cpus cortex-a72,cortex-a76] [--seq-lens 16,64,128]
                               [--engines pyibert,ort,litert] [--sentences 40] [--json]

DIR is the FP32 Hugging Face checkpoint of the MiniLM SST-2 classifier the shipped model was converted
from (BertForSequenceClassification). The script
  1. makes an emulated Pi OS 64-bit userland (Debian bookworm arm64, Python 3.11) with the aarch64
     wheels of numpy, ONNX Runtime and LiteRT (ai-edge-litert 1.4.0), cached under build/arm-userland/
     (bench/arm_userland.py);
  2. exports DIR to ONNX FP32 and ONNX Runtime's dynamic int8 (quantize_dynamic), cached under
     build/arm-peers/ (bench/onnx_export.py), and to .tflite FP32 and dynamic-range int8
     (ai-edge-quantizer's dynamic_wi8_afp32), one file per length, in a venv of their own made under
     build/tflite-venv/ (bench/tflite_export.py);
  3. counts ONNX Runtime int8 and LiteRT int8 under ../shared/tools/armcount with qemu's -cpu, batch 1,
     one thread, on the token ids of bench/arm_instructions.py's text cut to exactly L tokens:
     bench/ort_run.py or bench/litert_run.py with 1 and 3 inferences in one process,
     (count(3) - count(1)) / 2, start-up and model loading cancelled;
  4. counts pyibert the same way (bench/arm_instructions.py, the kernel set the library picks);
  5. classifies the first --sentences sentences of SST-2's dev split with the peers' FP32 and int8 models
     under qemu (cortex-a76; LiteRT with the smallest-L file that holds them, padded and masked) and
     with pyibert on the host (its integers are the same on every kernel set,
     tests/c/test_kernel_paths.c), on the same token ids, and reports how many labels agree.
--engines picks what is counted and checked (all three by default).
Needs root for debootstrap (the first time), qemu-user, the aarch64 cross compiler (for pyibert), and
on the host pyibert installed (`pip install .`) with torch, transformers, onnx and onnxruntime (the
`bench` extra); the .tflite venv (about 2 GB: torch CPU, litert-torch, ai-edge-quantizer) is made the
first time LiteRT is asked for.
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
ENGINES = ["pyibert", "ort", "litert"]
RUNNERS = {"ort": HERE / "ort_run.py", "litert": HERE / "litert_run.py"}
PEER_NAMES = {"ort": "ONNX Runtime", "litert": "LiteRT"}
# The .tflite converter and quantizer, pinned; torch must be the CPU build (PyPI's default pulls CUDA).
TFLITE_TOOLS = ["torch==2.13.0+cpu", "litert-torch==0.10.0", "ai-edge-quantizer==0.10.0", "transformers", "safetensors"]


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


def tflite_models(checkpoint: Path, directory: Path, lengths: list[int]) -> dict[int, tuple[Path, Path]]:
    """(FP32, int8) .tflite files of `checkpoint` per length, exported in their own venv when missing."""
    models = {length: (directory / f"minilm-cls-fp32-{length}.tflite", directory / f"minilm-cls-int8-{length}.tflite")
              for length in lengths}
    missing = [str(length) for length, pair in models.items() if not all(path.is_file() for path in pair)]
    if missing:
        python = tflite_venv(ROOT / "build" / "tflite-venv")
        subprocess.run([str(python), str(HERE / "tflite_export.py"), str(checkpoint), str(directory), *missing],
                       check=True)
    return models


def tflite_venv(venv: Path) -> Path:
    """A venv with the .tflite converter and quantizer, apart from the project's environment."""
    python = venv / "bin" / "python"
    marker = venv / ".complete"
    if not marker.is_file() or marker.read_text() != "\n".join(TFLITE_TOOLS) + "\n":
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *TFLITE_TOOLS], check=True)
        marker.write_text("\n".join(TFLITE_TOOLS) + "\n")
    return python


def guest_command(userland: Userland, engine: str, model: Path, inputs: Path, repeat: int) -> list[str]:
    return [str(userland.python), str(RUNNERS[engine]), str(model), str(inputs), str(repeat)]


def count_peer(args, userland: Userland, engine: str, models: dict[int, Path], inputs: dict[int, Path]) -> list[dict]:
    """A peer's int8 model per CPU and L, models[L] being the file that runs L tokens."""
    env = dict(arm_instructions.armcount_env(args.armcount), **userland.environment())
    rows = []
    for cpu in args.cpus:
        for length in args.seq_lens:
            print(f"counting {PEER_NAMES[engine]} int8 on {cpu} L={length}", file=sys.stderr)
            counts = [arm_instructions.count(args.armcount, env, cpu, "", guest_command(
                userland, engine, models[length], inputs[length], repeat), sysroot=userland.sysroot(cpu))
                for repeat in (K, K + N)]
            rows.append({"engine": f"{engine}-int8", "cpu": cpu, "seq_len": length,
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


def guest_labels(userland: Userland, cpu: str, engine: str, model: Path, inputs: Path) -> list[int]:
    done = subprocess.run(["qemu-aarch64", "-cpu", cpu, "-L", str(userland.sysroot(cpu)),
                           *guest_command(userland, engine, model, inputs, 1)],
                          env=userland.environment(), capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{PEER_NAMES[engine]} failed under qemu -cpu {cpu}:\n{done.stderr[-3000:]}")
    return [int(line) for line in done.stdout.split()]


def compare_labels(args, userland: Userland, models: dict[str, dict[int, Path]], work: Path) -> dict:
    """Labels of the peers' models (named ENGINE-KIND, {L: file}; arm64 under qemu) and pyibert on the same
    token ids. Each peer runs the file of the smallest L that holds the longest sentence: LiteRT's are
    static, shorter sentences are padded and masked there, and padding costs emulated time."""
    import pyibert

    with (args.shared_data / "sst2" / "dev.tsv").open(encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f][1:args.sentences + 1]
    texts, gold = [r[0] for r in rows], [int(r[1]) for r in rows]
    with pyibert.Model(arm_instructions.MODEL) as model:
        ids = model.tokenize(texts)
        ours = [int(np.argmax(row)) for row in model.logits(texts)]
    inputs = write_inputs(work / "sentences.npz", ids)
    longest = max(len(row) for row in ids)
    fitting = [length for length in args.seq_lens if length >= longest]
    if not fitting:
        sys.exit(f"the longest of the {len(ids)} sentences has {longest} tokens: add an --seq-lens of at least that")
    result = {"sentences": len(texts), "cpu": "cortex-a76", "pyibert_correct": sum(a == b for a, b in zip(ours, gold))}
    for name, by_length in models.items():
        theirs = guest_labels(userland, "cortex-a76", name.split("-")[0], by_length[min(fitting)], inputs)
        result[f"{name}_agree"] = sum(a == b for a, b in zip(ours, theirs))
        result[f"{name}_correct"] = sum(a == b for a, b in zip(theirs, gold))
    return result


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True,
                        help="the FP32 Hugging Face checkpoint (BertForSequenceClassification) of the shipped model")
    parser.add_argument("--cpus", type=csv_list, default=list(CORES), help=f"of {', '.join(CORES)}")
    parser.add_argument("--seq-lens", type=lambda t: csv_list(t, int), default=[16, 64, 128])
    parser.add_argument("--engines", type=csv_list, default=ENGINES, help=f"of {', '.join(ENGINES)}")
    parser.add_argument("--sentences", type=int, default=40, help="SST-2 dev sentences of the label check (0: none)")
    parser.add_argument("--shared-data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--armcount", type=Path, default=ROOT.parent / "shared" / "tools" / "armcount" / "armcount")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    args = parser.parse_args(argv)
    unknown = set(args.cpus) - set(CORES)
    if unknown:
        parser.error(f"no /proc/cpuinfo for {', '.join(sorted(unknown))}; choose from {', '.join(CORES)}")
    unknown = set(args.engines) - set(ENGINES)
    if unknown:
        parser.error(f"unknown engine {', '.join(sorted(unknown))}; choose from {', '.join(ENGINES)}")
    if not (args.checkpoint / "config.json").is_file():
        parser.error(f"{args.checkpoint} is not a Hugging Face checkpoint (no config.json)")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    userland = Userland(ROOT / "build" / "arm-userland")
    userland.ensure([sys.executable, "-m", "pip"])
    work = ROOT / "build" / "arm-peers" / f"{args.checkpoint.name}-{checkpoint_digest(args.checkpoint)}"
    # per engine: {"fp32"|"int8": {L: the model file that runs L tokens}}
    models = {}
    if "ort" in args.engines:
        fp32, int8 = onnx_models(args.checkpoint, work)
        models["ort"] = {"fp32": dict.fromkeys(args.seq_lens, fp32), "int8": dict.fromkeys(args.seq_lens, int8)}
    if "litert" in args.engines:
        pairs = tflite_models(args.checkpoint, work, args.seq_lens)
        models["litert"] = {kind: {length: pair[i] for length, pair in pairs.items()}
                            for i, kind in enumerate(("fp32", "int8"))}

    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(args.checkpoint)
    inputs = {length: write_inputs(work / f"ids-{length}.npz", [tokenizer(
        arm_instructions.TEXT, truncation=True, max_length=length)["input_ids"]]) for length in args.seq_lens}
    rows = [row for engine, files in models.items() for row in count_peer(args, userland, engine, files["int8"], inputs)]
    if "pyibert" in args.engines:
        rows += count_pyibert(args)
    if not args.json:  # the counts first: the label check takes a while under qemu
        print_counts(rows)
    checked = {f"{engine}-{kind}": by_length for engine, files in models.items() for kind, by_length in files.items()}
    labels = compare_labels(args, userland, checked, work) if args.sentences and checked else None
    if args.json:
        print(json.dumps({"checkpoint": str(args.checkpoint), "repeats": {"k": K, "n": N}, "inference": rows,
                          "labels": labels}, indent=1))
    elif labels:
        n = labels["sentences"]
        peers = list(checked)
        print(f"\nLabels on the first {n} SST-2 dev sentences (peers on arm64 under qemu {labels['cpu']}): "
              + ", ".join(f"{name} agrees with pyibert on {labels[name + '_agree']}/{n}" for name in peers)
              + f"; correct: pyibert {labels['pyibert_correct']}, "
              + ", ".join(f"{name} {labels[name + '_correct']}" for name in peers))
    return 0


def print_counts(rows: list[dict]) -> None:
    ort = {(r["cpu"], r["seq_len"]): r["instructions"] for r in rows if r["engine"] == "ort-int8"}

    def versus_ort(row):
        key = (row["cpu"], row["seq_len"])
        return f"{row['instructions'] / ort[key]:.2f}" if key in ort else "-"

    print(f"Per inference, batch 1, one thread: (count({K + N}) - count({K})) / {N}\n")
    print(table(["cpu", "L", "engine", "M instructions", "÷ ORT int8", "M SDOT"],
                [[r["cpu"], str(r["seq_len"]), r["engine"], f"{r['instructions'] / 1e6:.1f}",
                  versus_ort(r), f"{r['dotprod'] / 1e6:.1f}"]
                 for r in sorted(rows, key=lambda r: (r["cpu"], r["seq_len"], r["engine"]))]), flush=True)


if __name__ == "__main__":
    sys.exit(main())
