/* dot_4x16c4__neondot.h: the register tile every dotprod GEMM runs: 4 rows x 16
 * columns of int32 in 16 accumulators, one lane-indexed SDOT per row, column quad
 * and 4-k group (the DOT_ASM_* pieces), and the loop over rows of a plain a that
 * q.k^T and P.V drive it with (dot_4x16c4_rows; the linear GEMM interleaves its
 * rows first and has its own).
 *
 * The packed operand is a run of 64-byte groups: 4 k of 16 columns, column s's 4
 * bytes at 4s, as many groups as k needs rounded up to a multiple of 4 (16 k),
 * zero-padded (packw_s8s32_16x4 writes weights so at load; the q.k^T and P.V
 * kernels pack their b on the stack so). A row of the other operand is one
 * 16-byte load holding 16 k, i.e. 4 groups, lane g of its 32-bit view being
 * group g.
 *
 * The tile is one assembly block. GCC 12 compiles the same loop in intrinsics to
 * 79 instructions per 16 k (register-offset loads plus address arithmetic; with
 * pre-RA scheduling it also spills); here every pointer step is a post-indexed
 * load: per 16 k, 4 loads of a (and 4 EORs when flip), 4 loads of w, 64 SDOTs,
 * and SUBS and B.NE once per 32 k: 73 in all. Registers: v0-v3 the rows of a,
 * v4-v7 a group of w, v16 + 4r + q the accumulator of row r and columns
 * 4q ... 4q + 3. */
#ifndef IBERT_DOT_4X16C4_NEONDOT_H
#define IBERT_DOT_4X16C4_NEONDOT_H

#if !defined(__ARM_FEATURE_DOTPROD)
#error "dot_4x16c4__neondot.h needs the dotprod extension (-march=armv8.2-a+dotprod)"
#endif

#include <arm_neon.h>

#include "tile_edges.h"

#define DOT_MR 4
#define DOT_NR 16
#define DOT_KGROUP 4
#define DOT_KBLOCK 16 /* k per row load: 4 groups; packed k is padded to it */
#define DOT_GROUP_BYTES (DOT_NR * DOT_KGROUP)

/* The 4-k groups a packed operand of k has: k rounded up to 16, over 4. */
#define DOT_GROUPS(k) (((k) + DOT_KBLOCK - 1) / DOT_KBLOCK * (DOT_KBLOCK / DOT_KGROUP))

#define DOT_ASM_SDOT(acc, wreg, areg, lane) "sdot v" acc ".4s, " wreg ".16b, " areg ".4b[" lane "]\n\t"
/* Row r (accumulators v<r0> ... v<r3>) += group `lane` of the row in areg. */
#define DOT_ASM_ROW(r0, r1, r2, r3, areg, lane)                                                                   \
    DOT_ASM_SDOT(r0, "v4", areg, lane) DOT_ASM_SDOT(r1, "v5", areg, lane) DOT_ASM_SDOT(r2, "v6", areg, lane)       \
        DOT_ASM_SDOT(r3, "v7", areg, lane)
#define DOT_ASM_GROUP(lane)                                                                                        \
    "ld1 {v4.16b-v7.16b}, [%[wp]], #64\n\t" DOT_ASM_ROW("16", "17", "18", "19", "v0", lane)                        \
        DOT_ASM_ROW("20", "21", "22", "23", "v1", lane) DOT_ASM_ROW("24", "25", "26", "27", "v2", lane)            \
            DOT_ASM_ROW("28", "29", "30", "31", "v3", lane)
/* 16 k: the 4 rows' bytes (XOR flip), then the 4 groups. */
#define DOT_ASM_BLOCK(flip)                                                                                        \
    flip DOT_ASM_GROUP("0") DOT_ASM_GROUP("1") DOT_ASM_GROUP("2") DOT_ASM_GROUP("3")
#define DOT_ASM_FLIP                                                                                               \
    "eor v0.16b, v0.16b, %[flip].16b\n\teor v1.16b, v1.16b, %[flip].16b\n\t"                                        \
    "eor v2.16b, v2.16b, %[flip].16b\n\teor v3.16b, v3.16b, %[flip].16b\n\t"
#define DOT_ASM_LOAD_A                                                                                             \
    "ldr q0, [%[a0]], #16\n\tldr q1, [%[a1]], #16\n\tldr q2, [%[a2]], #16\n\tldr q3, [%[a3]], #16\n\t"
/* The whole tile: start values, blocks of 16 k two at a time (the loop control
 * then costs 1 instruction per 64 SDOTs), the zero-padded tail, the stores. */
