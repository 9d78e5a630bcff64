#!/usr/bin/env bash
# Installs what bench/fuzz.py needs: Debian's clang-16 and its compiler runtime
# (libFuzzer, ASan, UBSan). Does nothing when both are there. Needs root (or sudo)
# on Debian 12 or a derivative.
set -euo pipefail

runtime=/usr/lib/llvm-16/lib/clang/16/lib/linux/libclang_rt.fuzzer-x86_64.a
if command -v clang-16 >/dev/null && [ -e "$runtime" ]; then
  exit 0
fi
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup-fuzz.sh: need root to install clang-16" >&2; exit 1; }
  as_root=(sudo)
fi
echo "setup-fuzz.sh: installing clang-16 libclang-rt-16-dev" >&2
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends \
  clang-16 libclang-rt-16-dev >/dev/null
