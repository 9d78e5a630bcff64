/* softmax_s32u8_1x8__neon: the attention softmax of FORMAT.md §4.6 step 2 (i-exp,
 * one division per row), 8 keys per iteration, bit-exact with
 * softmax_s32u8_1x1__ref. Three passes over each row, as in the reference:
 *
 * 1. t = rq(s, mult, shift) by VMULL.S32 + VRSHL.S64 (exact, fixed_point_neon.h);
 *    |t| <= 2^30 by the file's attn_scores bound, so VMOVN keeps it whole. A masked
 *    key's t is replaced by INT32_MIN (below every real t), so the row maximum is
 *    the maximum over attended keys and INT32_MIN means none is attended.
 * 2. e = iexp(t - max) in uint32 lanes: n = max - t is in [0, 2^31] for an attended
 *    key and wraps exactly as a uint32; q = n >> K; z = c - nl * (b - nl) with
 *    nl = n mod 2^K (= -r, so z = r * (r + b) + c, below 2^31 by the validated
 *    constants); e = z >> min(q, 31), which is 0 exactly when q > 30 because z <
 *    2^31. A masked key has n = max + 2^31 >= 2^30 (mod 2^32), so q > 30 and e = 0:
 *    it drops out of the sum with no mask test. The sum is exact in uint64 lanes.
 * 3. f = floor(2^62 / sum) is one scalar division per row (NEON has no integer
 *    divide; once per row of n keys it costs nothing). P = min(255, (e * f) >> 54)
 *    needs a 31 x 62-bit product: with f = fh * 2^32 + fl,
 *    (e * f) >> 54 = (e * fh + ((e * fl) >> 32)) >> 22 (nested floor divisions),
 *    two VMULL.U32 and a VSRA; VQMOVN to uint8 is the min with 255.
 *
 * A fully masked row (max = INT32_MIN) gets f = 0 and so P = 0 everywhere, like the
 * reference. The scores row is scratch, as the contract allows: masked entries are
 * overwritten too. The n % 8 keys at the end go through the same steps in scalar code. */
#if !defined(__ARM_NEON)
#error "softmax_s32u8_1x8__neon needs NEON"
#endif

#include <arm_neon.h>

#include "fixed_point_neon.h"
#include "kernels/kernels.h"

/* Pass 1 for one row: t into s, masked keys as INT32_MIN; returns the maximum. */
static int32_t rescale_row(size_t n, int32_t *s, int32_t mult, int32_t shift, const uint8_t *key_mask) {
    const size_t n8 = n - n % 8;
    const int32x4_t vmult = vdupq_n_s32(mult), masked = vdupq_n_s32(INT32_MIN);
    const int64x2_t neg_shift = vdupq_n_s64(-(int64_t)shift);
    int32x4_t vmax = masked;
    for (size_t j = 0; j < n8; j += 8) {
        const uint8x8_t k8 = vld1_u8(key_mask + j);
        /* all ones where the key is attended, widened to 32-bit lanes */
        const int16x8_t on16 = vmovl_s8(vreinterpret_s8_u8(vtst_u8(k8, k8)));
        const uint32x4_t on0 = vreinterpretq_u32_s32(vmovl_s16(vget_low_s16(on16)));
        const uint32x4_t on1 = vreinterpretq_u32_s32(vmovl_s16(vget_high_s16(on16)));
        const int32x4_t x0 = vld1q_s32(s + j), x1 = vld1q_s32(s + j + 4);
        int32x4_t t0 = vcombine_s32(vmovn_s64(fpn_rq_lo(x0, vmult, neg_shift)), vmovn_s64(fpn_rq_hi(x0, vmult, neg_shift)));
        int32x4_t t1 = vcombine_s32(vmovn_s64(fpn_rq_lo(x1, vmult, neg_shift)), vmovn_s64(fpn_rq_hi(x1, vmult, neg_shift)));
        t0 = vbslq_s32(on0, t0, masked);
        t1 = vbslq_s32(on1, t1, masked);
        vst1q_s32(s + j, t0);
        vst1q_s32(s + j + 4, t1);
        vmax = vmaxq_s32(vmax, vmaxq_s32(t0, t1));
    }
    int32_t max_t = fpn_max_s32(vmax);
    for (size_t j = n8; j < n; j++) {
        s[j] = key_mask[j] ? (int32_t)fp_rq(s[j], mult, shift) : INT32_MIN;
        if (s[j] > max_t) max_t = s[j];
    }
    return max_t;
}

