/* tanh_s32s8_1x4__neon: the classification head's integer tanh (FORMAT.md §4.6,
 * Head), 4 values per iteration, bit-exact with tanh_s32s8_1x1__ref.
 *
 * u = rq(acc, rq_j) by VMULL.S32 + VRSHL.S64 (exact for every rescale,
 * fixed_point_neon.h); the clamp to [-2^30, 2^30] is VQMOVN to int32 and then
 * VMIN/VMAX (clamps compose); e = iexp(-|u|) is fpn_iexp4 on n = |u| <= 2^30. The
 * rounding division (254 (c - e) + (c + e)) / (2 (c + e)) has a different divisor in
 * every lane and NEON has no integer divide, so it stays scalar, once per value (the
 * head has H of them per inference). The n % 4 values at the end go to the reference. */
#if !defined(__ARM_NEON)
#error "tanh_s32s8_1x4__neon needs NEON"
#endif

#include <arm_neon.h>

#include "fixed_point_neon.h"
#include "kernels/kernels.h"

#define TANH_CLAMP (1 << 30)

void tanh_s32s8_1x4__neon(size_t n, const int32_t *acc, const rq_params *rq, const iexp_params *e, int8_t *y) {
    const size_t n4 = n - n % 4;
    const fpn_iexp consts = fpn_iexp_make(e);
    const int32x4_t hi = vdupq_n_s32(TANH_CLAMP), lo = vdupq_n_s32(-TANH_CLAMP);
    const int64_t c = e->c;
    for (size_t j = 0; j < n4; j += 4) {
        const size_t ch = rq->per_channel ? j : 0;
        const int32x4_t mult = rq->per_channel ? vld1q_s32(rq->mult + ch) : vdupq_n_s32(rq->mult[0]);
        const int32x4_t shift = rq->per_channel ? vld1q_s32(rq->shift + ch) : vdupq_n_s32(rq->shift[0]);
        const int32x4_t x = vld1q_s32(acc + j);
        const int64x2_t u_lo = fpn_rq_lo(x, mult, fpn_neg_shift_lo(shift));
        const int64x2_t u_hi = fpn_rq_hi(x, mult, fpn_neg_shift_hi(shift));
        const int32x4_t u = vmaxq_s32(vminq_s32(fpn_qmovn_s64(u_lo, u_hi), hi), lo);
        int32_t us[4];
        uint32_t es[4];
        vst1q_s32(us, u);
        vst1q_u32(es, fpn_iexp4(vreinterpretq_u32_s32(vabsq_s32(u)), &consts));
        for (size_t l = 0; l < 4; l++) {
            const int64_t ex = es[l];
            const int64_t magnitude = (254 * (c - ex) + (c + ex)) / (2 * (c + ex));
            y[j + l] = (int8_t)(us[l] > 0 ? magnitude : us[l] < 0 ? -magnitude : 0);
        }
    }
    if (n4 < n) {
        const size_t ch = rq->per_channel ? n4 : 0;
        const rq_params tail = {rq->mult + ch, rq->shift + ch, rq->per_channel};
        tanh_s32s8_1x1__ref(n - n4, acc + n4, &tail, e, y + n4);
    }
}
