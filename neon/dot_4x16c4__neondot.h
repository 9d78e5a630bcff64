/* dot_4x16c4__neondot.h: the register tile every dotprod GEMM runs, and the loop
 * over rows that drives it (dot_4x16c4_rows): 4 rows x 16 columns of int32 in 16
 * named accumulators c<row><column quad>, one lane-indexed SDOT per row, column
 * quad and 4-k group.
 *
 * The packed operand is a run of 64-byte groups: 4 k of 16 columns, column s's 4
 * bytes at 4s (packw_s8s32_16x4 writes weights so at load; the q.k^T and P.V
 * kernels pack their b on the stack so). A row of the other operand is one
 * int8x16_t holding 16 k, i.e. 4 groups, lane g of its 32-bit view being group g.
 *
 * Macros, not functions with arrays: GCC keeps arrays of vectors in memory. Files
 * that include this build with -fno-schedule-insns (neon/CMakeLists.txt): with
 * pre-RA scheduling GCC loads all four groups of a 16-k step at once and spills. */
#ifndef IBERT_DOT_4X16C4_NEONDOT_H
#define IBERT_DOT_4X16C4_NEONDOT_H

#if !defined(__ARM_FEATURE_DOTPROD)
#error "dot_4x16c4__neondot.h needs the dotprod extension (-march=armv8.2-a+dotprod)"
#endif

#include <arm_neon.h>
#include <string.h>

#define DOT_MR 4
#define DOT_NR 16
#define DOT_KGROUP 4
#define DOT_KBLOCK 16 /* k per row load: 4 groups */
#define DOT_GROUP_BYTES (DOT_NR * DOT_KGROUP)

/* Declares the 16 accumulators, each row starting at the column quads q0..q3. */
#define DOT_TILE_INIT(q0, q1, q2, q3)                                                                              \
    int32x4_t c00 = (q0), c01 = (q1), c02 = (q2), c03 = (q3), c10 = (q0), c11 = (q1), c12 = (q2), c13 = (q3),      \
              c20 = (q0), c21 = (q1), c22 = (q2), c23 = (q3), c30 = (q0), c31 = (q1), c32 = (q2), c33 = (q3)

/* Row r's accumulators += group g of va (lane g) times the group's 16 columns w. */
#define DOT_ROW_GROUP(r, va, w, g)                              \
    do {                                                        \
        c##r##0 = vdotq_laneq_s32(c##r##0, (w).val[0], va, g);  \
        c##r##1 = vdotq_laneq_s32(c##r##1, (w).val[1], va, g);  \
        c##r##2 = vdotq_laneq_s32(c##r##2, (w).val[2], va, g);  \
        c##r##3 = vdotq_laneq_s32(c##r##3, (w).val[3], va, g);  \
    } while (0)

/* All 4 rows (a0..a3) += group g; wp (const int8_t *) steps past the group. */
#define DOT_GROUP(g)                                      \
    do {                                                  \
        const int8x16x4_t w_ = vld1q_s8_x4(wp);           \
        wp += DOT_GROUP_BYTES;                            \
        DOT_ROW_GROUP(0, a0, w_, g);                      \
        DOT_ROW_GROUP(1, a1, w_, g);                      \
        DOT_ROW_GROUP(2, a2, w_, g);                      \
        DOT_ROW_GROUP(3, a3, w_, g);                      \
    } while (0)

/* The first 1 ... 4 groups (a k tail of 1 ... 16), never reading a group past it. */
#define DOT_GROUPS(count)          \
    do {                           \
        DOT_GROUP(0);              \
        if ((count) > 1) DOT_GROUP(1); \
        if ((count) > 2) DOT_GROUP(2); \
        if ((count) > 3) DOT_GROUP(3); \
    } while (0)

/* Writes a row's 16 results to c (adds them to c's values when add), or its first
 * nr through a copy. */
static inline void dot_store_row(int32_t *c, size_t nr, int add, int32x4_t v0, int32x4_t v1, int32x4_t v2,
                                 int32x4_t v3) {
    int32_t row[DOT_NR];
    int32_t *dst = nr == DOT_NR ? c : row;
    if (dst == row && add) memcpy(row, c, nr * sizeof *c);
    if (add) {
        v0 = vaddq_s32(v0, vld1q_s32(dst));
        v1 = vaddq_s32(v1, vld1q_s32(dst + 4));
        v2 = vaddq_s32(v2, vld1q_s32(dst + 8));
        v3 = vaddq_s32(v3, vld1q_s32(dst + 12));
    }
    vst1q_s32(dst, v0);
    vst1q_s32(dst + 4, v1);
    vst1q_s32(dst + 8, v2);
    vst1q_s32(dst + 12, v3);
    if (dst == row) memcpy(c, row, nr * sizeof *c);
}