/* Pass 2 for one row: e = iexp(t - max) into s (0 for masked keys); returns the sum. */
static uint64_t exp_row(size_t n, int32_t *s, int32_t max_t, const iexp_params *e) {
    const size_t n4 = n - n % 4;
    const uint32x4_t vmax = vdupq_n_u32((uint32_t)max_t), frac = vdupq_n_u32((UINT32_C(1) << e->frac_bits) - 1),
                     q_cap = vdupq_n_u32(31), vb = vdupq_n_u32((uint32_t)e->b), vc = vdupq_n_u32((uint32_t)e->c);
    const int32x4_t neg_k = vdupq_n_s32(-(int32_t)e->frac_bits);
    uint64x2_t vsum = vdupq_n_u64(0);
    for (size_t j = 0; j < n4; j += 4) {
        const uint32x4_t nn = vsubq_u32(vmax, vreinterpretq_u32_s32(vld1q_s32(s + j)));
        const uint32x4_t q = vminq_u32(vshlq_u32(nn, neg_k), q_cap);
        const uint32x4_t nl = vandq_u32(nn, frac);
        const uint32x4_t z = vmlsq_u32(vc, nl, vsubq_u32(vb, nl));
        const uint32x4_t ev = vshlq_u32(z, vnegq_s32(vreinterpretq_s32_u32(q)));
        vst1q_s32(s + j, vreinterpretq_s32_u32(ev));
        vsum = vpadalq_u32(vsum, ev);
    }
    uint64_t sum = vgetq_lane_u64(vsum, 0) + vgetq_lane_u64(vsum, 1);
    for (size_t j = n4; j < n; j++) {
        /* masked keys hold INT32_MIN: their w is below -2^30 - 2^30 and iexp gives 0 */
        s[j] = fp_iexp((int64_t)s[j] - max_t, e);
        sum += (uint64_t)s[j];
    }
    return sum;
}

/* Pass 3 for one row: P = min(255, (e * f) >> 54). */
static void probs_row(size_t n, const int32_t *s, uint64_t f, uint8_t *p_row) {
    const size_t n8 = n - n % 8;
    const uint32x2_t fh = vdup_n_u32((uint32_t)(f >> 32)), fl = vdup_n_u32((uint32_t)f);
    for (size_t j = 0; j < n8; j += 8) {
        uint32x2_t pr[4];
        for (int h = 0; h < 2; h++) {
            const uint32x4_t ev = vreinterpretq_u32_s32(vld1q_s32(s + j + 4 * h));
            const uint64x2_t lo = vsraq_n_u64(vmull_u32(vget_low_u32(ev), fh), vmull_u32(vget_low_u32(ev), fl), 32);
            const uint64x2_t hi = vsraq_n_u64(vmull_u32(vget_high_u32(ev), fh), vmull_u32(vget_high_u32(ev), fl), 32);
            pr[2 * h] = vshrn_n_u64(lo, 22); /* <= 256 */
            pr[2 * h + 1] = vshrn_n_u64(hi, 22);
        }
        const uint16x8_t p16 = vcombine_u16(vqmovn_u32(vcombine_u32(pr[0], pr[1])), vqmovn_u32(vcombine_u32(pr[2], pr[3])));
        vst1_u8(p_row + j, vqmovn_u16(p16));
    }
    for (size_t j = n8; j < n; j++) {
        const uint64_t prob = ((uint64_t)(uint32_t)s[j] * f) >> 54;
        p_row[j] = (uint8_t)(prob > 255 ? 255 : prob);
    }
}

void softmax_s32u8_1x8__neon(size_t m, size_t n, int32_t *scores, size_t lds, int32_t mult, int32_t shift,
                             const uint8_t *key_mask, const iexp_params *e, uint8_t *p, size_t ldp) {
    for (size_t i = 0; i < m; i++) {
        int32_t *s = scores + i * lds;
        const int32_t max_t = rescale_row(n, s, mult, shift, key_mask);
        const uint64_t sum = exp_row(n, s, max_t, e);
        /* sum >= c when a key is attended (the max key gives iexp(0) = c) */
        const uint64_t f = max_t != INT32_MIN ? (UINT64_C(1) << 62) / sum : 0;
        probs_row(n, s, f, p + i * ldp);
    }
}
