/* requant_s32s8_1x8__neon: int32 accumulators rescaled (FORMAT.md §4.1) and
 * saturated to int8, bit-exact with requant_s32s8_1x1__ref.
 * sat_8 is a chain of VQMOVNs. rq is the 32-bit fpn_rq32_apply (SQSHL, SQDMULH, SRSHL) when
 * the rescale allows it (fpn_rq32_usable: every channel has s >= 32 or |m| >= 2^30,
 * so it is exact up to the clamp to 8 bits; 16 columns per iteration; the SQSHL, a
 * shift by 0, left out when every s >= 32, as in the shipped model's q, k, v and
 * context rescales), else VMULL.S32 + VRSHL.S64 (fixed_point_neon.h), 8 columns.
 * Column blocks are the outer loop so a per-channel block's multipliers and shifts
 * are loaded once for all m rows. The n % 8 columns at the end go to the reference. */
#if !defined(__ARM_NEON)
#error "requant_s32s8_1x8__neon needs NEON"
#endif

#include <arm_neon.h>

#include "fixed_point_neon.h"
#include "kernels/kernels.h"

/* The int64 rescale (fixed_point_neon.h) of the n8 (a multiple of 8) first columns:
 * exact for every rescale. */
static void requant_int64(size_t m, size_t n8, const int32_t *src, size_t lds, const rq_params *rq, int8_t *dst,
                          size_t ldd) {
    for (size_t j = 0; j < n8; j += 8) {
        const fpn_rq8 p = fpn_rq8_load(rq, j);
        for (size_t i = 0; i < m; i++) {
            const int32_t *s = src + i * lds + j;
            int64x2_t r[4];
            fpn_rq8_apply(&p, vld1q_s32(s), vld1q_s32(s + 4), r);
            vst1_s8(dst + i * ldd + j, fpn_sat8_s64(r));
        }
    }
}

/* sat_8(rq) of the 8 values at s by fpn_rq32, without its SQSHL when every shift is
 * at least 32 (shifts_32_up). */
static inline int8x8_t rq32_s8x8(const int32_t *s, const fpn_rq32 p[2], int shifts_32_up) {
    const int32x4_t x0 = vld1q_s32(s), x1 = vld1q_s32(s + 4);
    const int32x4_t r0 = shifts_32_up ? fpn_rq32_apply_32up(x0, &p[0]) : fpn_rq32_apply(x0, &p[0]);
    const int32x4_t r1 = shifts_32_up ? fpn_rq32_apply_32up(x1, &p[1]) : fpn_rq32_apply(x1, &p[1]);
    return vqmovn_s16(vcombine_s16(vqmovn_s32(r0), vqmovn_s32(r1)));
}

/* The same with fpn_rq32, for a rescale fpn_rq32_usable accepts: blocks of 16
 * columns, then one of 8 if n8 is not a multiple of 16. */
static inline void requant_int32(size_t m, size_t n8, const int32_t *src, size_t lds, const rq_params *rq,
                                 int8_t *dst, size_t ldd, int shifts_32_up) {
    size_t j = 0;
    for (; j + 16 <= n8; j += 16) {
        fpn_rq32 p[4];
        fpn_rq32x8_load(rq, j, p);
        fpn_rq32x8_load(rq, j + 8, p + 2);
        for (size_t i = 0; i < m; i++) {
            const int32_t *s = src + i * lds + j;
            const int8x8_t lo = rq32_s8x8(s, p, shifts_32_up), hi = rq32_s8x8(s + 8, p + 2, shifts_32_up);
            vst1q_s8(dst + i * ldd + j, vcombine_s8(lo, hi));
        }
    }
    if (j < n8) {
        fpn_rq32 p[2];
        fpn_rq32x8_load(rq, j, p);
        for (size_t i = 0; i < m; i++) vst1_s8(dst + i * ldd + j, rq32_s8x8(src + i * lds + j, p, shifts_32_up));
    }
}

void requant_s32s8_1x8__neon(size_t m, size_t n, const int32_t *src, size_t lds, const rq_params *rq, int8_t *dst,
                             size_t ldd) {
    const size_t n8 = n - n % 8;
    if (fpn_rq_shifts_32_up(rq, n))
        requant_int32(m, n8, src, lds, rq, dst, ldd, 1);
    else if (fpn_rq32_usable(rq, n))
        requant_int32(m, n8, src, lds, rq, dst, ldd, 0);
    else
        requant_int64(m, n8, src, lds, rq, dst, ldd);
    if (n8 < n) {
        const size_t ch = rq->per_channel ? n8 : 0;
        const rq_params tail = {rq->mult + ch, rq->shift + ch, rq->per_channel};
        requant_s32s8_1x1__ref(m, n - n8, src + n8, lds, &tail, dst + n8, ldd);
    }
}
