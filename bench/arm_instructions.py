#!/usr/bin/env python3
"""Instructions executed per MiniLM inference on ARM CPUs, counted under qemu-user.

    python3 bench/arm_instructions.py [--cpus cortex-a72,cortex-a76,cortex-a15] [--seq-lens 16,64,128]
                                      [--kernels ref,neon,...] [--compiler gcc|clang] [--no-per-op] [--json]
                                      [--model FILE.ibert --no-per-op]

For each CPU (by default cortex-a72 and cortex-a76, plus qemu's max for the kernel sets
only it runs, such as i8mm, and the 32-bit cortex-a15 on the armhf build: Pi OS 32-bit),
each kernel set the library offers on that CPU
(IBERT_KERNELS) and each sequence length L, it runs tools/ibert-cli on the shipped
model, or --model (e.g. a Q-BERT low-bit file of the same MiniLM; batch 1, one thread, a text cut to exactly L tokens, all attended) under
../shared/tools/armcount twice, with K and K + N forward passes, and reports
(count(K + N) - count(K)) / N: one inference with loading and start-up cancelled.
The counts are deterministic, so K = 1, N = 2 suffice (--repeats K,N changes them).
The per-op counts below replay the int8 ops of the shipped model's shapes, so another
--model needs --no-per-op.

Then, per op of the forward pass, the same difference on bench/kernel_driver (one op
as one inference runs it): the op's instructions, its share of the inference, and for
the matrix products the ratio to an ideal of one multiply instruction per
  32 MACs (SMMLA, when the op ran i8mm instructions), 16 MACs (SDOT, dotprod),
  8 MACs (one 8-lane SMULL/SMLAL, or VMULL/VMLAL on 32-bit ARM: a vector kernel
  without those), 1 MAC (scalar).
The driver copies the scores before each softmax (the softmax overwrites them); those
copies are counted on their own and subtracted. "rest" is what the inference spends
outside the ops: embedding sums, the classification head, argument checks;
"non-GEMM" is everything but linear, qk, pv.

Reference points (ONNX Runtime 1.31 int8 = quantize_dynamic, counted by bench/arm_peers.py;
LiteRT 1.4 full int8, counted once elsewhere; MiniLM-L6 at L = 128, the same tool)
are printed as ratios at L = 128. Builds build/cross-aarch64 and build/cross-armhf (with
the kernel driver) first; the cross compilers and qemu-user come from tools/setup-cross.sh.
--compiler clang counts builds by Debian's clang-16 instead (the NDK's compiler, so
what an Android app runs), in build/cross-aarch64-clang and build/cross-armhf-clang.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from common import csv_list, table

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "minilm-sst2.ibert"


class Target:
    """A cross build: its toolchain file, its Debian sysroot and qemu-user program."""

    def __init__(self, name: str, toolchain: str, sysroot: str, qemu: str):
        self.name, self.qemu, self.sysroot = name, qemu, sysroot
        self.toolchain = ROOT / "cmake" / "toolchains" / toolchain

    def build_dir(self, root: Path, compiler: str) -> Path:
        return root / (f"cross-{self.name}" if compiler == "gcc" else f"cross-{self.name}-{compiler}")


AARCH64 = Target("aarch64", "aarch64-linux-gnu.cmake", "/usr/aarch64-linux-gnu", "qemu-aarch64")
ARMHF = Target("armhf", "arm-linux-gnueabihf.cmake", "/usr/arm-linux-gnueabihf", "qemu-arm")
# qemu's 32-bit ARM CPUs with NEON; any other name is an AArch64 CPU ("max" included).
ARM32_CPUS = {"cortex-a7", "cortex-a8", "cortex-a9", "cortex-a15"}


def target_of(cpu: str) -> Target:
    return ARMHF if cpu in ARM32_CPUS else AARCH64

# The shipped model's shapes (MiniLM-L6): hidden, heads, head size, layers. Its FFN width is the
# file's (ffn_width): the converter splits wide GELU channels, so it exceeds the checkpoint's 1536.
H, HEADS, D, LAYERS = 384, 12, 32, 6

# Millions of instructions per inference at L = 128.
REFERENCE_M = {
    # measured by bench/arm_peers.py on the shipped model's checkpoint, 2026-12-03 (README)
    "ort_int8": {"cortex-a72": 423.9, "cortex-a76": 216.4},
    # static full int8 (ai-edge-quantizer's static_wi8_ai8, all-MiniLM-L6-v2 without a head), measured once
    # elsewhere (armcount README's tool, 2026-11-22); bench/arm_peers.py measures LiteRT's dynamic-range
    # int8 instead (466.6 M and 227.6 M on 2026-12-03, README), a different kind of model
    "tflite_int8": {"cortex-a72": 485.2, "cortex-a76": 218.4},
}
REFERENCE_LEN = 128

# A text longer than every L: ibert-cli --seq-len cuts it to exactly L tokens, all of
# them attended. (A short text would be padded with masked positions, which the
# softmax skips: a cheaper inference than a real L-token one.)
TEXT = " ".join(["the film is a gripping and funny story about an unlikely friendship"] * 50)

OPS = ["linear", "qk", "pv", "softmax", "gelu", "layernorm", "requant", "residual"]
GEMM_OPS = {"linear", "qk", "pv"}


def ffn_width(model: Path) -> int:
    """The FFN width a .ibert file's layers run (its `ibert.intermediate_size`, read and checked by the
    golden model's reader)."""
    from pyibert.golden.model_file import read_model_file   # only the per-op counts need pyibert

    return int(read_model_file(model).meta["intermediate_size"])


