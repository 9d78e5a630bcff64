#!/usr/bin/env bash
# Cross builds for ARM, tested under qemu-user: builds libibert, ibert-cli and the
# C tests for AArch64, 32-bit ARM (hard float; the NEON kernels chosen at run
# time) and ARMv6 (Raspbian's baseline, no NEON) in build/cross-<arch>, then runs
# ctest with qemu emulating each CPU below (qemu-user reads QEMU_CPU), and checks
# the kernel set the library picks by default on that CPU.
# Prints a table of arch/cpu results; exits non-zero if any build or run failed.
# The cross compilers and qemu come from tools/setup-cross.sh (run first).
set -uo pipefail
cd "$(dirname "$0")/../.."

bash tools/setup-cross.sh || exit 1

# arch, toolchain file, then the CPUs to test on, each with the kernel set it must
# get: Pi 4 (cortex-a72), Pi 5 (cortex-a76), everything qemu implements (max: SVE,
# i8mm, ...); ARMv7-A + NEON (cortex-a15) and a 32-bit core without NEON
# (cortex-r5f); the Pi 1 and Zero's ARMv6 core (arm1176, no NEON).
targets=(
  "aarch64 cmake/toolchains/aarch64-linux-gnu.cmake cortex-a72:neon cortex-a76:dotprod max:i8mm"
  "armhf cmake/toolchains/arm-linux-gnueabihf.cmake cortex-a15:neon cortex-r5f:ref"
  "armv6 cmake/toolchains/armv6-linux-gnueabi.cmake arm1176:ref"
)
# Tests left out on an arch: on armv6 the shipped model's thread test (minutes of
# `ref` under qemu; cortex-r5f runs it on the same reference kernels, and
# threads_random runs the ARMv6 thread pool).
declare -A skipped_tests=([armv6]='^threads$')

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
    for cpu_set in $cpus; do results+=("$arch ${cpu_set%%:*} - build-failed"); done
    failed=1
    continue
  fi
  for cpu_set in $cpus; do
    cpu=${cpu_set%%:*} expected=${cpu_set#*:}
    echo "== $arch: ctest under qemu -cpu $cpu"
    # the kernels test prints the set kernels_select picks with IBERT_KERNELS unset
    chosen=$(QEMU_CPU=$cpu ctest --test-dir "$build" -R '^kernels$' -V | sed -n 's/.*default kernel set: //p')
    if [ "$chosen" != "$expected" ]; then
      echo "== $arch: -cpu $cpu picks kernel set '$chosen', expected '$expected'"
      results+=("$arch $cpu ${chosen:-?} FAILED(kernels)")
      failed=1
    elif QEMU_CPU=$cpu ctest --test-dir "$build" --output-on-failure -E "${skipped_tests[$arch]:-^$}"; then
      results+=("$arch $cpu $chosen passed")
    else
      results+=("$arch $cpu $chosen FAILED")
      failed=1
    fi
  done
done

echo
printf '%-8s %-12s %-8s %s\n' arch cpu kernels result
for result in "${results[@]}"; do
  # shellcheck disable=SC2086  # four words
  printf '%-8s %-12s %-8s %s\n' $result
done
exit "$failed"
