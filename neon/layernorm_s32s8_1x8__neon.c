/* layernorm_s32s8_1x8__neon: the integer layer norm of FORMAT.md §4.5, 8 columns per
 * iteration, bit-exact with layernorm_s32s8_1x1__ref. Per row:
 *
 * 1. sum and sum of squares of the 22-bit inputs in int64 lanes, one pass (VPADAL.S32,
 *    VMLAL.S32; |sum| < 2^35, sum x^2 < 2^55);
 * 2. mean by one scalar floor division; var = sum (x - mean)^2 = sum x^2 - 2 mean sum
 *    + h mean^2, an exact integer identity (every term below 2^57);
 * 3. std = isqrt(var) and f = floor(2^31 / std) in scalar code: one square root and
 *    one division per row of h values, and NEON has neither for integers;
 * 4. nrm = (y * f) >> 1 with y = x - mean. f can be 2^31 (std = 1), one past int32;
 *    then f is even, and for even f, (y * f) >> 1 = y * (f / 2) exactly, one VMUL;
 *    odd f is below 2^31, so VMUL by f and VSHR #1 (see normalize for why the 32-bit
 *    products are exact). Either way |nrm| <= 2^30 (|y| <= std) fits int32. out = sat_8((nrm * m + beta)
 *    >> s) is VMLAL.S32 onto the int64 beta (|nrm * m| < 2^61, |beta| <= 2^61, so no
 *    wrap), the floor shift by s (beta holds the rounding term, see scale4), and the
 *    VQMOVN chain to int8.
 *
 * The h % 8 columns at the end of each row are done in scalar code, with the same
 * row statistics. */
#if !defined(__ARM_NEON)
#error "layernorm_s32s8_1x8__neon needs NEON"
#endif

#include <arm_neon.h>

#include "fixed_point_neon.h"
#include "kernels/kernels.h"

/* nrm for the 4 values y, by f (or f / 2 when `halved`, see step 4): |y| <= std
 * (y^2 is one term of var), so |y * f| <= std floor(2^31 / std) <= 2^31, and a 32-bit
 * VMUL is exact: y * (f / 2) is at most 2^30, and for odd f, y * f = 2^31 would make
 * f a power of two, so f = 1 and |y| = 2^31, beyond 22 bits. */
static inline int32x4_t normalize(int32x4_t y, int32x4_t vf, int halved) {
    if (halved) return vmulq_s32(y, vf);
    return vshrq_n_s32(vmulq_s32(y, vf), 1);
}

/* beta + nrm * m for lanes 0-1 (lo) and 2-3 (hi). */
static inline int64x2_t scaled_lo(int32x4_t nrm, int32x4_t m, const int64_t *bias) {
    return vmlal_s32(vld1q_s64(bias), vget_low_s32(nrm), vget_low_s32(m));
}
static inline int64x2_t scaled_hi(int32x4_t nrm, int32x4_t m, const int64_t *bias) {
#if defined(__aarch64__)
    return vmlal_high_s32(vld1q_s64(bias + 2), nrm, m);
#else
    return vmlal_s32(vld1q_s64(bias + 2), vget_high_s32(nrm), vget_high_s32(m));
#endif
}

/* (nrm * m + beta) >> s for 4 columns, clamped to int16 (the int8 clamp follows).
 * With every s >= 32 (`high`), the floor shift is taken in two floors: the high
 * words of the int64 sums (VSHRN #32: floor(v / 2^32), below 2^30 in magnitude as
 * |v| < 2^62) shifted by s - 32 in 32-bit lanes; else VSHL.S64 by -s. */
static inline int16x4_t scale4(int32x4_t nrm, const int32_t *mult, const int32_t *shift, const int64_t *bias,
                               int high) {
    const int32x4_t m = vld1q_s32(mult), s = vld1q_s32(shift);
    const int64x2_t lo = scaled_lo(nrm, m, bias), hi = scaled_hi(nrm, m, bias);
    if (high) {
        const int32x4_t words = vcombine_s32(vshrn_n_s64(lo, 32), vshrn_n_s64(hi, 32));
        return vqmovn_s32(vshlq_s32(words, vsubq_s32(vdupq_n_s32(32), s)));
    }
    return vqmovn_s32(fpn_qmovn_s64(vshlq_s64(lo, fpn_neg_shift_lo(s)), vshlq_s64(hi, fpn_neg_shift_hi(s))));
}

