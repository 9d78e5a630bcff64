/* gemm_s8s8s32_4x16c4__neondot: c = bias + a b^T on plain row-major int8 operands
 * (the attention scores q.k^T of a head, k = head size) with SDOT (ARMv8.2
 * dotprod).
 *
 * For every 16 rows of b and up to CHUNK k, the kernel packs b on the stack into
 * the 16x4 layout of dot_4x16c4__neondot.h: a 4 x 4 transpose of 32-bit words
 * (TRN1/TRN2 on 32 then 64 bits) turns 4 rows' 16 k into 4 groups of those rows'
 * 4 k; a partial block of rows or a k % 16 rest is packed in scalar code, zero-
 * padded to 16 k. Then the 4 x 16 tile (dot_4x16c4_rows) runs over all m rows of
 * a, so the packing is paid once per 16 columns of c, not per row tile. Chunks
 * after the first add to c; the bias (NULL: none) is the first chunk's start.
 *
 * Exact: SDOT multiplies int8 by int8 exactly (also -128 * -128: both operands are
 * activations here) and adds into int32, and FORMAT.md §4.2 bounds the sum in any
 * order, so c equals gemm_s8s8s32_1x1__ref bit for bit for every int8 operand. */
#if !defined(__ARM_FEATURE_DOTPROD)
#error "gemm_s8s8s32_4x16c4__neondot needs the dotprod extension (-march=armv8.2-a+dotprod)"
#endif

#include <arm_neon.h>
#include <string.h>

#include "dot_4x16c4__neondot.h"
#include "kernels/kernels.h"

#define CHUNK 256 /* k per packed chunk: 64 groups, 4 KiB of stack */

/* Packs columns 0 ... kc - 1 of rows 0 ... nr - 1 of b (zero-padded to 16 rows and
 * to a multiple of 16 k) into dst. */
static void pack_chunk(const int8_t *b, size_t ldb, size_t kc, size_t nr, int8_t *dst) {
    const size_t groups = DOT_GROUPS(kc);
    size_t g = 0;
    if (nr == DOT_NR) {
        for (; g + DOT_KBLOCK / DOT_KGROUP <= kc / DOT_KGROUP; g += DOT_KBLOCK / DOT_KGROUP) {
            for (size_t q = 0; q < DOT_NR / 4; q++) {
                const int8_t *r = b + 4 * q * ldb + g * DOT_KGROUP;
                const int32x4_t r0 = vreinterpretq_s32_s8(vld1q_s8(r)), r1 = vreinterpretq_s32_s8(vld1q_s8(r + ldb)),
                                r2 = vreinterpretq_s32_s8(vld1q_s8(r + 2 * ldb)),
                                r3 = vreinterpretq_s32_s8(vld1q_s8(r + 3 * ldb));
                /* word w of rows (0, 1) and (2, 3), then of all four */
                const int64x2_t t0 = vreinterpretq_s64_s32(vtrn1q_s32(r0, r1)),
                                t1 = vreinterpretq_s64_s32(vtrn2q_s32(r0, r1)),
                                t2 = vreinterpretq_s64_s32(vtrn1q_s32(r2, r3)),
                                t3 = vreinterpretq_s64_s32(vtrn2q_s32(r2, r3));
                int8_t *out = dst + g * DOT_GROUP_BYTES + 16 * q;
                vst1q_s8(out, vreinterpretq_s8_s64(vtrn1q_s64(t0, t2)));
                vst1q_s8(out + DOT_GROUP_BYTES, vreinterpretq_s8_s64(vtrn1q_s64(t1, t3)));
                vst1q_s8(out + 2 * DOT_GROUP_BYTES, vreinterpretq_s8_s64(vtrn2q_s64(t0, t2)));
                vst1q_s8(out + 3 * DOT_GROUP_BYTES, vreinterpretq_s8_s64(vtrn2q_s64(t1, t3)));
            }
        }
    }
    for (; g < groups; g++) {
        int8_t *out = dst + g * DOT_GROUP_BYTES;
        for (size_t s = 0; s < DOT_NR; s++)
            for (size_t t = 0; t < DOT_KGROUP; t++) {
                const size_t kk = g * DOT_KGROUP + t;
                out[s * DOT_KGROUP + t] = s < nr && kk < kc ? b[s * ldb + kk] : 0;
            }
    }
}

void gemm_s8s8s32_4x16c4__neondot(size_t m, size_t n, size_t k_len, const int8_t *a, size_t lda, const int8_t *b,
                                  size_t ldb, const int32_t *bias, int32_t *c, size_t ldc) {
    int8_t packed[CHUNK / DOT_KGROUP * DOT_GROUP_BYTES] __attribute__((aligned(64)));
    for (size_t jb = 0; jb < n; jb += DOT_NR) {
        const size_t nr = n - jb < DOT_NR ? n - jb : DOT_NR;
        int32_t start[DOT_NR] = {0};
        if (bias) memcpy(start, bias + jb, nr * sizeof *start);
        for (size_t k0 = 0; k0 < k_len; k0 += CHUNK) {
            const size_t kc = k_len - k0 < CHUNK ? k_len - k0 : CHUNK;
            pack_chunk(b + jb * ldb + k0, ldb, kc, nr, packed);
            dot_4x16c4_rows(m, kc, a + k0, lda, 0, packed, start, c + jb, ldc, nr, k0 > 0);
            memset(start, 0, sizeof start);
        }
    }
}
