#!/usr/bin/env python3
"""Instructions of low-bit linear layers against int8 ones on ARM CPUs, counted under qemu-user.

    python3 bench/lowbit_instructions.py [--cpus cortex-a72,cortex-a76,max] [--rows 128]
                                         [--widths 8,4/0,4/32,4/128,2/0,3/0,3/32,6/0] [--json]

For each CPU (cortex-a72: Pi 4, kernel set neon; cortex-a76: Pi 5, dotprod; max: i8mm), each
MiniLM linear shape at --rows tokens (384 -> 384: q, k, v, attention output; 384 -> 1536: FFN
up; 1536 -> 384: FFN down) and each width/group size, it runs bench/lowbit_driver (one layer
through the kernel set the CPU gets) under ../shared/tools/armcount with R = 1 and R = 2 layers
and reports the difference: one layer with the setup cancelled. Width 8 is the int8 layer as
forward runs it (the set's packed linear GEMM); 2/3/4/6 are kernel_table.gemm_lowbit on packed
codes with groups of that many inputs (0: one group per row). "layer" sums one encoder
layer's six linear layers (4 x 384 -> 384 and the FFN's two). The ratios are to int8 on the
same CPU; fp is the floating-point instructions (scalar and SIMD) per layer, which must be 0.
Builds build/cross-aarch64 with the bench programs first (tools/setup-cross.sh installs the
cross compiler and qemu).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from arm_instructions import AARCH64, armcount_env, build, count
from common import csv_list, table

ROOT = Path(__file__).resolve().parent.parent
H, F = 384, 1536
SHAPES = {"384->384": (H, H), "384->1536": (F, H), "1536->384": (H, F)}  # name: (outputs N, inputs K)
LAYER = {"384->384": 4, "384->1536": 1, "1536->384": 1}  # how many of each one encoder layer has
KERNELS = {"cortex-a72": "neon", "cortex-a76": "dotprod", "max": "i8mm"}


def width(text: str) -> tuple[int, int]:
    bits, _, group = text.partition("/")
    return int(bits), int(group or 0)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpus", type=csv_list, default=list(KERNELS), help="qemu CPUs (AArch64)")
    parser.add_argument("--rows", type=int, default=128, help="tokens, the layers' rows M")
    parser.add_argument("--widths", type=lambda t: [width(w) for w in csv_list(t)],
                        default=[width(w) for w in "8 4/0 4/32 4/128 2/0 3/0 3/32 6/0".split()],
                        help="BITS/GROUP list; 8 is int8")
    parser.add_argument("--build-root", type=Path, default=ROOT / "build")
    parser.add_argument("--armcount", type=Path, default=ROOT.parent / "shared" / "tools" / "armcount" / "armcount")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    args = parser.parse_args(argv)
    if any(cpu not in KERNELS for cpu in args.cpus):
        parser.error(f"--cpus: AArch64 CPUs {', '.join(KERNELS)}")
    if (8, 0) not in args.widths:
        args.widths.insert(0, (8, 0))
    return args


def measure(args) -> dict:
    build_dir = AARCH64.build_dir(args.build_root, "gcc")
    build(AARCH64, build_dir, "gcc")
    driver = build_dir / "bench" / "lowbit_driver"
    env = armcount_env(args.armcount)
    result = {}
    for cpu in args.cpus:
        kernels = KERNELS[cpu]
        for shape, (n, k) in SHAPES.items():
            for bits, group in args.widths:
                def command(repeats):
                    return [str(driver), str(args.rows), str(n), str(k), str(bits), str(group), str(repeats)]
                one = count(args.armcount, env, cpu, kernels, command(1))
                two = count(args.armcount, env, cpu, kernels, command(2))
                diff = {key: two[key] - one[key] for key in one}
                result.setdefault(cpu, {}).setdefault(shape, {})[f"{bits}/{group}"] = diff
                print(f"{cpu} {kernels} {shape} {bits}/{group}: {diff['instructions']}", file=sys.stderr)
    return result


def print_tables(result: dict, widths: list[tuple[int, int]]) -> None:
    names = [f"{b}/{g}" for b, g in widths]
    header = ["cpu", "kernels", "layer", "int8 M instr"] + [f"{n.split('/')[0]}-bit g{n.split('/')[1]}"
                                                            for n in names if n != "8/0"] + ["fp"]
    rows = []
    for cpu, shapes in result.items():
        layer_sum = {name: sum(LAYER[s] * shapes[s][name]["instructions"] for s in shapes) for name in names}
        for shape in list(shapes) + ["layer"]:
            counts = layer_sum if shape == "layer" else {name: shapes[shape][name]["instructions"] for name in names}
            fp = 0 if shape == "layer" else sum(shapes[shape][name]["fp_scalar"] + shapes[shape][name]["simd_fp"]
                                                for name in names)
            base = counts["8/0"]
            rows.append([cpu, KERNELS[cpu], shape, f"{base / 1e6:.2f}"]
                        + [f"{counts[name] / base:.2f}x" for name in names if name != "8/0"] + [str(fp)])
    print(table(header, rows))


def main(argv=None) -> int:
    args = parse_args(argv)
    result = measure(args)
    if args.json:
        print(json.dumps({"rows": args.rows, "counts": result}, indent=1))
    else:
        print(f"instructions per linear layer at {args.rows} rows, as a multiple of the int8 layer's")
        print_tables(result, args.widths)
    return 0


if __name__ == "__main__":
    sys.exit(main())
