/* gemm_s8s8s32_4x16c4__neondot: a linear layer, c = bias + a w^T, with SDOT
 * (ARMv8.2 dotprod) on weights packed by packw_s8s32_16x4 (16 columns, then 4 k per
 * column, the block's 16 biases first). a is read as it is, row-major.
 *
 * Tile (dot_4x16c4__neondot.h): 4 rows x 16 columns in 16 int32x4 accumulators,
 * started at the bias. Per 16 k: one 16-byte load per row of a and four 64-byte
 * loads of w (one per group of 4 k) feed 64 lane-indexed SDOTs. That is the SDOT
 * ideal of one instruction per 16 multiply-accumulates plus 8 loads per 64.
 *
 * Exact: SDOT multiplies int8 by int8 exactly (also -128 * -128) and adds into
 * int32, and FORMAT.md §4.2 bounds the sum in any order, so c equals
 * gemm_s8s8s32_1x1__ref bit for bit for every int8 operand.
 *
 * Edges: rows past m repeat the last row (computed, not stored); columns past j1
 * are the packer's zero padding (not stored); the k % 16 tail goes through a
 * zero-padded copy of the rows' last bytes, and only the packed 4-k groups that
 * exist are read. */
#if !defined(__ARM_FEATURE_DOTPROD)
#error "gemm_s8s8s32_4x16c4__neondot needs the dotprod extension (-march=armv8.2-a+dotprod)"
#endif

#include <arm_neon.h>
#include <string.h>

#include "dot_4x16c4__neondot.h"
#include "kernels/kernels.h"

void gemm_s8s8s32_4x16c4__neondot(size_t m, size_t j0, size_t j1, size_t k, const int8_t *a, size_t lda,
                                  const void *packed, int32_t *c, size_t ldc) {
    const size_t groups = (k + DOT_KGROUP - 1) / DOT_KGROUP, k_main = k & ~(size_t)(DOT_KBLOCK - 1);
    const size_t tail_groups = groups - k_main / DOT_KGROUP;
    const size_t block_bytes = DOT_NR * sizeof(int32_t) + groups * DOT_GROUP_BYTES;
    for (size_t jb = j0; jb < j1; jb += DOT_NR) {
        const int8_t *block = (const int8_t *)packed + jb / DOT_NR * block_bytes;
        const int32_t *bias = (const int32_t *)(const void *)block;
        const int8_t *w = block + DOT_NR * sizeof(int32_t);
        const size_t nr = j1 - jb < DOT_NR ? j1 - jb : DOT_NR;
        const int32x4_t bias0 = vld1q_s32(bias), bias1 = vld1q_s32(bias + 4), bias2 = vld1q_s32(bias + 8),
                        bias3 = vld1q_s32(bias + 12);
        for (size_t i0 = 0; i0 < m; i0 += DOT_MR) {
            const size_t mr = m - i0 < DOT_MR ? m - i0 : DOT_MR;
            const int8_t *ar0 = a + i0 * lda, *ar1 = a + (i0 + (mr > 1 ? 1 : 0)) * lda,
                         *ar2 = a + (i0 + (mr > 2 ? 2 : mr - 1)) * lda, *ar3 = a + (i0 + (mr > 3 ? 3 : mr - 1)) * lda;
            DOT_TILE_INIT(bias0, bias1, bias2, bias3);
            const int8_t *wp = w;
            for (size_t kk = 0; kk < k_main; kk += DOT_KBLOCK) {
                const int8x16_t a0 = vld1q_s8(ar0 + kk), a1 = vld1q_s8(ar1 + kk), a2 = vld1q_s8(ar2 + kk),
                                a3 = vld1q_s8(ar3 + kk);
                DOT_GROUP(0);
                DOT_GROUP(1);
                DOT_GROUP(2);
                DOT_GROUP(3);
            }
            if (tail_groups) {
                /* The rows' last k % 16 bytes, zero-padded: the padding meets the
                 * packer's zeros or a group that is not read. */
                int8_t tail[DOT_MR][DOT_KBLOCK];
                memset(tail, 0, sizeof tail);
                memcpy(tail[0], ar0 + k_main, k - k_main);
                memcpy(tail[1], ar1 + k_main, k - k_main);
                memcpy(tail[2], ar2 + k_main, k - k_main);
                memcpy(tail[3], ar3 + k_main, k - k_main);
                const int8x16_t a0 = vld1q_s8(tail[0]), a1 = vld1q_s8(tail[1]), a2 = vld1q_s8(tail[2]),
                                a3 = vld1q_s8(tail[3]);
                DOT_GROUPS(tail_groups);
            }
            DOT_TILE_STORE(c + i0 * ldc + jb, ldc, mr, nr, 0);
        }
    }
}
