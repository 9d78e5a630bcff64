/* linear_s8s8s32_4x16c4__neondot: a linear layer, c = bias + a w^T, with SDOT
 * (ARMv8.2 dotprod) on weights packed at load by packw_s8s32_16x4 (blocks of 16
 * columns: the 16 biases, then 4 k per column); a is read as it is, row-major.
 *
 * Tile (dot_4x16c4__neondot.h): 4 rows x 16 columns in 16 int32x4 accumulators,
 * started at the block's biases. Per 16 k: one 16-byte load per row of a and four
 * 64-byte loads of w (one per group of 4 k) feed 64 lane-indexed SDOTs, the SDOT
 * ideal of one instruction per 16 multiply-accumulates plus 8 loads per 64.
 *
 * Exact: SDOT multiplies int8 by int8 exactly (also -128 * -128) and adds into
 * int32, and FORMAT.md §4.2 bounds the sum in any order, so c equals
 * gemm_s8s8s32_1x1__ref bit for bit for every int8 operand. Columns past j1 are
 * the packer's zero padding and are not stored. */
#if !defined(__ARM_FEATURE_DOTPROD)
#error "linear_s8s8s32_4x16c4__neondot needs the dotprod extension (-march=armv8.2-a+dotprod)"
#endif

#include <arm_neon.h>

#include "dot_4x16c4__neondot.h"
#include "kernels/kernels.h"

void linear_s8s8s32_4x16c4__neondot(size_t m, size_t j0, size_t j1, size_t k, const int8_t *a, size_t lda,
                                    const void *packed, int32_t *c, size_t ldc) {
    const size_t groups = (k + DOT_KGROUP - 1) / DOT_KGROUP;
    const size_t block_bytes = DOT_NR * sizeof(int32_t) + groups * DOT_GROUP_BYTES;
    for (size_t jb = j0; jb < j1; jb += DOT_NR) {
        const int8_t *block = (const int8_t *)packed + jb / DOT_NR * block_bytes;
        const int32_t *bias = (const int32_t *)(const void *)block;
        const size_t nr = j1 - jb < DOT_NR ? j1 - jb : DOT_NR;
        dot_4x16c4_rows(m, k, a, lda, vdupq_n_u8(0), block + DOT_NR * sizeof(int32_t), vld1q_s32(bias),
                        vld1q_s32(bias + 4), vld1q_s32(bias + 8), vld1q_s32(bias + 12), c + jb, ldc, nr, 0);
    }
}
