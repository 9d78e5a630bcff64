/* gemm_s8s8s32_4x2c16__neonv7: int8 x int8^T -> int32 (+ bias) with 32-bit ARMv7-A
 * NEON (Cortex-A7/A15/A53 in AArch32, 32-bit Pi OS), on the unpacked row-major
 * layout: c[i, j] is the dot product of row i of a with row j of b, both contiguous
 * in k. The forward pass uses it for q.k^T (the linear layers run
 * linear_s8s8s32_4x8c4__neonv7 on weights packed at load).
 *
 * Tile: 4 rows of a x 2 rows of b, 16 k at a time; 8 accumulators, the two b rows
 * and one a row at a time fit the 16 Q registers of AArch32 without spilling.
 * Per output and block, two ways to form 16 exact int8 products into 4 int32
 * partial sums:
 *
 * - paired: VMULL.S8 then VMLAL.S8 add two products in each int16 lane, VPADAL.S16
 *   adds the lanes pairwise: 3 instructions. Exact when b holds no -128: then
 *   |a * b| <= 128 * 127 and a pair is at most 32512 < 2^15.
 * - single: two VMULL.S8 and two VPADAL.S16, every product widened on its own
 *   (|p| <= 2^14): 4 instructions, exact for every int8. q.k^T passes activations
 *   as b, which may hold -128 (a pair of -128 * -128 would be 2^15).
 *
 * The kernel scans b's first k_main columns for -128 once per call (1/m of the work
 * of the product) and picks the paired loop when there is none (a head's k holds
 * -128 only where the requantization saturated). Any order of
 * summation is exact (FORMAT.md §4.2), so the results equal gemm_s8s8s32_1x1__ref
 * bit for bit.
 *
 * Edges: rows and columns past m, n reuse the last valid row (computed, not
 * stored); the k % 16 tail is added in scalar code. Whole tiles without a k tail
 * are stored straight from the registers. */
#if !defined(__ARM_NEON) || defined(__aarch64__)
#error "gemm_s8s8s32_4x2c16__neonv7 needs 32-bit ARM NEON (ARMv7-A)"
#endif

#include <arm_neon.h>

#include "kernels/kernels.h"

#define MR 4
#define NR 2

/* acc += the 16 products va * vb, each widened on its own, into 4 partial sums. */
#define MAC_SINGLE(acc, va, vb)                                                              \
    acc = vpadalq_s16(vpadalq_s16(acc, vmull_s8(vget_low_s8(va), vget_low_s8(vb))),         \
                      vmull_s8(vget_high_s8(va), vget_high_s8(vb)))
/* The same with two products per int16 lane first: vb must hold no -128. */
#define MAC_PAIRED(acc, va, vb)                                                                            \
    acc = vpadalq_s16(acc, vmlal_s8(vmull_s8(vget_low_s8(va), vget_low_s8(vb)), vget_high_s8(va),          \
                                    vget_high_s8(vb)))
#define MAC(paired, acc, va, vb)          \
    do {                                  \
        if (paired)                       \
            MAC_PAIRED(acc, va, vb);      \
        else                              \
            MAC_SINGLE(acc, va, vb);      \
    } while (0)

/* The 2 outputs of one row: lane s = the sum of the 4 partial sums of c_s. */
static inline int32x2_t fold(int32x4_t c0, int32x4_t c1) {
    return vpadd_s32(vpadd_s32(vget_low_s32(c0), vget_high_s32(c0)), vpadd_s32(vget_low_s32(c1), vget_high_s32(c1)));
}

/* 1 when no b[j, k] with j < n, k < k_main is -128. */
static int free_of_min(size_t n, size_t k_main, const int8_t *b, size_t ldb) {
    const int8x16_t min = vdupq_n_s8(INT8_MIN);
    uint8x16_t seen = vdupq_n_u8(0);
    for (size_t j = 0; j < n; j++)
        for (size_t k = 0; k < k_main; k += 16) seen = vorrq_u8(seen, vceqq_s8(vld1q_s8(b + j * ldb + k), min));
    const uint32x2_t folded = vreinterpret_u32_u8(vorr_u8(vget_low_u8(seen), vget_high_u8(seen)));
    return (vget_lane_u32(folded, 0) | vget_lane_u32(folded, 1)) == 0;
}

