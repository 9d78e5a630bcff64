/* softmax_s32u8_1x8__neon: the attention softmax of FORMAT.md §4.6 step 2 (i-exp,
 * one division per row), bit-exact with softmax_s32u8_1x1__ref.
 *
 * The passes run on the span from the first to the last attended key (the mask is
 * the same for every row): keys outside it, like the padding of a fixed-length
 * batch, get P = 0 without being touched, and a fully masked row is all 0, like the
 * reference. The scores row is scratch, as the contract allows. When every key of
 * the span is attended (the usual case), a row takes three passes of 16 keys per
 * iteration:
 *
 * 1. the largest raw score (the smallest for mult < 0): rq is monotonic in s, so
 *    max t = rq of it, one scalar rq per row (extreme_row); nothing is stored.
 * 2. t = rq(s, mult, shift) exactly (see enum rescale; |t| <= 2^30 by the file's
 *    attn_scores bound), e = iexp(t - max) in 32-bit lanes (exp4) stored over s, and
 *    their sum, exact in uint64 lanes.
 * 3. f = floor(2^62 / sum) is one scalar division per row (NEON has no integer
 *    divide); P = min(255, (e * f + 2^53) >> 54) in 32-bit lanes (probs4).
 *
 * A span with masked keys inside takes a first pass that stores t, with INT32_MIN for
 * masked keys (below every real t, so the row maximum is over attended keys), 8 keys
 * per iteration (rescale_row); pass 2 then reads t, and a masked key's e is 0.
 * Keys beyond the last multiple of 4 go through the same steps in scalar code. */
#if !defined(__ARM_NEON)
#error "softmax_s32u8_1x8__neon needs NEON"
#endif

#include <arm_neon.h>
#include <string.h>

#include "fixed_point_neon.h"
#include "kernels/kernels.h"

/* How the passes compute rq(s, mult, shift), exactly in each case (fixed_point_neon.h):
 * shift 31 is one SQRDMULH (the rounding doubling high half is rq with s = 31, and
 * mult != -2^31 keeps it from saturating); shift >= 32 is SQDMULH (floor(x m / 2^31))
 * and SRSHL by 31 - shift (nested floors); smaller shifts take VMULL.S32 + VRSHL.S64.
 * RESCALE_NONE: t is already there (pass 2 of a masked row). */
enum rescale { RESCALE_NONE, RESCALE_31, RESCALE_32_UP, RESCALE_INT64 };

static inline int32x4_t rescale4(int32x4_t x, enum rescale how, int32x4_t vmult, int32x4_t neg_post,
                                 int64x2_t neg_shift) {
    switch (how) {
    case RESCALE_NONE: return x;
    case RESCALE_31: return vqrdmulhq_s32(x, vmult);
    case RESCALE_32_UP: return vrshlq_s32(vqdmulhq_s32(x, vmult), neg_post);
    case RESCALE_INT64: break;
    }
    return vcombine_s32(vmovn_s64(fpn_rq_lo(x, vmult, neg_shift)), vmovn_s64(fpn_rq_hi(x, vmult, neg_shift)));
}

/* Pass 1 of a row with masked keys: t into s, masked keys as INT32_MIN; returns the maximum. */
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

/* Pass 1 of a row whose keys are all attended: the largest (want_min = 0) or the
 * smallest raw score. rq is monotonic in s (non-decreasing for mult >= 0,
 * non-increasing for mult < 0), so the maximum of t is rq of the one or the other. */
static inline int32x4_t extreme4(int32x4_t a, int32x4_t b, int want_min) {
    return want_min ? vminq_s32(a, b) : vmaxq_s32(a, b);
}

static inline int32_t extreme_row(size_t n, const int32_t *s, int want_min) {
    int32x4_t v = vdupq_n_s32(s[0]);
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
        const int32x4_t a = extreme4(vld1q_s32(s + j), vld1q_s32(s + j + 4), want_min);
        const int32x4_t b = extreme4(vld1q_s32(s + j + 8), vld1q_s32(s + j + 12), want_min);
        v = extreme4(v, extreme4(a, b, want_min), want_min);
    }
    for (; j + 4 <= n; j += 4) v = extreme4(v, vld1q_s32(s + j), want_min);
    int32_t x = want_min ? fpn_min_s32(v) : fpn_max_s32(v);
    for (; j < n; j++) x = want_min ? (s[j] < x ? s[j] : x) : (s[j] > x ? s[j] : x);
    return x;
}

