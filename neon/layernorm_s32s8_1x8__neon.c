/* layernorm_s32s8_1x8__neon: the integer layer norm of FORMAT.md §4.5, 8 columns per
 * iteration, bit-exact with layernorm_s32s8_1x1__ref. Per row:
 *
 * 1. sum of the 22-bit inputs in int64 lanes (VPADAL.S32; |sum| < 2^35);
 * 2. mean by one scalar floor division, then var = sum (x - mean)^2 by VMLAL.S32 in
 *    int64 lanes (|x - mean| < 2^23, var < 2^57);
 * 3. std = isqrt(var) and f = floor(2^31 / std) in scalar code: one square root and
 *    one division per row of h values, and NEON has neither for integers;
 * 4. nrm = (y * f) >> 1 with y = x - mean. f can be 2^31 (std = 1), one past int32;
 *    then f is even, and for even f, (y * f) >> 1 = y * (f / 2) exactly, one VMULL;
 *    odd f is below 2^31, so VMULL by f and a narrowing shift by 1 (VSHRN) is exact.
 *    Either way |nrm| <= 2^30 (|y| <= std) fits int32. out = sat_8((nrm * m + beta)
 *    >> s) is VMLAL.S32 onto the int64 beta (|nrm * m| < 2^61, |beta| <= 2^61, so no
 *    wrap), a VSHL.S64 by -s (the floor shift: beta holds the rounding term), and
 *    the VQMOVN chain to int8.
 *
 * The h % 8 columns at the end of each row are done in scalar code, with the same
 * row statistics. */
#if !defined(__ARM_NEON)
#error "layernorm_s32s8_1x8__neon needs NEON"
#endif

#include <arm_neon.h>

#include "fixed_point_neon.h"
#include "kernels/kernels.h"

/* nrm for the 4 values y, by f (or f / 2 when `halved`, see step 4). */
static inline int32x4_t normalize(int32x4_t y, int32x2_t vf, int halved) {
    const int64x2_t lo = vmull_s32(vget_low_s32(y), vf), hi = vmull_s32(vget_high_s32(y), vf);
    if (halved) return vcombine_s32(vmovn_s64(lo), vmovn_s64(hi));
    return vcombine_s32(vshrn_n_s64(lo, 1), vshrn_n_s64(hi, 1));
}

/* sat_8((nrm * m + beta) >> s) for 4 columns. */
static inline int32x4_t scale4(int32x4_t nrm, const int32_t *mult, const int32_t *shift, const int64_t *bias) {
    const int32x4_t m = vld1q_s32(mult), s = vld1q_s32(shift);
    const int64x2_t lo = vshlq_s64(vmlal_s32(vld1q_s64(bias), vget_low_s32(nrm), vget_low_s32(m)), fpn_neg_shift_lo(s));
    const int64x2_t hi =
        vshlq_s64(vmlal_s32(vld1q_s64(bias + 2), vget_high_s32(nrm), vget_high_s32(m)), fpn_neg_shift_hi(s));
    return fpn_qmovn_s64(lo, hi);
}

/* Step 4 for the h8 (a multiple of 8) first columns of one row. */
static inline void output_row(size_t h8, const int32_t *row, int32_t mean, int32_t f, int halved, const int32_t *mult,
                              const int32_t *shift, const int64_t *bias, int8_t *out) {
    const int32x4_t vmean = vdupq_n_s32(mean);
    const int32x2_t vf = vdup_n_s32(f);
    for (size_t j = 0; j < h8; j += 8) {
        const int32x4_t n0 = normalize(vsubq_s32(vld1q_s32(row + j), vmean), vf, halved);
        const int32x4_t n1 = normalize(vsubq_s32(vld1q_s32(row + j + 4), vmean), vf, halved);
        const int32x4_t o0 = scale4(n0, mult + j, shift + j, bias + j);
        const int32x4_t o1 = scale4(n1, mult + j + 4, shift + j + 4, bias + j + 4);
        vst1_s8(out + j, vqmovn_s16(vcombine_s16(vqmovn_s32(o0), vqmovn_s32(o1))));
    }
}

void layernorm_s32s8_1x8__neon(size_t m, size_t h, const int32_t *x, size_t ldx, const int32_t *mult,
                               const int32_t *shift, const int64_t *bias, int8_t *out, size_t ldo) {
    const size_t h8 = h - h % 8;
    for (size_t i = 0; i < m; i++) {
        const int32_t *row = x + i * ldx;
        int8_t *out_row = out + i * ldo;
        int64x2_t vsum = vdupq_n_s64(0);
        for (size_t j = 0; j < h8; j += 8) {
            vsum = vpadalq_s32(vsum, vld1q_s32(row + j));
            vsum = vpadalq_s32(vsum, vld1q_s32(row + j + 4));
        }
        int64_t sum = fpn_sum_s64(vsum);
        for (size_t j = h8; j < h; j++) sum += row[j];
        const int64_t mean = fp_floor_div(2 * sum + (int64_t)h, 2 * (int64_t)h);
        const int32x4_t vmean = vdupq_n_s32((int32_t)mean);
        int64x2_t vvar = vdupq_n_s64(0);
        for (size_t j = 0; j < h8; j += 4) {
            const int32x4_t y = vsubq_s32(vld1q_s32(row + j), vmean);
            vvar = vmlal_s32(vvar, vget_low_s32(y), vget_low_s32(y));
            vvar = vmlal_s32(vvar, vget_high_s32(y), vget_high_s32(y));
        }
        uint64_t var = (uint64_t)fpn_sum_s64(vvar);
        for (size_t j = h8; j < h; j++) {
            const int64_t y = row[j] - mean;
            var += (uint64_t)(y * y);
        }
        const uint64_t std = fp_isqrt_u64(var);
        const int64_t f = var > 0 ? (int64_t)((UINT64_C(1) << 31) / std) : 0;
        if (f % 2 == 0)
            output_row(h8, row, (int32_t)mean, (int32_t)(f / 2), 1, mult, shift, bias, out_row);
        else
            output_row(h8, row, (int32_t)mean, (int32_t)f, 0, mult, shift, bias, out_row);
        for (size_t j = h8; j < h; j++) {
            const int64_t nrm = ((row[j] - mean) * f) >> 1;
            out_row[j] = fp_sat8((nrm * mult[j] + bias[j]) >> shift[j]);
        }
    }
}
