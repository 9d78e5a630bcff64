/* residual_s32s8s32_1x8__neon: the residual sum of FORMAT.md §4.6 steps 4 and 6,
 * sat_22(rq(acc, acc_rq) + rq(x, x_rq)), bit-exact with
 * residual_s32s8s32_1x1__ref. Column blocks are the outer loop so per-channel
 * parameters load once for all rows; out may be acc (each block is read before it
 * is written). The n % 8 columns at the end go to the reference. Two paths:
 *
 * - 32-bit, when acc_rq suits fpn_rq32 (fixed_point_neon.h) and every x_rq shift is
 *   at least 10 (the shipped model: acc shifts 26 ... 33 with |m| >= 2^30, x shifts
 *   18 and 20). Then b = rq(x) is exact (x 2^(32-s) <= 2^29 cannot saturate in
 *   SQSHL) with |b| <= 2^38 / 2^10 = 2^28, and a = fpn_rq32_apply(acc) is exact or, where
 *   it is not, has |a| >= 2^29 with the true sign, as has the true rq; both a and b
 *   are at most 2^30, so a + b does not wrap, and where a is not exact the sum and
 *   the true sum are beyond 2^29 - 2^28 > 2^21 with the same sign: sat_22 agrees.
 *   When every x shift is also at most 31 (the shipped model's), rq(x) is SHL +
 *   SQRDMULH, exact (rq_x4), instead of fpn_rq32's three steps. 16 columns per
 *   iteration.
 * - int64 otherwise: both rescales by VMULL.S32 + VRSHL.S64, added in int64 (each
 *   below 2^62, so no wrap), VQMOVN to int32 and VMIN/VMAX to 22 bits. */
#if !defined(__ARM_NEON)
#error "residual_s32s8s32_1x8__neon needs NEON"
#endif

#include <arm_neon.h>

#include "fixed_point_neon.h"
#include "kernels/kernels.h"

#define RESIDUAL_MAX ((1 << (KERNEL_RESIDUAL_BITS - 1)) - 1)

/* The int64 path for the n8 (a multiple of 8) first columns: exact for every rescale. */
static void residual_int64(size_t m, size_t n8, const int32_t *acc, size_t lda, const rq_params *acc_rq,
                           const int8_t *x, size_t ldx, const rq_params *x_rq, int32_t *out, size_t ldo) {
    const int32x4_t vhi = vdupq_n_s32(RESIDUAL_MAX), vlo = vdupq_n_s32(-RESIDUAL_MAX - 1);
    for (size_t j = 0; j < n8; j += 8) {
        const fpn_rq8 pa = fpn_rq8_load(acc_rq, j), px = fpn_rq8_load(x_rq, j);
        for (size_t i = 0; i < m; i++) {
            const int32_t *a = acc + i * lda + j;
            const int16x8_t x16 = vmovl_s8(vld1_s8(x + i * ldx + j));
            int64x2_t ra[4], rx[4];
            fpn_rq8_apply(&pa, vld1q_s32(a), vld1q_s32(a + 4), ra);
            fpn_rq8_apply(&px, vmovl_s16(vget_low_s16(x16)), vmovl_s16(vget_high_s16(x16)), rx);
            for (int h = 0; h < 4; h++) ra[h] = vaddq_s64(ra[h], rx[h]);
            int32_t *o = out + i * ldo + j;
            vst1q_s32(o, vmaxq_s32(vminq_s32(fpn_qmovn_s64(ra[0], ra[1]), vhi), vlo));
            vst1q_s32(o + 4, vmaxq_s32(vminq_s32(fpn_qmovn_s64(ra[2], ra[3]), vhi), vlo));
        }
    }
}

/* The x rescales of columns j ... j + 7 when every x shift is in 10 ... 31 (x_low):
 * mult, and 31 - s in pre_shift (neg_post_shift is not used). */
static inline void x_low_load(const rq_params *rq, size_t j, fpn_rq32 p[2]) {
    for (int h = 0; h < 2; h++) {
        const size_t ch = rq->per_channel ? j + 4 * (size_t)h : 0;
        p[h].mult = rq->per_channel ? vld1q_s32(rq->mult + ch) : vdupq_n_s32(rq->mult[0]);
        const int32x4_t shift = rq->per_channel ? vld1q_s32(rq->shift + ch) : vdupq_n_s32(rq->shift[0]);
        p[h].pre_shift = vsubq_s32(vdupq_n_s32(31), shift);
        p[h].neg_post_shift = vdupq_n_s32(0);
    }
}

/* rq(x) for 4 int8 x. x_low: SHL by 31 - s (|x| 2^(31-s) <= 2^28, exact), then
 * SQRDMULH: floor((2 x 2^(31-s) m + 2^31) / 2^32) = floor((x m + 2^(s-1)) / 2^s), rq
 * exactly (it saturates only for two operands of -2^31). Else fpn_rq32_apply. */
