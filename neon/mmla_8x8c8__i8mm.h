/* mmla_8x8c8__i8mm.h: the 8 x 8 int8 matrix-multiply tile of the i8mm kernels
 * (SMMLA for int8 x int8, USMMLA for uint8 x int8) and the interleaving of the
 * left operand's rows it reads.
 *
 * (US)MMLA multiplies a 2 x 8 block (2 rows, 8 k) by the transpose of another (2
 * columns, 8 k) and adds the 2 x 2 int32 result: 32 multiply-accumulates. The
 * left operand is interleaved per 8 k as 4 row pairs of 16 bytes (row 2p's 8
 * bytes, then row 2p + 1's; mmla_interleave_rows), the right one as 4 column pairs
 * of 16 bytes the same way, each run zero-padded to a multiple of 16 k.
 *
 * The tile is one assembly block. GCC 12 compiles it in intrinsics to 42
 * instructions per 16 k (it copies and steps the pointers apart); here 37: four
 * 64-byte post-indexed loads, 32 (US)MMLAs, and SUBS and B.NE once per 32 k.
 * v0-v3 hold 8 k of the 4 row pairs, v4-v7 of the 4 column pairs, v<16 + 4p + q>
 * the 2 x 2 block of row pair p and column pair q, which starts at the 16 bytes
 * at start + 16q (the same for every row pair). At the end ZIP1/ZIP2 of 64-bit
 * lanes turn each row pair's blocks into its two rows. */
#ifndef IBERT_MMLA_8X8C8_I8MM_H
#define IBERT_MMLA_8X8C8_I8MM_H

#if !defined(__ARM_FEATURE_MATMUL_INT8)
#error "mmla_8x8c8__i8mm.h needs the i8mm extension (-march=armv8.2-a+i8mm)"
#endif

#include <arm_neon.h>
#include <string.h>

#define MMLA_MR 8
#define MMLA_NR 8
#define MMLA_KSTEP 8 /* k per (US)MMLA */
#define MMLA_KPAD 16 /* interleaved and packed k are padded to this */

/* Rows 0 ... mr - 1 of a, k 0 ... kc - 1 (zero-padded to 8 rows and to a multiple
 * of 16 k), as [k / 8][row pair][2][8] at dst. */
static inline void mmla_interleave_rows(const int8_t *a, size_t lda, size_t mr, size_t kc, int8_t *dst) {
    size_t kp = (kc + MMLA_KPAD - 1) / MMLA_KPAD * MMLA_KPAD;
    if (mr == MMLA_MR) {
        size_t kk = 0;
        for (; kk + MMLA_KPAD <= kc; kk += MMLA_KPAD) {
            for (size_t pr = 0; pr < MMLA_MR / 2; pr++) {
                const int64x2_t r0 = vreinterpretq_s64_s8(vld1q_s8(a + 2 * pr * lda + kk)),
                                r1 = vreinterpretq_s64_s8(vld1q_s8(a + (2 * pr + 1) * lda + kk));
                vst1q_s8(dst + kk / MMLA_KSTEP * 64 + 16 * pr, vreinterpretq_s8_s64(vzip1q_s64(r0, r1)));
                vst1q_s8(dst + (kk / MMLA_KSTEP + 1) * 64 + 16 * pr, vreinterpretq_s8_s64(vzip2q_s64(r0, r1)));
            }
        }
        if (kk == kp) return;
        a += kk;
        dst += kk / MMLA_KSTEP * 64;
        kc -= kk;
        kp -= kk;
    }
    for (size_t kk = 0; kk < kp; kk++)
        for (size_t r = 0; r < MMLA_MR; r++)
            dst[kk / MMLA_KSTEP * 64 + r / 2 * 16 + r % 2 * 8 + kk % MMLA_KSTEP] = r < mr && kk < kc ? a[r * lda + kk] : 0;
}

#define MMLA_ROW(op, p0, p1, p2, p3, a)                                                                            \
    op " v" p0 ".4s, v" a ".16b, v4.16b\n\t" op " v" p1 ".4s, v" a ".16b, v5.16b\n\t"                                 \
    op " v" p2 ".4s, v" a ".16b, v6.16b\n\t" op " v" p3 ".4s, v" a ".16b, v7.16b\n\t"
