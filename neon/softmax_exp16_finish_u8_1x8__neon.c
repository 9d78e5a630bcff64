/* softmax_exp16_finish_u8_1x8__neon: format version 5's softmax finish (FORMAT.md
 * §4.6 step 2, I-BERT's 16-bit exps), 8 keys at a time, bit-exact with
 * softmax_exp16_finish_u8__ref; one source for AArch64 and ARMv7-A NEON.
 *
 * It reads the exps e the kernel set's softmax left in the scores (0 <= e <= c <=
 * 2^30 at attended keys; masked keys hold scratch, which the key mask zeroes).
 * Pass 1: rq(e) by SQDMULH + SRSHL when the shift is at least 32 (every file the
 * converter writes: the rescale takes c of about 2^22 to 2^15), else by VMULL.S32 +
 * VRSHL.S64 (fixed_point_neon.h; both exact), then e16 = min(32767, rq(e)) is two
 * saturating narrowings (int64 -> int32 -> int16: rq >= 0, so the int16 clamp is the
 * min; it composes with the int32 one, so a rq beyond 32 bits cannot wrap). Masked
 * keys are 0; e16 is widened and stored over e, and summed in uint32 lanes (sum <=
 * n * 32767). A row whose keys are all attended (the mask is the same for every row)
 * skips the mask. Pass 2: f = 2^32 / sum (scalar: NEON has no integer divide) and
 * P = min(255, (e16 f) >> 24) in uint32 lanes with f = fh 2^16 + fl (fl < 2^16):
 * floor(e16 f / 2^16) = e16 fh + floor(e16 fl / 2^16), where e16 fl < 2^31 and the
 * total is at most 2^16 (e16 <= sum makes e16 f <= 2^32), so VMUL and VMLA are exact
 * even for f = 2^32 (sum = 1: fh = 2^16). UQSHRN by 8 leaves at most 256 and UQXTN
 * caps it at 255 (nested floors: floor(floor(x / 2^16) / 2^8) = floor(x / 2^24)).
 * Keys past the last multiple of 8 use fp_exp16 and fp_exp16_prob. */
#if !defined(__ARM_NEON)
#error "softmax_exp16_finish_u8_1x8__neon needs NEON"
#endif

#include <arm_neon.h>

#include "fixed_point_neon.h"
#include "kernels/kernels.h"

/* rq(e) of 4 lanes, saturated to int32: fpn_rq32 without its SQSHL (exact for shifts >= 32)
 * when shift_32_up, else the int64 products. */
static inline int32x4_t rq4(int32x4_t e, const fpn_rq32 *p, int64x2_t neg_shift, int shift_32_up) {
    if (shift_32_up) return fpn_rq32_apply_32up(e, p);
    return fpn_qmovn_s64(fpn_rq_lo(e, p->mult, neg_shift), fpn_rq_hi(e, p->mult, neg_shift));
}

/* Pass 1 for one row: e16 over e, 0 at masked keys (key_mask NULL: every key attended);
 * returns the sum. */
static inline uint64_t exp16_row(size_t n, int32_t *e, const uint8_t *key_mask, const fpn_rq32 *p,
                                 int32_t mult, int32_t shift, int shift_32_up) {
    const int64x2_t neg_shift = vdupq_n_s64(-(int64_t)shift);
    uint32x4_t vsum = vdupq_n_u32(0);
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        const int32x4_t r0 = rq4(vld1q_s32(e + j), p, neg_shift, shift_32_up);
        const int32x4_t r1 = rq4(vld1q_s32(e + j + 4), p, neg_shift, shift_32_up);
        int16x8_t e16 = vcombine_s16(vqmovn_s32(r0), vqmovn_s32(r1));
        if (key_mask) {
            const uint8x8_t k8 = vld1_u8(key_mask + j);
            e16 = vandq_s16(e16, vmovl_s8(vreinterpret_s8_u8(vtst_u8(k8, k8)))); /* all ones where attended */
        }
        vst1q_s32(e + j, vmovl_s16(vget_low_s16(e16)));
        vst1q_s32(e + j + 4, vmovl_s16(vget_high_s16(e16)));
        vsum = vpadalq_u16(vsum, vreinterpretq_u16_s16(e16));
    }
    uint64x2_t sum2 = vpaddlq_u32(vsum);
    uint64_t sum = vgetq_lane_u64(sum2, 0) + vgetq_lane_u64(sum2, 1);
    for (; j < n; j++) {
        e[j] = !key_mask || key_mask[j] ? fp_exp16(e[j], mult, shift) : 0;
        sum += (uint64_t)e[j];
    }
    return sum;
}

/* Pass 2 for 4 keys: min(256, floor(e16 f / 2^24)) as uint16. */
static inline uint16x4_t probs4(const int32_t *e, uint32x4_t fl, uint32x4_t fh) {
    const uint32x4_t ev = vreinterpretq_u32_s32(vld1q_s32(e));
    return vqshrn_n_u32(vmlaq_u32(vshrq_n_u32(vmulq_u32(ev, fl), 16), ev, fh), 8);
}

void softmax_exp16_finish_u8_1x8__neon(size_t m, size_t n, int32_t *exps, size_t lds, const rq_params *exp16,
                                       const uint8_t *key_mask, uint8_t *p, size_t ldp) {
    if (!kernel_any_attended(n, key_mask)) return;
    int dense = 1;
    for (size_t j = 0; j < n; j++) dense &= key_mask[j] != 0;
    const int32_t mult = exp16->mult[0], shift = exp16->shift[0];
    const int shift_32_up = shift >= 32;
    const fpn_rq32 rq = fpn_rq32_make(vdupq_n_s32(mult), vdupq_n_s32(shift));
    for (size_t i = 0; i < m; i++) {
        int32_t *e = exps + i * lds;
        uint8_t *pr = p + i * ldp;
        /* >= 1: the loader keeps rq(c) >= 1, and the row's largest key has e = c */
        const uint64_t sum = dense ? shift_32_up ? exp16_row(n, e, NULL, &rq, mult, shift, 1)
                                                 : exp16_row(n, e, NULL, &rq, mult, shift, 0)
                             : shift_32_up ? exp16_row(n, e, key_mask, &rq, mult, shift, 1)
                                           : exp16_row(n, e, key_mask, &rq, mult, shift, 0);
        const uint64_t f = (UINT64_C(1) << 32) / sum;
        const uint32x4_t fh = vdupq_n_u32((uint32_t)(f >> 16)), fl = vdupq_n_u32((uint32_t)(f & 0xffff));
        size_t j = 0;
        for (; j + 8 <= n; j += 8)
            vst1_u8(pr + j, vqmovn_u16(vcombine_u16(probs4(e + j, fl, fh), probs4(e + j + 4, fl, fh))));
        for (; j < n; j++) pr[j] = fp_exp16_prob(e[j], (int64_t)f);
    }
}
