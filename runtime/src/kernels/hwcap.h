/* hwcap.h: the Linux ABI's CPU feature bits that choose an ARM kernel set, read with
 * getauxval(AT_HWCAP) and getauxval(AT_HWCAP2). Debian's and Android's headers
 * have them; older ones may not, so the values are given here too (the kernel
 * ABI fixes them). Included by kernels_select.c and by the tests that check its
 * choice. */
#ifndef IBERT_KERNELS_HWCAP_H
#define IBERT_KERNELS_HWCAP_H

#if defined(__aarch64__) || defined(__arm__)
#include <sys/auxv.h>
#endif

#if defined(__aarch64__)
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1 << 13)
#endif
#elif defined(__arm__)
#ifndef HWCAP_NEON
#define HWCAP_NEON (1 << 12)
#endif
#endif

#endif
