# The part every Debian cross toolchain file here shares. The including file sets
# IBERT_CROSS_TRIPLE (the compiler's prefix, e.g. aarch64-linux-gnu) and IBERT_QEMU
# (the qemu-user program that runs the target's programs) first.

set(CMAKE_C_COMPILER ${IBERT_CROSS_TRIPLE}-gcc)

# Debian's multiarch cross libc lives in /usr/<triple>; search only there for
# libraries and headers, but take build tools (programs) from the host.
set(CMAKE_FIND_ROOT_PATH /usr/${IBERT_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# -L: the dynamic loader and shared libraries of the target come from the cross libc.
set(CMAKE_CROSSCOMPILING_EMULATOR ${IBERT_QEMU} -L /usr/${IBERT_CROSS_TRIPLE})
