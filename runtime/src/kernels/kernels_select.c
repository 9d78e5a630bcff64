/* kernels_select.c: the kernel tables this build has and the choice among them.
 * IBERT_KERNELS forces one by name (to test a path, or to compare two); unset,
 * the best one the CPU supports is used.
 *
 * ARM builds (IBERT_NEON_KERNELS, set by CMake) add the NEON elementwise kernels
 * (requant, residual, layer norm, softmax, GELU, tanh). AArch64 builds (also
 * IBERT_AARCH64_KERNELS) have, best first: "dotprod" (SDOT GEMM, when the kernel
 * reports HWCAP_ASIMDDP) and "neon" (AdvSIMD GEMM; AdvSIMD is on every AArch64 CPU).
 * 32-bit ARM builds (also IBERT_ARMV7_KERNELS) have "neon", with ARMv7-A NEON GEMMs
 * for the linear layers, q.k^T and P.V, when the kernel reports HWCAP_NEON (ARMv7-A
 * CPUs may lack it; the library itself is built without NEON). The AArch64 tables
 * keep the reference P.V GEMM. */
#include <stdlib.h>
#include <string.h>

#ifdef IBERT_NEON_KERNELS
#include <sys/auxv.h>
#endif

#include "error.h"
#include "kernels/kernels.h"

static const kernel_table ref_kernels = {
    .name = "ref",
    .gemm_s8s8s32 = gemm_s8s8s32_1x1__ref,
    .gemm_u8s8s32 = gemm_u8s8s32_1x1__ref,
    .requant_s32s8 = requant_s32s8_1x1__ref,
    .requant_s32s32 = requant_s32s32_1x1__ref,
    .residual_s32s8s32 = residual_s32s8s32_1x1__ref,
    .layernorm_s32s8 = layernorm_s32s8_1x1__ref,
    .softmax_s32u8 = softmax_s32u8_1x1__ref,
    .gelu_s32s8 = gelu_s32s8_1x1__ref,
    .tanh_s32s8 = tanh_s32s8_1x1__ref,
};

#ifdef IBERT_NEON_KERNELS
/* The NEON elementwise kernels, shared by the AArch64 and the 32-bit ARM tables. */
#define NEON_ELEMENTWISE_KERNELS                           \
    .requant_s32s8 = requant_s32s8_1x8__neon,              \
    .requant_s32s32 = requant_s32s32_1x8__neon,            \
    .residual_s32s8s32 = residual_s32s8s32_1x8__neon,      \
    .layernorm_s32s8 = layernorm_s32s8_1x8__neon,          \
    .softmax_s32u8 = softmax_s32u8_1x8__neon,              \
    .gelu_s32s8 = gelu_s32s8_1x8__neon,                    \
    .tanh_s32s8 = tanh_s32s8_1x4__neon
#endif

#ifdef IBERT_AARCH64_KERNELS
/* Debian's and Android's <asm/hwcap.h> have these; the values are the Linux ABI. */
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#define NEON_HWCAP HWCAP_ASIMD

static const kernel_table neon_kernels = {
    .name = "neon",
    .gemm_s8s8s32 = gemm_s8s8s32_4x4c16__neon,
    .gemm_u8s8s32 = gemm_u8s8s32_1x1__ref,
    NEON_ELEMENTWISE_KERNELS,
};

static const kernel_table dotprod_kernels = {
    .name = "dotprod",
    .gemm_s8s8s32 = gemm_s8s8s32_4x4c16__neondot,
    .gemm_u8s8s32 = gemm_u8s8s32_1x1__ref,
    NEON_ELEMENTWISE_KERNELS,
};
#elif defined(IBERT_ARMV7_KERNELS)
/* 32-bit ARM: the Linux ABI's bit for NEON in AT_HWCAP. */
#ifndef HWCAP_NEON
#define HWCAP_NEON (1 << 12)
#endif
#define NEON_HWCAP HWCAP_NEON

static const kernel_table neon_kernels = {
    .name = "neon",
    .gemm_s8s8s32 = gemm_s8s8s32_4x2c16__neonv7,
    .gemm_u8s8s32 = gemm_u8s8s32_4x8__neonv7,
    NEON_ELEMENTWISE_KERNELS,
};
#endif

/* A kernel table and the CPU feature bits (AT_HWCAP) it needs. */
typedef struct candidate {
    const kernel_table *kernels;
    unsigned long hwcap;
} candidate;

/* Best first; "ref" needs nothing and ends the list. */
static const candidate candidates[] = {
#ifdef IBERT_AARCH64_KERNELS
    {&dotprod_kernels, HWCAP_ASIMD | HWCAP_ASIMDDP},
#endif
#ifdef IBERT_NEON_KERNELS
    {&neon_kernels, NEON_HWCAP},
#endif
    {&ref_kernels, 0},
};

#define N_CANDIDATES (sizeof candidates / sizeof candidates[0])

static unsigned long cpu_hwcap(void) {
#ifdef IBERT_NEON_KERNELS
    return getauxval(AT_HWCAP);
#else
    return 0;
#endif
}

ibert_status kernels_select(const kernel_table **out) {
    const unsigned long hwcap = cpu_hwcap();
    const char *wanted = getenv("IBERT_KERNELS");
    const int any = !wanted || !*wanted;
    /* The usable names, listed worst (always "ref") first. */
    char valid[128] = "";
    for (size_t i = N_CANDIDATES; i-- > 0;) {
        const candidate *c = &candidates[i];
        if ((hwcap & c->hwcap) != c->hwcap) continue;
        if (*valid) strncat(valid, ", ", sizeof valid - strlen(valid) - 1);
        strncat(valid, c->kernels->name, sizeof valid - strlen(valid) - 1);
    }
    for (size_t i = 0; i < N_CANDIDATES; i++) {
        const candidate *c = &candidates[i];
        if (!any && strcmp(wanted, c->kernels->name) != 0) continue;
        if ((hwcap & c->hwcap) != c->hwcap) {
            if (any) continue;
            return ibert_fail(IBERT_ERR_INVALID_ARGUMENT,
                              "IBERT_KERNELS=%s needs CPU features this CPU does not report (valid: %s)", wanted,
                              valid);
        }
        *out = c->kernels;
        return IBERT_OK;
    }
    return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "IBERT_KERNELS=%s is not a kernel set of this build (valid: %s)",
                      wanted, valid);
}
