/* gemm_s8s8s32_4x4c16__neon: int8 x int8^T -> int32 (+ bias) with baseline AArch64
 * AdvSIMD (Cortex-A72, no dotprod), on the unpacked row-major layout: c[i, j] is
 * the dot product of row i of a with row j of b, both contiguous in k.
 *
 * Tile: 4 rows of a x 4 rows of b, 16 k at a time. Per output and block: SMULL
 * and SMULL2 give 16 exact int16 products (|p| <= 128 * 128 = 2^14), two SADALPs
 * add them pairwise into 4 int32 partial sums. Pairing two products in int16 with
 * SMLAL would save one instruction in four, but it is exact only when b never holds
 * -128 (weights, FORMAT.md §3): this kernel also computes q.k^T, whose operands are
 * both activations, so it keeps every product separate. Any order of summation is
 * exact (FORMAT.md §4.2), so the results equal gemm_s8s8s32_1x1__ref bit for bit.
 *
 * Edges: rows and columns past m, n reuse the last valid row (computed, not
 * stored); the k % 16 tail is added in scalar code. */
#if !defined(__aarch64__) || !defined(__ARM_NEON)
#error "gemm_s8s8s32_4x4c16__neon needs AArch64 AdvSIMD"
#endif

#include <arm_neon.h>

#include "kernels/kernels.h"

#define MR 4
#define NR 4

/* acc += the 16 exact int16 products va * vb, added pairwise into 4 partial sums. */
#define MAC(acc, va, vb) \
    acc = vpadalq_s16(vpadalq_s16(acc, vmull_s8(vget_low_s8(va), vget_low_s8(vb))), vmull_high_s8(va, vb))
/* The 4 outputs of one row: lane s = the sum of the 4 partial sums of c_s. */
#define FOLD(c0, c1, c2, c3) vpaddq_s32(vpaddq_s32(c0, c1), vpaddq_s32(c2, c3))

void gemm_s8s8s32_4x4c16__neon(size_t m, size_t n, size_t k_len, const int8_t *a, size_t lda, const int8_t *b,
                               size_t ldb, const int32_t *bias, int32_t *c, size_t ldc) {
    const size_t k_main = k_len & ~(size_t)15;
    for (size_t i0 = 0; i0 < m; i0 += MR) {
        const size_t mr = m - i0 < MR ? m - i0 : MR;
        const int8_t *ar[MR];
        for (size_t r = 0; r < MR; r++) ar[r] = a + (i0 + (r < mr ? r : mr - 1)) * lda;
        for (size_t j0 = 0; j0 < n; j0 += NR) {
            const size_t nr = n - j0 < NR ? n - j0 : NR;
            const int8_t *br[NR];
            for (size_t s = 0; s < NR; s++) br[s] = b + (j0 + (s < nr ? s : nr - 1)) * ldb;

            /* Named registers, not arrays: GCC keeps arrays of vectors in memory. */
            int32x4_t c00 = vdupq_n_s32(0), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00,
                      c13 = c00, c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00,
                      c33 = c00;
            for (size_t k = 0; k < k_main; k += 16) {
                const int8x16_t b0 = vld1q_s8(br[0] + k), b1 = vld1q_s8(br[1] + k), b2 = vld1q_s8(br[2] + k),
                                b3 = vld1q_s8(br[3] + k);
                const int8x16_t a0 = vld1q_s8(ar[0] + k), a1 = vld1q_s8(ar[1] + k), a2 = vld1q_s8(ar[2] + k),
                                a3 = vld1q_s8(ar[3] + k);
                MAC(c00, a0, b0); MAC(c01, a0, b1); MAC(c02, a0, b2); MAC(c03, a0, b3);
                MAC(c10, a1, b0); MAC(c11, a1, b1); MAC(c12, a1, b2); MAC(c13, a1, b3);
                MAC(c20, a2, b0); MAC(c21, a2, b1); MAC(c22, a2, b2); MAC(c23, a2, b3);
                MAC(c30, a3, b0); MAC(c31, a3, b1); MAC(c32, a3, b2); MAC(c33, a3, b3);
            }

            int32_t tile[MR][NR];
            int32x4_t vbias = vdupq_n_s32(0);
            if (bias) {
                int32_t bias4[NR] = {0};
                for (size_t s = 0; s < nr; s++) bias4[s] = bias[j0 + s];
                vbias = vld1q_s32(bias4);
            }
            vst1q_s32(tile[0], vaddq_s32(FOLD(c00, c01, c02, c03), vbias));
            vst1q_s32(tile[1], vaddq_s32(FOLD(c10, c11, c12, c13), vbias));
            vst1q_s32(tile[2], vaddq_s32(FOLD(c20, c21, c22, c23), vbias));
            vst1q_s32(tile[3], vaddq_s32(FOLD(c30, c31, c32, c33), vbias));
            for (size_t r = 0; r < mr; r++) {
                for (size_t s = 0; s < nr; s++) {
                    int32_t sum = tile[r][s];
                    for (size_t k = k_main; k < k_len; k++) sum += (int32_t)ar[r][k] * br[s][k];
                    c[(i0 + r) * ldc + j0 + s] = sum;
                }
            }
        }
    }
}
