/* gemm_u8s8s32_4x16__neon: attention's P.V, c = p v with p uint8 [m, k] (the
 * probabilities) and v int8 [k, n] (a head's slice), with baseline AArch64
 * AdvSIMD (Cortex-A72: no dotprod).
 *
 * Outer products: for every k, row i of c gains p[i, k] times row k of v. v is
 * sign-extended to int16 once per 16 columns and up to CHUNK k, into a stack copy
 * (zero-padded to 16 columns and to a multiple of 8 k); p is zero-extended to
 * int16 8 k at a time. SMLAL/SMLAL2 by element then multiply 4 int16 lanes of v by
 * one p and add into int32. Exact: both factors are exact in int16 (0 <= p <= 255,
 * -128 <= v <= 127), the product is formed and added in 32 bits, and the true
 * sums fit int32 (|c| <= 255 * 128 * k < 2^31 for k <= 65536), so c equals
 * gemm_u8s8s32_1x1__ref bit for bit.
 *
 * Tile: 4 rows x 16 columns in 16 int32x4 accumulators; per 8 k, 4 loads and 4
 * widenings of p, 8 double loads of v and 128 SMLALs (512 multiply-accumulates).
 * Rows past m repeat the last row (not stored); the p of a k % 8 tail is a
 * zero-padded copy; chunks after the first add to c. */
#if !defined(__aarch64__) || !defined(__ARM_NEON)
#error "gemm_u8s8s32_4x16__neon needs AArch64 AdvSIMD"
#endif

#include <arm_neon.h>

#include "kernels/kernels.h"
#include "tile_edges.h"

#define MR 4
#define NR 16
#define KSTEP 8   /* k per load of p */
#define CHUNK 256 /* k per widened stack copy of v: 8 KiB */

/* v rows 0 ... kc - 1, columns 0 ... nr - 1, as int16 [kc rounded up to 8][16]. */
static void widen_chunk(const int8_t *v, size_t ldv, size_t kc, size_t nr, int16_t *dst) {
    const size_t rows = (kc + KSTEP - 1) / KSTEP * KSTEP;
    for (size_t k = 0; k < rows; k++) {
        int16_t *out = dst + k * NR;
        if (k < kc && nr == NR) {
            const int8x16_t row = vld1q_s8(v + k * ldv);
            vst1q_s16(out, vmovl_s8(vget_low_s8(row)));
            vst1q_s16(out + 8, vmovl_high_s8(row));
        } else {
            for (size_t s = 0; s < NR; s++) out[s] = k < kc && s < nr ? v[k * ldv + s] : 0;
        }
    }
}

/* The 16 accumulators of row r += p_r[lane] * row `lane` of the 8 widened v rows at vp. */
#define ROW(r, lane)                                                \
    do {                                                            \
        c##r##0 = vmlal_laneq_s16(c##r##0, vget_low_s16(vlo), p##r, lane);  \
        c##r##1 = vmlal_high_laneq_s16(c##r##1, vlo, p##r, lane);            \
        c##r##2 = vmlal_laneq_s16(c##r##2, vget_low_s16(vhi), p##r, lane);  \
        c##r##3 = vmlal_high_laneq_s16(c##r##3, vhi, p##r, lane);            \
    } while (0)
#define K(lane)                                                     \
    do {                                                            \
        const int16x8_t vlo = vld1q_s16(vp + (lane) * NR), vhi = vld1q_s16(vp + (lane) * NR + 8); \
        ROW(0, lane);                                               \
        ROW(1, lane);                                               \
        ROW(2, lane);                                               \
        ROW(3, lane);                                               \
    } while (0)

static inline void store_row(int32_t *c, size_t nr, int add, int32x4_t v0, int32x4_t v1, int32x4_t v2,
                             int32x4_t v3) {
    int32_t row[NR];
    vst1q_s32(row, v0);
    vst1q_s32(row + 4, v1);
    vst1q_s32(row + 8, v2);
    vst1q_s32(row + 12, v3);
    for (size_t s = 0; s < nr; s++) c[s] = (add ? c[s] : 0) + row[s];
}

void gemm_u8s8s32_4x16__neon(size_t m, size_t n, size_t k_len, const uint8_t *p, size_t ldp, const int8_t *v,
                             size_t ldv, int32_t *c, size_t ldc) {
    int16_t wide[CHUNK * NR] __attribute__((aligned(64)));
    uint8_t tail[MR][KSTEP];
    for (size_t jb = 0; jb < n; jb += NR) {
        const size_t nr = n - jb < NR ? n - jb : NR;
        for (size_t k0 = 0; k0 < k_len; k0 += CHUNK) {
            const size_t kc = k_len - k0 < CHUNK ? k_len - k0 : CHUNK, k_main = kc & ~(size_t)(KSTEP - 1);
            widen_chunk(v + k0 * ldv + jb, ldv, kc, nr, wide);
            for (size_t i0 = 0; i0 < m; i0 += MR) {
                const size_t mr = m - i0 < MR ? m - i0 : MR;
                const uint8_t *pr0 = p + i0 * ldp + k0, *pr1 = p + (i0 + tile_row(1, mr)) * ldp + k0,
                              *pr2 = p + (i0 + tile_row(2, mr)) * ldp + k0,
                              *pr3 = p + (i0 + tile_row(3, mr)) * ldp + k0;
                /* Named registers, not arrays: GCC keeps arrays of vectors in memory. */
                int32x4_t c00 = vdupq_n_s32(0), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00,
                          c13 = c00, c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00,
                          c33 = c00;
                for (size_t kk = 0; kk < kc; kk += KSTEP) {
                    const uint8_t *q0 = pr0 + kk, *q1 = pr1 + kk, *q2 = pr2 + kk, *q3 = pr3 + kk;
                    if (kk == k_main) { /* the k % 8 tail: zero-padded p */
                        copy_tail_rows4(q0, q1, q2, q3, kc - k_main, tail, KSTEP);
                        q0 = tail[0], q1 = tail[1], q2 = tail[2], q3 = tail[3];
                    }
                    const int16x8_t p0 = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(q0))),
                                    p1 = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(q1))),
                                    p2 = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(q2))),
                                    p3 = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(q3)));
                    const int16_t *vp = wide + kk * NR;
                    K(0);
                    K(1);
                    K(2);
                    K(3);
                    K(4);
                    K(5);
                    K(6);
                    K(7);
                }
                int32_t *cr = c + i0 * ldc + jb;
                const int add = k0 > 0;
                store_row(cr, nr, add, c00, c01, c02, c03);
                if (mr > 1) store_row(cr + ldc, nr, add, c10, c11, c12, c13);
                if (mr > 2) store_row(cr + 2 * ldc, nr, add, c20, c21, c22, c23);
                if (mr > 3) store_row(cr + 3 * ldc, nr, add, c30, c31, c32, c33);
            }
        }
    }
}
