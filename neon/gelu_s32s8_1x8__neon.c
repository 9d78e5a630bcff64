/* gelu_s32s8_1x8__neon: the integer GELU (FORMAT.md §4.4: I-BERT's erf2 or the cubic
 * erf3) on 20-bit inputs and the ffn_gelu rescale to int8, per tensor or per column,
 * bit-exact with gelu_s32s8_1x1__ref. Column blocks (16 columns, 8 on the int64 path)
 * are the outer loop, so a per-column rescale is loaded once for all rows. The form
 * is a constant in each copy of the loops (gelu_paths), so erf2's are those of a
 * kernel without erf3.
 *
 * erf2's polynomial fits int32 lanes: a = min(|t|, -b) <= 2^15, (a + b)^2 <= 2^30 and
 * z = (a + b)^2 + c is in [c, 0) with c >= -2^30 (VMLA); y = (sign(t) z) >> E is a
 * VSHL by -E. sign(t) z is taken as t < 0 ? -z : z: for t = 0 the reference uses 0,
 * but then g = t (y + one) = 0 whatever y is, so the result is the same.
 *
 * erf3's cubic fits int32 lanes too: -d = max(-b - |t|, 0) as for erf2, d d_mult =
 * (-d) (-d_mult) and D = d d_mult >> 12 are a VMUL and a VSHR, both Horner steps and
 * L a VMUL and a VSRA each (the floor shift and the next constant's addition in one).
 * The loader computed every one of those products, and L one, for each d in [b, 0]
 * and refuses a file where one leaves int32 or |y + one| exceeds 2^12 + 1
 * (model_metadata.c, read_gelu_erf3), so the wrapping 32-bit products are the exact
 * ones. y = (sign(t) L one) >> 14 takes sign(t) as erf2 does.
 *
 * The rescale of g = t * w (w = y + one, |w| <= 2^12 + 1) is the hard part: g can
 * exceed int32 (|g| < 2^31 + 2^19). Three paths, chosen for the whole call:
 *
 * - 32-bit, when every shift is >= 32 and g fits int32 for every 20-bit t (the
 *   shipped model: shift 48, |w| <= 3546 where |t| > -b; erf3 whenever one > -2^11,
 *   as its w there is 2 one or 0; gelu_product_fits): g by one VMUL, then SQDMULH by
 *   mult (floor(g mult / 2^31), exact as mult != -2^31) and SRSHL by 31 - shift,
 *   which is rq(g, mult, shift) by nested floors (fixed_point_neon.h,
 *   fpn_rq32_apply_32up).
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

/* The integer GELU's constants as vectors: b and one, then erf2's c and -E, then
 * erf3's -d_mult and c1 ... c3 (each form reads only its own). */
typedef struct gelu_consts {
    int32x4_t neg_b, one, c, neg_e, neg_d_mult, c1, c2, c3;
} gelu_consts;

static inline gelu_consts gelu_consts_of(const igelu_params *g) {
    const gelu_consts k = {vdupq_n_s32(-g->b),      vdupq_n_s32(g->one), vdupq_n_s32(g->c),
                           vdupq_n_s32(-(int32_t)g->shift), vdupq_n_s32(-g->d_mult), vdupq_n_s32(g->c1),
                           vdupq_n_s32(g->c2),      vdupq_n_s32(g->c3)};
    return k;
}

/* erf2's w = y + one for the four t of x. */
static inline int32x4_t igelu_w_erf2(int32x4_t x, const gelu_consts *k) {
    /* |a + b| = -b - min(|t|, -b) = max(-b - |t|, 0): one saturating subtraction */
    const uint32x4_t abs_t = vreinterpretq_u32_s32(vabsq_s32(x));
    const int32x4_t ab = vreinterpretq_s32_u32(vqsubq_u32(vreinterpretq_u32_s32(k->neg_b), abs_t));
    const int32x4_t z = vmlaq_s32(k->c, ab, ab);
    const int32x4_t neg = vshrq_n_s32(x, 31); /* all ones where t < 0 */
    const int32x4_t sign_z = vsubq_s32(veorq_s32(z, neg), neg);
    return vaddq_s32(vshlq_s32(sign_z, k->neg_e), k->one);
}

/* erf3's w = y + one for the four t of x (each product fits int32: see the top of the file). */
static inline int32x4_t igelu_w_erf3(int32x4_t x, const gelu_consts *k) {
    /* -d = -b - min(|t|, -b) = max(-b - |t|, 0), and d d_mult = (-d) (-d_mult) */
    const uint32x4_t abs_t = vreinterpretq_u32_s32(vabsq_s32(x));
    const int32x4_t neg_d = vreinterpretq_s32_u32(vqsubq_u32(vreinterpretq_u32_s32(k->neg_b), abs_t));
    const int32x4_t dd = vshrq_n_s32(vmulq_s32(neg_d, k->neg_d_mult), IGELU_ERF3_D_SHIFT);
    /* p = (c3 D >> 14) + c2, p = (p D >> 14) + c1, L = 2^14 + (p D >> 14) */
    int32x4_t p = vsraq_n_s32(k->c2, vmulq_s32(k->c3, dd), IGELU_ERF3_FRAC);
    p = vsraq_n_s32(k->c1, vmulq_s32(p, dd), IGELU_ERF3_FRAC);
    const int32x4_t l = vsraq_n_s32(vdupq_n_s32(1 << IGELU_ERF3_FRAC), vmulq_s32(p, dd), IGELU_ERF3_FRAC);
    /* w = (sign(t) L one >> 14) + one, sign(t) L one taken as t < 0 ? -L one : L one */
    const int32x4_t l_one = vmulq_s32(l, k->one);
    const int32x4_t neg = vshrq_n_s32(x, 31); /* all ones where t < 0 */
    return vsraq_n_s32(k->one, vsubq_s32(veorq_s32(l_one, neg), neg), IGELU_ERF3_FRAC);
}

