/* linear_s8s8s32_4x4c16__neon: a linear layer, c = bias + a w^T, with baseline
 * AArch64 AdvSIMD (Cortex-A72: no dotprod) on weights packed at load by
 * packw_s8s32_4x16 (blocks of 4 columns: the 4 biases, then 16 k per column).
 *
 * For every 4 rows of a and up to CHUNK k, the rows are first interleaved on the
 * stack, 16 k of each row after the other (zero-padded to 4 rows and to 16 k), so
 * that one 64-byte load gives a 16-k step of all four; then one assembly loop runs
 * every whole 4-column block of w over that copy.
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
 * Per 16 k: one 64-byte load of a, one of w and 48 multiply-add steps (3 per 16
 * multiply-accumulates, the floor for AdvSIMD without dotprod): 50. The k loop is
 * unrolled 8 times: when the 16-k steps are a multiple of 8 (every MiniLM/BERT
 * width) the first 128 k run straight and CMP and B.NE come once per further 128 k;
 * other counts first take single steps until a multiple of 8 remains. Per tile,
 * besides: resetting a's pointer, the biases (one load, the same 4 for every row),
 * three ADDPs and an ADD per row to fold the partial sums, 4 stores, and SUBS and
 * B.NE to the next block: 28 for k = 384 (2.3% of the tile's 1,228). A row
 * block's tiles are one assembly loop (GCC 12 adds address arithmetic and,
 * scheduled, spills; a call per tile saved d8-d15). No tile the 32 registers hold
 * needs fewer loads per product (4 x 5, 3 x 8: as many or more), so the loads (2
 * per 48 multiply-add steps) and the fold (20 per tile) are this kernel's floor
 * above the multiply-adds.
 *
 * Registers: v0-v3 the rows of a, v4-v7 the columns of w, v8-v11 int16 pair sums,
 * v12-v15 the rows' starts, v16 + 4r + s the partial sums of c[r, s]. When k
 * takes several chunks, c gets the biases first and every chunk adds to c. One row
 * alone (m = 1: the last layer of a classifier, which needs only the first token)
 * runs 1 x 4 tiles, 14 instructions per 16 k instead of 50 for a 4-row tile of
 * which 3 rows would be zeros. Other rows past m and columns past j1 are computed
 * from zeros into a copy and not stored. */
#if !defined(__aarch64__) || !defined(__ARM_NEON)
#error "linear_s8s8s32_4x4c16__neon needs AArch64 AdvSIMD"
#endif

#include <string.h>

#include "kernels/kernels.h"

#define MR 4
#define NR 4
#define KSTEP 16
#define UNROLL 8 /* 16-k steps per pass of the k loop: loop control once per 128 k */
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
/* One 16-k step: a's 4 rows and w's 4 columns in one 64-byte load each, 48 products. */
#define ROWS4(P)                                                                                                   \
    "ld1 {v0.16b-v3.16b}, [%[ap]], #64\n\t"                                                                        \
    "ld1 {v4.16b-v7.16b}, [%[wp]], #64\n\t" ROW(P, "0", "16", "17", "18", "19") ROW(P, "1", "20", "21", "22", "23")  \
        ROW(P, "2", "24", "25", "26", "27") ROW(P, "3", "28", "29", "30", "31")
/* The same for one row (m = 1: the last layer of a classifier): row 0 of a's copy. */
#define ROWS1(P)                                                                                                   \
    "ldr q0, [%[ap]], #64\n\t"                                                                                   \
    "ld1 {v4.16b-v7.16b}, [%[wp]], #64\n\t" ROW(P, "0", "16", "17", "18", "19")
#define STEPS(n, STEP) ".rept " #n "\n\t" STEP ".endr\n\t"

/* The k loop of a tile of exactly UNROLL steps. */
#define K_ONE(ROWS) ROWS(PAIR_FIRST) STEPS(7, ROWS(PAIR))
/* Of a multiple of UNROLL steps, at least 2 UNROLL: the first UNROLL steps, then
 * UNROLL at a time until ap reaches the end of a's copy. */
#define K_BLOCKS(ROWS)                                                        \
    K_ONE(ROWS)                                                               \
    "5:\n\t" STEPS(8, ROWS(PAIR))                                             \
    "cmp %[ap], %[ae]\n\t"                                                    \
    "b.ne 5b\n\t"
