/* linear_s8s8s32_8x8c8__i8mm: a linear layer, c = bias + a w^T, with SMMLA (Armv8.6
 * int8 matrix multiply, optional from Armv8.2) on weights packed at load by
 * packw_s8s32_8x8 (blocks of 8 columns: the biases as 2 x 2 starts, then column
 * pairs of 8 k).
 *
 * SMMLA multiplies a 2 x 8 int8 block (2 rows of a, 8 k) by the transpose of
 * another (2 columns of w, 8 k) and adds the 2 x 2 int32 result: 32 multiply-
 * accumulates. The left operand must hold 2 rows' 8 k, so for each 8 rows of a and
 * up to CHUNK k this kernel first interleaves a on the stack (per 8 k: 4 row
 * pairs of 16 bytes; ZIP1/ZIP2 of 64-bit lanes), then runs every 8-column block
 * over that copy.
 *
 * Tile: 8 rows x 8 columns in 16 accumulators (4 row pairs x 4 column pairs),
 * started at the block's biases. Per 16 k: two 64-byte loads of a, two of w, 32
 * SMMLAs (1024 multiply-accumulates). At the end ZIP1/ZIP2 of 64-bit lanes turn
 * each row pair's 2 x 2 blocks into its two rows.
 * Exact: SMMLA forms each int8 x int8 product exactly and adds in int32, and
 * FORMAT.md §4.2 bounds the sum in any order, so c equals gemm_s8s8s32_1x1__ref
 * bit for bit. Rows past m are zero in the copy (computed, not stored); columns
 * past j1 are the packer's padding (not stored); k is zero-padded to 16 in both
 * operands; chunks after the first add to c. */
#if !defined(__ARM_FEATURE_MATMUL_INT8)
#error "linear_s8s8s32_8x8c8__i8mm needs the i8mm extension (-march=armv8.2-a+i8mm)"
#endif

#include <arm_neon.h>
#include <string.h>

#include "kernels/kernels.h"

#define MR 8
#define NR 8
#define KSTEP 8  /* k per SMMLA */
#define KPAD 16  /* packed k is padded to this */
#define CHUNK 1024 /* k per interleaved stack copy of 8 rows of a: 8 KiB */

/* Rows 0 ... mr - 1 of a, k 0 ... kc - 1 (zero-padded to 8 rows and to a multiple
 * of 16 k), as [k / 8][row pair][2][8] at dst. */
static void interleave_rows(const int8_t *a, size_t lda, size_t mr, size_t kc, int8_t *dst) {
    size_t kp = (kc + KPAD - 1) / KPAD * KPAD;
    if (mr == MR) {
        size_t kk = 0;
        for (; kk + KPAD <= kc; kk += KPAD) {
            for (size_t pr = 0; pr < MR / 2; pr++) {
                const int64x2_t r0 = vreinterpretq_s64_s8(vld1q_s8(a + 2 * pr * lda + kk)),
                                r1 = vreinterpretq_s64_s8(vld1q_s8(a + (2 * pr + 1) * lda + kk));
                vst1q_s8(dst + kk / KSTEP * 64 + 16 * pr, vreinterpretq_s8_s64(vzip1q_s64(r0, r1)));
                vst1q_s8(dst + (kk / KSTEP + 1) * 64 + 16 * pr, vreinterpretq_s8_s64(vzip2q_s64(r0, r1)));
            }
        }
        if (kk == kp) return;
        a += kk;
        dst += kk / KSTEP * 64;
        kc -= kk;
        kp -= kk;
    }
    for (size_t kk = 0; kk < kp; kk++)
        for (size_t r = 0; r < MR; r++)
            dst[kk / KSTEP * 64 + r / 2 * 16 + r % 2 * 8 + kk % KSTEP] = r < mr && kk < kc ? a[r * lda + kk] : 0;
}

/* The tile in assembly: GCC 12 compiles the intrinsics to 42 instructions per 16 k
 * (it copies and steps the pointers apart); here 38: four 64-byte post-indexed
 * loads, 32 SMMLAs, SUBS and B.NE. v0-v3 hold 8 k of the 4 row pairs, v4-v7 of the
 * 4 column pairs, v<16 + 4p + q> the 2 x 2 block of row pair p, column pair q. */
#define SMMLA_ROW(p0, p1, p2, p3, a)                                                                              \
    "smmla v" p0 ".4s, v" a ".16b, v4.16b\n\tsmmla v" p1 ".4s, v" a ".16b, v5.16b\n\t"                               \
    "smmla v" p2 ".4s, v" a ".16b, v6.16b\n\tsmmla v" p3 ".4s, v" a ".16b, v7.16b\n\t"
