#!/usr/bin/env bash
# The whole test suite: installs the package with its test dependencies, runs the
# C tests under AddressSanitizer + UndefinedBehaviorSanitizer, then cross-built for
# ARM under qemu, then the Python tests against the installed package (so they
# exercise the library the wheel ships).
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check ".[test]"

# IBERT_BUILD_BENCH adds bench/kernel_driver and runs each of its ops once, so the
# per-op benchmark keeps building and stays in bounds.
cmake -S . -B build/sanitize -DCMAKE_BUILD_TYPE=Debug -DIBERT_SANITIZE=ON -DIBERT_BUILD_TESTS=ON \
      -DIBERT_BUILD_BENCH=ON >/dev/null
cmake --build build/sanitize -j2
ctest --test-dir build/sanitize --output-on-failure

# The same C tests cross-built for AArch64 and 32-bit ARM and run under qemu-user
# (setup-cross.sh installs the toolchains and qemu only when they are missing).
bash tools/setup-cross.sh
bash tests/cross/run.sh
# Raspberry Pi OS 64-bit and 32-bit as a user meets them (wheels, venv, classify), emulated
bash tests/pi/run.sh
# The C tests built by clang-16 (host, AArch64 and ARMv7 under qemu).
bash tests/clang/run.sh
# Android-targeted libibert and its Java API (not NDK-built, not run on bionic).
bash tests/android/run.sh

# The loader and tokenizer fuzzers (clang-16 libFuzzer, ASan + UBSan), briefly: the
# regression corpus fuzz/regressions/ replayed, then 10,000 executions per harness.
bash tools/setup-fuzz.sh && python3 bench/fuzz.py --executions 10000 --shipped-executions 2

# PYTHONSAFEPATH keeps the source tree's pyibert/ (which has no built library)
# from shadowing the installed package.
PYTHONSAFEPATH=1 python3 -m pytest -q -rs tests/python "$@"
