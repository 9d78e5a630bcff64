/* gemm_s8s8s32_4x4c16__neon: int8 x int8^T -> int32 (+ bias) with baseline AArch64
 * AdvSIMD (Cortex-A72, no dotprod), on the unpacked row-major layout: c[i, j] is
 * the dot product of row i of a with row j of b, both contiguous in k. The
 * attention scores q.k^T use it (the linear layers have a packed twin,
 * linear_s8s8s32_4x4c16__neon).
 *
 * Tile: 4 rows of a x 4 rows of b, 16 k at a time. Per output and step: SMULL and
 * SMULL2 give 16 exact int16 products (|p| <= 128 * 128 = 2^14), two SADALPs add
 * them pairwise into 4 int32 partial sums. Pairing two products in int16 with
 * SMLAL2 would save one instruction in four, but it is exact only when b never
 * holds -128 (weights, FORMAT.md §3); here both operands are activations, so every
 * product stays separate. Any order of summation is exact (FORMAT.md §4.2), so the
 * results equal gemm_s8s8s32_1x1__ref bit for bit.
 *
 * One assembly block per tile (GCC 12 spills the 16 accumulators when it schedules
 * the intrinsics, and steps pointers apart): per 16 k, 8 post-indexed loads, 64
 * multiply/accumulate steps, SUBS and B.NE. Registers: v0-v3 the rows of a, v4-v7
 * the rows of b, v8/v9 the int16 products, v16 + 4r + s the partial sums of
 * c[r, s]; at the end three ADDPs per row fold them and the bias is added.
 *
 * Edges: rows and columns past m, n repeat the last row of a or b (computed, not
 * stored); the k % 16 tail runs one more step (or the only one, for k < 16) on
 * zero-padded copies of the rows. The first step sets the partial sums (SADDLP)
 * rather than adding to zeroed ones. */
#if !defined(__aarch64__) || !defined(__ARM_NEON)
#error "gemm_s8s8s32_4x4c16__neon needs AArch64 AdvSIMD"
#endif

#include <arm_neon.h>
#include <string.h>

#include "kernels/kernels.h"
#include "tile_edges.h"

#define MR 4
#define NR 4
#define KSTEP 16

/* c[r, s] partial sums (v<acc>) += the 16 products of v<ar> and v<br>. */
#define MAC(acc, ar, br)                                    \
    "smull v8.8h, v" ar ".8b, v" br ".8b\n\t"               \
    "smull2 v9.8h, v" ar ".16b, v" br ".16b\n\t"            \
    "sadalp v" acc ".4s, v8.8h\n\t"                         \
    "sadalp v" acc ".4s, v9.8h\n\t"
/* The same for the first step: SADDLP sets the partial sums (no zeroing needed). */
#define MAC_FIRST(acc, ar, br)                              \
    "smull v8.8h, v" ar ".8b, v" br ".8b\n\t"               \
    "smull2 v9.8h, v" ar ".16b, v" br ".16b\n\t"            \
    "saddlp v" acc ".4s, v8.8h\n\t"                         \
    "sadalp v" acc ".4s, v9.8h\n\t"
#define ROW(M, ar, c0, c1, c2, c3) M(c0, ar, "4") M(c1, ar, "5") M(c2, ar, "6") M(c3, ar, "7")
#define ROWS(M)                                                                                                    \
    ROW(M, "0", "16", "17", "18", "19") ROW(M, "1", "20", "21", "22", "23") ROW(M, "2", "24", "25", "26", "27")    \
        ROW(M, "3", "28", "29", "30", "31")
#define LOAD_AB                                                                                                    \
    "ldr q0, [%[a0]], #16\n\tldr q1, [%[a1]], #16\n\tldr q2, [%[a2]], #16\n\tldr q3, [%[a3]], #16\n\t"            \
    "ldr q4, [%[b0]], #16\n\tldr q5, [%[b1]], #16\n\tldr q6, [%[b2]], #16\n\tldr q7, [%[b3]], #16\n\t"
/* Lane s of v<dst> = the sum of c[r, s]'s 4 partial sums, plus its bias. */
#define FOLD(dst, c0, c1, c2, c3)                           \
    "addp v" c0 ".4s, v" c0 ".4s, v" c1 ".4s\n\t"           \
    "addp v" c2 ".4s, v" c2 ".4s, v" c3 ".4s\n\t"           \
    "addp v" dst ".4s, v" c0 ".4s, v" c2 ".4s\n\t"          \
    "add v" dst ".4s, v" dst ".4s, %[bias].4s\n\t"

/* One tile: rows a0 ... a3 against rows b0 ... b3 (steps >= 1 steps of 16 k, then
 * the 64-byte zero-padded tails at ta, tb unless ta is NULL), plus bias, to
 * d0 ... d3. */
