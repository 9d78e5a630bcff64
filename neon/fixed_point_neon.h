/* fixed_point_neon.h: NEON forms of the fixed_point.h steps the elementwise
 * kernels share, in the arm_neon.h subset that AArch64 and ARMv7-A NEON both have.
 *
 * The rescale rq(x, m, s) = (x * m + 2^(s-1)) >> s (FORMAT.md §4.1) is exactly
 * VMULL.S32 (the 64-bit product, exact for 32-bit x and m) followed by VRSHL.S64
 * by -s: a rounding right shift adds 2^(s-1) and shifts arithmetically, and the
 * architecture computes that sum without wrapping, so it is the int64 formula for
 * every s in 1 ... 62. Saturation is VQMOVN (narrowing with clamping), which
 * composes: clamping to int32, then to int16, then to int8 is clamping to int8. */
#ifndef IBERT_NEON_FIXED_POINT_NEON_H
#define IBERT_NEON_FIXED_POINT_NEON_H

#if !defined(__ARM_NEON)
#error "fixed_point_neon.h needs NEON (AArch64 AdvSIMD or ARMv7-A NEON)"
#endif

#include <arm_neon.h>

#include "kernels/kernels.h"

/* Shift counts -s of 4 lanes as the two int64x2 operands VRSHL/VSHL.S64 take. */
static inline int64x2_t fpn_neg_shift_lo(int32x4_t s) { return vmovl_s32(vget_low_s32(vnegq_s32(s))); }
static inline int64x2_t fpn_neg_shift_hi(int32x4_t s) { return vmovl_s32(vget_high_s32(vnegq_s32(s))); }

/* rq of lanes 0-1 and 2-3 of x with multipliers m and shift counts from fpn_neg_shift_*. */
static inline int64x2_t fpn_rq_lo(int32x4_t x, int32x4_t m, int64x2_t neg_shift) {
    return vrshlq_s64(vmull_s32(vget_low_s32(x), vget_low_s32(m)), neg_shift);
}
static inline int64x2_t fpn_rq_hi(int32x4_t x, int32x4_t m, int64x2_t neg_shift) {
#if defined(__aarch64__)
    return vrshlq_s64(vmull_high_s32(x, m), neg_shift); /* SMULL2: no move of the high halves */
#else
    return vrshlq_s64(vmull_s32(vget_high_s32(x), vget_high_s32(m)), neg_shift);
#endif
}

/* A rescale for 8 consecutive columns j ... j + 7: per channel or broadcast. */
typedef struct fpn_rq8 {
    int32x4_t mult[2];
    int64x2_t neg_shift[4];
} fpn_rq8;

static inline fpn_rq8 fpn_rq8_load(const rq_params *rq, size_t j) {
    fpn_rq8 p;
    int32x4_t s0, s1;
    if (rq->per_channel) {
        p.mult[0] = vld1q_s32(rq->mult + j);
        p.mult[1] = vld1q_s32(rq->mult + j + 4);
        s0 = vld1q_s32(rq->shift + j);
        s1 = vld1q_s32(rq->shift + j + 4);
    } else {
        p.mult[0] = p.mult[1] = vdupq_n_s32(rq->mult[0]);
        s0 = s1 = vdupq_n_s32(rq->shift[0]);
    }
    p.neg_shift[0] = fpn_neg_shift_lo(s0);
    p.neg_shift[1] = fpn_neg_shift_hi(s0);
    p.neg_shift[2] = fpn_neg_shift_lo(s1);
    p.neg_shift[3] = fpn_neg_shift_hi(s1);
    return p;
}

/* out[0 ... 3] = rq of x0 (lanes 0-1, 2-3) and x1 (lanes 0-1, 2-3), in int64. */
static inline void fpn_rq8_apply(const fpn_rq8 *p, int32x4_t x0, int32x4_t x1, int64x2_t out[4]) {
    out[0] = fpn_rq_lo(x0, p->mult[0], p->neg_shift[0]);
    out[1] = fpn_rq_hi(x0, p->mult[0], p->neg_shift[1]);
    out[2] = fpn_rq_lo(x1, p->mult[1], p->neg_shift[2]);
    out[3] = fpn_rq_hi(x1, p->mult[1], p->neg_shift[3]);
}

/* The rescale in 32-bit lanes, 3 instructions per 4 values instead of 6:
 *
 *   x' = SQSHL(x, L)         L = max(32 - s, 0)
 *   h  = SQDMULH(x', m)      floor(x' m / 2^31), exact for m != -2^31
 *   r  = SRSHL(h, -j)        j = max(s - 31, 1): floor((h + 2^(j-1)) / 2^j)
 *
 * Nested floors: floor((floor(P / 2^31) + 2^(j-1)) / 2^j) = floor((P + 2^(30+j)) / 2^(31+j))
 * because 2^(30+j) is a multiple of 2^31 (j >= 1), so r = rq(x', m, 31 + j). When x' does
 * not saturate, x' = x 2^L and 31 + j - L = s: r = rq(x, m, s) exactly. That holds for
 * every x when s >= 32 (L = 0). For s <= 31, x' saturates when |x| >= 2^(s-1) or so;
 * if |m| >= 2^30 the true rq then has |rq| >= 2^29, and the computed r (from x' =
 * 2^31 - 1 or -2^31) has the same sign and |r| >= 2^29 as well: the two differ only
 * where any clamp to 30 bits or fewer maps both to the same end. fpn_rq32_usable says
 * whether a rescale has that property on every channel; callers clamp (or add a
 * term small enough, see residual) and keep the int64 path for other rescales. */
typedef struct fpn_rq32 {
    int32x4_t mult, pre_shift, neg_post_shift;
} fpn_rq32;

