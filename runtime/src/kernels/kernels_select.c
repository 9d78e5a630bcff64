/* kernels_select.c: the kernel tables this build has and the choice among them.
 * IBERT_KERNELS forces one by name (to test a path, or to compare two); unset,
 * the best one the CPU supports is used.
 *
 * ARM builds (IBERT_NEON_KERNELS, set by CMake) have the NEON elementwise kernels
 * (requant, residual, layer norm, softmax and its version-5 finish, GELU, tanh) in
 * every ARM table.
 * AArch64 builds (also IBERT_AARCH64_KERNELS) add, best first: "i8mm" (SMMLA for
 * the linear layers and q.k^T, USMMLA for P.V; when the kernel reports
 * HWCAP2_I8MM), "dotprod" (SDOT, HWCAP_ASIMDDP) and "neon"
 * (AdvSIMD, present on every AArch64 CPU); their GEMMs are the linear layers' (on
 * weights packed at load, kernel_table.linear), q.k^T and P.V.
 * 32-bit ARM builds (also IBERT_ARMV7_KERNELS) have "neon", with ARMv7-A NEON GEMMs
 * for the linear layers (on weights packed at load), q.k^T and P.V, when the kernel
 * reports HWCAP_NEON (ARMv7-A CPUs may lack it; the library itself is built without
 * NEON).
 *
 * x86-64 builds (IBERT_X86_KERNELS) add, best first: "avx512vnni" (AVX-512 F, BW,
 * VL and VNNI: every kernel but tanh) and "avx2" (every kernel but tanh), as CPUID
 * and the OS report them (__builtin_cpu_supports checks both). */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kernels/hwcap.h"
#include "kernels/kernels.h"

static const kernel_table ref_kernels = {
    .name = "ref",
    .gemm_s8s8s32 = gemm_s8s8s32_1x1__ref,
    .gemm_u8s8s32 = gemm_u8s8s32_1x1__ref,
    .gemm_lowbit = gemm_s8sxs32_1x1__ref,
    .requant_s32s8 = requant_s32s8_1x1__ref,
    .requant_s32s32 = requant_s32s32_1x1__ref,
    .residual_s32s8s32 = residual_s32s8s32_1x1__ref,
    .layernorm_s32s8 = layernorm_s32s8_1x1__ref,
    .softmax_s32u8 = softmax_s32u8_1x1__ref,
    .softmax_exp16_finish = softmax_exp16_finish_u8__ref,
    .gelu_s32s8 = gelu_s32s8_1x1__ref,
    .tanh_s32s8 = tanh_s32s8_1x1__ref,
};

#ifdef IBERT_NEON_KERNELS
/* The NEON elementwise kernels, shared by the AArch64 and the 32-bit ARM tables. */
#define NEON_ELEMENTWISE_KERNELS                               \
    .requant_s32s8 = requant_s32s8_1x8__neon,                  \
    .requant_s32s32 = requant_s32s32_1x8__neon,                \
    .residual_s32s8s32 = residual_s32s8s32_1x8__neon,          \
    .layernorm_s32s8 = layernorm_s32s8_1x8__neon,              \
    .softmax_s32u8 = softmax_s32u8_1x8__neon,                  \
    .softmax_exp16_finish = softmax_exp16_finish_u8_1x8__neon, \
    .gelu_s32s8 = gelu_s32s8_1x8__neon,                        \
    .tanh_s32s8 = tanh_s32s8_1x4__neon
#endif

#ifdef IBERT_AARCH64_KERNELS
/* Debian's and Android's <asm/hwcap.h> have these; the values are the Linux ABI. */

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
    .gemm_lowbit = gemm_s8sxs32_2x4c16__neon,
    NEON_ELEMENTWISE_KERNELS,
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
    .gemm_lowbit = gemm_s8sxs32_16x4c4__neondot,
    NEON_ELEMENTWISE_KERNELS,
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
    .gemm_s8s8s32 = gemm_s8s8s32_8x8c8__i8mm,
    .gemm_u8s8s32 = gemm_u8s8s32_8x8c8__i8mm,
    .gemm_lowbit = gemm_s8sxs32_16x4c8__i8mm, /* its grouped layers call the SDOT kernel (has_i8mm checks dotprod) */
    NEON_ELEMENTWISE_KERNELS,
};
#elif defined(IBERT_ARMV7_KERNELS)

static const linear_packing neon_linear = {
    .packed_size = packw_s8s32_8x2_size,
    .pack = packw_s8s32_8x2,
    .gemm = linear_s8s8s32_4x8c4__neonv7,
    .column_block = 8,
};

static const kernel_table neon_kernels = {
    .name = "neon",
    .linear = &neon_linear,
    .gemm_s8s8s32 = gemm_s8s8s32_4x2c16__neonv7,
    .gemm_u8s8s32 = gemm_u8s8s32_4x8__neonv7,
    .gemm_lowbit = gemm_s8sxs32_2x4c16__neon,
    NEON_ELEMENTWISE_KERNELS,
};
#endif

