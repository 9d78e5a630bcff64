/* requant_s32s8_1x8__neon: int32 accumulators rescaled (FORMAT.md §4.1) and
 * saturated to int8, 8 columns per iteration, bit-exact with requant_s32s8_1x1__ref.
 * sat_8 is a chain of VQMOVNs. rq is the 32-bit fpn_rq32_apply (SQSHL, SQDMULH, SRSHL) when
 * the rescale allows it (fpn_rq32_usable: every channel has s >= 32 or |m| >= 2^30,
 * so it is exact up to the clamp to 8 bits), else VMULL.S32 + VRSHL.S64
 * (fixed_point_neon.h).
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

/* The same with fpn_rq32, for a rescale fpn_rq32_usable accepts. */
static void requant_int32(size_t m, size_t n8, const int32_t *src, size_t lds, const rq_params *rq, int8_t *dst,
                          size_t ldd) {
    for (size_t j = 0; j < n8; j += 8) {
        fpn_rq32 p[2];
        fpn_rq32x8_load(rq, j, p);
        for (size_t i = 0; i < m; i++) {
            const int32_t *s = src + i * lds + j;
            const int32x4_t r0 = fpn_rq32_apply(vld1q_s32(s), &p[0]), r1 = fpn_rq32_apply(vld1q_s32(s + 4), &p[1]);
            vst1_s8(dst + i * ldd + j, vqmovn_s16(vcombine_s16(vqmovn_s32(r0), vqmovn_s32(r1))));
        }
    }
}

void requant_s32s8_1x8__neon(size_t m, size_t n, const int32_t *src, size_t lds, const rq_params *rq, int8_t *dst,
                             size_t ldd) {
    const size_t n8 = n - n % 8;
    if (fpn_rq32_usable(rq, n))
        requant_int32(m, n8, src, lds, rq, dst, ldd);
    else
        requant_int64(m, n8, src, lds, rq, dst, ldd);
    if (n8 < n) {
        const size_t ch = rq->per_channel ? n8 : 0;
        const rq_params tail = {rq->mult + ch, rq->shift + ch, rq->per_channel};
        requant_s32s8_1x1__ref(m, n - n8, src + n8, lds, &tail, dst + n8, ldd);
    }
}