/* Pass 2's constants. i-exp (FORMAT.md §4.3) is taken from y = w + (2^K - 1), w = t - max:
 * -q = -floor(-w / 2^K) = ceil(w / 2^K) = y >> K, and rm = y & (2^K - 1) = r + 2^K - 1, so
 * z = r (r + b) + c = rm (rm + B) + C with B = b - 2 (2^K - 1) and
 * C = c - (2^K - 1)(b - 2^K + 1). C can exceed 32 bits, but z is in (0, 2^31) and the
 * lanes compute modulo 2^32, so z comes out exact. e = z >> q is USHL by -q, with -q
 * raised to -32 first: USHL reads the shift's low byte only, a shift by 31 or more
 * gives 0 (z < 2^31), as the reference's q > 30 does. y = t - (max - 2^K + 1) is a
 * saturating subtraction: exact for an attended key (y >= -2^31 + 2^K - 1), and for
 * a masked key of a masked row (t = INT32_MIN) at most -2^31 + 2^30 + 2^14, so -q is
 * far below -32 and e = 0. */
typedef struct exp_consts {
    int32_t frac_mask;
    int32x4_t neg_k, floor_q, vfrac_mask;
    uint32x4_t b, c;
} exp_consts;

static exp_consts exp_consts_make(const iexp_params *e) {
    const int32_t frac_mask = (INT32_C(1) << e->frac_bits) - 1;
    const exp_consts k = {
        .frac_mask = frac_mask,
        .neg_k = vdupq_n_s32(-(int32_t)e->frac_bits),
        .floor_q = vdupq_n_s32(-32),
        .vfrac_mask = vdupq_n_s32(frac_mask),
        .b = vdupq_n_u32((uint32_t)e->b - 2 * (uint32_t)frac_mask),
        .c = vdupq_n_u32((uint32_t)e->c - (uint32_t)frac_mask * ((uint32_t)e->b - (uint32_t)frac_mask)),
    };
    return k;
}

/* e for the 4 t, bias = max - 2^K + 1. */
static inline uint32x4_t exp4(int32x4_t t, int32x4_t bias, const exp_consts *k) {
    const int32x4_t y = vqsubq_s32(t, bias);
    const int32x4_t neg_q = vmaxq_s32(vshlq_s32(y, k->neg_k), k->floor_q);
    const uint32x4_t rm = vreinterpretq_u32_s32(vandq_s32(y, k->vfrac_mask));
    return vshlq_u32(vmlaq_u32(k->c, rm, vaddq_u32(rm, k->b)), neg_q);
}

/* Pass 2 for one row: e = iexp(rescale(s) - max) into s; returns the sum (exact in
 * uint64 lanes). how = RESCALE_NONE when pass 1 already stored t (masked rows). */
static inline uint64_t exp_row(size_t n, int32_t *s, int32_t max_t, int32_t mult, int32_t shift,
                               const iexp_params *e, const exp_consts *k, enum rescale how) {
    const int32x4_t bias = vdupq_n_s32(max_t - k->frac_mask);
    const int32x4_t vmult = vdupq_n_s32(mult), neg_post = vdupq_n_s32(31 - shift);
    const int64x2_t neg_shift = vdupq_n_s64(-(int64_t)shift);
    uint64x2_t vsum = vdupq_n_u64(0);
    size_t j = 0;
    for (; j + 16 <= n; j += 16)
        for (int h = 0; h < 4; h++) {
            const uint32x4_t ev = exp4(rescale4(vld1q_s32(s + j + 4 * h), how, vmult, neg_post, neg_shift), bias, k);
            vst1q_s32(s + j + 4 * h, vreinterpretq_s32_u32(ev));
            vsum = vpadalq_u32(vsum, ev);
        }
    for (; j + 4 <= n; j += 4) {
        const uint32x4_t ev = exp4(rescale4(vld1q_s32(s + j), how, vmult, neg_post, neg_shift), bias, k);
        vst1q_s32(s + j, vreinterpretq_s32_u32(ev));
        vsum = vpadalq_u32(vsum, ev);
    }
    uint64_t sum = vgetq_lane_u64(vsum, 0) + vgetq_lane_u64(vsum, 1);
    for (; j < n; j++) {
        /* a masked key (RESCALE_NONE rows only) holds INT32_MIN: w < -2^30 - 2^30, iexp gives 0 */
        const int64_t t = how == RESCALE_NONE ? s[j] : fp_rq(s[j], mult, shift);
        s[j] = fp_iexp(t - max_t, e);
        sum += (uint64_t)s[j];
    }
    return sum;
}

