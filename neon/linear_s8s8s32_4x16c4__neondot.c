/* linear_s8s8s32_4x16c4__neondot: a linear layer, c = bias + a w^T, with SDOT
 * (ARMv8.2 dotprod) on weights packed at load by packw_s8s32_16x4 (blocks of 16
 * columns: the 16 biases, then 4 k per column).
 *
 * For every 4 rows of a and up to CHUNK k, the rows are first interleaved on the
 * stack, 16 k of each row after the other (zero-padded to 4 rows and to 16 k), so
 * that one 64-byte load gives a 16-k step of all four; then every 16-column block
 * of w runs over that copy. Tile (dot_4x16c4__neondot.h): 4 rows x 16 columns in
 * 16 int32x4 accumulators, started at the block's biases (at c's values for a
 * later chunk). Per 16 k: one 64-byte load of a, four of w (one per group of 4 k),
 * 64 lane-indexed SDOTs, and SUBS and B.NE once per 32 k: 69 instructions per 64
 * SDOTs, the SDOT ideal being one per 16 multiply-accumulates.
 *
 * Exact: SDOT multiplies int8 by int8 exactly (also -128 * -128) and adds into
 * int32, and FORMAT.md §4.2 bounds the sum in any order, so c equals
 * gemm_s8s8s32_1x1__ref bit for bit for every int8 operand. Rows past m and
 * columns past j1 are computed from zeros into a copy and not stored. */
#if !defined(__ARM_FEATURE_DOTPROD)
#error "linear_s8s8s32_4x16c4__neondot needs the dotprod extension (-march=armv8.2-a+dotprod)"
#endif

#include <arm_neon.h>
#include <string.h>

#include "dot_4x16c4__neondot.h"
#include "kernels/kernels.h"

#define CHUNK 2048 /* k per interleaved stack copy of 4 rows of a: 8 KiB */

/* Rows 0 ... mr - 1 of a, k 0 ... kc - 1, as [k / 16][4 rows][16] (zero-padded). */
static void interleave_rows(const int8_t *a, size_t lda, size_t mr, size_t kc, int8_t *dst) {
    const size_t k_main = kc & ~(size_t)(DOT_KBLOCK - 1);
    if (mr == DOT_MR) {
        for (size_t kk = 0; kk < k_main; kk += DOT_KBLOCK) {
            int8x16x4_t rows = {{vld1q_s8(a + kk), vld1q_s8(a + lda + kk), vld1q_s8(a + 2 * lda + kk),
                                 vld1q_s8(a + 3 * lda + kk)}};
            vst1q_s8_x4(dst + kk * DOT_MR, rows);
        }
    } else {
        memset(dst, 0, k_main * DOT_MR);
        for (size_t kk = 0; kk < k_main; kk += DOT_KBLOCK)
            for (size_t r = 0; r < mr; r++) memcpy(dst + kk * DOT_MR + r * DOT_KBLOCK, a + r * lda + kk, DOT_KBLOCK);
    }
    if (k_main == kc) return;
    int8_t *last = dst + k_main * DOT_MR;
    memset(last, 0, DOT_MR * DOT_KBLOCK);
    for (size_t r = 0; r < mr; r++) memcpy(last + r * DOT_KBLOCK, a + r * lda + k_main, kc - k_main);
}

/* One tile: `blocks` (>= 1) 16-k steps of the interleaved rows at ap times the
 * packed columns at wp; row r starts at s_r (16 int32) and goes to d_r. */