/* w = y + one for the four t of x in the given form (a constant in each copy of the loops). */
static inline int32x4_t igelu_w(int32x4_t x, const gelu_consts *k, igelu_form form) {
    return form == IGELU_ERF3 ? igelu_w_erf3(x, k) : igelu_w_erf2(x, k);
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
static inline __attribute__((always_inline)) void gelu_int64(size_t m, size_t n8, const int32_t *t, size_t ldt,
                                                             const gelu_consts *k, igelu_form form, const rq_params *rq,
                                                             const int32_t *zero, int8_t *u, size_t ldu) {
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
                const int32x4_t w = igelu_w(x, k, form);
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
static inline int16x4_t gelu4(const int32_t *t_row, const gelu_consts *k, igelu_form form, const fpn_rq32 *p,
                              int exact) {
    const int32x4_t x = vld1q_s32(t_row);
    const int32x4_t prod = product4(x, igelu_w(x, k, form), exact);
    return vqmovn_s32(fpn_rq32_apply_32up(prod, p));
}

/* The 32-bit path for the n8 (a multiple of 8) first columns: blocks of 16
 * columns, then one of 8 if n8 is not a multiple of 16. */
static inline __attribute__((always_inline)) void gelu_int32(size_t m, size_t n8, const int32_t *t, size_t ldt,
                                                             const gelu_consts *k, igelu_form form, const rq_params *rq,
                                                             const int32_t *zero, int8_t *u, size_t ldu, int exact) {
    for (size_t j = 0; j < n8; j += 16) {
        fpn_rq32 p[4];
        fpn_rq32x8_load(rq, j, p);
        const int16x8_t z_lo = zero8_s16(rq, zero, j);
        if (n8 - j < 16) {
            for (size_t i = 0; i < m; i++) {
                const int32_t *t_row = t + i * ldt + j;
                const int16x8_t r = vcombine_s16(gelu4(t_row, k, form, &p[0], exact),
                                                 gelu4(t_row + 4, k, form, &p[1], exact));
                vst1_s8(u + i * ldu + j, vqmovn_s16(vqaddq_s16(r, z_lo)));
            }
            break;
        }
        fpn_rq32x8_load(rq, j + 8, p + 2);
        const int16x8_t z_hi = zero8_s16(rq, zero, j + 8);
        for (size_t i = 0; i < m; i++) {
            const int32_t *t_row = t + i * ldt + j;
            const int16x8_t lo = vcombine_s16(gelu4(t_row, k, form, &p[0], exact),
                                              gelu4(t_row + 4, k, form, &p[1], exact));
            const int16x8_t hi = vcombine_s16(gelu4(t_row + 8, k, form, &p[2], exact),
                                              gelu4(t_row + 12, k, form, &p[3], exact));
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
 * |w| <= 2^12 + 1 and |g| < 2^28. Where |t| >= -b, a is clipped to -b, so w is one
 * value w+ for t > 0 and one w- for t < 0 (erf2: (±c >> E) + one; erf3: 2 one and
 * 0), read off the reference at t = ±(-b). With both below 2^12 in magnitude,
 * |g| <= 2^19 (2^12 - 1) < 2^31. */
static int gelu_product_fits(const igelu_params *g) {
    const int64_t clip = -(int64_t)g->b;
    const int64_t w_pos = kernel_igelu(clip, g) / clip, w_neg = kernel_igelu(-clip, g) / -clip;
    return w_pos > -4096 && w_pos < 4096 && w_neg > -4096 && w_neg < 4096;
}

/* The n8 first columns of one form by the path the rescale allows (see the top of the file). */
static inline __attribute__((always_inline)) void gelu_paths(size_t m, size_t n, size_t n8, const int32_t *t,
                                                             size_t ldt, const igelu_params *g, igelu_form form,
                                                             const rq_params *rq, const int32_t *zero, int8_t *u,
                                                             size_t ldu) {
    const gelu_consts k = gelu_consts_of(g);
    const int shifts_32_up = fpn_rq_shifts_32_up(rq, n);
    if (shifts_32_up && gelu_product_fits(g))
        gelu_int32(m, n8, t, ldt, &k, form, rq, zero, u, ldu, 1);
    else if (shifts_32_up && gelu_ends_saturate(rq, zero, n))
        gelu_int32(m, n8, t, ldt, &k, form, rq, zero, u, ldu, 0);
    else
        gelu_int64(m, n8, t, ldt, &k, form, rq, zero, u, ldu);
}

void gelu_s32s8_1x8__neon(size_t m, size_t n, const int32_t *t, size_t ldt, const igelu_params *g,
                          const rq_params *rq, const int32_t *zero, int8_t *u, size_t ldu) {
    const size_t n8 = n - n % 8;
    if (g->form == IGELU_ERF3)
        gelu_paths(m, n, n8, t, ldt, g, IGELU_ERF3, rq, zero, u, ldu);
    else
        gelu_paths(m, n, n8, t, ldt, g, IGELU_ERF2, rq, zero, u, ldu);
    if (n8 < n) {
        const size_t ch = rq->per_channel ? n8 : 0;
        const rq_params tail = {rq->mult + ch, rq->shift + ch, rq->per_channel};
        gelu_s32s8_1x1__ref(m, n - n8, t + n8, ldt, g, &tail, zero ? zero + ch : NULL, u + n8, ldu);
    }
}
