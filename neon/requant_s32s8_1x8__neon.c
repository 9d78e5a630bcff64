/* requant_s32s8_1x8__neon: int32 accumulators rescaled (FORMAT.md §4.1) and
 * saturated to int8, 8 columns per iteration, bit-exact with requant_s32s8_1x1__ref:
 * rq is VMULL.S32 + VRSHL.S64 and sat_8 a chain of VQMOVNs (fixed_point_neon.h).
 * Column blocks are the outer loop so a per-channel block's multipliers and shifts
 * are loaded once for all m rows. The n % 8 columns at the end go to the reference. */
#if !defined(__ARM_NEON)
#error "requant_s32s8_1x8__neon needs NEON"
#endif

#include <arm_neon.h>

#include "fixed_point_neon.h"
#include "kernels/kernels.h"

void requant_s32s8_1x8__neon(size_t m, size_t n, const int32_t *src, size_t lds, const rq_params *rq, int8_t *dst,
                             size_t ldd) {
    const size_t n8 = n - n % 8;
    for (size_t j = 0; j < n8; j += 8) {
        const fpn_rq8 p = fpn_rq8_load(rq, j);
        for (size_t i = 0; i < m; i++) {
            const int32_t *s = src + i * lds + j;
            int64x2_t r[4];
            fpn_rq8_apply(&p, vld1q_s32(s), vld1q_s32(s + 4), r);
            vst1_s8(dst + i * ldd + j, fpn_sat8_s64(r));
        }
    }
    if (n8 < n) {
        const size_t ch = rq->per_channel ? n8 : 0;
        const rq_params tail = {rq->mult + ch, rq->shift + ch, rq->per_channel};
        requant_s32s8_1x1__ref(m, n - n8, src + n8, lds, &tail, dst + n8, ldd);
    }
}