/* Step 4 for the h8 (a multiple of 8) first columns of one row. */
static inline __attribute__((always_inline)) void output_row(size_t h8, const int32_t *row, int32_t mean, int32_t f,
                                                             int halved, int high, const int32_t *mult,
                                                             const int32_t *shift, const int64_t *bias, int8_t *out) {
    const int32x4_t vmean = vdupq_n_s32(mean), vf = vdupq_n_s32(f);
    for (size_t j = 0; j < h8; j += 8) {
        const int32x4_t n0 = normalize(vsubq_s32(vld1q_s32(row + j), vmean), vf, halved);
        const int32x4_t n1 = normalize(vsubq_s32(vld1q_s32(row + j + 4), vmean), vf, halved);
        const int16x4_t o0 = scale4(n0, mult + j, shift + j, bias + j, high);
        const int16x4_t o1 = scale4(n1, mult + j + 4, shift + j + 4, bias + j + 4, high);
        vst1_s8(out + j, vqmovn_s16(vcombine_s16(o0, o1)));
    }
}

/* 1 when every s of the first h8 columns is at least 32 (the shipped model's are 52 ... 55). */
static int shifts_high(size_t h8, const int32_t *shift) {
    for (size_t j = 0; j < h8; j++)
        if (shift[j] < 32) return 0;
    return 1;
}

void layernorm_s32s8_1x8__neon(size_t m, size_t h, const int32_t *x, size_t ldx, const int32_t *mult,
                               const int32_t *shift, const int64_t *bias, int8_t *out, size_t ldo) {
    const size_t h8 = h - h % 8;
    const int high = shifts_high(h8, shift);
    for (size_t i = 0; i < m; i++) {
        const int32_t *row = x + i * ldx;
        int8_t *out_row = out + i * ldo;
        /* sum and sum of squares in one pass: x^2 < 2^42, so both fit int64 lanes */
        int64x2_t vsum = vdupq_n_s64(0), vsq = vdupq_n_s64(0);
        size_t j = 0;
        for (; j + 16 <= h8; j += 16)
            for (int k = 0; k < 4; k++) {
                const int32x4_t v = vld1q_s32(row + j + 4 * k);
                vsum = vpadalq_s32(vsum, v);
                vsq = vmlal_s32(vsq, vget_low_s32(v), vget_low_s32(v));
                vsq = vmlal_s32(vsq, vget_high_s32(v), vget_high_s32(v));
            }
        for (; j < h8; j += 4) {
            const int32x4_t v = vld1q_s32(row + j);
            vsum = vpadalq_s32(vsum, v);
            vsq = vmlal_s32(vsq, vget_low_s32(v), vget_low_s32(v));
            vsq = vmlal_s32(vsq, vget_high_s32(v), vget_high_s32(v));
        }
        int64_t sum = fpn_sum_s64(vsum), sq = fpn_sum_s64(vsq);
        for (size_t j = h8; j < h; j++) {
            sum += row[j];
            sq += (int64_t)row[j] * row[j];
        }
        const int64_t mean = fp_floor_div(2 * sum + (int64_t)h, 2 * (int64_t)h);
        /* sum (x - mean)^2 = sum x^2 - 2 mean sum + h mean^2, exactly (each term < 2^57) */
        const uint64_t var = (uint64_t)(sq - 2 * mean * sum + (int64_t)h * mean * mean);
        const uint64_t std = fp_isqrt_u64(var);
        const int64_t f = var > 0 ? (int64_t)((UINT64_C(1) << 31) / std) : 0;
        const int32_t fe = (int32_t)(f % 2 == 0 ? f / 2 : f);
        if (f % 2 == 0 && high)
            output_row(h8, row, (int32_t)mean, fe, 1, 1, mult, shift, bias, out_row);
        else if (f % 2 == 0)
            output_row(h8, row, (int32_t)mean, fe, 1, 0, mult, shift, bias, out_row);
        else if (high)
            output_row(h8, row, (int32_t)mean, fe, 0, 1, mult, shift, bias, out_row);
        else
            output_row(h8, row, (int32_t)mean, fe, 0, 0, mult, shift, bias, out_row);
        for (size_t j = h8; j < h; j++) {
            const int64_t nrm = ((row[j] - mean) * f) >> 1;
            out_row[j] = fp_sat8((nrm * mult[j] + bias[j]) >> shift[j]);
        }
    }
}
