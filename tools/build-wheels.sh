#!/usr/bin/env bash
# Wheels for Raspberry Pi OS, cross-compiled on an x86-64 Debian 12 machine, so a Pi
# installs pyibert without a compiler:
#
#   bash tools/build-wheels.sh                  # both; or name them: aarch64 armv7l
#   -> dist/pyibert-<version>-py3-none-linux_aarch64.whl   (Pi OS 64-bit)
#      dist/pyibert-<version>-py3-none-linux_armv7l.whl    (Pi OS 32-bit on a Pi 2 or later)
#
# scikit-build-core builds each with the project's toolchain file (Debian's cross
# compilers: tools/setup-cross.sh installs them when missing). The wheel holds no
# Python extension (cffi loads libibert in ABI mode), hence py3-none; its tag is
# given (wheel.tags), since scikit-build-core would name the build machine's
# platform. (_PYTHON_HOST_PLATFORM would also do that, but pip reads it too and
# installs ARM builds of the build's own tools, CMake among them.) The armv7l library is ARMv7-A (NEON chosen at run
# time), so it does not run on the ARMv6 Pi 1 and Zero: those build from source.
# Each wheel is checked: its name, and the ELF machine of the library inside.
set -euo pipefail
cd "$(dirname "$0")/.."
platforms=("$@")
[ ${#platforms[@]} -gt 0 ] || platforms=(aarch64 armv7l)

bash tools/setup-cross.sh
mkdir -p dist
for platform in "${platforms[@]}"; do
  case $platform in
    aarch64) toolchain=aarch64-linux-gnu machine=AArch64 ;;
    armv7l) toolchain=arm-linux-gnueabihf machine=ARM ;;
    *) echo "build-wheels.sh: platforms are aarch64 and armv7l, not $platform" >&2; exit 2 ;;
  esac
  rm -f dist/pyibert-*-linux_"$platform".whl
  python3 -m pip wheel . --no-deps --wheel-dir dist --quiet --disable-pip-version-check \
    --config-settings=wheel.tags="py3-none-linux_$platform" \
    --config-settings=cmake.define.CMAKE_TOOLCHAIN_FILE="$PWD/cmake/toolchains/$toolchain.cmake" \
    --config-settings=cmake.define.IBERT_BUILD_CLI=OFF \
    --config-settings=build-dir="build/wheel-$platform"
  wheel=$(ls dist/pyibert-*-py3-none-linux_"$platform".whl)
  unpacked=build/wheel-$platform/check
  rm -rf "$unpacked"
  python3 -m zipfile -e "$wheel" "$unpacked"
  found=$(readelf -h "$unpacked/pyibert/libibert.so" | sed -n 's/^ *Machine: *//p')
  if [ "$found" != "$machine" ]; then
    echo "build-wheels.sh: $wheel holds a $found library, not $machine" >&2
    exit 1
  fi
  echo "$wheel ($machine libibert.so)"
done
