#!/usr/bin/env bash
# How the project's CMake build meets Raspberry Pi OS 32-bit, checked on the build
# machine with Debian's armhf cross compiler (no emulation; libibert only):
#
#   64bit-kernel  Pi OS 32-bit on a Pi 4 or 5 boots a 64-bit kernel, so CMake reads
#                 `uname -m` = aarch64 (CMAKE_SYSTEM_PROCESSOR) while gcc is 32-bit:
#                 the build must take the 32-bit ARM (ARMv7 NEON) kernels.
#   armv6         Raspbian's own code generation (ARMv6 + VFP, hard float, ARM
#                 state; the Pi 1 and Zero have no NEON): it must build, and only
#                 neon/'s kernels may hold NEON code.
#
# A toolchain file per case sets what a build on the Pi itself would see.
# (tests/cross/run.sh runs an ARMv6 build's tests on qemu's arm1176.)
set -euo pipefail
cd "$(dirname "$0")/../.."
work=build/pi/cmake-check
mkdir -p "$work"

toolchain() {  # toolchain NAME PROCESSOR FLAGS
  cat > "$work/$1.cmake" <<CMAKE
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR $2)
set(IBERT_CROSS_TRIPLE arm-linux-gnueabihf)
set(IBERT_QEMU qemu-arm)
set(CMAKE_C_FLAGS_INIT "$3")
include($PWD/cmake/toolchains/debian-cross.cmake)
CMAKE
}
build() {  # build NAME: configure and build libibert in $work/NAME
  rm -rf "${work:?}/$1"
  if ! { cmake -S . -B "$work/$1" -DCMAKE_TOOLCHAIN_FILE="$PWD/$work/$1.cmake" -DIBERT_BUILD_CLI=OFF \
         && cmake --build "$work/$1" -j2 --target ibert; } > "$work/$1.log" 2>&1; then
    grep -m 10 -i 'error' "$work/$1.log" >&2 || tail -n 20 "$work/$1.log" >&2
    echo "cmake_check.sh: $1: the build FAILED (log: $work/$1.log)" >&2
    exit 1
  fi
}
fail() { echo "cmake_check.sh: $*" >&2; exit 1; }

# Debian armhf's code generation (what Pi OS 32-bit's gcc makes on a Pi 2 or later
# is close to it), on a kernel that says aarch64
toolchain 64bit-kernel aarch64 ""
build 64bit-kernel
symbols=$(arm-linux-gnueabihf-nm "$work/64bit-kernel/libibert.so")
grep -q 'linear_s8s8s32_4x8c4__neonv7' <<<"$symbols" || fail "64bit-kernel: libibert has no ARMv7 NEON kernels"
! grep -q '__neondot' <<<"$symbols" || fail "64bit-kernel: libibert has AArch64 kernels"
echo "64bit-kernel: uname -m aarch64, 32-bit gcc: the ARMv7 NEON kernels are built"

# Raspbian: every object outside neon/ must be ARMv6 code without NEON
toolchain armv6 armv6l "-march=armv6+fp -mfpu=vfp -mfloat-abi=hard -marm"
build armv6
library_objects=$(find "$work/armv6/CMakeFiles/ibert.dir" -name '*.o')
neon_objects=$(find "$work/armv6/neon" -name '*.o')
for object in $library_objects; do
  attributes=$(arm-linux-gnueabihf-readelf -A "$object")
  grep -q 'Tag_CPU_arch: v6$' <<<"$attributes" || fail "armv6: $object is not ARMv6 code"
  ! grep -q 'Tag_Advanced_SIMD_arch' <<<"$attributes" || fail "armv6: $object holds NEON code"
done
with_neon=0
for object in $neon_objects; do
  arm-linux-gnueabihf-readelf -A "$object" | grep -q 'Tag_Advanced_SIMD_arch: NEON' && with_neon=$((with_neon + 1))
done
[ "$with_neon" -gt 0 ] || fail "armv6: no NEON kernel in neon/ was built with NEON"
echo "armv6: $(wc -w <<<"$library_objects") library objects are ARMv6 without NEON; $with_neon of neon/'s $(wc -w <<<"$neon_objects") use NEON"