#ifdef IBERT_X86_KERNELS
static const linear_packing avx512vnni_linear = {
    .packed_size = packw_s8s32_16x4_x128_size,
    .pack = packw_s8s32_16x4_x128,
    .gemm = linear_s8s8s32_8x48c4__avx512vnni,
    .column_block = 16,
};

static const linear_packing avx2_linear = {
    .packed_size = packw_s8s32_8x4_size,
    .pack = packw_s8s32_8x4,
    .gemm = linear_s8s8s32_4x16c4__avx2,
    .column_block = 8,
};

static const kernel_table avx512vnni_kernels = {
    .name = "avx512vnni",
    .linear = &avx512vnni_linear,
    .gemm_s8s8s32 = gemm_s8s8s32_8x48c4__avx512vnni,
    .gemm_u8s8s32 = gemm_u8s8s32_8x16c4__avx512vnni,
    .gemm_lowbit = gemm_s8sxs32_8x48c4__avx512vnni,
    .requant_s32s8 = requant_s32s8_1x16__avx512,
    .requant_s32s32 = requant_s32s32_1x16__avx512,
    .residual_s32s8s32 = residual_s32s8s32_1x16__avx512,
    .gelu_s32s8 = gelu_s32s8_1x16__avx512,
    .layernorm_s32s8 = layernorm_s32s8_1x16__avx512,
    .softmax_s32u8 = softmax_s32u8_1x16__avx512,
    .softmax_exp16_finish = softmax_exp16_finish_u8_1x16__avx512,
    .tanh_s32s8 = tanh_s32s8_1x1__ref,
};

static const kernel_table avx2_kernels = {
    .name = "avx2",
    .linear = &avx2_linear,
    .gemm_s8s8s32 = gemm_s8s8s32_2x4c16__avx2,
    .gemm_u8s8s32 = gemm_u8s8s32_4x16c2__avx2,
    .gemm_lowbit = gemm_s8sxs32_2x2c32__avx2,
    .requant_s32s8 = requant_s32s8_1x8__avx2,
    .requant_s32s32 = requant_s32s32_1x8__avx2,
    .residual_s32s8s32 = residual_s32s8s32_1x8__avx2,
    .gelu_s32s8 = gelu_s32s8_1x8__avx2,
    .layernorm_s32s8 = layernorm_s32s8_1x8__avx2,
    .softmax_s32u8 = softmax_s32u8_1x8__avx2,
    .softmax_exp16_finish = softmax_exp16_finish_u8_1x8__avx2,
    .tanh_s32s8 = tanh_s32s8_1x1__ref,
};
#endif

/* Whether this CPU (and its OS) can run a table's instructions. */
#ifdef IBERT_AARCH64_KERNELS
static int has_neon(void) { return (getauxval(AT_HWCAP) & HWCAP_ASIMD) != 0; }
static int has_dotprod(void) {
    const unsigned long need = HWCAP_ASIMD | HWCAP_ASIMDDP;
    return (getauxval(AT_HWCAP) & need) == need;
}
/* i8mm's table runs the dotprod low-bit kernel: every ARMv8.6 CPU (i8mm) has dotprod
 * (ARMv8.4), and this keeps a CPU that reported one without the other off both. */
static int has_i8mm(void) { return has_dotprod() && (getauxval(AT_HWCAP2) & HWCAP2_I8MM) != 0; }
#elif defined(IBERT_ARMV7_KERNELS)
static int has_neon(void) { return (getauxval(AT_HWCAP) & HWCAP_NEON) != 0; }
#endif
#ifdef IBERT_X86_KERNELS
static int has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}
static int has_avx512vnni(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512vnni");
}
#endif

/* A kernel table and the check of the CPU features it needs (NULL: none). */
typedef struct candidate {
    const kernel_table *kernels;
    int (*supported)(void);
} candidate;

/* Best first; "ref" needs nothing and ends the list. */
static const candidate candidates[] = {
#ifdef IBERT_AARCH64_KERNELS
    {&i8mm_kernels, has_i8mm},
    {&dotprod_kernels, has_dotprod},
#endif
#ifdef IBERT_NEON_KERNELS
    {&neon_kernels, has_neon},
#endif
#ifdef IBERT_X86_KERNELS
    {&avx512vnni_kernels, has_avx512vnni},
    {&avx2_kernels, has_avx2},
#endif
    {&ref_kernels, NULL},
};

#define N_CANDIDATES (sizeof candidates / sizeof candidates[0])

static int usable(const candidate *c) { return !c->supported || c->supported(); }

ibert_status kernels_select(const kernel_table **out) {
    const char *wanted = getenv("IBERT_KERNELS");
    const int any = !wanted || !*wanted;
    /* The usable names, listed worst (always "ref") first. */
    char valid[128] = "";
    for (size_t i = N_CANDIDATES; i-- > 0;) {
        const candidate *c = &candidates[i];
        if (!usable(c)) continue;
        if (*valid) strncat(valid, ", ", sizeof valid - strlen(valid) - 1);
        strncat(valid, c->kernels->name, sizeof valid - strlen(valid) - 1);
    }
    for (size_t i = 0; i < N_CANDIDATES; i++) {
        const candidate *c = &candidates[i];
        if (!any && strcmp(wanted, c->kernels->name) != 0) continue;
        if (!usable(c)) {
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
