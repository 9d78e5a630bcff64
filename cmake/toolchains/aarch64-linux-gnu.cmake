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
set(IBERT_QEMU qemu-aarch64)

include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
