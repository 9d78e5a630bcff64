/* gelu_s32s8_1x8__neon: I-BERT's integer GELU (FORMAT.md §4.4) on 20-bit inputs and
 * the ffn_gelu rescale to int8, 8 values per iteration, bit-exact with
 * gelu_s32s8_1x1__ref.
 *
 * The polynomial fits int32 lanes: a = min(|t|, -b) <= 2^15, (a + b)^2 <= 2^30 and
 * z = (a + b)^2 + c is in [c, 0) with c >= -2^30 (VMLA); y = (sign(t) z) >> E is a
 * VSHL by -E. sign(t) z is taken as t < 0 ? -z : z: for t = 0 the reference uses 0,
 * but then g = t (y + one) = 0 whatever y is, so the result is the same.
 *
 * The rescale of g = t * w (w = y + one, |w| <= 2^12 + 1) is the hard part: g can
 * exceed int32 (|g| < 2^31 + 2^19). Two paths:
 *
 * - 32-bit, when shift >= 32 and (2^31 - 1) |mult| rescales beyond int8 (the shipped
 *   model: shift 48, |mult| ~ 2^31; gelu_int32_usable): g' = sat_32(g) by VMULL.S32
 *   and VQMOVN, then SQDMULH by mult (floor(g' mult / 2^31), exact as mult != -2^31)
 *   and SRSHL by 31 - shift, which is rq(g', mult, shift) by nested floors
 *   (fixed_point_neon.h). Where g' = g that is exact; where g' was clamped, both
 *   rq(g) and rq(g') are beyond the int8 range with the same sign, so sat_8 agrees.
 * - int64 otherwise: split the multiplier, mult = mh * 2^16 + ml with 0 <= ml < 2^16:
 *   g * mult = (t * (w * mh)) * 2^16 + t * (w * ml), where |w * mh| <= 4097 * 2^15 and
 *   w * ml < 4097 * 2^16 fit int32 (VMUL), and each product with t is one exact
 *   VMULL.S32 (|t| <= 2^19, so |t * w * mh| < 2^47 and the shifted term stays below
 *   2^63). VSHL #16 and VMLAL give g * mult exactly in int64, and VRSHL by -shift
 *   rounds it as rq does.
 *
 * The n % 8 columns at the end go to the reference kernel. */
#if !defined(__ARM_NEON)
#error "gelu_s32s8_1x8__neon needs NEON"
#endif

#include <arm_neon.h>

#include "fixed_point_neon.h"
#include "kernels/kernels.h"

/* w = y + one for the four t of x. */
static inline int32x4_t igelu_w(int32x4_t x, int32x4_t neg_b, int32x4_t b, int32x4_t c, int32x4_t neg_e,
                                int32x4_t one) {
    const int32x4_t ab = vaddq_s32(vminq_s32(vabsq_s32(x), neg_b), b);
    const int32x4_t z = vmlaq_s32(c, ab, ab);
    const int32x4_t neg = vshrq_n_s32(x, 31); /* all ones where t < 0 */
    const int32x4_t sign_z = vsubq_s32(veorq_s32(z, neg), neg);
    return vaddq_s32(vshlq_s32(sign_z, neg_e), one);
}

/* (t * (w * mh)) * 2^16 + t * (w * ml) for lanes 0-1 (lo) or 2-3 (hi). */
static inline int64x2_t product_lo(int32x4_t x, int32x4_t wh, int32x4_t wl) {
    const int64x2_t high = vshlq_n_s64(vmull_s32(vget_low_s32(x), vget_low_s32(wh)), 16);
    return vmlal_s32(high, vget_low_s32(x), vget_low_s32(wl));
}
static inline int64x2_t product_hi(int32x4_t x, int32x4_t wh, int32x4_t wl) {
    const int64x2_t high = vshlq_n_s64(vmull_s32(vget_high_s32(x), vget_high_s32(wh)), 16);
    return vmlal_s32(high, vget_high_s32(x), vget_high_s32(wl));
}

