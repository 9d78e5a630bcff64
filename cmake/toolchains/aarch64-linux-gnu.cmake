# Cross-compiling for 64-bit ARM Linux (Raspberry Pi 4/5 with a 64-bit OS, ARMv8-A)
# with Debian's gcc-aarch64-linux-gnu (tools/setup-cross.sh installs it).
#
#   cmake -S . -B build/cross-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
#
# ctest and add_test() run the built programs under qemu-user; qemu reads the CPU
# to emulate from the environment, e.g. QEMU_CPU=cortex-a76 (Pi 5) or cortex-a72 (Pi 4).

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(IBERT_CROSS_TRIPLE aarch64-linux-gnu)
# Debian's cross gcc, unless the command line names another compiler: clang
# (-DCMAKE_C_COMPILER=clang-16) compiles for the triple with the same cross libc.
if(NOT CMAKE_C_COMPILER)
  set(CMAKE_C_COMPILER ${IBERT_CROSS_TRIPLE}-gcc)
endif()
set(CMAKE_C_COMPILER_TARGET ${IBERT_CROSS_TRIPLE})

# Debian's multiarch cross libc lives in /usr/<triple>; search only there for
# libraries and headers, but take build tools (programs) from the host.
set(CMAKE_FIND_ROOT_PATH /usr/${IBERT_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# -L: the dynamic loader and shared libraries of the target come from the cross libc.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /usr/${IBERT_CROSS_TRIPLE})
