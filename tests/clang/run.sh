#!/usr/bin/env bash
# clang as a supported compiler: the C tests built by Debian's clang-16 (the compiler
# of Android's NDK) instead of gcc, on the host and cross-built for ARM under qemu-user.
#   host (x86-64): every C test (ctest), the x86 kernels included;
#   aarch64 on qemu's max CPU, which runs every AArch64 kernel set (neon, dotprod,
#     i8mm): the reference kernels, each NEON kernel against its reference twin, and
#     the shipped model on every kernel path;
#   armhf (ARMv7-A + NEON) on cortex-a15: the reference and NEON kernels.
# The Android-targeted build (tests/android/run.sh) is clang's too, and runs the
# shipped model on cortex-a72 and a76. Prints a table; exits non-zero on a failure.
set -uo pipefail
cd "$(dirname "$0")/../.."

bash tools/setup-cross.sh clang-16 lld-16 || exit 1

kernel_tests="kernels neon_elementwise gemm_kernels lowbit_kernels"
# name, toolchain file (none: the host), CPU for qemu, the tests to run (all: every one)
runs=(
  "host - - all"
  "aarch64 cmake/toolchains/aarch64-linux-gnu.cmake max $kernel_tests kernel_paths"
  "armhf cmake/toolchains/arm-linux-gnueabihf.cmake cortex-a15 $kernel_tests"
)

results=()
failed=0
for run in "${runs[@]}"; do
  read -r name toolchain cpu tests <<<"$run"
  build=build/clang/$name
  mkdir -p "$build"
  configure=(cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang-16 -DCMAKE_BUILD_TYPE=Release -DIBERT_BUILD_TESTS=ON)
  [ "$toolchain" != - ] && configure+=(-DCMAKE_TOOLCHAIN_FILE="$PWD/$toolchain")
  targets=()
  [ "$tests" != all ] && for t in $tests; do targets+=(--target "test_$t"); done
  echo "== clang $name: building in $build"
  if ! { "${configure[@]}" && cmake --build "$build" -j2 "${targets[@]}"; } >"$build/build.log" 2>&1; then
    grep -i -A3 'error' "$build/build.log" | head -n 40
    results+=("$name $cpu build-failed")
    failed=1
    continue
  fi
  select=()
  [ "$tests" != all ] && select=(-R "^(${tests// /|})\$")
  echo "== clang $name: ctest${cpu/#-/} ${select[*]}"
  if QEMU_CPU=$cpu ctest --test-dir "$build" --output-on-failure "${select[@]}"; then
    results+=("$name $cpu passed")
  else
    results+=("$name $cpu FAILED")
    failed=1
  fi
done

echo
printf '%-8s %-12s %s\n' clang cpu result
for result in "${results[@]}"; do
  # shellcheck disable=SC2086  # three words
  printf '%-8s %-12s %s\n' $result
done
exit "$failed"