static inline __attribute__((always_inline)) void gemm(int paired, size_t m, size_t n, size_t k_len,
                                                       const int8_t *a, size_t lda, const int8_t *b, size_t ldb,
                                                       const int32_t *bias, int32_t *c, size_t ldc) {
    const size_t k_main = k_len & ~(size_t)15;
    for (size_t i0 = 0; i0 < m; i0 += MR) {
        const size_t mr = m - i0 < MR ? m - i0 : MR;
        const int8_t *ar[MR];
        for (size_t r = 0; r < MR; r++) ar[r] = a + (i0 + (r < mr ? r : mr - 1)) * lda;
        for (size_t j0 = 0; j0 < n; j0 += NR) {
            const size_t nr = n - j0 < NR ? n - j0 : NR;
            const int8_t *br[NR];
            for (size_t s = 0; s < NR; s++) br[s] = b + (j0 + (s < nr ? s : nr - 1)) * ldb;

            /* Named registers, not arrays: GCC keeps arrays of vectors in memory. Walking
             * pointers let the loads post-increment instead of adding k to 6 bases. */
            int32x4_t c00 = vdupq_n_s32(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
                      c31 = c00;
            const int8_t *pa0 = ar[0], *pa1 = ar[1], *pa2 = ar[2], *pa3 = ar[3], *pb0 = br[0], *pb1 = br[1];
            for (size_t k = 0; k < k_main; k += 16) {
                const int8x16_t b0 = vld1q_s8(pb0), b1 = vld1q_s8(pb1);
                pb0 += 16;
                pb1 += 16;
                const int8x16_t a0 = vld1q_s8(pa0);
                pa0 += 16;
                MAC(paired, c00, a0, b0);
                MAC(paired, c01, a0, b1);
                const int8x16_t a1 = vld1q_s8(pa1);
                pa1 += 16;
                MAC(paired, c10, a1, b0);
                MAC(paired, c11, a1, b1);
                const int8x16_t a2 = vld1q_s8(pa2);
                pa2 += 16;
                MAC(paired, c20, a2, b0);
                MAC(paired, c21, a2, b1);
                const int8x16_t a3 = vld1q_s8(pa3);
                pa3 += 16;
                MAC(paired, c30, a3, b0);
                MAC(paired, c31, a3, b1);
            }

            const int32x2_t r0 = fold(c00, c01), r1 = fold(c10, c11), r2 = fold(c20, c21), r3 = fold(c30, c31);
            int32_t *cr = c + i0 * ldc + j0;
            if (mr == MR && nr == NR && k_main == k_len) {
                /* a whole tile (the common case): straight to c */
                const int32x2_t vbias = bias ? vld1_s32(bias + j0) : vdup_n_s32(0);
                vst1_s32(cr, vadd_s32(r0, vbias));
                vst1_s32(cr + ldc, vadd_s32(r1, vbias));
                vst1_s32(cr + 2 * ldc, vadd_s32(r2, vbias));
                vst1_s32(cr + 3 * ldc, vadd_s32(r3, vbias));
                continue;
            }
            int32_t tile[MR][NR];
            vst1_s32(tile[0], r0);
            vst1_s32(tile[1], r1);
            vst1_s32(tile[2], r2);
            vst1_s32(tile[3], r3);
            for (size_t r = 0; r < mr; r++) {
                for (size_t s = 0; s < nr; s++) {
                    int32_t sum = tile[r][s] + (bias ? bias[j0 + s] : 0);
                    for (size_t k = k_main; k < k_len; k++) sum += (int32_t)ar[r][k] * br[s][k];
                    cr[r * ldc + s] = sum;
                }
            }
        }
    }
}

void gemm_s8s8s32_4x2c16__neonv7(size_t m, size_t n, size_t k_len, const int8_t *a, size_t lda, const int8_t *b,
                                 size_t ldb, const int32_t *bias, int32_t *c, size_t ldc) {
    if (free_of_min(n, k_len & ~(size_t)15, b, ldb))
        gemm(1, m, n, k_len, a, lda, b, ldb, bias, c, ldc);
    else
        gemm(0, m, n, k_len, a, lda, b, ldb, bias, c, ldc);
}
