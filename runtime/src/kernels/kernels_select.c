/* kernels_select.c: the kernel tables this build has and the choice among them.
 * IBERT_KERNELS forces one by name (to test a path, or to compare two); unset,
 * the best one the CPU supports is used. Only the portable reference set exists
 * so far; the SIMD sets join this list with their CPU checks. */
#include <stdlib.h>
#include <string.h>

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

/* Best first. */
static const kernel_table *const available[] = {&ref_kernels};

#define N_AVAILABLE (sizeof available / sizeof available[0])

ibert_status kernels_select(const kernel_table **out) {
    const char *wanted = getenv("IBERT_KERNELS");
    if (!wanted || !*wanted) {
        *out = available[0];
        return IBERT_OK;
    }
    char valid[128] = "";
    for (size_t i = 0; i < N_AVAILABLE; i++) {
        if (strcmp(wanted, available[i]->name) == 0) {
            *out = available[i];
            return IBERT_OK;
        }
        if (i > 0) strncat(valid, ", ", sizeof valid - strlen(valid) - 1);
        strncat(valid, available[i]->name, sizeof valid - strlen(valid) - 1);
    }
    return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "IBERT_KERNELS=%s is not a kernel set of this build (valid: %s)",
                      wanted, valid);
}