#define MMLA_STEP8(op)                                                                                             \
    "ld1 {v0.16b-v3.16b}, [%[ap]], #64\n\tld1 {v4.16b-v7.16b}, [%[wp]], #64\n\t"                                    \
    MMLA_ROW(op, "16", "17", "18", "19", "0") MMLA_ROW(op, "20", "21", "22", "23", "1")                            \
        MMLA_ROW(op, "24", "25", "26", "27", "2") MMLA_ROW(op, "28", "29", "30", "31", "3")
/* Rows 2p and 2p + 1 from row pair p's blocks q0 ... q3, to d, stepping d a row. */
#define MMLA_STORE_PAIR(q0, q1, q2, q3)                                                                            \
    "zip1 v0.2d, v" q0 ".2d, v" q1 ".2d\n\tzip1 v1.2d, v" q2 ".2d, v" q3 ".2d\n\t"                                  \
    "zip2 v2.2d, v" q0 ".2d, v" q1 ".2d\n\tzip2 v3.2d, v" q2 ".2d, v" q3 ".2d\n\t"                                  \
    "st1 {v0.4s, v1.4s}, [%[d]], %[row]\n\tst1 {v2.4s, v3.4s}, [%[d]], %[row]\n\t"
#define MMLA_TILE(op)                                                                                              \
    "ld1 {v16.4s-v19.4s}, [%[start]]\n\tld1 {v20.4s-v23.4s}, [%[start]]\n\t"                                      \
    "ld1 {v24.4s-v27.4s}, [%[start]]\n\tld1 {v28.4s-v31.4s}, [%[start]]\n\t"                                      \
    "tbz %[n], #0, 1f\n\t" /* an odd count: one 16-k block, then pairs */                                          \
    MMLA_STEP8(op) MMLA_STEP8(op)                                                                                  \
    "subs %[n], %[n], #1\n\t"                                                                                      \
    "b.eq 2f\n"                                                                                                    \
    "1:\n\t" MMLA_STEP8(op) MMLA_STEP8(op) MMLA_STEP8(op) MMLA_STEP8(op)                                            \
    "subs %[n], %[n], #2\n\t"                                                                                      \
    "b.ne 1b\n"                                                                                                    \
    "2:\n\t"                                                                                                       \
    MMLA_STORE_PAIR("16", "17", "18", "19") MMLA_STORE_PAIR("20", "21", "22", "23")                                \
    MMLA_STORE_PAIR("24", "25", "26", "27") MMLA_STORE_PAIR("28", "29", "30", "31")
#define MMLA_OPERANDS                                                                                              \
    [ap] "+r"(ap), [wp] "+r"(wp), [n] "+r"(blocks), [d] "+r"(d) : [start] "r"(start), [row] "r"(row)
#define MMLA_CLOBBERS                                                                                              \
    "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", \
        "v25", "v26", "v27", "v28", "v29", "v30", "v31", "cc", "memory"

/* One 8 x 8 tile: `blocks` (>= 1) 16-k steps of the interleaved rows at ap times
 * the packed column pairs at wp, from start; its 8 rows go to d, row bytes apart.
 * unsigned_a: the rows are uint8 (USMMLA), else int8 (SMMLA). */
static inline void mmla_8x8c8_tile(const int8_t *ap, const int8_t *wp, size_t blocks, const int32_t *start,
                                   int32_t *d, size_t row, int unsigned_a) {
    if (unsigned_a)
        __asm__ volatile(MMLA_TILE("usmmla") : MMLA_OPERANDS : MMLA_CLOBBERS);
    else
        __asm__ volatile(MMLA_TILE("smmla") : MMLA_OPERANDS : MMLA_CLOBBERS);
}

/* The tile at c (its first mr rows and nr columns exist; row stride ldc): a whole
 * tile that starts from `start` goes straight to c; any other goes through a copy,
 * of which only the existing part is stored, added to c's values when add. */
static inline void mmla_8x8c8_tile_to_c(const int8_t *ap, const int8_t *wp, size_t blocks, const int32_t *start,
                                        int unsigned_a, size_t mr, size_t nr, int add, int32_t *c, size_t ldc) {
    if (mr == MMLA_MR && nr == MMLA_NR && !add) {
        mmla_8x8c8_tile(ap, wp, blocks, start, c, ldc * sizeof *c, unsigned_a);
        return;
    }
    int32_t tile[MMLA_MR][MMLA_NR];
    mmla_8x8c8_tile(ap, wp, blocks, start, tile[0], sizeof tile[0], unsigned_a);
    for (size_t r = 0; r < mr; r++)
        for (size_t s = 0; s < nr; s++) c[r * ldc + s] = (add ? c[r * ldc + s] : 0) + tile[r][s];
}

#endif
