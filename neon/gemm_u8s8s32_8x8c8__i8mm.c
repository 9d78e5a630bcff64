/* gemm_u8s8s32_8x8c8__i8mm: attention's P.V, c = p v with p uint8 [m, k] (the
 * probabilities) and v int8 [k, n] (a head's slice), with USMMLA (i8mm), which
 * multiplies uint8 by int8 directly: no offset, no correction.
 *
 * For up to COLS columns and CHUNK k at a time, v is packed on the stack as the
 * right operand of mmla_8x8c8__i8mm.h: per 8 k, 4 column pairs of 16 bytes (an
 * 8 x 8 byte transpose: TRN1/TRN2 on 8, 16 and 32 bits; scalar for a partial block
 * and the padding to 16 k). Then for every 8 rows of p (interleaved on the stack
 * by mmla_interleave_rows) the 8 x 8 tile runs over those columns. For the model
 * (a head of 32 columns, k = the sequence length) both copies are made once per
 * call and per 8 rows respectively.
 *
 * Exact: USMMLA forms each product p * v exactly (|p v| <= 255 * 128) and adds in
 * int32; |c| <= 255 * 128 * k < 2^31 for k <= 65536, so no partial sum overflows
 * in any order and c equals gemm_u8s8s32_1x1__ref bit for bit. Rows past m and
 * columns past n are computed from zeros into a copy and not stored; chunks after
 * the first add to c. */
#if !defined(__ARM_FEATURE_MATMUL_INT8)
#error "gemm_u8s8s32_8x8c8__i8mm needs the i8mm extension (-march=armv8.2-a+i8mm)"
#endif

#include "kernels/kernels.h"
#include "mmla_8x8c8__i8mm.h"

#define CHUNK 256 /* k per stack copy */
#define COLS 32   /* columns per stack copy of v: 4 blocks of 8, 8 KiB with CHUNK */
#define PAIR_BYTES (2 * MMLA_KSTEP)
#define STEP_BYTES (MMLA_NR / 2 * PAIR_BYTES)

/* Rows 0 ... kc - 1 of v, columns 0 ... nr - 1 (nr <= 8), as [k / 8][column pair]
 * [2][8] (zero-padded to 8 columns and to a multiple of 16 k). */
static void pack_columns(const int8_t *v, size_t ldv, size_t kc, size_t nr, int8_t *dst) {
    const size_t kp = (kc + MMLA_KPAD - 1) / MMLA_KPAD * MMLA_KPAD;
    size_t kk = 0;
    if (nr == MMLA_NR) {
        for (; kk + MMLA_KSTEP <= kc; kk += MMLA_KSTEP) {
            const int8_t *r = v + kk * ldv;
            /* bytes, then 16-bit pairs, then 32-bit quads change places: column j's
             * 8 k end up in one 64-bit register */
            const int8x8x2_t b01 = vtrn_s8(vld1_s8(r), vld1_s8(r + ldv)),
                             b23 = vtrn_s8(vld1_s8(r + 2 * ldv), vld1_s8(r + 3 * ldv)),
                             b45 = vtrn_s8(vld1_s8(r + 4 * ldv), vld1_s8(r + 5 * ldv)),
                             b67 = vtrn_s8(vld1_s8(r + 6 * ldv), vld1_s8(r + 7 * ldv));
            const int16x4x2_t h0 = vtrn_s16(vreinterpret_s16_s8(b01.val[0]), vreinterpret_s16_s8(b23.val[0])),
                              h1 = vtrn_s16(vreinterpret_s16_s8(b01.val[1]), vreinterpret_s16_s8(b23.val[1])),
                              h2 = vtrn_s16(vreinterpret_s16_s8(b45.val[0]), vreinterpret_s16_s8(b67.val[0])),
                              h3 = vtrn_s16(vreinterpret_s16_s8(b45.val[1]), vreinterpret_s16_s8(b67.val[1]));
            const int32x2x2_t c04 = vtrn_s32(vreinterpret_s32_s16(h0.val[0]), vreinterpret_s32_s16(h2.val[0])),
                              c15 = vtrn_s32(vreinterpret_s32_s16(h1.val[0]), vreinterpret_s32_s16(h3.val[0])),
                              c26 = vtrn_s32(vreinterpret_s32_s16(h0.val[1]), vreinterpret_s32_s16(h2.val[1])),
                              c37 = vtrn_s32(vreinterpret_s32_s16(h1.val[1]), vreinterpret_s32_s16(h3.val[1]));
            int8_t *out = dst + kk / MMLA_KSTEP * STEP_BYTES;
            vst1q_s8(out, vreinterpretq_s8_s32(vcombine_s32(c04.val[0], c15.val[0])));
            vst1q_s8(out + PAIR_BYTES, vreinterpretq_s8_s32(vcombine_s32(c26.val[0], c37.val[0])));
            vst1q_s8(out + 2 * PAIR_BYTES, vreinterpretq_s8_s32(vcombine_s32(c04.val[1], c15.val[1])));
            vst1q_s8(out + 3 * PAIR_BYTES, vreinterpretq_s8_s32(vcombine_s32(c26.val[1], c37.val[1])));
        }
    }
    for (; kk < kp; kk++)
        for (size_t j = 0; j < MMLA_NR; j++)
            dst[kk / MMLA_KSTEP * STEP_BYTES + j * MMLA_KSTEP + kk % MMLA_KSTEP] =
                j < nr && kk < kc ? v[kk * ldv + j] : 0;
}

void gemm_u8s8s32_8x8c8__i8mm(size_t m, size_t n, size_t k_len, const uint8_t *p, size_t ldp, const int8_t *v,
                              size_t ldv, int32_t *c, size_t ldc) {
    static const int32_t zeros[MMLA_NR * 2];
    int8_t cols[COLS / MMLA_NR * CHUNK / MMLA_KSTEP * STEP_BYTES] __attribute__((aligned(64)));
    int8_t rows[CHUNK / MMLA_KSTEP * STEP_BYTES] __attribute__((aligned(64)));
    for (size_t jc = 0; jc < n; jc += COLS) {
        const size_t nc = n - jc < COLS ? n - jc : COLS;
        for (size_t k0 = 0; k0 < k_len; k0 += CHUNK) {
            const size_t kc = k_len - k0 < CHUNK ? k_len - k0 : CHUNK, blocks = (kc + MMLA_KPAD - 1) / MMLA_KPAD;
            const size_t block_bytes = blocks * (MMLA_KPAD / MMLA_KSTEP) * STEP_BYTES;
            for (size_t jb = 0; jb < nc; jb += MMLA_NR)
                pack_columns(v + k0 * ldv + jc + jb, ldv, kc, nc - jb < MMLA_NR ? nc - jb : MMLA_NR,
                             cols + jb / MMLA_NR * block_bytes);
            const int add = k0 > 0;
            for (size_t i0 = 0; i0 < m; i0 += MMLA_MR) {
                const size_t mr = m - i0 < MMLA_MR ? m - i0 : MMLA_MR;
                mmla_interleave_rows((const int8_t *)(p + i0 * ldp + k0), ldp, mr, kc, rows);
                for (size_t jb = 0; jb < nc; jb += MMLA_NR)
                    mmla_8x8c8_tile_to_c(rows, cols + jb / MMLA_NR * block_bytes, blocks, zeros, 1, mr,
                                         nc - jb < MMLA_NR ? nc - jb : MMLA_NR, add, c + i0 * ldc + jc + jb, ldc);
            }
        }
    }
}