static inline fpn_rq32 fpn_rq32_make(int32x4_t mult, int32x4_t shift) {
    fpn_rq32 p;
    p.mult = mult;
    p.pre_shift = vmaxq_s32(vsubq_s32(vdupq_n_s32(32), shift), vdupq_n_s32(0));
    p.neg_post_shift = vnegq_s32(vmaxq_s32(vsubq_s32(shift, vdupq_n_s32(31)), vdupq_n_s32(1)));
    return p;
}

static inline int32x4_t fpn_rq32_apply(int32x4_t x, const fpn_rq32 *p) {
    return vrshlq_s32(vqdmulhq_s32(vqshlq_s32(x, p->pre_shift), p->mult), p->neg_post_shift);
}

/* fpn_rq32_apply for a rescale whose every shift is at least 32 (fpn_rq_shifts_32_up):
 * L = 0 there, so the SQSHL is the identity and is left out. */
static inline int32x4_t fpn_rq32_apply_32up(int32x4_t x, const fpn_rq32 *p) {
    return vrshlq_s32(vqdmulhq_s32(x, p->mult), p->neg_post_shift);
}

/* 1 when every channel of rq (n of them, or 1) has s >= 32. */
static inline int fpn_rq_shifts_32_up(const rq_params *rq, size_t n) {
    const size_t count = rq->per_channel ? n : 1;
    for (size_t j = 0; j < count; j++)
        if (rq->shift[j] < 32) return 0;
    return 1;
}

/* The 32-bit rescales of columns j ... j + 7 (per channel or broadcast). */
static inline void fpn_rq32x8_load(const rq_params *rq, size_t j, fpn_rq32 p[2]) {
    if (rq->per_channel) {
        p[0] = fpn_rq32_make(vld1q_s32(rq->mult + j), vld1q_s32(rq->shift + j));
        p[1] = fpn_rq32_make(vld1q_s32(rq->mult + j + 4), vld1q_s32(rq->shift + j + 4));
    } else {
        p[0] = p[1] = fpn_rq32_make(vdupq_n_s32(rq->mult[0]), vdupq_n_s32(rq->shift[0]));
    }
}

/* 1 when every channel of rq (n of them, or 1) has s >= 32 or |m| >= 2^30, so that
 * fpn_rq32 is exact up to a clamp to 30 bits or fewer (see above). */
static inline int fpn_rq32_usable(const rq_params *rq, size_t n) {
    const size_t count = rq->per_channel ? n : 1;
    for (size_t j = 0; j < count; j++)
        if (rq->shift[j] < 32 && rq->mult[j] > -(1 << 30) && rq->mult[j] < (1 << 30)) return 0;
    return 1;
}

/* i-exp (FORMAT.md §4.3) of 4 lanes w = -n, n given as uint32 in [0, 2^31]:
 * q = n >> K; z = c - nl (b - nl) with nl = n mod 2^K (= -r, so z = r (r + b) + c,
 * below 2^31 by the validated constants); e = z >> min(q, 31), which is 0 exactly
 * when q > 30 because z < 2^31. The constants come from fpn_iexp_make. */
typedef struct fpn_iexp {
    uint32x4_t frac_mask, q_cap, b, c;
    int32x4_t neg_k;
} fpn_iexp;

static inline fpn_iexp fpn_iexp_make(const iexp_params *e) {
    fpn_iexp v;
    v.frac_mask = vdupq_n_u32((UINT32_C(1) << e->frac_bits) - 1);
    v.q_cap = vdupq_n_u32(31);
    v.b = vdupq_n_u32((uint32_t)e->b);
    v.c = vdupq_n_u32((uint32_t)e->c);
    v.neg_k = vdupq_n_s32(-(int32_t)e->frac_bits);
    return v;
}

static inline uint32x4_t fpn_iexp4(uint32x4_t n, const fpn_iexp *v) {
    const uint32x4_t q = vminq_u32(vshlq_u32(n, v->neg_k), v->q_cap);
    const uint32x4_t nl = vandq_u32(n, v->frac_mask);
    const uint32x4_t z = vmlsq_u32(v->c, nl, vsubq_u32(v->b, nl));
    return vshlq_u32(z, vnegq_s32(vreinterpretq_s32_u32(q)));
}

/* sat_32 of two int64x2 into one int32x4. */
static inline int32x4_t fpn_qmovn_s64(int64x2_t lo, int64x2_t hi) {
    return vcombine_s32(vqmovn_s64(lo), vqmovn_s64(hi));
}

/* sat_8 of eight int64 lanes (v[0] holds lanes 0-1, ..., v[3] lanes 6-7). */
static inline int8x8_t fpn_sat8_s64(const int64x2_t v[4]) {
    int16x8_t h = vcombine_s16(vqmovn_s32(fpn_qmovn_s64(v[0], v[1])), vqmovn_s32(fpn_qmovn_s64(v[2], v[3])));
    return vqmovn_s16(h);
}

/* The largest lane. */
static inline int32_t fpn_max_s32(int32x4_t v) {
#if defined(__aarch64__)
    return vmaxvq_s32(v);
#else
    int32x2_t m = vpmax_s32(vget_low_s32(v), vget_high_s32(v));
    return vget_lane_s32(vpmax_s32(m, m), 0);
#endif
}

/* The smallest lane. */
static inline int32_t fpn_min_s32(int32x4_t v) {
#if defined(__aarch64__)
    return vminvq_s32(v);
#else
    int32x2_t m = vpmin_s32(vget_low_s32(v), vget_high_s32(v));
    return vget_lane_s32(vpmin_s32(m, m), 0);
#endif
}

/* The sum of both lanes. */
static inline int64_t fpn_sum_s64(int64x2_t v) { return vgetq_lane_s64(v, 0) + vgetq_lane_s64(v, 1); }

#endif
