# Cross-compiling for ARMv6 with VFP and no NEON, the baseline of Raspberry Pi OS
# 32-bit (Raspbian) and the CPU of the Pi 1 and Zero (ARM1176), so the tests can run
# under qemu's arm1176 (tests/cross/run.sh). Built with Debian's armel compiler and C
# library (ARMv5TE, which an ARMv6 core runs): Raspbian passes floats in VFP registers
# (gnueabihf), but Debian's armhf C library is ARMv7 Thumb-2 code that an ARMv6 core
# cannot run. The library computes in integers, so the float calling convention
# does not change what is tested: that libibert is ARMv6 code, that the NEON kernels
# (neon/, compiled with -mfpu=neon per file) are only called when the CPU reports
# HWCAP_NEON, and that `ref` is chosen when it does not.
#
#   cmake -S . -B build/cross-armv6 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/armv6-linux-gnueabi.cmake
#   QEMU_CPU=arm1176 ctest --test-dir build/cross-armv6

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv6l)  # what uname -m says on a Pi 1 or Zero

set(IBERT_CROSS_TRIPLE arm-linux-gnueabi)
set(IBERT_QEMU qemu-arm)

# Raspbian's code generation (ARMv6, VFPv2, ARM state: ARMv6 has no Thumb-2), with
# the armel calling convention (softfp: VFP instructions, floats passed in integer registers).
set(CMAKE_C_FLAGS_INIT "-march=armv6+fp -mfpu=vfp -mfloat-abi=softfp -marm")

include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