/* Any other count: the first step, single steps up to am (which leaves a multiple of
 * UNROLL), then UNROLL at a time. */
#define K_ANY(ROWS)                                                           \
    ROWS(PAIR_FIRST)                                                          \
    "cmp %[ap], %[am]\n\t"                                                    \
    "b.eq 3f\n"                                                               \
    "2:\n\t" ROWS(PAIR)                                                       \
    "cmp %[ap], %[am]\n\t"                                                    \
    "b.ne 2b\n"                                                               \
    "3:\n\t"                                                                  \
    "cmp %[ap], %[ae]\n\t"                                                    \
    "b.eq 4f\n"                                                               \
    "5:\n\t" STEPS(8, ROWS(PAIR))                                             \
    "cmp %[ap], %[ae]\n\t"                                                    \
    "b.ne 5b\n"                                                               \
    "4:\n\t"
_Static_assert(UNROLL == 8, "K_ONE, K_BLOCKS and K_ANY spell out UNROLL as 1 + 7 and 8");

/* Row r's fold: lane s of v<dst> = v<start>[s] + the sum of c[r, s]'s 4 partial sums. */
#define FOLD(dst, start, c0, c1, c2, c3)                    \
    "addp v" c0 ".4s, v" c0 ".4s, v" c1 ".4s\n\t"           \
    "addp v" c2 ".4s, v" c2 ".4s, v" c3 ".4s\n\t"           \
    "addp v" dst ".4s, v" c0 ".4s, v" c2 ".4s\n\t"          \
    "add v" dst ".4s, v" dst ".4s, v" start ".4s\n\t"
#define FOLDS4(s0, s1, s2, s3)                                                                          \
    FOLD("0", s0, "16", "17", "18", "19") FOLD("1", s1, "20", "21", "22", "23")                         \
        FOLD("2", s2, "24", "25", "26", "27") FOLD("3", s3, "28", "29", "30", "31")                     \
            "str q0, [%[d0]], #16\n\tstr q1, [%[d1]], #16\n\tstr q2, [%[d2]], #16\n\tstr q3, [%[d3]], #16\n\t"
#define FOLDS1(s0) FOLD("0", s0, "16", "17", "18", "19") "str q0, [%[d0]], #16\n\t"
/* A layer of one chunk starts from the block's biases (the same 4 for every row),
 * which precede its weights, so wp ends at the next block. With several chunks c
 * holds the biases first, every chunk starts from c's values, and wp moves on by ws
 * from a tile's last weights to the next block's chunk. */
#define BIAS_4(KLOOP) "ldr q12, [%[wp]], #16\n\t" KLOOP FOLDS4("12", "12", "12", "12")
#define FROM_C_4(KLOOP)                                                                                 \
    KLOOP "ldr q12, [%[d0]]\n\tldr q13, [%[d1]]\n\tldr q14, [%[d2]]\n\tldr q15, [%[d3]]\n\t"          \
        FOLDS4("12", "13", "14", "15") "add %[wp], %[wp], %[ws]\n\t"
#define BIAS_1(KLOOP) "ldr q12, [%[wp]], #16\n\t" KLOOP FOLDS1("12")
#define FROM_C_1(KLOOP) KLOOP "ldr q12, [%[d0]]\n\t" FOLDS1("12") "add %[wp], %[wp], %[ws]\n\t"
/* nb tiles along w's column blocks: a's copy from its start each time, wp on to the
 * next block, d0 ... by 4 columns. */
#define TILES(BODY, ...)                                                                                \
    __asm__ volatile("1:\n\t"                                                                           \
                     "mov %[ap], %[a]\n\t" BODY                                                         \
                     "subs %[nb], %[nb], #1\n\t"                                                        \
                     "b.ne 1b\n\t"                                                                      \
                     : [ap] "=&r"(ap), [wp] "+r"(w), [nb] "+r"(nb), __VA_ARGS__                         \
                     : [a] "r"(rows), [ae] "r"(a_end), [am] "r"(a_mid), [ws] "r"(ws)                    \
                     : "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12",  \
                       "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", \
                       "v25", "v26", "v27", "v28", "v29", "v30", "v31", "cc", "memory")
