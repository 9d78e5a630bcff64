/* gelu_s32s8_1x8__neon: I-BERT's integer GELU (FORMAT.md §4.4) on 20-bit inputs and
 * the ffn_gelu rescale to int8, per tensor or per column, bit-exact with
 * gelu_s32s8_1x1__ref. Column blocks (16 columns, 8 on the int64 path) are the outer
 * loop, so a per-column rescale is loaded once for all rows.
 *
 * The polynomial fits int32 lanes: a = min(|t|, -b) <= 2^15, (a + b)^2 <= 2^30 and
 * z = (a + b)^2 + c is in [c, 0) with c >= -2^30 (VMLA); y = (sign(t) z) >> E is a
 * VSHL by -E. sign(t) z is taken as t < 0 ? -z : z: for t = 0 the reference uses 0,
 * but then g = t (y + one) = 0 whatever y is, so the result is the same.
 *
 * The rescale of g = t * w (w = y + one, |w| <= 2^12 + 1) is the hard part: g can
 * exceed int32 (|g| < 2^31 + 2^19). Three paths, chosen for the whole call:
 *
 * - 32-bit, when every shift is >= 32 and g fits int32 for every 20-bit t (the
 *   shipped model: shift 48, |w| <= 3546 where |t| > -b; gelu_product_fits): g by one
 *   VMUL, then SQDMULH by mult (floor(g mult / 2^31), exact as mult != -2^31) and
 *   SRSHL by 31 - shift, which is rq(g, mult, shift) by nested floors
 *   (fixed_point_neon.h, fpn_rq32_apply_32up).
 * - the same when g may exceed int32, if every shift is >= 32 and every channel's
 *   (2^31 - 1) |mult| rescales beyond int8 (gelu_ends_saturate), with g' = sat_32(g)
 *   by VMULL.S32 and VQMOVN for g: where g' = g that is exact; where g' was clamped,
 *   both rq(g) and rq(g') are beyond the int8 range with the same sign, so sat_8
 *   agrees.
 * - int64 otherwise: split the multiplier, mult = mh * 2^16 + ml with 0 <= ml < 2^16:
 *   g * mult = (t * (w * mh)) * 2^16 + t * (w * ml), where |w * mh| <= 4097 * 2^15 and
 *   w * ml < 4097 * 2^16 fit int32 (VMUL), and each product with t is one exact
 *   VMULL.S32 (|t| <= 2^19, so |t * w * mh| < 2^47 and the shifted term stays below
 *   2^63). VSHL #16 and VMLAL give g * mult exactly in int64, and VRSHL by -shift
 *   rounds it as rq does.
 *
 * A zero point (format version 6) is added to the rescaled value before it is
 * narrowed to int8: on the 32-bit paths to its int16 saturation, 8 lanes at a time
 * (sat_8(sat_16(r) + z) = sat_8(r + z) for |z| <= 128), widened on the int64 one.
 * The n % 8 columns at the end go to the reference kernel. */
#if !defined(__ARM_NEON)
#error "gelu_s32s8_1x8__neon needs NEON"
#endif

#include <arm_neon.h>

#include "fixed_point_neon.h"
#include "kernels/kernels.h"

/* The zero points of columns j ... j + 3 (per channel or broadcast), 0 without them. */
static inline int32x4_t zero4(const rq_params *rq, const int32_t *zero, size_t j) {
    if (!zero) return vdupq_n_s32(0);
    return rq->per_channel ? vld1q_s32(zero + j) : vdupq_n_s32(zero[0]);
}

/* The same for columns j ... j + 7 as int16 (each in -128 ... 127). */
static inline int16x8_t zero8_s16(const rq_params *rq, const int32_t *zero, size_t j) {
    return vcombine_s16(vmovn_s32(zero4(rq, zero, j)), vmovn_s32(zero4(rq, zero, j + 4)));
}