#define STEP8                                                                                                      \
    "ld1 {v0.16b-v3.16b}, [%[ap]], #64\n\tld1 {v4.16b-v7.16b}, [%[wp]], #64\n\t"                                    \
    SMMLA_ROW("16", "17", "18", "19", "0") SMMLA_ROW("20", "21", "22", "23", "1")                                  \
        SMMLA_ROW("24", "25", "26", "27", "2") SMMLA_ROW("28", "29", "30", "31", "3")
/* Rows 2p and 2p + 1 (to d_even, d_odd) from row pair p's blocks q0 ... q3. */
#define STORE_PAIR(q0, q1, q2, q3, d_even, d_odd)                                                                  \
    "zip1 v0.2d, v" q0 ".2d, v" q1 ".2d\n\tzip1 v1.2d, v" q2 ".2d, v" q3 ".2d\n\t"                                  \
    "zip2 v2.2d, v" q0 ".2d, v" q1 ".2d\n\tzip2 v3.2d, v" q2 ".2d, v" q3 ".2d\n\t"                                  \
    "st1 {v0.4s, v1.4s}, [%[" d_even "]]\n\tst1 {v2.4s, v3.4s}, [%[" d_odd "]]\n\t"

void linear_s8s8s32_8x8c8__i8mm(size_t m, size_t j0, size_t j1, size_t k, const int8_t *a, size_t lda,
                                const void *packed, int32_t *c, size_t ldc) {
    static const int32_t zeros[NR * 2];
    int8_t rows[CHUNK / KSTEP * 64] __attribute__((aligned(64)));
    int32_t tile[MR][NR];
    const size_t steps = (k + KPAD - 1) / KPAD * (KPAD / KSTEP);
    const size_t block_bytes = NR * 2 * sizeof(int32_t) + steps * NR * KSTEP;
    for (size_t i0 = 0; i0 < m; i0 += MR) {
        const size_t mr = m - i0 < MR ? m - i0 : MR;
        for (size_t k0 = 0; k0 < k; k0 += CHUNK) {
            const size_t kc = k - k0 < CHUNK ? k - k0 : CHUNK;
            interleave_rows(a + i0 * lda + k0, lda, mr, kc, rows);
            const int add = k0 > 0;
            for (size_t jb = j0; jb < j1; jb += NR) {
                const int8_t *block = (const int8_t *)packed + jb / NR * block_bytes;
                /* the first chunk starts at the bias, later ones add to c */
                const int32_t *start = add ? zeros : (const int32_t *)(const void *)block;
                const size_t nr = j1 - jb < NR ? j1 - jb : NR;
                const int whole = mr == MR && nr == NR && !add;
                int32_t *cr = c + i0 * ldc + jb;
                int32_t *d[MR];
                for (size_t r = 0; r < MR; r++) d[r] = whole ? cr + r * ldc : tile[r];
                const int8_t *ap = rows, *wp = block + NR * 2 * sizeof(int32_t) + k0 / KSTEP * NR * KSTEP;
                size_t blocks = (kc + KPAD - 1) / KPAD;
                __asm__ volatile(
                    "ld1 {v16.4s-v19.4s}, [%[start]]\n\tld1 {v20.4s-v23.4s}, [%[start]]\n\t"
                    "ld1 {v24.4s-v27.4s}, [%[start]]\n\tld1 {v28.4s-v31.4s}, [%[start]]\n"
                    "1:\n\t" STEP8 STEP8
                    "subs %[n], %[n], #1\n\t"
                    "b.ne 1b\n\t"
                    STORE_PAIR("16", "17", "18", "19", "d0", "d1") STORE_PAIR("20", "21", "22", "23", "d2", "d3")
                    STORE_PAIR("24", "25", "26", "27", "d4", "d5") STORE_PAIR("28", "29", "30", "31", "d6", "d7")
                    : [ap] "+r"(ap), [wp] "+r"(wp), [n] "+r"(blocks)
                    : [start] "r"(start), [d0] "r"(d[0]), [d1] "r"(d[1]), [d2] "r"(d[2]), [d3] "r"(d[3]),
                      [d4] "r"(d[4]), [d5] "r"(d[5]), [d6] "r"(d[6]), [d7] "r"(d[7])
                    : "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v16", "v17", "v18", "v19", "v20", "v21", "v22",
                      "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31", "cc", "memory");
                if (whole) continue;
                for (size_t r = 0; r < mr; r++)
                    for (size_t s = 0; s < nr; s++) cr[r * ldc + s] = (add ? cr[r * ldc + s] : 0) + tile[r][s];
            }
        }
    }
}