/* The k loop for `steps`: from the biases K_ONE or K_BLOCKS when they fit, else
 * K_ANY; from c (k > CHUNK, rare) always K_ANY, which handles every count (a
 * multiple of 8 pays 7 single steps' loop control: 0.2% of a 2048-k chunk) and
 * keeps the code to four loops. */
#define TILES_FOR(ROWS, BIAS, FROM_C, ...)                                                              \
    do {                                                                                                \
        const int8_t *ap;                                                                               \
        const int8_t *a_end = rows + steps * MR * KSTEP;                                                \
        /* K_ANY's single steps end where a multiple of UNROLL steps remains */                         \
        const int8_t *a_mid = rows + (1 + (steps - 1) % UNROLL) * MR * KSTEP;                           \
        if (!from_bias)                                                                                 \
            TILES(FROM_C(K_ANY(ROWS)), __VA_ARGS__);                                                    \
        else if (steps == UNROLL)                                                                       \
            TILES(BIAS(K_ONE(ROWS)), __VA_ARGS__);                                                      \
        else if (steps % UNROLL == 0)                                                                   \
            TILES(BIAS(K_BLOCKS(ROWS)), __VA_ARGS__);                                                   \
        else                                                                                            \
            TILES(BIAS(K_ANY(ROWS)), __VA_ARGS__);                                                      \
    } while (0)

/* Rows 0 ... mr - 1 of a, k 0 ... kc - 1, as [k / 16][4 rows][16] (zero-padded). */
static void interleave_rows(const int8_t *a, size_t lda, size_t mr, size_t kc, int8_t *dst) {
    const size_t k_main = kc & ~(size_t)(KSTEP - 1);
    if (mr == MR && k_main > 0) {
        /* 16 k of each row, then one 64-byte store: 7 instructions per step (GCC 12
         * builds vst1q_s8_x4's operand on the stack: 13) */
        const int8_t *r0 = a, *r1 = a + lda, *r2 = a + 2 * lda, *r3 = a + 3 * lda;
        int8_t *d = dst;
        size_t n = k_main / KSTEP;
        __asm__ volatile("1:\n\t"
                         "ldr q0, [%[r0]], #16\n\tldr q1, [%[r1]], #16\n\t"
                         "ldr q2, [%[r2]], #16\n\tldr q3, [%[r3]], #16\n\t"
                         "st1 {v0.16b-v3.16b}, [%[d]], #64\n\t"
                         "subs %[n], %[n], #1\n\t"
                         "b.ne 1b\n\t"
                         : [r0] "+r"(r0), [r1] "+r"(r1), [r2] "+r"(r2), [r3] "+r"(r3), [d] "+r"(d), [n] "+r"(n)
                         :
                         : "v0", "v1", "v2", "v3", "cc", "memory");
    } else if (mr < MR) {
        memset(dst, 0, k_main * MR);
        for (size_t kk = 0; kk < k_main; kk += KSTEP)
            for (size_t r = 0; r < mr; r++) memcpy(dst + kk * MR + r * KSTEP, a + r * lda + kk, KSTEP);
    }
    if (k_main == kc) return;
    int8_t *last = dst + k_main * MR;
    memset(last, 0, MR * KSTEP);
    for (size_t r = 0; r < mr; r++) memcpy(last + r * KSTEP, a + r * lda + k_main, kc - k_main);
}

/* noclone is GCC's (no IPA-CP clones); clang has no such attribute and warns about it. */
#if __has_attribute(noclone)
#define NOINLINE_NOCLONE __attribute__((noinline, noclone))
#else
#define NOINLINE_NOCLONE __attribute__((noinline))
#endif

/* nb (>= 1) tiles of 4 rows x 4 columns: `steps` (>= 1) 16-k steps of the
 * interleaved rows times one block's columns from w on. from_bias: w starts at the
 * block's biases and a tile adds them to every row, and the next block follows the
 * tile's weights; otherwise a tile adds d_r's values, and the next block's weights
 * for the chunk are ws bytes further. Row r of each tile goes to d_r, and d_r
 * moves on by 4 columns. Neither inlined nor cloned: one copy of the loops (9 KiB),
 * and d8-d15 saved once per call. */
