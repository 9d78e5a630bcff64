/* softmax_s32u8_1x8__neon: the attention softmax of FORMAT.md §4.6 step 2 (i-exp,
 * one division per row), 8 keys per iteration, bit-exact with
 * softmax_s32u8_1x1__ref. Three passes over each row, as in the reference:
 *
 * 1. t = rq(s, mult, shift) exactly, in 32-bit lanes for shifts >= 31 (the shipped
 *    model's is 31), else VMULL.S32 + VRSHL.S64 (see enum rescale); |t| <= 2^30 by
 *    the file's attn_scores bound, so it fits int32 (VMOVN keeps it whole). A masked
 *    key's t is replaced by INT32_MIN (below every real t), so the row maximum is
 *    the maximum over attended keys (the span has at least one).
 * 2. e = iexp(t - max) in uint32 lanes (fpn_iexp4): n = max - t is in [0, 2^31] for
 *    an attended key and wraps exactly as a uint32. A masked key has
 *    n = max + 2^31 >= 2^30 (mod 2^32), so q > 30 and e = 0: it drops out of the
 *    sum with no mask test. The sum is exact in uint64 lanes.
 * 3. f = floor(2^62 / sum) is one scalar division per row (NEON has no integer
 *    divide; once per row of n keys it costs nothing). P = min(255, (e * f) >> 54)
 *    needs a 31 x 62-bit product: with f = fh * 2^32 + fl,
 *    (e * f) >> 54 = (e * fh + ((e * fl) >> 32)) >> 22 (nested floor divisions),
 *    see probs_row.
 *
 * The passes run on the span from the first to the last attended key (the mask is
 * the same for every row): keys outside it, like the padding of a fixed-length
 * batch, get P = 0 without being touched, and a fully masked row is all 0, like the
 * reference. The scores row is scratch, as the contract allows: masked entries in
 * the span are overwritten too. The span's last span % 8 keys go through the same
 * steps in scalar code. */
#if !defined(__ARM_NEON)
#error "softmax_s32u8_1x8__neon needs NEON"
#endif

#include <arm_neon.h>
#include <string.h>

#include "fixed_point_neon.h"
#include "kernels/kernels.h"

/* How pass 1 computes rq(s, mult, shift), exactly in each case (fixed_point_neon.h):
 * shift 31 is one SQRDMULH (the rounding doubling high half is rq with s = 31, and
 * mult != -2^31 keeps it from saturating); shift >= 32 is SQDMULH (floor(x m / 2^31))
 * and SRSHL by 31 - shift (nested floors); smaller shifts take VMULL.S32 + VRSHL.S64. */
enum rescale { RESCALE_31, RESCALE_32_UP, RESCALE_INT64 };

static inline int32x4_t rescale4(int32x4_t x, enum rescale how, int32x4_t vmult, int32x4_t neg_post,
                                 int64x2_t neg_shift) {
    switch (how) {
    case RESCALE_31: return vqrdmulhq_s32(x, vmult);
    case RESCALE_32_UP: return vrshlq_s32(vqdmulhq_s32(x, vmult), neg_post);
    case RESCALE_INT64: break;
    }
    return vcombine_s32(vmovn_s64(fpn_rq_lo(x, vmult, neg_shift)), vmovn_s64(fpn_rq_hi(x, vmult, neg_shift)));
}

