# The part every Debian cross toolchain file here shares. The including file sets
# IBERT_CROSS_TRIPLE (the compiler's prefix, e.g. aarch64-linux-gnu) and IBERT_QEMU
# (the qemu-user program that runs the target's programs) first.

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
set(CMAKE_CROSSCOMPILING_EMULATOR ${IBERT_QEMU} -L /usr/${IBERT_CROSS_TRIPLE})