static NOINLINE_NOCLONE void tiles_4x4(const int8_t *rows, size_t steps, const int8_t *w, size_t ws, size_t nb,
                                       int from_bias, int32_t *d0, int32_t *d1, int32_t *d2, int32_t *d3) {
    TILES_FOR(ROWS4, BIAS_4, FROM_C_4, [d0] "+r"(d0), [d1] "+r"(d1), [d2] "+r"(d2), [d3] "+r"(d3));
}

/* The same for row 0 of the copy alone (m = 1), into d0: a quarter of the work. */
static NOINLINE_NOCLONE void tiles_1x4(const int8_t *rows, size_t steps, const int8_t *w, size_t ws, size_t nb,
                                       int from_bias, int32_t *d0) {
    TILES_FOR(ROWS1, BIAS_1, FROM_C_1, [d0] "+r"(d0));
}

/* Columns j0 ... j1 - 1 of rows 0 ... mr - 1 of c = their biases. */
static void copy_biases(const void *packed, size_t block_bytes, size_t j0, size_t j1, size_t mr, int32_t *c,
                        size_t ldc) {
    for (size_t jb = j0; jb < j1; jb += NR) {
        const int8_t *bias = (const int8_t *)packed + jb / NR * block_bytes;
        const size_t nr = j1 - jb < NR ? j1 - jb : NR;
        for (size_t r = 0; r < mr; r++) memcpy(c + r * ldc + jb, bias, nr * sizeof *c);
    }
}

void linear_s8s8s32_4x4c16__neon(size_t m, size_t j0, size_t j1, size_t k, const int8_t *a, size_t lda,
                                 const void *packed, int32_t *c, size_t ldc) {
    int8_t rows[CHUNK * MR] __attribute__((aligned(64)));
    int32_t part[MR][NR];
    const size_t block_bytes = NR * sizeof(int32_t) + (k + KSTEP - 1) / KSTEP * NR * KSTEP;
    const size_t full_blocks = (j1 - j0) / NR; /* j0 is a multiple of NR */
    for (size_t i0 = 0; i0 < m; i0 += MR) {
        const size_t mr = m - i0 < MR ? m - i0 : MR;
        int32_t *ci = c + i0 * ldc;
        for (size_t k0 = 0; k0 < k; k0 += CHUNK) {
            const size_t kc = k - k0 < CHUNK ? k - k0 : CHUNK, steps = (kc + KSTEP - 1) / KSTEP;
            /* one chunk: from the biases; several: c gets the biases, then each chunk adds to c */
            const int from_bias = k <= CHUNK;
            if (!from_bias && k0 == 0) copy_biases(packed, block_bytes, j0, j1, mr, ci, ldc);
            const size_t w_at = from_bias ? 0 : NR * sizeof(int32_t) + k0 * NR;
            const size_t ws = block_bytes - steps * NR * KSTEP;
            const int8_t *w = (const int8_t *)packed + j0 / NR * block_bytes + w_at;
            interleave_rows(a + i0 * lda + k0, lda, mr, kc, rows);
            size_t jb = j0;
            if (mr == MR && full_blocks > 0) {
                tiles_4x4(rows, steps, w, ws, full_blocks, from_bias, ci + jb, ci + ldc + jb, ci + 2 * ldc + jb,
                          ci + 3 * ldc + jb);
                jb += full_blocks * NR;
            } else if (mr == 1 && full_blocks > 0) {
                tiles_1x4(rows, steps, w, ws, full_blocks, from_bias, ci + jb);
                jb += full_blocks * NR;
            }
            /* partial tiles (rows past m, columns past j1): through a copy of their part of c */
            for (; jb < j1; jb += NR) {
                const size_t nr = j1 - jb < NR ? j1 - jb : NR;
                if (!from_bias) {
                    memset(part, 0, sizeof part);
                    for (size_t r = 0; r < mr; r++) memcpy(part[r], ci + r * ldc + jb, nr * sizeof *ci);
                }
                tiles_4x4(rows, steps, w + (jb - j0) / NR * block_bytes, ws, 1, from_bias, part[0], part[1],
                          part[2], part[3]);
                for (size_t r = 0; r < mr; r++) memcpy(ci + r * ldc + jb, part[r], nr * sizeof *ci);
            }
        }
    }
}
