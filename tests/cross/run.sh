#!/usr/bin/env bash
# Cross builds for ARM, tested under qemu-user: builds libibert, ibert-cli and the
# C tests for AArch64 and 32-bit ARM (hard float; the NEON kernels chosen at run
# time) in build/cross-<arch>, then runs ctest with qemu emulating each CPU below
# (qemu-user reads QEMU_CPU).
# Prints a table of arch/cpu results; exits non-zero if any build or run failed.
# The cross compilers and qemu come from tools/setup-cross.sh (run first).
set -uo pipefail
cd "$(dirname "$0")/../.."

bash tools/setup-cross.sh || exit 1

# arch, toolchain file, then the CPUs to test on: Pi 4 (cortex-a72), Pi 5
# (cortex-a76), everything qemu implements (max: SVE, i8mm, ...); ARMv7-A + NEON
# (cortex-a15) and a 32-bit core without NEON (cortex-r5f: the ref kernels only).
targets=(
  "aarch64 cmake/toolchains/aarch64-linux-gnu.cmake cortex-a72 cortex-a76 max"
  "armhf cmake/toolchains/arm-linux-gnueabihf.cmake cortex-a15 cortex-r5f"
)

results=()
failed=0
for target in "${targets[@]}"; do
  read -r arch toolchain cpus <<<"$target"
  build=build/cross-$arch
  log=$build/build.log
  mkdir -p "$build"
  echo "== $arch: building in $build"
  if ! { cmake -S . -B "$build" -DCMAKE_TOOLCHAIN_FILE="$PWD/$toolchain" -DCMAKE_BUILD_TYPE=Release \
           -DIBERT_BUILD_TESTS=ON && cmake --build "$build" -j2; } >"$log" 2>&1; then
    # the errors, not the warnings around them (a -j2 build interleaves both)
    grep -i -A3 'error' "$log" | head -n 40
    echo "== $arch: build FAILED (whole log: $log)"
    for cpu in $cpus; do results+=("$arch $cpu build-failed"); done
    failed=1
    continue
  fi
  for cpu in $cpus; do
    echo "== $arch: ctest under qemu -cpu $cpu"
    if QEMU_CPU=$cpu ctest --test-dir "$build" --output-on-failure; then
      results+=("$arch $cpu passed")
    else
      results+=("$arch $cpu FAILED")
      failed=1
    fi
  done
done

echo
printf '%-8s %-12s %s\n' arch cpu result
for result in "${results[@]}"; do
  # shellcheck disable=SC2086  # three words
  printf '%-8s %-12s %s\n' $result
done
exit "$failed"
