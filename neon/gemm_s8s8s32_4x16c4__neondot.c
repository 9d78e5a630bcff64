/* gemm_s8s8s32_4x16c4__neondot: a linear layer, c = bias + a w^T, with SDOT
 * (ARMv8.2 dotprod) on weights packed by packw_s8s32_16x4 (16 columns, then 4 k per
 * column, the block's 16 biases first). a is read as it is, row-major.
 *
 * Tile: 4 rows x 16 columns in 16 int32x4 accumulators, started at the bias. Per
 * 16 k: one 16-byte load per row of a and four 64-byte loads of w (one per group
 * of 4 k) feed 64 lane-indexed SDOTs: acc[r][q] += the 4 products of row r's k
 * group g (lane g of its load) with columns 4q..4q+3. That is the SDOT ideal of
 * one instruction per 16 multiply-accumulates plus 8 loads per 64.
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

#include "kernels/kernels.h"

#define MR 4
#define NR 16
#define KGROUP 4
#define KBLOCK 16

/* The 16 accumulators of row r += k group g (lane g of va) times the 16 columns of w. */
#define ROW_GROUP(r, va, w, g)                            \
    do {                                                  \
        c##r##0 = vdotq_laneq_s32(c##r##0, w.val[0], va, g); \
        c##r##1 = vdotq_laneq_s32(c##r##1, w.val[1], va, g); \
        c##r##2 = vdotq_laneq_s32(c##r##2, w.val[2], va, g); \
        c##r##3 = vdotq_laneq_s32(c##r##3, w.val[3], va, g); \
    } while (0)

/* All 4 rows += k group g of the 16 k in a0..a3; advances wp by one packed group. */
#define GROUP(g)                                    \
    do {                                            \
        const int8x16x4_t w = vld1q_s8_x4(wp);      \
        wp += NR * KGROUP;                          \
        ROW_GROUP(0, a0, w, g);                     \
        ROW_GROUP(1, a1, w, g);                     \
        ROW_GROUP(2, a2, w, g);                     \
        ROW_GROUP(3, a3, w, g);                     \
    } while (0)

/* Row r's 16 results to c (all 16 columns, or the first nr through a copy). */
static inline void store_row(int32_t *c, size_t nr, int32x4_t v0, int32x4_t v1, int32x4_t v2, int32x4_t v3) {
    if (nr == NR) {
        vst1q_s32(c, v0);
        vst1q_s32(c + 4, v1);
        vst1q_s32(c + 8, v2);
        vst1q_s32(c + 12, v3);
        return;
    }
    int32_t row[NR];
    vst1q_s32(row, v0);
    vst1q_s32(row + 4, v1);
    vst1q_s32(row + 8, v2);
    vst1q_s32(row + 12, v3);
    memcpy(c, row, nr * sizeof *c);
}

void gemm_s8s8s32_4x16c4__neondot(size_t m, size_t j0, size_t j1, size_t k, const int8_t *a, size_t lda,
                                  const void *packed, int32_t *c, size_t ldc) {
    const size_t groups = (k + KGROUP - 1) / KGROUP, k_main = k & ~(size_t)(KBLOCK - 1);
    const size_t tail_groups = groups - k_main / KGROUP;
    const size_t block_bytes = NR * sizeof(int32_t) + groups * NR * KGROUP;
    for (size_t jb = j0; jb < j1; jb += NR) {
        const int8_t *block = (const int8_t *)packed + jb / NR * block_bytes;
        const int32_t *bias = (const int32_t *)(const void *)block;
        const int8_t *w = block + NR * sizeof(int32_t);
        const size_t nr = j1 - jb < NR ? j1 - jb : NR;
        const int32x4_t bias0 = vld1q_s32(bias), bias1 = vld1q_s32(bias + 4), bias2 = vld1q_s32(bias + 8),
                        bias3 = vld1q_s32(bias + 12);
        for (size_t i0 = 0; i0 < m; i0 += MR) {
            const size_t mr = m - i0 < MR ? m - i0 : MR;
            const int8_t *ar0 = a + i0 * lda, *ar1 = a + (i0 + (mr > 1 ? 1 : 0)) * lda,
                         *ar2 = a + (i0 + (mr > 2 ? 2 : mr - 1)) * lda, *ar3 = a + (i0 + (mr > 3 ? 3 : mr - 1)) * lda;
            /* Named registers, not arrays: GCC keeps arrays of vectors in memory. */
            int32x4_t c00 = bias0, c01 = bias1, c02 = bias2, c03 = bias3, c10 = bias0, c11 = bias1, c12 = bias2,
                      c13 = bias3, c20 = bias0, c21 = bias1, c22 = bias2, c23 = bias3, c30 = bias0, c31 = bias1,
                      c32 = bias2, c33 = bias3;
            const int8_t *wp = w;
            for (size_t kk = 0; kk < k_main; kk += KBLOCK) {
                const int8x16_t a0 = vld1q_s8(ar0 + kk), a1 = vld1q_s8(ar1 + kk), a2 = vld1q_s8(ar2 + kk),
                                a3 = vld1q_s8(ar3 + kk);
                GROUP(0);
                GROUP(1);
                GROUP(2);
                GROUP(3);
            }
            if (tail_groups) {
                /* The last k % 16 bytes of each row, zero-padded: the padding multiplies
                 * the packer's zeros or is never used. */
                int8_t tail[MR][KBLOCK];
                memset(tail, 0, sizeof tail);
                memcpy(tail[0], ar0 + k_main, k - k_main);
                memcpy(tail[1], ar1 + k_main, k - k_main);
                memcpy(tail[2], ar2 + k_main, k - k_main);
                memcpy(tail[3], ar3 + k_main, k - k_main);
                const int8x16_t a0 = vld1q_s8(tail[0]), a1 = vld1q_s8(tail[1]), a2 = vld1q_s8(tail[2]),
                                a3 = vld1q_s8(tail[3]);
                GROUP(0);
                if (tail_groups > 1) GROUP(1);
                if (tail_groups > 2) GROUP(2);
                if (tail_groups > 3) GROUP(3);
            }
            int32_t *cr = c + i0 * ldc + jb;
            store_row(cr, nr, c00, c01, c02, c03);
            if (mr > 1) store_row(cr + ldc, nr, c10, c11, c12, c13);
            if (mr > 2) store_row(cr + 2 * ldc, nr, c20, c21, c22, c23);
            if (mr > 3) store_row(cr + 3 * ldc, nr, c30, c31, c32, c33);
        }
    }
}