#define DOT_ASM_TILE(flip)                                                                                         \
    "ld1 {v16.4s-v19.4s}, [%[start]]\n\t"                                                                          \
    "ld1 {v20.4s-v23.4s}, [%[start]]\n\t"                                                                          \
    "ld1 {v24.4s-v27.4s}, [%[start]]\n\t"                                                                          \
    "ld1 {v28.4s-v31.4s}, [%[start]]\n\t"                                                                          \
    "cbz %[n], 2f\n\t"                                                                                             \
    "tbz %[n], #0, 1f\n\t" /* an odd count: one block, then pairs */                                              \
    DOT_ASM_LOAD_A DOT_ASM_BLOCK(flip)                                                                             \
    "subs %[n], %[n], #1\n\t"                                                                                      \
    "b.eq 2f\n"                                                                                                    \
    "1:\n\t"                                                                                                       \
    DOT_ASM_LOAD_A DOT_ASM_BLOCK(flip) DOT_ASM_LOAD_A DOT_ASM_BLOCK(flip)                                          \
    "subs %[n], %[n], #2\n\t"                                                                                      \
    "b.ne 1b\n"                                                                                                    \
    "2:\n\t"                                                                                                       \
    "cbz %[tail], 3f\n\t"                                                                                          \
    "ldr q0, [%[tail]]\n\tldr q1, [%[tail], #16]\n\tldr q2, [%[tail], #32]\n\tldr q3, [%[tail], #48]\n\t"           \
    DOT_ASM_BLOCK(flip)                                                                                            \
    "3:\n\t"                                                                                                       \
    "st1 {v16.4s-v19.4s}, [%[d0]]\n\t"                                                                             \
    "st1 {v20.4s-v23.4s}, [%[d1]]\n\t"                                                                             \
    "st1 {v24.4s-v27.4s}, [%[d2]]\n\t"                                                                             \
    "st1 {v28.4s-v31.4s}, [%[d3]]\n\t"
#define DOT_ASM_OPERANDS                                                                                           \
    [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [wp] "+r"(wp), [n] "+r"(blocks)                   \
    : [start] "r"(start), [tail] "r"(tail_rows), [d0] "r"(d0), [d1] "r"(d1), [d2] "r"(d2), [d3] "r"(d3),          \
      [flip] "w"(vdupq_n_u8(0x80))
#define DOT_ASM_CLOBBERS                                                                                           \
    "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", \
        "v25", "v26", "v27", "v28", "v29", "v30", "v31", "cc", "memory"

/* One tile: rows a0 ... a3 (blocks of 16 k, then the 64-byte zero-padded tail at
 * tail_rows unless NULL) times the packed columns at w, from start, to d0 ... d3. */
static inline void dot_4x16c4_tile(const int8_t *a0, const int8_t *a1, const int8_t *a2, const int8_t *a3,
                                   size_t blocks, const int8_t *tail_rows, int flip, const int8_t *w,
                                   const int32_t *start, int32_t *d0, int32_t *d1, int32_t *d2, int32_t *d3) {
    const int8_t *wp = w;
    if (flip)
        __asm__ volatile(DOT_ASM_TILE(DOT_ASM_FLIP) : DOT_ASM_OPERANDS : DOT_ASM_CLOBBERS);
    else
        __asm__ volatile(DOT_ASM_TILE("") : DOT_ASM_OPERANDS : DOT_ASM_CLOBBERS);
}

/* For all m rows of a (row stride lda, k bytes each; XOR 0x80 when flip, which
 * turns uint8 p into p - 128 as int8) and the 16 packed columns at w:
 * c[i, 0 ... nr - 1] = start + sum_k a[i, k] w[k], or c += that when add. While
 * tiles are whole (4 rows, 16 columns, no add, k a multiple of 16) they go
 * straight to c with no per-tile bookkeeping; any other tile goes through a copy,
 * its rows past m repeating the last (computed, not stored) and the k % 16 tail
 * of its rows through a zero-padded copy, whose padding meets the packer's zeros. */
static inline void dot_4x16c4_rows(size_t m, size_t k, const int8_t *a, size_t lda, int flip, const int8_t *w,
                                   const int32_t start[DOT_NR], int32_t *c, size_t ldc, size_t nr, int add) {
    const size_t k_main = k & ~(size_t)(DOT_KBLOCK - 1), blocks = k_main / DOT_KBLOCK;
    size_t i0 = 0;
    if (k_main == k && nr == DOT_NR && !add) {
        for (; i0 + DOT_MR <= m; i0 += DOT_MR) {
            const int8_t *ar = a + i0 * lda;
            int32_t *cr = c + i0 * ldc;
            dot_4x16c4_tile(ar, ar + lda, ar + 2 * lda, ar + 3 * lda, blocks, NULL, flip, w, start, cr, cr + ldc,
                            cr + 2 * ldc, cr + 3 * ldc);
        }
    }
    int8_t tail[DOT_MR][DOT_KBLOCK];
    int32_t tile[DOT_MR][DOT_NR];
    for (; i0 < m; i0 += DOT_MR) {
        const size_t mr = m - i0 < DOT_MR ? m - i0 : DOT_MR;
        const int8_t *a0 = a + i0 * lda, *a1 = a + (i0 + tile_row(1, mr)) * lda,
                     *a2 = a + (i0 + tile_row(2, mr)) * lda, *a3 = a + (i0 + tile_row(3, mr)) * lda;
        const int8_t *tail_rows = NULL;
        if (k_main < k) {
            copy_tail_rows4(a0 + k_main, a1 + k_main, a2 + k_main, a3 + k_main, k - k_main, tail, DOT_KBLOCK);
            tail_rows = &tail[0][0];
        }
        dot_4x16c4_tile(a0, a1, a2, a3, blocks, tail_rows, flip, w, start, tile[0], tile[1], tile[2], tile[3]);
        int32_t *cr = c + i0 * ldc;
        for (size_t r = 0; r < mr; r++)
            for (size_t s = 0; s < nr; s++) cr[r * ldc + s] = (add ? cr[r * ldc + s] : 0) + tile[r][s];
    }
}

#endif
