/* Runs the Android-targeted libibert under qemu-user on Debian's glibc: a library
 * named libc.so (the name an Android library asks for) that gives glibc what it
 * lacks of bionic's ABI. Every other function resolves to glibc. This is NOT bionic:
 * see tests/android/run.sh for what the run proves and what it does not. */
#include <errno.h>

/* bionic's errno accessor (glibc's is __errno_location) */
int *__errno(void) { return &errno; }
