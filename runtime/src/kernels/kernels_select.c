/* kernels_select.c: the kernel tables this build has and the choice among them.
 * IBERT_KERNELS forces one by name (to test a path, or to compare two); unset,
 * the best one the CPU supports is used.
 *
 * AArch64 builds (IBERT_AARCH64_KERNELS, set by CMake) add, best first: "i8mm"
 * (SMMLA for the linear layers, USMMLA for P.V, SDOT for q.k^T; when the kernel
 * reports HWCAP2_I8MM and HWCAP_ASIMDDP), "dotprod" (SDOT, HWCAP_ASIMDDP) and
 * "neon" (AdvSIMD, present on every AArch64 CPU). They replace the GEMMs: the
 * linear layers' (on weights packed at load, kernel_table.linear), q.k^T and P.V;
 * the other kernels stay the reference ones until they get SIMD twins. */
#include <stdlib.h>
#include <string.h>

#ifdef IBERT_AARCH64_KERNELS
#include <sys/auxv.h>
#endif

#include "error.h"
#include "kernels/kernels.h"

#define REF_KERNELS_EXCEPT_GEMMS                           \
    .requant_s32s8 = requant_s32s8_1x1__ref,               \
    .requant_s32s32 = requant_s32s32_1x1__ref,             \
    .residual_s32s8s32 = residual_s32s8s32_1x1__ref,       \
    .layernorm_s32s8 = layernorm_s32s8_1x1__ref,           \
    .softmax_s32u8 = softmax_s32u8_1x1__ref,               \
    .gelu_s32s8 = gelu_s32s8_1x1__ref,                     \
    .tanh_s32s8 = tanh_s32s8_1x1__ref

static const kernel_table ref_kernels = {
    .name = "ref",
    .gemm_s8s8s32 = gemm_s8s8s32_1x1__ref,
    .gemm_u8s8s32 = gemm_u8s8s32_1x1__ref,
    REF_KERNELS_EXCEPT_GEMMS,
};

#ifdef IBERT_AARCH64_KERNELS
/* Debian's and Android's <asm/hwcap.h> have these; the values are the Linux ABI. */
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1 << 13)
#endif

static const linear_packing neon_linear = {
    .packed_size = packw_s8s32_4x16_size,
    .pack = packw_s8s32_4x16,
    .gemm = linear_s8s8s32_4x4c16__neon,
    .column_block = 4,
};

static const kernel_table neon_kernels = {
    .name = "neon",
    .linear = &neon_linear,
    .gemm_s8s8s32 = gemm_s8s8s32_4x4c16__neon,
    .gemm_u8s8s32 = gemm_u8s8s32_4x16__neon,
    REF_KERNELS_EXCEPT_GEMMS,
};

static const linear_packing dotprod_linear = {
    .packed_size = packw_s8s32_16x4_size,
    .pack = packw_s8s32_16x4,
    .gemm = linear_s8s8s32_4x16c4__neondot,
    .column_block = 16,
};

static const kernel_table dotprod_kernels = {
    .name = "dotprod",
    .linear = &dotprod_linear,
    .gemm_s8s8s32 = gemm_s8s8s32_4x16c4__neondot,
    .gemm_u8s8s32 = gemm_u8s8s32_4x16c4__neondot,
    REF_KERNELS_EXCEPT_GEMMS,
};

static const linear_packing i8mm_linear = {
    .packed_size = packw_s8s32_8x8_size,
    .pack = packw_s8s32_8x8,
    .gemm = linear_s8s8s32_8x8c8__i8mm,
    .column_block = 8,
};

static const kernel_table i8mm_kernels = {
    .name = "i8mm",
    .linear = &i8mm_linear,
    .gemm_s8s8s32 = gemm_s8s8s32_4x16c4__neondot,
    .gemm_u8s8s32 = gemm_u8s8s32_8x8c8__i8mm,
    REF_KERNELS_EXCEPT_GEMMS,
};
#endif

/* A kernel table and the CPU feature bits (AT_HWCAP, AT_HWCAP2) it needs. */
typedef struct candidate {
    const kernel_table *kernels;
    unsigned long hwcap, hwcap2;
} candidate;

/* Best first; "ref" needs nothing and ends the list. */
static const candidate candidates[] = {
#ifdef IBERT_AARCH64_KERNELS
    {&i8mm_kernels, HWCAP_ASIMD | HWCAP_ASIMDDP, HWCAP2_I8MM},
    {&dotprod_kernels, HWCAP_ASIMD | HWCAP_ASIMDDP, 0},
    {&neon_kernels, HWCAP_ASIMD, 0},
#endif
    {&ref_kernels, 0, 0},
};

#define N_CANDIDATES (sizeof candidates / sizeof candidates[0])

/* The CPU's feature bits: AT_HWCAP and AT_HWCAP2 (0 where there are none). */
static void cpu_hwcaps(unsigned long *hwcap, unsigned long *hwcap2) {
#ifdef IBERT_AARCH64_KERNELS
    *hwcap = getauxval(AT_HWCAP);
    *hwcap2 = getauxval(AT_HWCAP2);
#else
    *hwcap = *hwcap2 = 0;
#endif
}

static int runs_on(const candidate *c, unsigned long hwcap, unsigned long hwcap2) {
    return (hwcap & c->hwcap) == c->hwcap && (hwcap2 & c->hwcap2) == c->hwcap2;
}

ibert_status kernels_select(const kernel_table **out) {
    unsigned long hwcap, hwcap2;
    cpu_hwcaps(&hwcap, &hwcap2);
    const char *wanted = getenv("IBERT_KERNELS");
    const int any = !wanted || !*wanted;
    /* The usable names, listed worst (always "ref") first. */
    char valid[128] = "";
    for (size_t i = N_CANDIDATES; i-- > 0;) {
        const candidate *c = &candidates[i];
        if (!runs_on(c, hwcap, hwcap2)) continue;
        if (*valid) strncat(valid, ", ", sizeof valid - strlen(valid) - 1);
        strncat(valid, c->kernels->name, sizeof valid - strlen(valid) - 1);
    }
    for (size_t i = 0; i < N_CANDIDATES; i++) {
        const candidate *c = &candidates[i];
        if (!any && strcmp(wanted, c->kernels->name) != 0) continue;
        if (!runs_on(c, hwcap, hwcap2)) {
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
