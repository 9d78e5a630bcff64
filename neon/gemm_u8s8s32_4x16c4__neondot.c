/* gemm_u8s8s32_4x16c4__neondot: attention's P.V, c = p v with p uint8 [m, k] (the
 * probabilities) and v int8 [k, n] (a head's slice), with SDOT (ARMv8.2 dotprod).
 *
 * SDOT multiplies int8 by int8, so p enters as p - 128 (p XOR 0x80 read as int8)
 * and each column gets back what that took away:
 *     sum_k p[i,k] v[k,j] = sum_k (p[i,k] - 128) v[k,j] + 128 sum_k v[k,j],
 * the second term being the accumulators' start value. Exact: every product and
 * partial sum is computed in int32 arithmetic modulo 2^32 (SDOT and ADD wrap),
 * and the true result, |c| <= 255 * 128 * k <= 255 * 2^23 < 2^31 for k <= 65536,
 * is an int32, so the wrapped value equals it; c equals gemm_u8s8s32_1x1__ref bit
 * for bit for every p and v.
 *
 * v is row-major in k, so for every 16 columns and up to CHUNK k this kernel
 * packs it on the stack into the 16x4 layout of dot_4x16c4__neondot.h (ZIP1/ZIP2
 * of 4 rows; scalar for a partial block of columns and for the groups past the
 * last 4 whole rows, zero-padded to 16 k), sums its columns from
 * the packed copy (SDOT with ones), and runs the 4 x 16 tile over all m rows with
 * p XOR 0x80 (dot_4x16c4_rows): the packing is paid once per 16 columns, not per
 * row tile. Chunks after the first add to c. */
#if !defined(__ARM_FEATURE_DOTPROD)
#error "gemm_u8s8s32_4x16c4__neondot needs the dotprod extension (-march=armv8.2-a+dotprod)"
#endif

#include <arm_neon.h>

#include "dot_4x16c4__neondot.h"
#include "kernels/kernels.h"

#define CHUNK 256 /* k per packed chunk: 64 groups, 4 KiB of stack */

/* Packs rows 0 ... kc - 1 of v, columns 0 ... nr - 1 (zero-padded to 16 columns and
 * to a multiple of 16 k) into dst; returns the number of groups. */
static size_t pack_chunk(const int8_t *v, size_t ldv, size_t kc, size_t nr, int8_t *dst) {
    const size_t groups = DOT_GROUPS(kc);
    size_t g = 0;
    if (nr == DOT_NR) {
        for (; g < kc / DOT_KGROUP; g++) {
            const int8_t *r = v + g * DOT_KGROUP * ldv;
            const int8x16_t r0 = vld1q_s8(r), r1 = vld1q_s8(r + ldv), r2 = vld1q_s8(r + 2 * ldv),
                            r3 = vld1q_s8(r + 3 * ldv);
            /* byte pairs (k, k+1) and (k+2, k+3) per column, then those pairs joined */
            const int16x8_t lo01 = vreinterpretq_s16_s8(vzip1q_s8(r0, r1)),
                            hi01 = vreinterpretq_s16_s8(vzip2q_s8(r0, r1)),
                            lo23 = vreinterpretq_s16_s8(vzip1q_s8(r2, r3)),
                            hi23 = vreinterpretq_s16_s8(vzip2q_s8(r2, r3));
            int8_t *out = dst + g * DOT_GROUP_BYTES;
            vst1q_s8(out, vreinterpretq_s8_s16(vzip1q_s16(lo01, lo23)));
            vst1q_s8(out + 16, vreinterpretq_s8_s16(vzip2q_s16(lo01, lo23)));
            vst1q_s8(out + 32, vreinterpretq_s8_s16(vzip1q_s16(hi01, hi23)));
            vst1q_s8(out + 48, vreinterpretq_s8_s16(vzip2q_s16(hi01, hi23)));
        }
    }
    for (; g < groups; g++) {
        int8_t *out = dst + g * DOT_GROUP_BYTES;
        for (size_t s = 0; s < DOT_NR; s++)
            for (size_t t = 0; t < DOT_KGROUP; t++) {
                const size_t kk = g * DOT_KGROUP + t;
                out[s * DOT_KGROUP + t] = s < nr && kk < kc ? v[kk * ldv + s] : 0;
            }
    }
    return groups;
}

void gemm_u8s8s32_4x16c4__neondot(size_t m, size_t n, size_t k_len, const uint8_t *p, size_t ldp, const int8_t *v,
                                  size_t ldv, int32_t *c, size_t ldc) {
    int8_t packed[CHUNK / DOT_KGROUP * DOT_GROUP_BYTES] __attribute__((aligned(64)));
    const int8x16_t ones = vdupq_n_s8(1);
    for (size_t jb = 0; jb < n; jb += DOT_NR) {
        const size_t nr = n - jb < DOT_NR ? n - jb : DOT_NR;
        for (size_t k0 = 0; k0 < k_len; k0 += CHUNK) {
            const size_t kc = k_len - k0 < CHUNK ? k_len - k0 : CHUNK;
            const size_t groups = pack_chunk(v + k0 * ldv + jb, ldv, kc, nr, packed);
            /* 128 * the columns' sums over the chunk: the accumulators' start */
            int32x4_t s0 = vdupq_n_s32(0), s1 = s0, s2 = s0, s3 = s0;
            for (size_t g = 0; g < groups; g++) {
                const int8x16x4_t w = vld1q_s8_x4(packed + g * DOT_GROUP_BYTES);
                s0 = vdotq_s32(s0, w.val[0], ones);
                s1 = vdotq_s32(s1, w.val[1], ones);
                s2 = vdotq_s32(s2, w.val[2], ones);
                s3 = vdotq_s32(s3, w.val[3], ones);
            }
            int32_t start[DOT_NR];
            vst1q_s32(start, vshlq_n_s32(s0, 7));
            vst1q_s32(start + 4, vshlq_n_s32(s1, 7));
            vst1q_s32(start + 8, vshlq_n_s32(s2, 7));
            vst1q_s32(start + 12, vshlq_n_s32(s3, 7));
            dot_4x16c4_rows(m, kc, (const int8_t *)(p + k0), ldp, 1, packed, start, c + jb, ldc, nr, k0 > 0);
        }
    }
}
