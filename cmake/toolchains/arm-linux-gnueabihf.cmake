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
# Debian's cross gcc, unless the command line names another compiler: clang
# (-DCMAKE_C_COMPILER=clang-16) compiles for the triple with the same cross libc.
if(NOT CMAKE_C_COMPILER)
  set(CMAKE_C_COMPILER ${IBERT_CROSS_TRIPLE}-gcc)
endif()
set(CMAKE_C_COMPILER_TARGET ${IBERT_CROSS_TRIPLE})

# The platform ABI of Debian armhf: ARMv7-A, float arguments in VFP registers, no
# NEON assumed (some ARMv7-A cores lack it). Only the NEON kernels (neon/) are built
# with -mfpu=neon, per file, and kernels_select.c calls them when the CPU reports
# HWCAP_NEON, as every Pi 2 and later does.
set(CMAKE_C_FLAGS_INIT "-march=armv7-a -mfpu=vfpv3-d16 -mfloat-abi=hard")

# Debian's multiarch cross libc lives in /usr/<triple>; search only there for
# libraries and headers, but take build tools (programs) from the host.
set(CMAKE_FIND_ROOT_PATH /usr/${IBERT_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# -L: the dynamic loader and shared libraries of the target come from the cross libc.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-arm -L /usr/${IBERT_CROSS_TRIPLE})