/* Pass 3 for 4 keys: P = min(255, (e * f + 2^53) >> 54) before its last narrowing,
 * as uint16 x = floor(e f / 2^47). With f = fh 2^31 + fl (fl < 2^31): floor(e f / 2^31)
 * = e fh + floor(e fl / 2^31), the second term SQDMULH of e and fl (both below 2^31,
 * so it neither saturates nor rounds), and the total is at most 2^31 because e <= sum
 * makes e f <= 2^62: a uint32 VMLA is exact. Then >> 16 to uint16 (at most 2^15,
 * exact) and, in the caller, UQRSHRN by 7 to uint8: min(255, (x + 2^6) >> 7), and
 * floor((floor(e f / 2^47) + 2^6) / 2^7) = floor((e f + 2^53) / 2^54) (nested floors,
 * the added 2^6 an integer), the rounding of FORMAT.md. */
static inline uint16x4_t probs4(const int32_t *s, int32x4_t fl, uint32x4_t fh) {
    const int32x4_t ev = vld1q_s32(s);
    const uint32x4_t lo = vreinterpretq_u32_s32(vqdmulhq_s32(ev, fl));
    return vqshrn_n_u32(vmlaq_u32(lo, vreinterpretq_u32_s32(ev), fh), 16);
}

/* Pass 3 for one row, 16 keys per iteration, then 4, then one at a time. */
static void probs_row(size_t n, const int32_t *s, uint64_t f, uint8_t *p_row) {
    const uint32x4_t fh = vdupq_n_u32((uint32_t)(f >> 31));
    const int32x4_t fl = vdupq_n_s32((int32_t)(f & 0x7fffffff));
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
        const uint8x8_t lo = vqrshrn_n_u16(vcombine_u16(probs4(s + j, fl, fh), probs4(s + j + 4, fl, fh)), 7);
        const uint8x8_t hi = vqrshrn_n_u16(vcombine_u16(probs4(s + j + 8, fl, fh), probs4(s + j + 12, fl, fh)), 7);
        vst1q_u8(p_row + j, vcombine_u8(lo, hi));
    }
    for (; j + 4 <= n; j += 4) {
        const uint16x4_t p16 = probs4(s + j, fl, fh);
        const uint32_t four = vget_lane_u32(vreinterpret_u32_u8(vqrshrn_n_u16(vcombine_u16(p16, p16), 7)), 0);
        memcpy(p_row + j, &four, sizeof four);
    }
    for (; j < n; j++) p_row[j] = fp_softmax_prob((uint32_t)s[j], (int64_t)f);
}

void softmax_s32u8_1x8__neon(size_t m, size_t n, int32_t *scores, size_t lds, int32_t mult, int32_t shift,
                             const uint8_t *key_mask, const iexp_params *e, uint8_t *p, size_t ldp) {
    /* The attended keys lie in [lo, hi); the ones outside take part in nothing and
     * get P = 0, so the passes run on that span only (padding is masked at the end). */
    size_t lo = 0, hi = n;
    while (lo < n && !key_mask[lo]) lo++;
    while (hi > lo && !key_mask[hi - 1]) hi--;
    int dense = 1; /* every key of the span attended: no masks in the passes */
    for (size_t j = lo; j < hi; j++) dense &= key_mask[j] != 0;
    const enum rescale how = shift == 31 ? RESCALE_31 : shift > 31 ? RESCALE_32_UP : RESCALE_INT64;
    const exp_consts k = exp_consts_make(e);
    for (size_t i = 0; i < m; i++) {
        uint8_t *p_row = p + i * ldp;
        if (lo > 0) memset(p_row, 0, lo);
        if (hi < n) memset(p_row + hi, 0, n - hi);
        if (lo == hi) continue; /* every key masked: the row is 0 */
        int32_t *s = scores + i * lds + lo;
        const size_t span = hi - lo;
        uint64_t sum;
        if (dense) {
            const int32_t max_t = (int32_t)fp_rq(extreme_row(span, s, mult < 0), mult, shift);
            sum = how == RESCALE_31      ? exp_row(span, s, max_t, mult, shift, e, &k, RESCALE_31)
                  : how == RESCALE_32_UP ? exp_row(span, s, max_t, mult, shift, e, &k, RESCALE_32_UP)
                                         : exp_row(span, s, max_t, mult, shift, e, &k, RESCALE_INT64);
        } else {
            const uint8_t *mask = key_mask + lo;
            const int32_t max_t = how == RESCALE_31      ? rescale_row(span, s, mult, shift, mask, RESCALE_31)
                                  : how == RESCALE_32_UP ? rescale_row(span, s, mult, shift, mask, RESCALE_32_UP)
                                                         : rescale_row(span, s, mult, shift, mask, RESCALE_INT64);
            sum = exp_row(span, s, max_t, mult, shift, e, &k, RESCALE_NONE);
        }
        /* sum >= c: the max key gives iexp(0) = c */
        probs_row(span, s, (UINT64_C(1) << 62) / sum, p_row + lo);
    }
}
