/* linear_s8s8s32_4x4c16__neon: a linear layer, c = bias + a w^T, with baseline
 * AArch64 AdvSIMD (Cortex-A72: no dotprod) on weights packed at load by
 * packw_s8s32_4x16 (blocks of 4 columns: the 4 biases, then 16 k per column).
 *
 * For every 4 rows of a and up to CHUNK k, the rows are first interleaved on the
 * stack, 16 k of each row after the other (zero-padded to 4 rows and to 16 k), so
 * that one 64-byte load gives a 16-k step of all four; then every 4-column block
 * of w runs over that copy.
 *
 * Tile: 4 rows x 4 columns, 16 k at a time. For each row r and column s, SMULL
 * and SMLAL2 leave in 8 int16 lanes the sums of two products a * w, and SADALP
 * adds those pairwise into 4 int32 partial sums of c[r, s] (SADDLP sets them in the
 * first step). Exact: a weight is never -128 (FORMAT.md §3), so |a * w| <= 128 *
 * 127 = 16256 and a pair sums to at most 32512 < 2^15; int32 then holds every
 * partial sum (FORMAT.md §4.2), so c equals gemm_s8s8s32_1x1__ref bit for bit.
 * (q.k^T, whose b is an activation and may be -128, cannot pair products:
 * gemm_s8s8s32_4x4c16__neon.)
 *
 * Per 16 k: one 64-byte load of a, one of w, 48 multiply-add steps (3 per 16
 * multiply-accumulates, the floor for AdvSIMD without dotprod), and SUBS and B.NE
 * once per 32 k: 51, in one assembly block (post-indexed loads; GCC 12 adds
 * address arithmetic and, scheduled, spills). Registers: v0-v3 the rows of a,
 * v4-v7 the columns of w, v8-v11 int16 pair sums, v16 + 4r + s the partial sums
 * of c[r, s]. At the end three ADDPs per row fold them and the row's start is
 * added: the block's biases, or c's values for a later chunk. Rows past m and
 * columns past j1 are computed from zeros into a copy and not stored. */
#if !defined(__aarch64__) || !defined(__ARM_NEON)
#error "linear_s8s8s32_4x4c16__neon needs AArch64 AdvSIMD"
#endif

#include <arm_neon.h>
#include <string.h>

#include "kernels/kernels.h"

#define MR 4
#define NR 4
#define KSTEP 16
#define CHUNK 2048 /* k per interleaved stack copy of 4 rows of a: 8 KiB */

/* c[r, s] partial sums (v<acc>) += 16 products of row v<ar> and column v<wr>, with
 * the int16 pair sums in v<t>. */
#define PAIR(acc, ar, wr, t)                                \
    "smull v" t ".8h, v" ar ".8b, v" wr ".8b\n\t"           \
    "smlal2 v" t ".8h, v" ar ".16b, v" wr ".16b\n\t"        \
    "sadalp v" acc ".4s, v" t ".8h\n\t"
/* The same for the first step: SADDLP sets the partial sums (no zeroing needed). */
#define PAIR_FIRST(acc, ar, wr, t)                          \
    "smull v" t ".8h, v" ar ".8b, v" wr ".8b\n\t"           \
    "smlal2 v" t ".8h, v" ar ".16b, v" wr ".16b\n\t"        \
    "saddlp v" acc ".4s, v" t ".8h\n\t"
#define ROW(P, ar, c0, c1, c2, c3) P(c0, ar, "4", "8") P(c1, ar, "5", "9") P(c2, ar, "6", "10") P(c3, ar, "7", "11")
#define ROWS(P)                                                                                                    \
    "ld1 {v4.16b-v7.16b}, [%[wp]], #64\n\t" ROW(P, "0", "16", "17", "18", "19") ROW(P, "1", "20", "21", "22", "23")  \
        ROW(P, "2", "24", "25", "26", "27") ROW(P, "3", "28", "29", "30", "31")
#define STEP ROWS(PAIR)
#define STEP_FIRST ROWS(PAIR_FIRST)
#define LOAD_A "ld1 {v0.16b-v3.16b}, [%[ap]], #64\n\t"
/* Row r's fold: lane s of v<dst> = v<start>[s] + the sum of c[r, s]'s 4 partial sums. */
#define FOLD(dst, start, c0, c1, c2, c3)                           \
    "addp v" c0 ".4s, v" c0 ".4s, v" c1 ".4s\n\t"           \
    "addp v" c2 ".4s, v" c2 ".4s, v" c3 ".4s\n\t"           \
    "addp v" dst ".4s, v" c0 ".4s, v" c2 ".4s\n\t"          \
    "add v" dst ".4s, v" dst ".4s, v" start ".4s\n\t"