static inline void tile_4x4(const int8_t *a0, const int8_t *a1, const int8_t *a2, const int8_t *a3,
                            const int8_t *b0, const int8_t *b1, const int8_t *b2, const int8_t *b3, size_t steps,
                            const int8_t *ta, const int8_t *tb, int32x4_t bias, int32_t *d0, int32_t *d1, int32_t *d2,
                            int32_t *d3) {
    __asm__ volatile(
        LOAD_AB ROWS(MAC_FIRST)
        "subs %[n], %[n], #1\n\t"
        "b.eq 2f\n"
        "1:\n\t"
        LOAD_AB ROWS(MAC)
        "subs %[n], %[n], #1\n\t"
        "b.ne 1b\n"
        "2:\n\t"
        "cbz %[ta], 3f\n\t"
        "ldr q0, [%[ta]]\n\tldr q1, [%[ta], #16]\n\tldr q2, [%[ta], #32]\n\tldr q3, [%[ta], #48]\n\t"
        "ldr q4, [%[tb]]\n\tldr q5, [%[tb], #16]\n\tldr q6, [%[tb], #32]\n\tldr q7, [%[tb], #48]\n\t"
        ROWS(MAC)
        "3:\n\t"
        FOLD("0", "16", "17", "18", "19") FOLD("1", "20", "21", "22", "23")
        FOLD("2", "24", "25", "26", "27") FOLD("3", "28", "29", "30", "31")
        "str q0, [%[d0]]\n\tstr q1, [%[d1]]\n\tstr q2, [%[d2]]\n\tstr q3, [%[d3]]\n\t"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [b0] "+r"(b0), [b1] "+r"(b1), [b2] "+r"(b2),
          [b3] "+r"(b3), [n] "+r"(steps)
        : [ta] "r"(ta), [tb] "r"(tb), [bias] "w"(bias), [d0] "r"(d0), [d1] "r"(d1), [d2] "r"(d2), [d3] "r"(d3)
        : "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v16", "v17", "v18", "v19", "v20", "v21", "v22",
          "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31", "cc", "memory");
}

void gemm_s8s8s32_4x4c16__neon(size_t m, size_t n, size_t k_len, const int8_t *a, size_t lda, const int8_t *b,
                               size_t ldb, const int32_t *bias, int32_t *c, size_t ldc) {
    const size_t k_main = k_len & ~(size_t)(KSTEP - 1), steps = k_main / KSTEP;
    int8_t tail_a[MR][KSTEP], tail_b[NR][KSTEP];
    int32_t tile[MR][NR];
    for (size_t j0 = 0; j0 < n; j0 += NR) {
        const size_t nr = n - j0 < NR ? n - j0 : NR;
        const int8_t *b0 = b + j0 * ldb, *b1 = b + (j0 + tile_row(1, nr)) * ldb, *b2 = b + (j0 + tile_row(2, nr)) * ldb,
                     *b3 = b + (j0 + tile_row(3, nr)) * ldb;
        int32_t bias4[NR] = {0};
        if (bias) memcpy(bias4, bias + j0, nr * sizeof *bias4);
        const int32x4_t vbias = vld1q_s32(bias4);
        size_t i0 = 0;
        /* whole tiles (4 rows, 4 columns, k a multiple of 16) go straight to c */
        if (k_main == k_len && steps > 0 && nr == NR) {
            for (; i0 + MR <= m; i0 += MR) {
                const int8_t *ar = a + i0 * lda;
                int32_t *cr = c + i0 * ldc + j0;
                tile_4x4(ar, ar + lda, ar + 2 * lda, ar + 3 * lda, b0, b1, b2, b3, steps, NULL, NULL, vbias, cr,
                         cr + ldc, cr + 2 * ldc, cr + 3 * ldc);
            }
        }
        if (i0 < m && k_main < k_len)
            copy_tail_rows4(b0 + k_main, b1 + k_main, b2 + k_main, b3 + k_main, k_len - k_main, tail_b, KSTEP);
        for (; i0 < m; i0 += MR) {
            const size_t mr = m - i0 < MR ? m - i0 : MR;
            const int8_t *a0 = a + i0 * lda, *a1 = a + (i0 + tile_row(1, mr)) * lda,
                         *a2 = a + (i0 + tile_row(2, mr)) * lda, *a3 = a + (i0 + tile_row(3, mr)) * lda;
            const int8_t *ta = NULL;
            if (k_main < k_len) {
                copy_tail_rows4(a0 + k_main, a1 + k_main, a2 + k_main, a3 + k_main, k_len - k_main, tail_a, KSTEP);
                ta = &tail_a[0][0];
            }
            if (steps == 0) /* k < 16: the tail is the (first and only) step */
                tile_4x4(tail_a[0], tail_a[1], tail_a[2], tail_a[3], tail_b[0], tail_b[1], tail_b[2], tail_b[3], 1,
                         NULL, NULL, vbias, tile[0], tile[1], tile[2], tile[3]);
            else
                tile_4x4(a0, a1, a2, a3, b0, b1, b2, b3, steps, ta, &tail_b[0][0], vbias, tile[0], tile[1], tile[2],
                         tile[3]);
            int32_t *cr = c + i0 * ldc + j0;
            for (size_t r = 0; r < mr; r++) memcpy(cr + r * ldc, tile[r], nr * sizeof *cr);
        }
    }
}
