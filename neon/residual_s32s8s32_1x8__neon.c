/* residual_s32s8s32_1x8__neon: the residual sum of FORMAT.md §4.6 steps 4 and 6,
 * sat_22(rq(acc, acc_rq) + rq(x, x_rq)), 8 columns per iteration, bit-exact with
 * residual_s32s8s32_1x1__ref. Both rescales are VMULL.S32 + VRSHL.S64
 * (fixed_point_neon.h) on the int8 x widened to int32; the two int64 results are
 * added in int64 (each is below 2^62 in magnitude, so the sum cannot wrap), VQMOVN
 * clamps to int32 and VMIN/VMAX to 22 bits. Column blocks are the outer loop so
 * per-channel parameters load once for all rows; out may be acc (each block is
 * read before it is written). The n % 8 columns at the end go to the reference. */
#if !defined(__ARM_NEON)
#error "residual_s32s8s32_1x8__neon needs NEON"
#endif

#include <arm_neon.h>

#include "fixed_point_neon.h"
#include "kernels/kernels.h"

void residual_s32s8s32_1x8__neon(size_t m, size_t n, const int32_t *acc, size_t lda, const rq_params *acc_rq,
                                 const int8_t *x, size_t ldx, const rq_params *x_rq, int32_t *out, size_t ldo) {
    const size_t n8 = n - n % 8;
    const int32x4_t vhi = vdupq_n_s32((1 << (KERNEL_RESIDUAL_BITS - 1)) - 1),
                    vlo = vdupq_n_s32(-(1 << (KERNEL_RESIDUAL_BITS - 1)));
    for (size_t j = 0; j < n8; j += 8) {
        const fpn_rq8 pa = fpn_rq8_load(acc_rq, j), px = fpn_rq8_load(x_rq, j);
        for (size_t i = 0; i < m; i++) {
            const int32_t *a = acc + i * lda + j;
            const int16x8_t x16 = vmovl_s8(vld1_s8(x + i * ldx + j));
            int64x2_t ra[4], rx[4];
            fpn_rq8_apply(&pa, vld1q_s32(a), vld1q_s32(a + 4), ra);
            fpn_rq8_apply(&px, vmovl_s16(vget_low_s16(x16)), vmovl_s16(vget_high_s16(x16)), rx);
            for (int h = 0; h < 4; h++) ra[h] = vaddq_s64(ra[h], rx[h]);
            int32_t *o = out + i * ldo + j;
            vst1q_s32(o, vmaxq_s32(vminq_s32(fpn_qmovn_s64(ra[0], ra[1]), vhi), vlo));
            vst1q_s32(o + 4, vmaxq_s32(vminq_s32(fpn_qmovn_s64(ra[2], ra[3]), vhi), vlo));
        }
    }
    if (n8 < n) {
        const size_t ca = acc_rq->per_channel ? n8 : 0, cx = x_rq->per_channel ? n8 : 0;
        const rq_params acc_tail = {acc_rq->mult + ca, acc_rq->shift + ca, acc_rq->per_channel};
        const rq_params x_tail = {x_rq->mult + cx, x_rq->shift + cx, x_rq->per_channel};
        residual_s32s8s32_1x1__ref(m, n - n8, acc + n8, lda, &acc_tail, x + n8, ldx, &x_tail, out + n8, ldo);
    }
}