/* Pass 1 for one row: t into s, masked keys as INT32_MIN; returns the maximum. */
static inline int32_t rescale_row(size_t n, int32_t *s, int32_t mult, int32_t shift, const uint8_t *key_mask,
                                  enum rescale how) {
    const size_t n8 = n - n % 8;
    const int32x4_t vmult = vdupq_n_s32(mult), masked = vdupq_n_s32(INT32_MIN), neg_post = vdupq_n_s32(31 - shift);
    const int64x2_t neg_shift = vdupq_n_s64(-(int64_t)shift);
    int32x4_t vmax = masked;
    for (size_t j = 0; j < n8; j += 8) {
        const uint8x8_t k8 = vld1_u8(key_mask + j);
        /* all ones where the key is attended, widened to 32-bit lanes */
        const int16x8_t on16 = vmovl_s8(vreinterpret_s8_u8(vtst_u8(k8, k8)));
        const uint32x4_t on0 = vreinterpretq_u32_s32(vmovl_s16(vget_low_s16(on16)));
        const uint32x4_t on1 = vreinterpretq_u32_s32(vmovl_s16(vget_high_s16(on16)));
        const int32x4_t t0 = vbslq_s32(on0, rescale4(vld1q_s32(s + j), how, vmult, neg_post, neg_shift), masked);
        const int32x4_t t1 = vbslq_s32(on1, rescale4(vld1q_s32(s + j + 4), how, vmult, neg_post, neg_shift), masked);
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
    const size_t n8 = n - n % 8;
    const uint32x4_t vmax = vdupq_n_u32((uint32_t)max_t);
    const fpn_iexp consts = fpn_iexp_make(e);
    uint64x2_t vsum = vdupq_n_u64(0);
    for (size_t j = 0; j < n8; j += 8) {
        const uint32x4_t e0 = fpn_iexp4(vsubq_u32(vmax, vreinterpretq_u32_s32(vld1q_s32(s + j))), &consts);
        const uint32x4_t e1 = fpn_iexp4(vsubq_u32(vmax, vreinterpretq_u32_s32(vld1q_s32(s + j + 4))), &consts);
        vst1q_s32(s + j, vreinterpretq_s32_u32(e0));
        vst1q_s32(s + j + 4, vreinterpretq_s32_u32(e1));
        vsum = vpadalq_u32(vpadalq_u32(vsum, e0), e1);
    }
    uint64_t sum = vgetq_lane_u64(vsum, 0) + vgetq_lane_u64(vsum, 1);
    for (size_t j = n8; j < n; j++) {
        /* masked keys hold INT32_MIN: their w is below -2^30 - 2^30 and iexp gives 0 */
        s[j] = fp_iexp((int64_t)s[j] - max_t, e);
        sum += (uint64_t)s[j];
    }
    return sum;
}

/* floor(e * fl / 2^32) for 4 lanes. */
static inline uint32x4_t mulhi4(uint32x4_t ev, uint32x2_t fl) {
#if defined(__aarch64__)
    return vuzp2q_u32(vreinterpretq_u32_u64(vmull_u32(vget_low_u32(ev), fl)),
                      vreinterpretq_u32_u64(vmull_high_u32(ev, vcombine_u32(fl, fl))));
#else
    return vcombine_u32(vshrn_n_u64(vmull_u32(vget_low_u32(ev), fl), 32),
                        vshrn_n_u64(vmull_u32(vget_high_u32(ev), fl), 32));
#endif
}

/* Pass 3 for one row: P = min(255, (e * f) >> 54), with f = fh 2^32 + fl:
 * floor(e f / 2^32) = e fh + floor(e fl / 2^32), where e fh <= e f / 2^32 <= 2^30 is a
 * 32-bit VMUL and the sum stays below 2^32; then >> 22 and the min with 255 are two
 * saturating narrowing shifts, >> 16 to uint16 (exact, the value is below 2^32) and
 * >> 6 to uint8 (clamps at 255). */
static void probs_row(size_t n, const int32_t *s, uint64_t f, uint8_t *p_row) {
    const size_t n8 = n - n % 8;
    const uint32x4_t fh = vdupq_n_u32((uint32_t)(f >> 32));
    const uint32x2_t fl = vdup_n_u32((uint32_t)f);
    for (size_t j = 0; j < n8; j += 8) {
        const uint32x4_t e0 = vreinterpretq_u32_s32(vld1q_s32(s + j)), e1 = vreinterpretq_u32_s32(vld1q_s32(s + j + 4));
        const uint16x4_t p0 = vqshrn_n_u32(vmlaq_u32(mulhi4(e0, fl), e0, fh), 16);
        const uint16x4_t p1 = vqshrn_n_u32(vmlaq_u32(mulhi4(e1, fl), e1, fh), 16);
        vst1_u8(p_row + j, vqshrn_n_u16(vcombine_u16(p0, p1), 6));
    }
    for (size_t j = n8; j < n; j++) {
        const uint64_t prob = ((uint64_t)(uint32_t)s[j] * f) >> 54;
        p_row[j] = (uint8_t)(prob > 255 ? 255 : prob);
    }
}

void softmax_s32u8_1x8__neon(size_t m, size_t n, int32_t *scores, size_t lds, int32_t mult, int32_t shift,
                             const uint8_t *key_mask, const iexp_params *e, uint8_t *p, size_t ldp) {
    /* The attended keys lie in [lo, hi); the ones outside take part in nothing and
     * get P = 0, so the passes run on that span only (padding is masked at the end). */
    size_t lo = 0, hi = n;
    while (lo < n && !key_mask[lo]) lo++;
    while (hi > lo && !key_mask[hi - 1]) hi--;
    for (size_t i = 0; i < m; i++) {
        uint8_t *p_row = p + i * ldp;
        if (lo > 0) memset(p_row, 0, lo);
        if (hi < n) memset(p_row + hi, 0, n - hi);
        if (lo == hi) continue; /* every key masked: the row is 0 */
        int32_t *s = scores + i * lds + lo;
        const size_t span = hi - lo;
        const int32_t max_t = shift == 31  ? rescale_row(span, s, mult, shift, key_mask + lo, RESCALE_31)
                              : shift > 31 ? rescale_row(span, s, mult, shift, key_mask + lo, RESCALE_32_UP)
                                           : rescale_row(span, s, mult, shift, key_mask + lo, RESCALE_INT64);
        /* sum >= c: the max key gives iexp(0) = c */
        const uint64_t f = (UINT64_C(1) << 62) / exp_row(span, s, max_t, e);
        probs_row(span, s, f, p_row + lo);
    }
}