static inline void tile(const int8_t *ap, const int8_t *wp, size_t blocks, const int32_t *s0, const int32_t *s1,
                        const int32_t *s2, const int32_t *s3, int32_t *d0, int32_t *d1, int32_t *d2, int32_t *d3) {
#define LOAD_ROWS "ld1 {v0.16b-v3.16b}, [%[ap]], #64\n\t"
    __asm__ volatile(
        "ld1 {v16.4s-v19.4s}, [%[s0]]\n\tld1 {v20.4s-v23.4s}, [%[s1]]\n\t"
        "ld1 {v24.4s-v27.4s}, [%[s2]]\n\tld1 {v28.4s-v31.4s}, [%[s3]]\n\t"
        "tbz %[n], #0, 1f\n\t" /* an odd count: one block, then pairs */
        LOAD_ROWS DOT_ASM_BLOCK("")
        "subs %[n], %[n], #1\n\t"
        "b.eq 2f\n"
        "1:\n\t"
        LOAD_ROWS DOT_ASM_BLOCK("") LOAD_ROWS DOT_ASM_BLOCK("")
        "subs %[n], %[n], #2\n\t"
        "b.ne 1b\n"
        "2:\n\t"
        "st1 {v16.4s-v19.4s}, [%[d0]]\n\tst1 {v20.4s-v23.4s}, [%[d1]]\n\t"
        "st1 {v24.4s-v27.4s}, [%[d2]]\n\tst1 {v28.4s-v31.4s}, [%[d3]]\n\t"
        : [ap] "+r"(ap), [wp] "+r"(wp), [n] "+r"(blocks)
        : [s0] "r"(s0), [s1] "r"(s1), [s2] "r"(s2), [s3] "r"(s3), [d0] "r"(d0), [d1] "r"(d1), [d2] "r"(d2),
          [d3] "r"(d3)
        : DOT_ASM_CLOBBERS);
#undef LOAD_ROWS
}

void linear_s8s8s32_4x16c4__neondot(size_t m, size_t j0, size_t j1, size_t k, const int8_t *a, size_t lda,
                                    const void *packed, int32_t *c, size_t ldc) {
    int8_t rows[CHUNK * DOT_MR] __attribute__((aligned(64)));
    int32_t part[DOT_MR][DOT_NR];
    const size_t block_bytes = DOT_NR * sizeof(int32_t) + DOT_GROUPS(k) * DOT_GROUP_BYTES;
    for (size_t i0 = 0; i0 < m; i0 += DOT_MR) {
        const size_t mr = m - i0 < DOT_MR ? m - i0 : DOT_MR;
        for (size_t k0 = 0; k0 < k; k0 += CHUNK) {
            const size_t kc = k - k0 < CHUNK ? k - k0 : CHUNK, blocks = (kc + DOT_KBLOCK - 1) / DOT_KBLOCK;
            interleave_rows(a + i0 * lda + k0, lda, mr, kc, rows);
            for (size_t jb = j0; jb < j1; jb += DOT_NR) {
                const int8_t *block = (const int8_t *)packed + jb / DOT_NR * block_bytes;
                const int8_t *w = block + DOT_NR * sizeof(int32_t) + k0 / DOT_KGROUP * DOT_GROUP_BYTES;
                const int32_t *bias = (const int32_t *)(const void *)block;
                const size_t nr = j1 - jb < DOT_NR ? j1 - jb : DOT_NR;
                int32_t *cr = c + i0 * ldc + jb;
                if (mr == DOT_MR && nr == DOT_NR) {
                    /* a chunk after the first starts at c's values */
                    int32_t *d0 = cr, *d1 = cr + ldc, *d2 = cr + 2 * ldc, *d3 = cr + 3 * ldc;
                    if (k0 == 0)
                        tile(rows, w, blocks, bias, bias, bias, bias, d0, d1, d2, d3);
                    else
                        tile(rows, w, blocks, d0, d1, d2, d3, d0, d1, d2, d3);
                    continue;
                }
                /* a partial tile: through a copy of its part of c */
                memset(part, 0, sizeof part);
                for (size_t r = 0; r < mr; r++) memcpy(part[r], k0 == 0 ? bias : cr + r * ldc, nr * sizeof *cr);
                tile(rows, w, blocks, part[0], part[1], part[2], part[3], part[0], part[1], part[2], part[3]);
                for (size_t r = 0; r < mr; r++) memcpy(cr + r * ldc, part[r], nr * sizeof *cr);
            }
        }
    }
}
