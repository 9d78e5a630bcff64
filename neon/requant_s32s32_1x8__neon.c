/* requant_s32s32_1x8__neon: int32 values rescaled (FORMAT.md §4.1) and saturated to
 * `bits` bits, bit-exact with requant_s32s32_1x1__ref.
 * For bits <= 30 and a rescale fpn_rq32_usable accepts, rq is the 32-bit fpn_rq32
 * (exact up to that clamp, fixed_point_neon.h) and VMIN/VMAX clamp, 16 columns per
 * iteration (8 on the int64 path). Otherwise rq is
 * VMULL.S32 + VRSHL.S64, VQMOVN clamps the int64 to int32 and VMIN/VMAX then clamp
 * to [-2^(bits-1), 2^(bits-1) - 1], which lies inside int32 for bits <= 32, so the
 * two clamps make sat_bits. Column blocks are the outer
 * loop so per-channel parameters load once for all rows; each block is read before
 * it is written, so dst may be src. The n % 8 columns at the end go to the reference. */
#if !defined(__ARM_NEON)
#error "requant_s32s32_1x8__neon needs NEON"
#endif

#include <arm_neon.h>

#include "fixed_point_neon.h"
#include "kernels/kernels.h"

/* The int64 rescale (fixed_point_neon.h) of the n8 (a multiple of 8) first columns,
 * clamped to [lo, hi]: exact for every rescale. */
static void requant_int64(size_t m, size_t n8, const int32_t *src, size_t lds, const rq_params *rq, int32x4_t lo,
                          int32x4_t hi, int32_t *dst, size_t ldd) {
    for (size_t j = 0; j < n8; j += 8) {
        const fpn_rq8 p = fpn_rq8_load(rq, j);
        for (size_t i = 0; i < m; i++) {
            const int32_t *s = src + i * lds + j;
            int32_t *d = dst + i * ldd + j;
            int64x2_t r[4];
            fpn_rq8_apply(&p, vld1q_s32(s), vld1q_s32(s + 4), r);
            vst1q_s32(d, vmaxq_s32(vminq_s32(fpn_qmovn_s64(r[0], r[1]), hi), lo));
            vst1q_s32(d + 4, vmaxq_s32(vminq_s32(fpn_qmovn_s64(r[2], r[3]), hi), lo));
        }
    }
}

/* fpn_rq32 of the 8 values at s, clamped to [lo, hi], into d. */
static inline void rq32_clamp8(const int32_t *s, const fpn_rq32 p[2], int32x4_t lo, int32x4_t hi, int32_t *d) {
    const int32x4_t r0 = fpn_rq32_apply(vld1q_s32(s), &p[0]), r1 = fpn_rq32_apply(vld1q_s32(s + 4), &p[1]);
    vst1q_s32(d, vmaxq_s32(vminq_s32(r0, hi), lo));
    vst1q_s32(d + 4, vmaxq_s32(vminq_s32(r1, hi), lo));
}

/* The same with fpn_rq32, for a rescale fpn_rq32_usable accepts and bits <= 30:
 * blocks of 16 columns, then one of 8 if n8 is not a multiple of 16. */
static void requant_int32(size_t m, size_t n8, const int32_t *src, size_t lds, const rq_params *rq, int32x4_t lo,
                          int32x4_t hi, int32_t *dst, size_t ldd) {
    size_t j = 0;
    for (; j + 16 <= n8; j += 16) {
        fpn_rq32 p[4];
        fpn_rq32x8_load(rq, j, p);
        fpn_rq32x8_load(rq, j + 8, p + 2);
        for (size_t i = 0; i < m; i++) {
            rq32_clamp8(src + i * lds + j, p, lo, hi, dst + i * ldd + j);
            rq32_clamp8(src + i * lds + j + 8, p + 2, lo, hi, dst + i * ldd + j + 8);
        }
    }
    if (j < n8) {
        fpn_rq32 p[2];
        fpn_rq32x8_load(rq, j, p);
        for (size_t i = 0; i < m; i++) rq32_clamp8(src + i * lds + j, p, lo, hi, dst + i * ldd + j);
    }
}

void requant_s32s32_1x8__neon(size_t m, size_t n, const int32_t *src, size_t lds, const rq_params *rq,
                              unsigned bits, int32_t *dst, size_t ldd) {
    const size_t n8 = n - n % 8;
    const int32_t hi = (int32_t)((INT64_C(1) << (bits - 1)) - 1);
    if (bits <= 30 && fpn_rq32_usable(rq, n))
        requant_int32(m, n8, src, lds, rq, vdupq_n_s32(-hi - 1), vdupq_n_s32(hi), dst, ldd);
    else
        requant_int64(m, n8, src, lds, rq, vdupq_n_s32(-hi - 1), vdupq_n_s32(hi), dst, ldd);
    if (n8 < n) {
        const size_t ch = rq->per_channel ? n8 : 0;
        const rq_params tail = {rq->mult + ch, rq->shift + ch, rq->per_channel};
        requant_s32s32_1x1__ref(m, n - n8, src + n8, lds, &tail, bits, dst + n8, ldd);
    }
}
