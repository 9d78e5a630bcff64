/* gemm_u8s8s32_4x8__neonv7: attention probabilities (uint8) times a head's slice of
 * v (int8, row-major [k, n], so columns are contiguous) -> int32, the P.V product of
 * FORMAT.md §4.6 step 3, with 32-bit ARMv7-A NEON.
 *
 * Tile: 4 rows of p x 8 columns of v, as outer products: for each k, the 8 values
 * v[k, j .. j + 7] widened to int16 (VMOVL.S8) are multiplied by p[i, k] and added
 * into 8 int32 lanes per row (VMLAL.S16 by lane: the 32-bit product of two int16 is
 * exact, and p <= 255 fits int16). 8 k per block: each row's 8 probabilities are
 * loaded and widened once (VMOVL.U8) and used lane by lane. 8 accumulators, 4
 * probability rows and one v row fit the 16 Q registers. The sum is the reference's
 * (any order is exact: below 255 * 128 * 2^16 < 2^31), so the results equal
 * gemm_u8s8s32_1x1__ref bit for bit.
 *
 * Edges: rows past m reuse the last valid row (computed, not stored); the k % 8
 * tail multiplies by a scalar p (VMLAL.S16 by scalar); the n % 8 columns at the
 * end go to the reference kernel. */
#if !defined(__ARM_NEON) || defined(__aarch64__)
#error "gemm_u8s8s32_4x8__neonv7 needs 32-bit ARM NEON (ARMv7-A)"
#endif

#include <arm_neon.h>

#include "kernels/kernels.h"

#define MR 4

/* Row r's 8 accumulators (lo: columns 0-3, hi: 4-7) += v16 * lane `l` of p16. */
#define MAC_LANE(lo, hi, v16, p16, l)                                        \
    do {                                                                     \
        lo = vmlal_lane_s16(lo, vget_low_s16(v16), p16, l);                 \
        hi = vmlal_lane_s16(hi, vget_high_s16(v16), p16, l);                \
    } while (0)

/* All 4 rows at one k: p lane `l` of each row's int16x4 p_r. */
#define MAC_K(v16, p0, p1, p2, p3, l)       \
    do {                                    \
        MAC_LANE(c0l, c0h, v16, p0, l);     \
        MAC_LANE(c1l, c1h, v16, p1, l);     \
        MAC_LANE(c2l, c2h, v16, p2, l);     \
        MAC_LANE(c3l, c3h, v16, p3, l);     \
    } while (0)

/* v[k, j0 .. j0 + 7] as int16. */
static inline int16x8_t v_row(const int8_t *v, size_t ldv, size_t k, size_t j0) {
    return vmovl_s8(vld1_s8(v + k * ldv + j0));
}

/* 8 probabilities of a row as int16 (<= 255). */
static inline int16x8_t p_block(const uint8_t *row) { return vreinterpretq_s16_u16(vmovl_u8(vld1_u8(row))); }

void gemm_u8s8s32_4x8__neonv7(size_t m, size_t n, size_t k_len, const uint8_t *p, size_t ldp, const int8_t *v,
                              size_t ldv, int32_t *c, size_t ldc) {
    const size_t n8 = n - n % 8, k8 = k_len - k_len % 8;
    for (size_t i0 = 0; i0 < m; i0 += MR) {
        const size_t mr = m - i0 < MR ? m - i0 : MR;
        const uint8_t *pr[MR];
        for (size_t r = 0; r < MR; r++) pr[r] = p + (i0 + (r < mr ? r : mr - 1)) * ldp;
        for (size_t j0 = 0; j0 < n8; j0 += 8) {
            /* Named registers, not arrays: GCC keeps arrays of vectors in memory. */
            int32x4_t c0l = vdupq_n_s32(0), c0h = c0l, c1l = c0l, c1h = c0l, c2l = c0l, c2h = c0l, c3l = c0l,
                      c3h = c0l;
            for (size_t k = 0; k < k8; k += 8) {
                const int16x8_t p0 = p_block(pr[0] + k), p1 = p_block(pr[1] + k), p2 = p_block(pr[2] + k),
                                p3 = p_block(pr[3] + k);
                const int16x4_t p0l = vget_low_s16(p0), p1l = vget_low_s16(p1), p2l = vget_low_s16(p2),
                                p3l = vget_low_s16(p3);
                const int16x4_t p0h = vget_high_s16(p0), p1h = vget_high_s16(p1), p2h = vget_high_s16(p2),
                                p3h = vget_high_s16(p3);
                MAC_K(v_row(v, ldv, k, j0), p0l, p1l, p2l, p3l, 0);
                MAC_K(v_row(v, ldv, k + 1, j0), p0l, p1l, p2l, p3l, 1);
                MAC_K(v_row(v, ldv, k + 2, j0), p0l, p1l, p2l, p3l, 2);
                MAC_K(v_row(v, ldv, k + 3, j0), p0l, p1l, p2l, p3l, 3);
                MAC_K(v_row(v, ldv, k + 4, j0), p0h, p1h, p2h, p3h, 0);
                MAC_K(v_row(v, ldv, k + 5, j0), p0h, p1h, p2h, p3h, 1);
                MAC_K(v_row(v, ldv, k + 6, j0), p0h, p1h, p2h, p3h, 2);
                MAC_K(v_row(v, ldv, k + 7, j0), p0h, p1h, p2h, p3h, 3);
            }
            for (size_t k = k8; k < k_len; k++) {
                const int16x8_t v16 = v_row(v, ldv, k, j0);
                c0l = vmlal_n_s16(c0l, vget_low_s16(v16), pr[0][k]);
                c0h = vmlal_n_s16(c0h, vget_high_s16(v16), pr[0][k]);
                c1l = vmlal_n_s16(c1l, vget_low_s16(v16), pr[1][k]);
                c1h = vmlal_n_s16(c1h, vget_high_s16(v16), pr[1][k]);
                c2l = vmlal_n_s16(c2l, vget_low_s16(v16), pr[2][k]);
                c2h = vmlal_n_s16(c2h, vget_high_s16(v16), pr[2][k]);
                c3l = vmlal_n_s16(c3l, vget_low_s16(v16), pr[3][k]);
                c3h = vmlal_n_s16(c3h, vget_high_s16(v16), pr[3][k]);
            }
            int32_t *cr = c + i0 * ldc + j0;
            vst1q_s32(cr, c0l);
            vst1q_s32(cr + 4, c0h);
            if (mr > 1) {
                vst1q_s32(cr + ldc, c1l);
                vst1q_s32(cr + ldc + 4, c1h);
            }
            if (mr > 2) {
                vst1q_s32(cr + 2 * ldc, c2l);
                vst1q_s32(cr + 2 * ldc + 4, c2h);
            }
            if (mr > 3) {
                vst1q_s32(cr + 3 * ldc, c3l);
                vst1q_s32(cr + 3 * ldc + 4, c3h);
            }
        }
    }
    if (n8 < n) gemm_u8s8s32_1x1__ref(m, n - n8, k_len, p, ldp, v + n8, ldv, c + n8, ldc);
}
