/* linear_s8s8s32_4x4c16__neon: a linear layer, c = bias + a w^T, with baseline
 * AArch64 AdvSIMD (Cortex-A72: no dotprod) on weights packed at load by
 * packw_s8s32_4x16 (blocks of 4 columns: the 4 biases, then 16 k per column); a
 * is read as it is, row-major.
 *
 * Tile: 4 rows x 4 columns, 16 k at a time. For each row r and column s, SMULL
 * and SMLAL2 leave in 8 int16 lanes the sums of two products a * w, and SADALP
 * adds those pairwise into 4 int32 partial sums of c[r, s]. Exact: a weight is
 * never -128 (FORMAT.md §3), so |a * w| <= 128 * 127 = 16256 and a pair sums to at
 * most 32512 < 2^15; int32 then holds every partial sum (FORMAT.md §4.2), so c
 * equals gemm_s8s8s32_1x1__ref bit for bit. (q.k^T, whose b is an activation and
 * may be -128, cannot pair products: gemm_s8s8s32_4x4c16__neon.)
 *
 * Per 16 k: 4 loads of a, one 64-byte load of the 4 columns, 48 multiply-add
 * steps (3 per 16 multiply-accumulates, the floor for AdvSIMD without dotprod),
 * SUBS and B.NE: 55, in one assembly block (post-indexed loads; GCC 12 adds
 * address arithmetic and, scheduled, spills). Registers: v0-v3 the rows of a,
 * v4-v7 the columns of w, v8-v11 int16 pair sums, v16 + 4r + s the partial sums
 * of c[r, s]. At the end three ADDPs per row fold them and the bias is added.
 *
 * Edges: rows past m repeat the last row (computed, not stored); columns past j1
 * are the packer's zero padding (not stored); the k % 16 tail runs one more step
 * on a zero-padded copy of the rows, against the packer's zero padding. */
#if !defined(__aarch64__) || !defined(__ARM_NEON)
#error "linear_s8s8s32_4x4c16__neon needs AArch64 AdvSIMD"
#endif

#include <arm_neon.h>
#include <string.h>

#include "kernels/kernels.h"

#define MR 4
#define NR 4
#define KSTEP 16

/* c[r, s] partial sums (v<acc>) += 16 products of row v<ar> and column v<wr>, with
 * the int16 pair sums in v<t>. */
#define PAIR(acc, ar, wr, t)                                \
    "smull v" t ".8h, v" ar ".8b, v" wr ".8b\n\t"           \
    "smlal2 v" t ".8h, v" ar ".16b, v" wr ".16b\n\t"        \
    "sadalp v" acc ".4s, v" t ".8h\n\t"
#define ROW(ar, c0, c1, c2, c3) PAIR(c0, ar, "4", "8") PAIR(c1, ar, "5", "9") PAIR(c2, ar, "6", "10") PAIR(c3, ar, "7", "11")
#define STEP                                                                                                       \
    "ld1 {v4.16b-v7.16b}, [%[wp]], #64\n\t" ROW("0", "16", "17", "18", "19") ROW("1", "20", "21", "22", "23")        \
        ROW("2", "24", "25", "26", "27") ROW("3", "28", "29", "30", "31")
/* 4 rows' fold: lane s of v<r> = the sum of c[r, s]'s 4 partial sums. */
#define FOLD(dst, c0, c1, c2, c3)                           \
    "addp v" c0 ".4s, v" c0 ".4s, v" c1 ".4s\n\t"           \
    "addp v" c2 ".4s, v" c2 ".4s, v" c3 ".4s\n\t"           \
    "addp v" dst ".4s, v" c0 ".4s, v" c2 ".4s\n\t"          \
    "add v" dst ".4s, v" dst ".4s, %[bias].4s\n\t"