/* Stores (or adds, when add) the tile's first mr rows; rows past them repeat the last. */
#define DOT_TILE_STORE(c, ldc, mr, nr, add)                                                  \
    do {                                                                                     \
        dot_store_row((c), (nr), (add), c00, c01, c02, c03);                                 \
        if ((mr) > 1) dot_store_row((c) + (ldc), (nr), (add), c10, c11, c12, c13);           \
        if ((mr) > 2) dot_store_row((c) + 2 * (ldc), (nr), (add), c20, c21, c22, c23);       \
        if ((mr) > 3) dot_store_row((c) + 3 * (ldc), (nr), (add), c30, c31, c32, c33);       \
    } while (0)

/* Row r's 16 bytes at k, XOR flip (0x80 turns uint8 p into p - 128 as int8; 0 keeps int8). */
#define DOT_LOAD(ar, k, flip) vreinterpretq_s8_u8(veorq_u8(vld1q_u8((const uint8_t *)(ar) + (k)), (flip)))

/* For all m rows of a (row stride lda, k bytes each, XOR flip) and the 16 packed
 * columns at w (groups of 4 k, as many as k needs): c[i, 0 ... nr - 1] = start +
 * sum_k a[i, k] w[k] (added to c's values when add). Rows past m repeat the last
 * (computed, not stored); the k % 16 tail goes through a zero-padded copy, whose
 * padding meets the packer's zeros or groups that are not read. */
static inline void dot_4x16c4_rows(size_t m, size_t k, const int8_t *a, size_t lda, uint8x16_t flip, const int8_t *w,
                                   int32x4_t start0, int32x4_t start1, int32x4_t start2, int32x4_t start3, int32_t *c,
                                   size_t ldc, size_t nr, int add) {
    const size_t k_main = k & ~(size_t)(DOT_KBLOCK - 1);
    const size_t tail_groups = (k - k_main + DOT_KGROUP - 1) / DOT_KGROUP;
    for (size_t i0 = 0; i0 < m; i0 += DOT_MR) {
        const size_t mr = m - i0 < DOT_MR ? m - i0 : DOT_MR;
        const int8_t *ar0 = a + i0 * lda, *ar1 = a + (i0 + (mr > 1 ? 1 : 0)) * lda,
                     *ar2 = a + (i0 + (mr > 2 ? 2 : mr - 1)) * lda, *ar3 = a + (i0 + (mr > 3 ? 3 : mr - 1)) * lda;
        DOT_TILE_INIT(start0, start1, start2, start3);
        const int8_t *wp = w;
        for (size_t kk = 0; kk < k_main; kk += DOT_KBLOCK) {
            const int8x16_t a0 = DOT_LOAD(ar0, kk, flip), a1 = DOT_LOAD(ar1, kk, flip), a2 = DOT_LOAD(ar2, kk, flip),
                            a3 = DOT_LOAD(ar3, kk, flip);
            DOT_GROUP(0);
            DOT_GROUP(1);
            DOT_GROUP(2);
            DOT_GROUP(3);
        }
        if (tail_groups) {
            int8_t tail[DOT_MR][DOT_KBLOCK];
            memset(tail, 0, sizeof tail);
            memcpy(tail[0], ar0 + k_main, k - k_main);
            memcpy(tail[1], ar1 + k_main, k - k_main);
            memcpy(tail[2], ar2 + k_main, k - k_main);
            memcpy(tail[3], ar3 + k_main, k - k_main);
            const int8x16_t a0 = DOT_LOAD(tail[0], 0, flip), a1 = DOT_LOAD(tail[1], 0, flip),
                            a2 = DOT_LOAD(tail[2], 0, flip), a3 = DOT_LOAD(tail[3], 0, flip);
            DOT_GROUPS(tail_groups);
        }
        DOT_TILE_STORE(c + i0 * ldc, ldc, mr, nr, add);
    }
}

#endif
