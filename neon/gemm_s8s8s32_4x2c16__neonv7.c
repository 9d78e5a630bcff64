/* gemm_s8s8s32_4x2c16__neonv7: int8 x int8^T -> int32 (+ bias) with 32-bit ARMv7-A
 * NEON (Cortex-A7/A15/A53 in AArch32, 32-bit Pi OS), on the unpacked row-major
 * layout: c[i, j] is the dot product of row i of a with row j of b, both contiguous
 * in k.
 *
 * Tile: 4 rows of a x 2 rows of b, 16 k at a time; 8 accumulators, the two b rows
 * and one a row at a time fit the 16 Q registers of AArch32 without spilling.
 * Per output and block: two VMULL.S8 give 16 exact int16 products (|p| <= 2^14) and
 * two VPADAL.S16 add them pairwise into 4 int32 partial sums. Pairing two products
 * in int16 with VMLAL.S8 first would save one instruction in four but is exact only
 * when b never holds -128 (a pair of -128 * -128 is 2^15): this kernel also computes
 * q.k^T, whose operands are both activations, so every product is widened on its
 * own. Any order of summation is exact (FORMAT.md §4.2), so the results equal
 * gemm_s8s8s32_1x1__ref bit for bit.
 *
 * Edges: rows and columns past m, n reuse the last valid row (computed, not
 * stored); the k % 16 tail is added in scalar code. */
#if !defined(__ARM_NEON) || defined(__aarch64__)
#error "gemm_s8s8s32_4x2c16__neonv7 needs 32-bit ARM NEON (ARMv7-A)"
#endif

#include <arm_neon.h>

#include "kernels/kernels.h"

#define MR 4
#define NR 2

/* acc += the 16 exact int16 products va * vb, added pairwise into 4 partial sums. */
#define MAC(acc, va, vb)                                                                     \
    acc = vpadalq_s16(vpadalq_s16(acc, vmull_s8(vget_low_s8(va), vget_low_s8(vb))),         \
                      vmull_s8(vget_high_s8(va), vget_high_s8(vb)))

/* The 2 outputs of one row: lane s = the sum of the 4 partial sums of c_s. */
static inline int32x2_t fold(int32x4_t c0, int32x4_t c1) {
    return vpadd_s32(vpadd_s32(vget_low_s32(c0), vget_high_s32(c0)), vpadd_s32(vget_low_s32(c1), vget_high_s32(c1)));
}

void gemm_s8s8s32_4x2c16__neonv7(size_t m, size_t n, size_t k_len, const int8_t *a, size_t lda, const int8_t *b,
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
            int32x4_t c00 = vdupq_n_s32(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
                      c31 = c00;
            for (size_t k = 0; k < k_main; k += 16) {
                const int8x16_t b0 = vld1q_s8(br[0] + k), b1 = vld1q_s8(br[1] + k);
                const int8x16_t a0 = vld1q_s8(ar[0] + k);
                MAC(c00, a0, b0);
                MAC(c01, a0, b1);
                const int8x16_t a1 = vld1q_s8(ar[1] + k);
                MAC(c10, a1, b0);
                MAC(c11, a1, b1);
                const int8x16_t a2 = vld1q_s8(ar[2] + k);
                MAC(c20, a2, b0);
                MAC(c21, a2, b1);
                const int8x16_t a3 = vld1q_s8(ar[3] + k);
                MAC(c30, a3, b0);
                MAC(c31, a3, b1);
            }

            int32_t tile[MR][NR];
            int32x2_t vbias = vdup_n_s32(0);
            if (bias) vbias = vset_lane_s32(bias[j0 + nr - 1], vdup_n_s32(bias[j0]), 1);
            vst1_s32(tile[0], vadd_s32(fold(c00, c01), vbias));
            vst1_s32(tile[1], vadd_s32(fold(c10, c11), vbias));
            vst1_s32(tile[2], vadd_s32(fold(c20, c21), vbias));
            vst1_s32(tile[3], vadd_s32(fold(c30, c31), vbias));
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