void linear_s8s8s32_4x4c16__neon(size_t m, size_t j0, size_t j1, size_t k, const int8_t *a, size_t lda,
                                 const void *packed, int32_t *c, size_t ldc) {
    const size_t k_main = k & ~(size_t)(KSTEP - 1);
    const size_t block_bytes = NR * sizeof(int32_t) + (k + KSTEP - 1) / KSTEP * NR * KSTEP;
    int8_t tail[MR][KSTEP];
    int32_t tile[MR][NR];
    for (size_t jb = j0; jb < j1; jb += NR) {
        const int8_t *block = (const int8_t *)packed + jb / NR * block_bytes;
        const int32x4_t bias = vld1q_s32((const int32_t *)(const void *)block);
        const size_t nr = j1 - jb < NR ? j1 - jb : NR;
        for (size_t i0 = 0; i0 < m; i0 += MR) {
            const size_t mr = m - i0 < MR ? m - i0 : MR;
            const int8_t *a0 = a + i0 * lda, *a1 = a + (i0 + (mr > 1 ? 1 : 0)) * lda,
                         *a2 = a + (i0 + (mr > 2 ? 2 : mr - 1)) * lda, *a3 = a + (i0 + (mr > 3 ? 3 : mr - 1)) * lda;
            const int8_t *tail_rows = NULL;
            if (k_main < k) {
                memset(tail, 0, sizeof tail);
                memcpy(tail[0], a0 + k_main, k - k_main);
                memcpy(tail[1], a1 + k_main, k - k_main);
                memcpy(tail[2], a2 + k_main, k - k_main);
                memcpy(tail[3], a3 + k_main, k - k_main);
                tail_rows = &tail[0][0];
            }
            const int whole = mr == MR && nr == NR;
            int32_t *cr = c + i0 * ldc + jb;
            int32_t *d0 = whole ? cr : tile[0], *d1 = whole ? cr + ldc : tile[1], *d2 = whole ? cr + 2 * ldc : tile[2],
                    *d3 = whole ? cr + 3 * ldc : tile[3];
            const int8_t *wp = block + NR * sizeof(int32_t);
            size_t steps = k_main / KSTEP;
            __asm__ volatile(
                "movi v16.4s, #0\n\tmovi v17.4s, #0\n\tmovi v18.4s, #0\n\tmovi v19.4s, #0\n\t"
                "movi v20.4s, #0\n\tmovi v21.4s, #0\n\tmovi v22.4s, #0\n\tmovi v23.4s, #0\n\t"
                "movi v24.4s, #0\n\tmovi v25.4s, #0\n\tmovi v26.4s, #0\n\tmovi v27.4s, #0\n\t"
                "movi v28.4s, #0\n\tmovi v29.4s, #0\n\tmovi v30.4s, #0\n\tmovi v31.4s, #0\n\t"
                "cbz %[n], 2f\n"
                "1:\n\t"
                "ldr q0, [%[a0]], #16\n\tldr q1, [%[a1]], #16\n\tldr q2, [%[a2]], #16\n\tldr q3, [%[a3]], #16\n\t"
                STEP
                "subs %[n], %[n], #1\n\t"
                "b.ne 1b\n"
                "2:\n\t"
                "cbz %[tail], 3f\n\t"
                "ldr q0, [%[tail]]\n\tldr q1, [%[tail], #16]\n\tldr q2, [%[tail], #32]\n\tldr q3, [%[tail], #48]\n\t"
                STEP
                "3:\n\t"
                FOLD("0", "16", "17", "18", "19") FOLD("1", "20", "21", "22", "23")
                FOLD("2", "24", "25", "26", "27") FOLD("3", "28", "29", "30", "31")
                "str q0, [%[d0]]\n\tstr q1, [%[d1]]\n\tstr q2, [%[d2]]\n\tstr q3, [%[d3]]\n\t"
                : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [wp] "+r"(wp), [n] "+r"(steps)
                : [tail] "r"(tail_rows), [bias] "w"(bias), [d0] "r"(d0), [d1] "r"(d1), [d2] "r"(d2), [d3] "r"(d3)
                : "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v16", "v17", "v18",
                  "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31", "cc",
                  "memory");
            if (whole) continue;
            for (size_t r = 0; r < mr; r++) memcpy(cr + r * ldc, tile[r], nr * sizeof *cr);
        }
    }
}