/* w = y + one for the four t of x. */
static inline int32x4_t igelu_w(int32x4_t x, int32x4_t neg_b, int32x4_t c, int32x4_t neg_e,
                                int32x4_t one) {
    /* |a + b| = -b - min(|t|, -b) = max(-b - |t|, 0): one saturating subtraction */
    const uint32x4_t abs_t = vreinterpretq_u32_s32(vabsq_s32(x));
    const int32x4_t ab = vreinterpretq_s32_u32(vqsubq_u32(vreinterpretq_u32_s32(neg_b), abs_t));
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
static void gelu_int64(size_t m, size_t n8, const int32_t *t, size_t ldt, const igelu_params *g, const rq_params *rq,
                       const int32_t *zero, int8_t *u, size_t ldu) {
    const int32x4_t neg_b = vdupq_n_s32(-g->b), c = vdupq_n_s32(g->c),
                    one = vdupq_n_s32(g->one), neg_e = vdupq_n_s32(-(int32_t)g->shift);
    for (size_t j = 0; j < n8; j += 8) {
        const fpn_rq8 p = fpn_rq8_load(rq, j);
        int32x4_t mh[2], ml[2], z[2];
        for (int h = 0; h < 2; h++) {
            mh[h] = vshrq_n_s32(p.mult[h], 16);
            ml[h] = vandq_s32(p.mult[h], vdupq_n_s32(0xffff));
            z[h] = zero4(rq, zero, j + 4 * h);
        }
        for (size_t i = 0; i < m; i++) {
            const int32_t *t_row = t + i * ldt + j;
            int64x2_t r[4];
            for (int h = 0; h < 2; h++) {
                const int32x4_t x = vld1q_s32(t_row + 4 * h);
                const int32x4_t w = igelu_w(x, neg_b, c, neg_e, one);
                const int32x4_t wh = vmulq_s32(w, mh[h]), wl = vmulq_s32(w, ml[h]);
                r[2 * h] = vaddw_s32(vrshlq_s64(product_lo(x, wh, wl), p.neg_shift[2 * h]), vget_low_s32(z[h]));
                r[2 * h + 1] = vaddw_s32(vrshlq_s64(product_hi(x, wh, wl), p.neg_shift[2 * h + 1]),
                                         vget_high_s32(z[h]));
            }
            vst1_s8(u + i * ldu + j, fpn_sat8_s64(r));
        }
    }
}

/* g = t * w for 4 lanes: exactly, by a 32-bit VMUL, when gelu_product_fits says g
 * fits int32 for every 20-bit t; else sat_32(g) by VMULL.S32 + VQMOVN. */
static inline int32x4_t product4(int32x4_t x, int32x4_t w, int exact) {
    if (exact) return vmulq_s32(x, w);
#if defined(__aarch64__)
    return vcombine_s32(vqmovn_s64(vmull_s32(vget_low_s32(x), vget_low_s32(w))), vqmovn_s64(vmull_high_s32(x, w)));
#else
    return vcombine_s32(vqmovn_s64(vmull_s32(vget_low_s32(x), vget_low_s32(w))),
                        vqmovn_s64(vmull_s32(vget_high_s32(x), vget_high_s32(w))));
#endif
}

/* The 32-bit path (see the top of the file): u for the 4 t at t_row. */
static inline int16x4_t gelu4(const int32_t *t_row, int32x4_t neg_b, int32x4_t c, int32x4_t neg_e,
                              int32x4_t one, const fpn_rq32 *p, int exact) {
    const int32x4_t x = vld1q_s32(t_row);
    const int32x4_t prod = product4(x, igelu_w(x, neg_b, c, neg_e, one), exact);
    return vqmovn_s32(fpn_rq32_apply_32up(prod, p));
}

/* The 32-bit path for the n8 (a multiple of 8) first columns: blocks of 16
 * columns, then one of 8 if n8 is not a multiple of 16. */
static inline void gelu_int32(size_t m, size_t n8, const int32_t *t, size_t ldt, const igelu_params *g,
                              const rq_params *rq, const int32_t *zero, int8_t *u, size_t ldu, int exact) {
    const int32x4_t neg_b = vdupq_n_s32(-g->b), c = vdupq_n_s32(g->c),
                    one = vdupq_n_s32(g->one), neg_e = vdupq_n_s32(-(int32_t)g->shift);
    for (size_t j = 0; j < n8; j += 16) {
        fpn_rq32 p[4];
        fpn_rq32x8_load(rq, j, p);
        const int16x8_t z_lo = zero8_s16(rq, zero, j);
        if (n8 - j < 16) {
            for (size_t i = 0; i < m; i++) {
                const int32_t *t_row = t + i * ldt + j;
                const int16x8_t r = vcombine_s16(gelu4(t_row, neg_b, c, neg_e, one, &p[0], exact),
                                                 gelu4(t_row + 4, neg_b, c, neg_e, one, &p[1], exact));
                vst1_s8(u + i * ldu + j, vqmovn_s16(vqaddq_s16(r, z_lo)));
            }
            break;
        }
        fpn_rq32x8_load(rq, j + 8, p + 2);
        const int16x8_t z_hi = zero8_s16(rq, zero, j + 8);
        for (size_t i = 0; i < m; i++) {
            const int32_t *t_row = t + i * ldt + j;
            const int16x8_t lo = vcombine_s16(gelu4(t_row, neg_b, c, neg_e, one, &p[0], exact),
                                              gelu4(t_row + 4, neg_b, c, neg_e, one, &p[1], exact));
            const int16x8_t hi = vcombine_s16(gelu4(t_row + 8, neg_b, c, neg_e, one, &p[2], exact),
                                              gelu4(t_row + 12, neg_b, c, neg_e, one, &p[3], exact));
            vst1q_s8(u + i * ldu + j,
                     vcombine_s8(vqmovn_s16(vqaddq_s16(lo, z_lo)), vqmovn_s16(vqaddq_s16(hi, z_hi))));
        }
    }
}

/* 1 when a product at the int32 ends, (2^31 - 1) |mult|, already rescales beyond the
 * int8 range for every channel (n of them, or 1), its zero point z added:
 * |(2^31 - 1) mult| >= (257 + 2 |z|) * 2^(shift - 1), so its rq is at most -128 - |z|
 * or at least 128 + |z|. */
static int gelu_ends_saturate(const rq_params *rq, const int32_t *zero, size_t n) {
    for (size_t j = 0; j < (rq->per_channel ? n : 1); j++) {
        const int64_t ends = INT64_C(2147483647) * (rq->mult[j] < 0 ? -(int64_t)rq->mult[j] : rq->mult[j]);
        const int64_t z = zero ? (zero[j] < 0 ? -(int64_t)zero[j] : zero[j]) : 0;
        if ((ends >> (rq->shift[j] - 1)) < 257 + 2 * z) return 0;
    }
    return 1;
}

/* 1 when g = t (y + one) fits int32 for every 20-bit t. Where |t| <= -b <= 2^15,
 * |w| <= 2^12 + 1 and |g| < 2^28. Where |t| > -b, a is clipped to -b, so z = c and
 * w is w+ = (c >> E) + one (t > 0) or w- = ((-c) >> E) + one (t < 0): with both
 * below 2^12 in magnitude, |g| <= 2^19 (2^12 - 1) < 2^31. */
static int gelu_product_fits(const igelu_params *g) {
    const int64_t w_pos = ((int64_t)g->c >> g->shift) + g->one, w_neg = ((-(int64_t)g->c) >> g->shift) + g->one;
    return w_pos > -4096 && w_pos < 4096 && w_neg > -4096 && w_neg < 4096;
}

void gelu_s32s8_1x8__neon(size_t m, size_t n, const int32_t *t, size_t ldt, const igelu_params *g,
                          const rq_params *rq, const int32_t *zero, int8_t *u, size_t ldu) {
    const size_t n8 = n - n % 8;
    const int shifts_32_up = fpn_rq_shifts_32_up(rq, n);
    if (shifts_32_up && gelu_product_fits(g))
        gelu_int32(m, n8, t, ldt, g, rq, zero, u, ldu, 1);
    else if (shifts_32_up && gelu_ends_saturate(rq, zero, n))
        gelu_int32(m, n8, t, ldt, g, rq, zero, u, ldu, 0);
    else
        gelu_int64(m, n8, t, ldt, g, rq, zero, u, ldu);
    if (n8 < n) {
        const size_t ch = rq->per_channel ? n8 : 0;
        const rq_params tail = {rq->mult + ch, rq->shift + ch, rq->per_channel};
        gelu_s32s8_1x1__ref(m, n - n8, t + n8, ldt, g, &tail, zero ? zero + ch : NULL, u + n8, ldu);
    }
}