def macs(op: str, length: int, ffn: int) -> int:
    """Multiply-accumulates of one inference's op at L tokens (FFN width `ffn`). The shipped model
    has a classification head, so its last layer computes keys and values for all L tokens and the
    rest for the first token alone (runtime/src/forward.c)."""
    total = 0
    for layer in range(LAYERS):
        queries = 1 if layer == LAYERS - 1 else length
        if op == "linear":
            total += length * 2 * H * H + queries * (2 * H * H + 2 * H * ffn)
        else:  # qk and pv alike
            total += HEADS * queries * length * D
    return total


def ideal_divisor(counts: dict, target: Target) -> tuple[int, str]:
    """MACs per multiply instruction of the best instruction the op actually ran."""
    if counts["i8mm"] > 0:
        return 32, "SMMLA"
    if counts["dotprod"] > 0:
        return 16, "SDOT"
    if counts["simd_int"] > 0:
        return 8, "VMULL" if target is ARMHF else "SMULL"
    return 1, "scalar"


def run(command: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# The C compiler of each --compiler choice (the toolchain files default to gcc).
COMPILERS = {"gcc": [], "clang": ["-DCMAKE_C_COMPILER=clang-16"]}


def build(target: Target, build_dir: Path, compiler: str) -> None:
    """Configures the cross build (kernel driver on) unless it is, then builds it."""
    if not (build_dir / "CMakeCache.txt").is_file() or not (build_dir / "bench").is_dir():
        configure = ["cmake", "-S", str(ROOT), "-B", str(build_dir), f"-DCMAKE_TOOLCHAIN_FILE={target.toolchain}",
                     "-DCMAKE_BUILD_TYPE=Release", "-DIBERT_BUILD_BENCH=ON", *COMPILERS[compiler]]
        done = run(configure)
        if done.returncode != 0:
            sys.exit(f"configuring {build_dir} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    done = run(["cmake", "--build", str(build_dir), "-j2"])
    if done.returncode != 0:
        sys.exit(f"building {build_dir} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")


def armcount_env(armcount: Path) -> dict:
    """The environment for armcount: its plugin goes to build/armcount when the
    tool's own folder is read-only and holds no built plugin."""
    env = dict(os.environ)
    own = armcount.parent / "build" / "libarmcount.so"
    if "ARMCOUNT_BUILD" not in env and not own.is_file() and not os.access(armcount.parent, os.W_OK):
        env["ARMCOUNT_BUILD"] = str(ROOT / "build" / "armcount")
    return env


def kernel_sets(cli: Path, model: Path, cpu: str) -> list[str]:
    """The kernel sets the library offers on `cpu`: a name it does not have makes it
    fail with a message that lists the valid ones."""
    env = dict(os.environ, IBERT_KERNELS="?")
    target = target_of(cpu)
    done = run([target.qemu, "-cpu", cpu, "-L", target.sysroot, str(cli), str(model), "--text", "x"], env)
    match = re.search(r"\(valid: ([^)]*)\)", done.stderr)
    if not match:
        sys.exit(f"could not read the kernel sets on {cpu} from ibert-cli:\n{done.stderr}")
    return [name.strip() for name in match.group(1).split(",")]


def count(armcount: Path, env: dict, cpu: str, kernels: str, command: list[str], sysroot: Path | None = None) -> dict:
    """armcount's report of one run of command (instructions and classes); sysroot is qemu's -L
    (armcount's default: Debian's cross C library)."""
    prefix = ["-L", str(sysroot)] if sysroot else []
    with tempfile.NamedTemporaryFile(prefix="armcount-", suffix=".txt") as report:
        done = run([str(armcount), "--cpu", cpu, *prefix, "--classes", "--out", report.name, "--", *command],
                   dict(env, IBERT_KERNELS=kernels))
        if done.returncode != 0:
            sys.exit(f"{' '.join(command)} failed under qemu -cpu {cpu}:\n{done.stderr}")
        fields = dict(line.split(": ", 1) for line in Path(report.name).read_text().splitlines() if ": " in line)
    return {
        "instructions": int(fields["instructions"]),
        "fp_scalar": int(fields["class.fp_scalar"]),
        "simd_fp": int(fields["class.simd_fp"]),
        "simd_int": int(fields["class.simd_int"]),
        "dotprod": int(fields["ext.dotprod"]),
        "i8mm": int(fields["ext.i8mm"]),
    }


def per_inference(armcount, env, cpu, kernels, command_for, k: int, n: int) -> dict:
    """(count(K + N) - count(K)) / N for every counter."""
    low = count(armcount, env, cpu, kernels, command_for(k))
    high = count(armcount, env, cpu, kernels, command_for(k + n))
    return {key: (high[key] - low[key]) / n for key in low}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpus", type=csv_list, default=None,
                        help="qemu CPUs (default cortex-a72,cortex-a76, max when the library has a kernel "
                        "set that only max runs, such as i8mm, and cortex-a15; "
                        f"{', '.join(sorted(ARM32_CPUS))} run the 32-bit armhf build)")
    parser.add_argument("--seq-lens", type=lambda t: csv_list(t, int), default=[16, 64, 128])
    parser.add_argument("--kernels", type=csv_list, default=None,
                        help="kernel sets to count (default: every one each CPU supports)")
    parser.add_argument("--repeats", type=lambda t: csv_list(t, int), default=[1, 2], metavar="K,N",
                        help="forward passes of the short run and extra ones of the long run (default 1,2)")
    parser.add_argument("--compiler", choices=sorted(COMPILERS), default="gcc",
                        help="the cross builds' compiler (clang: clang-16, as Android's NDK)")
    parser.add_argument("--no-per-op", action="store_true", help="skip the per-op counts")
    parser.add_argument("--model", type=Path, default=MODEL,
                        help="the .ibert file to count (default: the shipped model; another needs --no-per-op)")
    parser.add_argument("--build-root", type=Path, default=ROOT / "build",
                        help="where the cross builds go: BUILD_ROOT/cross-aarch64, BUILD_ROOT/cross-armhf "
                             "(with --compiler clang: ...-clang)")
    parser.add_argument("--armcount", type=Path, default=ROOT.parent / "shared" / "tools" / "armcount" / "armcount")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    args = parser.parse_args(argv)
    if len(args.repeats) != 2 or min(args.repeats) < 1:
        parser.error("--repeats needs two positive counts K,N")
    if min(args.seq_lens) < 1:
        parser.error("--seq-lens must be positive")
    if not args.armcount.is_file():
        parser.error(f"armcount not found at {args.armcount} (give --armcount)")
    if args.model.resolve() != MODEL.resolve() and not args.no_per_op:
        parser.error("--model: the per-op counts replay the shipped int8 model's ops; add --no-per-op")
    if not args.model.is_file():
        parser.error(f"--model {args.model}: no such file")
    return args


def programs(target: Target, build_root: Path, compiler: str) -> tuple[Path, Path]:
    """ibert-cli and kernel_driver of the target's build."""
    build_dir = target.build_dir(build_root, compiler)
    return build_dir / "tools" / "ibert-cli" / "ibert-cli", build_dir / "bench" / "kernel_driver"


def measure(args) -> dict:
    cpus = args.cpus or ["cortex-a72", "cortex-a76", "max", "cortex-a15"]
    for target in {target_of(cpu) for cpu in cpus}:
        build(target, target.build_dir(args.build_root, args.compiler), args.compiler)
    env = armcount_env(args.armcount)
    k, n = args.repeats
    ffn = None if args.no_per_op else ffn_width(MODEL)
    offered_on = {cpu: kernel_sets(programs(target_of(cpu), args.build_root, args.compiler)[0], args.model, cpu)
                  for cpu in cpus}
    if args.cpus is None:  # max only for what the two cores lack
        offered_on["max"] = [name for name in offered_on["max"] if name not in offered_on["cortex-a76"]]
    inference_rows, op_rows = [], []
    for cpu, offered in offered_on.items():
        cli, driver = programs(target_of(cpu), args.build_root, args.compiler)
        for kernels in (offered if args.kernels is None else [x for x in args.kernels if x in offered]):
            for length in args.seq_lens:
                print(f"counting {cpu} {kernels} L={length}", file=sys.stderr)
                # one thread, whatever ibert-cli's default: armcount counts threads exactly only with --atomic
                whole = per_inference(args.armcount, env, cpu, kernels, lambda r: [
                    str(cli), str(args.model), "--text", TEXT, "--seq-len", str(length), "--threads", "1",
                    "--repeat", str(r)], k, n)
                row = {"cpu": cpu, "kernels": kernels, "seq_len": length, **whole}
                if length == REFERENCE_LEN:
                    for ref, by_cpu in REFERENCE_M.items():
                        if cpu in by_cpu:
                            row[f"vs_{ref}"] = whole["instructions"] / (by_cpu[cpu] * 1e6)
                inference_rows.append(row)
                if args.no_per_op:
                    continue
                def op_count(op):
                    return per_inference(args.armcount, env, cpu, kernels, lambda r: [
                        str(driver), str(MODEL), op, str(length), str(r)], k, n)

                rest = whole["instructions"]
                for op in OPS:
                    part = op_count(op)
                    if op == "softmax":  # the driver copies the scores before each softmax
                        copies = op_count("scores_copy")
                        part = {key: part[key] - copies[key] for key in part}
                    rest -= part["instructions"]
                    op_row = {"cpu": cpu, "kernels": kernels, "seq_len": length, "op": op,
                              "instructions": part["instructions"],
                              "share": part["instructions"] / whole["instructions"]}
                    if op in GEMM_OPS:
                        divisor, instruction = ideal_divisor(part, target_of(cpu))
                        op_macs = macs(op, length, ffn)
                        op_row.update(macs=op_macs, ideal_instruction=instruction, ideal=op_macs / divisor,
                                      vs_ideal=part["instructions"] * divisor / op_macs)
                    op_rows.append(op_row)
                if rest < 0:  # the ops cost more than the inference: the driver does work forward skips
                    sys.exit(f"{cpu} {kernels} L={length}: the per-op counts add up to more than one inference "
                             f"({rest / 1e6:.1f} M left): bench/kernel_driver.c no longer runs the ops as "
                             "runtime/src/forward.c does")
                op_rows.append({"cpu": cpu, "kernels": kernels, "seq_len": length, "op": "rest",
                                "instructions": rest, "share": rest / whole["instructions"]})
                gemm = sum(r["instructions"] for r in op_rows[-len(OPS) - 1:] if r["op"] in GEMM_OPS)
                op_rows.append({"cpu": cpu, "kernels": kernels, "seq_len": length, "op": "non-GEMM",
                                "instructions": whole["instructions"] - gemm,
                                "share": 1 - gemm / whole["instructions"]})
    return {"model": str(args.model), "compiler": args.compiler, "repeats": {"k": k, "n": n},
            "inference": inference_rows, "ops": op_rows}


def millions(value: float) -> str:
    return f"{value / 1e6:.1f}"


def print_tables(result: dict) -> None:
    k, n = result["repeats"]["k"], result["repeats"]["n"]
    print(f"Per inference of {result['model']} ({result['compiler']} build), batch 1, one thread: "
          f"(count({k + n}) - count({k})) / {n}\n")
    rows = []
    for r in result["inference"]:
        ratio = lambda key: f"{r[key]:.2f}" if key in r else ""
        rows.append([r["cpu"], r["kernels"], str(r["seq_len"]), millions(r["instructions"]),
                     ratio("vs_ort_int8"), ratio("vs_tflite_int8"), f"{r['fp_scalar']:.0f}", f"{r['simd_fp']:.0f}",
                     millions(r["dotprod"]), millions(r["i8mm"])])
    print(table(["cpu", "kernels", "L", "M instr", "/ORT int8", "/TFLite int8", "fp_scalar", "simd_fp",
                 "M SDOT", "M SMMLA"], rows))
    if not result["ops"]:
        return
    print("\nPer op (bench/kernel_driver); ideal = MACs / (MACs per multiply instruction)\n")
    rows = []
    for r in result["ops"]:
        gemm = "ideal" in r
        rows.append([r["cpu"], r["kernels"], str(r["seq_len"]), r["op"], millions(r["instructions"]),
                     f"{100 * r['share']:.1f}", millions(r["ideal"]) if gemm else "",
                     r["ideal_instruction"] if gemm else "", f"{r['vs_ideal']:.2f}" if gemm else ""])
    print(table(["cpu", "kernels", "L", "op", "M instr", "% of inference", "M ideal", "ideal via", "x ideal"], rows))


def main(argv=None) -> int:
    args = parse_args(argv)
    result = measure(args)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print_tables(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