/* The int64 path for the n8 (a multiple of 8) first columns: exact for every rescale. */
static void gelu_int64(size_t m, size_t n8, const int32_t *t, size_t ldt, const igelu_params *g, int32_t mult,
                       int32_t shift, int8_t *u, size_t ldu) {
    const int32x4_t neg_b = vdupq_n_s32(-g->b), b = vdupq_n_s32(g->b), c = vdupq_n_s32(g->c),
                    one = vdupq_n_s32(g->one), neg_e = vdupq_n_s32(-(int32_t)g->shift);
    const int32x4_t mh = vdupq_n_s32(mult >> 16), ml = vdupq_n_s32(mult & 0xffff);
    const int64x2_t neg_shift = vdupq_n_s64(-(int64_t)shift);
    for (size_t i = 0; i < m; i++) {
        const int32_t *t_row = t + i * ldt;
        int8_t *u_row = u + i * ldu;
        for (size_t j = 0; j < n8; j += 8) {
            int64x2_t r[4];
            for (int h = 0; h < 2; h++) {
                const int32x4_t x = vld1q_s32(t_row + j + 4 * h);
                const int32x4_t w = igelu_w(x, neg_b, b, c, neg_e, one);
                const int32x4_t wh = vmulq_s32(w, mh), wl = vmulq_s32(w, ml);
                r[2 * h] = vrshlq_s64(product_lo(x, wh, wl), neg_shift);
                r[2 * h + 1] = vrshlq_s64(product_hi(x, wh, wl), neg_shift);
            }
            vst1_s8(u_row + j, fpn_sat8_s64(r));
        }
    }
}

/* sat_32(t * w) for 4 lanes. */
static inline int32x4_t product_sat32(int32x4_t x, int32x4_t w) {
#if defined(__aarch64__)
    return vcombine_s32(vqmovn_s64(vmull_s32(vget_low_s32(x), vget_low_s32(w))), vqmovn_s64(vmull_high_s32(x, w)));
#else
    return vcombine_s32(vqmovn_s64(vmull_s32(vget_low_s32(x), vget_low_s32(w))),
                        vqmovn_s64(vmull_s32(vget_high_s32(x), vget_high_s32(w))));
#endif
}

/* The 32-bit path (see the top of the file), for a rescale gelu_int32_usable accepts. */
static void gelu_int32(size_t m, size_t n8, const int32_t *t, size_t ldt, const igelu_params *g, int32_t mult,
                       int32_t shift, int8_t *u, size_t ldu) {
    const int32x4_t neg_b = vdupq_n_s32(-g->b), b = vdupq_n_s32(g->b), c = vdupq_n_s32(g->c),
                    one = vdupq_n_s32(g->one), neg_e = vdupq_n_s32(-(int32_t)g->shift);
    const int32x4_t vmult = vdupq_n_s32(mult), neg_post = vdupq_n_s32(31 - shift);
    for (size_t i = 0; i < m; i++) {
        const int32_t *t_row = t + i * ldt;
        int8_t *u_row = u + i * ldu;
        for (size_t j = 0; j < n8; j += 8) {
            int16x4_t r[2];
            for (int h = 0; h < 2; h++) {
                const int32x4_t x = vld1q_s32(t_row + j + 4 * h);
                const int32x4_t prod = product_sat32(x, igelu_w(x, neg_b, b, c, neg_e, one));
                r[h] = vqmovn_s32(vrshlq_s32(vqdmulhq_s32(prod, vmult), neg_post));
            }
            vst1_s8(u_row + j, vqmovn_s16(vcombine_s16(r[0], r[1])));
        }
    }
}

/* 1 when shift >= 32 and a product at the int32 ends, (2^31 - 1) |mult|, already
 * rescales beyond the int8 range: |(2^31 - 1) mult| >= 257 * 2^(shift - 1) =
 * 2^(shift + 7) + 2^(shift - 1), so its rq is at most -128 or at least 128. */
static int gelu_int32_usable(int32_t mult, int32_t shift) {
    if (shift < 32) return 0;
    const int64_t ends = INT64_C(2147483647) * (mult < 0 ? -(int64_t)mult : mult);
    return (ends >> (shift - 1)) >= 257;
}

void gelu_s32s8_1x8__neon(size_t m, size_t n, const int32_t *t, size_t ldt, const igelu_params *g, int32_t mult,
                          int32_t shift, int8_t *u, size_t ldu) {
    const size_t n8 = n - n % 8;
    if (gelu_int32_usable(mult, shift))
        gelu_int32(m, n8, t, ldt, g, mult, shift, u, ldu);
    else
        gelu_int64(m, n8, t, ldt, g, mult, shift, u, ldu);
    if (n8 < n) gelu_s32s8_1x1__ref(m, n - n8, t + n8, ldt, g, mult, shift, u + n8, ldu);
}
