/* LD_PRELOAD library for the Pi userland test (tests/pi/run.sh): uname() reports the
 * machine "aarch64", as it does for Raspberry Pi OS 32-bit on a Pi 4 or 5, which
 * boot a 64-bit kernel under the 32-bit userland. qemu-user reports the emulated
 * 32-bit CPU instead (armv7l). Python's platform tags and CMake's
 * CMAKE_SYSTEM_PROCESSOR (`uname -m`) both come from uname(). */
#define _GNU_SOURCE
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

int uname(struct utsname *name) {
    if (syscall(SYS_uname, name) != 0) return -1;
    strcpy(name->machine, "aarch64");
    return 0;
}
