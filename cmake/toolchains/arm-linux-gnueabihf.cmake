# Cross-compiling for 32-bit ARM Linux with hard float (Raspberry Pi OS 32-bit,
# 32-bit Android-class devices) with Debian's gcc-arm-linux-gnueabihf
# (tools/setup-cross.sh installs it).
#
#   cmake -S . -B build/cross-armhf -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/arm-linux-gnueabihf.cmake
#
# ctest and add_test() run the built programs under qemu-user; qemu reads the CPU
# to emulate from the environment, e.g. QEMU_CPU=cortex-a15 (ARMv7-A with NEON).

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7l)  # what uname -m says on a 32-bit Pi OS

set(IBERT_CROSS_TRIPLE arm-linux-gnueabihf)
set(IBERT_QEMU qemu-arm)

# The platform ABI of Debian armhf: ARMv7-A, float arguments in VFP registers, no
# NEON assumed (some ARMv7-A cores lack it). Only the NEON kernels (neon/) are built
# with -mfpu=neon, per file, and kernels_select.c calls them when the CPU reports
# HWCAP_NEON, as every Pi 2 and later does.
set(CMAKE_C_FLAGS_INIT "-march=armv7-a -mfpu=vfpv3-d16 -mfloat-abi=hard")

include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