static inline int32x4_t rq_x4(int32x4_t x, const fpn_rq32 *p, int x_low) {
    if (x_low) return vqrdmulhq_s32(vshlq_s32(x, p->pre_shift), p->mult);
    return fpn_rq32_apply(x, p);
}

/* The 32-bit path for the 8 columns at a, x8 into o. */
static inline void residual8(const int32_t *a, const int8_t *x8, const fpn_rq32 pa[2], const fpn_rq32 px[2],
                             int x_low, int32_t *o) {
    const int32x4_t vhi = vdupq_n_s32(RESIDUAL_MAX), vlo = vdupq_n_s32(-RESIDUAL_MAX - 1);
    const int16x8_t x16 = vmovl_s8(vld1_s8(x8));
    const int32x4_t s0 =
        vaddq_s32(fpn_rq32_apply(vld1q_s32(a), &pa[0]), rq_x4(vmovl_s16(vget_low_s16(x16)), &px[0], x_low));
    const int32x4_t s1 =
        vaddq_s32(fpn_rq32_apply(vld1q_s32(a + 4), &pa[1]), rq_x4(vmovl_s16(vget_high_s16(x16)), &px[1], x_low));
    vst1q_s32(o, vmaxq_s32(vminq_s32(s0, vhi), vlo));
    vst1q_s32(o + 4, vmaxq_s32(vminq_s32(s1, vhi), vlo));
}

/* The 32-bit path (see the top of the file) for rescales residual_int32_usable
 * accepts: blocks of 16 columns, then one of 8 if n8 is not a multiple of 16. */
static inline void residual_int32(size_t m, size_t n8, const int32_t *acc, size_t lda, const rq_params *acc_rq,
                                  const int8_t *x, size_t ldx, const rq_params *x_rq, int32_t *out, size_t ldo,
                                  int x_low) {
    for (size_t j = 0; j < n8; j += 16) {
        const size_t cols = n8 - j < 16 ? 8 : 16;
        fpn_rq32 pa[4], px[4];
        for (size_t k = 0; k < cols; k += 8) {
            fpn_rq32x8_load(acc_rq, j + k, pa + k / 4);
            if (x_low)
                x_low_load(x_rq, j + k, px + k / 4);
            else
                fpn_rq32x8_load(x_rq, j + k, px + k / 4);
        }
        for (size_t i = 0; i < m; i++)
            for (size_t k = 0; k < cols; k += 8)
                residual8(acc + i * lda + j + k, x + i * ldx + j + k, pa + k / 4, px + k / 4, x_low,
                          out + i * ldo + j + k);
    }
}

/* 1 when every x_rq shift is at most 31 (the int32 path already needs them >= 10). */
static int x_shifts_low(size_t n, const rq_params *x_rq) {
    const size_t count = x_rq->per_channel ? n : 1;
    for (size_t j = 0; j < count; j++)
        if (x_rq->shift[j] > 31) return 0;
    return 1;
}

/* 1 when acc_rq suits fpn_rq32 and every x_rq shift is at least 10 (see the top). */
static int residual_int32_usable(size_t n, const rq_params *acc_rq, const rq_params *x_rq) {
    const size_t count = x_rq->per_channel ? n : 1;
    for (size_t j = 0; j < count; j++)
        if (x_rq->shift[j] < 10) return 0;
    return fpn_rq32_usable(acc_rq, n);
}

void residual_s32s8s32_1x8__neon(size_t m, size_t n, const int32_t *acc, size_t lda, const rq_params *acc_rq,
                                 const int8_t *x, size_t ldx, const rq_params *x_rq, int32_t *out, size_t ldo) {
    const size_t n8 = n - n % 8;
    if (residual_int32_usable(n, acc_rq, x_rq) && x_shifts_low(n, x_rq))
        residual_int32(m, n8, acc, lda, acc_rq, x, ldx, x_rq, out, ldo, 1);
    else if (residual_int32_usable(n, acc_rq, x_rq))
        residual_int32(m, n8, acc, lda, acc_rq, x, ldx, x_rq, out, ldo, 0);
    else
        residual_int64(m, n8, acc, lda, acc_rq, x, ldx, x_rq, out, ldo);
    if (n8 < n) {
        const size_t ca = acc_rq->per_channel ? n8 : 0, cx = x_rq->per_channel ? n8 : 0;
        const rq_params acc_tail = {acc_rq->mult + ca, acc_rq->shift + ca, acc_rq->per_channel};
        const rq_params x_tail = {x_rq->mult + cx, x_rq->shift + cx, x_rq->per_channel};
        residual_s32s8s32_1x1__ref(m, n - n8, acc + n8, lda, &acc_tail, x + n8, ldx, &x_tail, out + n8, ldo);
    }
}