/* Rows 0 ... mr - 1 of a, k 0 ... kc - 1, as [k / 16][4 rows][16] (zero-padded). */
static void interleave_rows(const int8_t *a, size_t lda, size_t mr, size_t kc, int8_t *dst) {
    const size_t k_main = kc & ~(size_t)(KSTEP - 1);
    if (mr == MR) {
        for (size_t kk = 0; kk < k_main; kk += KSTEP) {
            int8x16x4_t rows = {{vld1q_s8(a + kk), vld1q_s8(a + lda + kk), vld1q_s8(a + 2 * lda + kk),
                                 vld1q_s8(a + 3 * lda + kk)}};
            vst1q_s8_x4(dst + kk * MR, rows);
        }
    } else {
        memset(dst, 0, k_main * MR);
        for (size_t kk = 0; kk < k_main; kk += KSTEP)
            for (size_t r = 0; r < mr; r++) memcpy(dst + kk * MR + r * KSTEP, a + r * lda + kk, KSTEP);
    }
    if (k_main == kc) return;
    int8_t *last = dst + k_main * MR;
    memset(last, 0, MR * KSTEP);
    for (size_t r = 0; r < mr; r++) memcpy(last + r * KSTEP, a + r * lda + k_main, kc - k_main);
}

/* One tile: `steps` (>= 1) 16-k steps of the interleaved rows at ap times the 4
 * packed columns at wp; row r gets s_r (4 int32) added and goes to d_r. */
static inline void tile_4x4(const int8_t *ap, const int8_t *wp, size_t steps, const int32_t *s0, const int32_t *s1,
                            const int32_t *s2, const int32_t *s3, int32_t *d0, int32_t *d1, int32_t *d2,
                            int32_t *d3) {
    __asm__ volatile(
        LOAD_A STEP_FIRST
        "subs %[n], %[n], #1\n\t"
        "b.eq 2f\n\t"
        "tbz %[n], #0, 1f\n\t" /* an odd count: one step, then pairs */
        LOAD_A STEP
        "subs %[n], %[n], #1\n\t"
        "b.eq 2f\n"
        "1:\n\t"
        LOAD_A STEP LOAD_A STEP
        "subs %[n], %[n], #2\n\t"
        "b.ne 1b\n"
        "2:\n\t"
        "ldr q12, [%[s0]]\n\tldr q13, [%[s1]]\n\tldr q14, [%[s2]]\n\tldr q15, [%[s3]]\n\t"
        FOLD("0", "12", "16", "17", "18", "19") FOLD("1", "13", "20", "21", "22", "23")
        FOLD("2", "14", "24", "25", "26", "27") FOLD("3", "15", "28", "29", "30", "31")
        "str q0, [%[d0]]\n\tstr q1, [%[d1]]\n\tstr q2, [%[d2]]\n\tstr q3, [%[d3]]\n\t"
        : [ap] "+r"(ap), [wp] "+r"(wp), [n] "+r"(steps)
        : [s0] "r"(s0), [s1] "r"(s1), [s2] "r"(s2), [s3] "r"(s3), [d0] "r"(d0), [d1] "r"(d1), [d2] "r"(d2),
          [d3] "r"(d3)
        : "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15",
          "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30",
          "v31", "cc", "memory");
}

void linear_s8s8s32_4x4c16__neon(size_t m, size_t j0, size_t j1, size_t k, const int8_t *a, size_t lda,
                                 const void *packed, int32_t *c, size_t ldc) {
    int8_t rows[CHUNK * MR] __attribute__((aligned(64)));
    int32_t part[MR][NR];
    const size_t block_bytes = NR * sizeof(int32_t) + (k + KSTEP - 1) / KSTEP * NR * KSTEP;
    for (size_t i0 = 0; i0 < m; i0 += MR) {
        const size_t mr = m - i0 < MR ? m - i0 : MR;
        for (size_t k0 = 0; k0 < k; k0 += CHUNK) {
            const size_t kc = k - k0 < CHUNK ? k - k0 : CHUNK, steps = (kc + KSTEP - 1) / KSTEP;
            interleave_rows(a + i0 * lda + k0, lda, mr, kc, rows);
            for (size_t jb = j0; jb < j1; jb += NR) {
                const int8_t *block = (const int8_t *)packed + jb / NR * block_bytes;
                const int8_t *w = block + NR * sizeof(int32_t) + k0 * NR;
                const int32_t *bias = (const int32_t *)(const void *)block;
                const size_t nr = j1 - jb < NR ? j1 - jb : NR;
                int32_t *cr = c + i0 * ldc + jb;
                if (mr == MR && nr == NR) {
                    /* a chunk after the first adds to c's values */
                    int32_t *d0 = cr, *d1 = cr + ldc, *d2 = cr + 2 * ldc, *d3 = cr + 3 * ldc;
                    if (k0 == 0)
                        tile_4x4(rows, w, steps, bias, bias, bias, bias, d0, d1, d2, d3);
                    else
                        tile_4x4(rows, w, steps, d0, d1, d2, d3, d0, d1, d2, d3);
                    continue;
                }
                /* a partial tile: through a copy of its part of c */
                memset(part, 0, sizeof part);
                for (size_t r = 0; r < mr; r++) memcpy(part[r], k0 == 0 ? bias : cr + r * ldc, nr * sizeof *cr);
                tile_4x4(rows, w, steps, part[0], part[1], part[2], part[3], part[0], part[1], part[2], part[3]);
                for (size_t r = 0; r < mr; r++) memcpy(cr + r * ldc, part[r], nr * sizeof *cr);
            }
        }
    }
}
