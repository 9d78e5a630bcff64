/* gemm_s8sxs32_2x4c16__neon: a low-bit linear layer (kernels.h, gemm_s8sxs32_fn)
 * with NEON, reading the file's packed 2/3/4/6-bit rows directly
 * (lowbit_unpack_neon.h): baseline AArch64 AdvSIMD (Cortex-A72: no dotprod) and
 * ARMv7-A NEON (Pi OS 32-bit) from one source, as the elementwise kernels.
 *
 * Tile: 2 rows x 4 columns, 16 k (one block) at a time. A column's block is
 * unpacked and made signed (q = u - 2^(bits-1), one SUB), and for each row and
 * column SMLAL and SMLAL2 add the 16 products x * q into 8 int16 lanes, 2 per lane.
 * Low-bit products are small (|x * q| <= 128 * 2^(bits-1)), so the int16 lanes take
 * FLUSH blocks (2 * FLUSH products, at most 2^14 in magnitude) before one SADALP
 * adds them pairwise into int32: 2 instructions per 16 multiply-accumulates plus
 * 1/FLUSH, where int8 needs 3 (SMULL, SMLAL2, SADALP). At a group's end the int32
 * sums are multiplied by the column's sub-scale into the totals (MLA by scalar).
 *
 * Exact: every int16 sum is bounded as above, every int32 sum is a part of the
 * contract's accumulator, in int32 under the loader's bound. The last chunk's rows
 * of a are copied into a zeroed buffer (the packed rows are padded with q = 0 to whole
 * chunks); a second row past m repeats the first and columns past j1 the last
 * column, neither stored. */
#if !defined(__ARM_NEON)
#error "gemm_s8sxs32_2x4c16__neon needs NEON (-mfpu=neon on 32-bit ARM)"
#endif

#include <arm_neon.h>
#include <string.h>

#include "kernels/kernels.h"
#include "lowbit_unpack_neon.h"

#define MR 2
#define NR 4
#define CHUNK 128

/* Blocks the int16 lanes take before SADALP: 2 * FLUSH * 128 * 2^(bits-1) = 2^14. */
static inline unsigned flush_blocks(unsigned bits) { return 64u >> (bits - 1); }

/* part + the products of the high halves (AArch64: SMLAL2; GCC 12 makes worse code
 * of the ARMv7 form there). */
static inline int16x8_t mla_high(int16x8_t part, int8x16_t a, int8x16_t w) {
#if defined(__aarch64__)
    return vmlal_high_s8(part, a, w);
#else
    return vmlal_s8(part, vget_high_s8(a), vget_high_s8(w));
#endif
}

/* One tile over k_len: tot[r][c] (4 partial int32 sums) += sum over groups of
 * s * sum q * x. bits and span (group / 16 blocks, 0: one group) are constants where
 * this is inlined. x[r] is row r's start; tail[r] its last chunk, zero-padded. */
static inline __attribute__((always_inline)) void tile(const unsigned bits, const unsigned span, size_t chunks,
                                                       const int8_t *const x[MR], const int8_t *const tail[MR],
                                                       const uint8_t *const col[NR], const uint8_t *const sub[NR],
                                                       size_t groups, int32x4_t tot[MR][NR]) {
    const size_t chunk_bytes = CHUNK / 8 * bits;
    const unsigned flush = flush_blocks(bits) < 8 ? flush_blocks(bits) : 8;
    const int8x16_t offset = vdupq_n_s8((int8_t)(1 << (bits - 1)));
    int32x4_t sum[MR][NR];
    int16x8_t part[MR][NR];
    for (size_t r = 0; r < MR; r++)
        for (size_t c = 0; c < NR; c++) {
            sum[r][c] = vdupq_n_s32(0);
            part[r][c] = vdupq_n_s16(0);
        }
    size_t g = 0;
    for (size_t ch = 0; ch < chunks; ch++) {
        const int8_t *xr[MR];
        for (size_t r = 0; r < MR; r++) xr[r] = ch + 1 == chunks ? tail[r] : x[r] + ch * CHUNK;
#pragma GCC unroll 8
        for (unsigned t = 0; t < CHUNK / 16; t++) {
            int8x16_t w[NR], a[MR];
#pragma GCC unroll 4
            for (size_t c = 0; c < NR; c++) w[c] = vsubq_s8(lowbit_block(col[c] + ch * chunk_bytes, bits, t), offset);
#pragma GCC unroll 2
            for (size_t r = 0; r < MR; r++) {
                a[r] = vld1q_s8(xr[r] + 16 * t);
#pragma GCC unroll 4
                for (size_t c = 0; c < NR; c++) {
                    part[r][c] = vmlal_s8(part[r][c], vget_low_s8(a[r]), vget_low_s8(w[c]));
                    part[r][c] = mla_high(part[r][c], a[r], w[c]);
                }
            }
            const int group_end = span != 0 && (t + 1) % span == 0;
            if (!group_end && (t + 1) % flush != 0) continue;
            for (size_t r = 0; r < MR; r++)
                for (size_t c = 0; c < NR; c++) {
                    sum[r][c] = vpadalq_s16(sum[r][c], part[r][c]);
                    part[r][c] = vdupq_n_s16(0);
                }
            if (!group_end) continue;
            if (g < groups)
                for (size_t r = 0; r < MR; r++)
                    for (size_t c = 0; c < NR; c++) tot[r][c] = vmlaq_n_s32(tot[r][c], sum[r][c], sub[c][g]);
            g++;
            for (size_t r = 0; r < MR; r++)
                for (size_t c = 0; c < NR; c++) sum[r][c] = vdupq_n_s32(0);
        }
    }
    if (span == 0)
        for (size_t r = 0; r < MR; r++)
            for (size_t c = 0; c < NR; c++) tot[r][c] = vmlaq_n_s32(tot[r][c], sum[r][c], sub[c][0]);
}

typedef void (*tile_fn)(size_t chunks, const int8_t *const x[MR], const int8_t *const tail[MR],
                        const uint8_t *const col[NR], const uint8_t *const sub[NR], size_t groups,
                        int32x4_t tot[MR][NR]);
/* one function per width and group span, so every shift is an immediate */
#define TILE_FN(bits, span)                                                                                        \
    static __attribute__((noinline)) void tile_##bits##_##span(                                                    \
        size_t chunks, const int8_t *const x[MR], const int8_t *const tail[MR], const uint8_t *const col[NR],      \
        const uint8_t *const sub[NR], size_t groups, int32x4_t tot[MR][NR]) {                                      \
        tile(bits, span, chunks, x, tail, col, sub, groups, tot);                                                  \
    }
#define TILE_FNS(bits) TILE_FN(bits, 0) TILE_FN(bits, 2) TILE_FN(bits, 4) TILE_FN(bits, 8)
TILE_FNS(2)
TILE_FNS(3)
TILE_FNS(4)
TILE_FNS(6)
#undef TILE_FNS
#undef TILE_FN

/* [bits 2, 3, 4, 6][group size 0, 32, 64, 128] */
static const tile_fn TILES[4][4] = {{tile_2_0, tile_2_2, tile_2_4, tile_2_8},
                                    {tile_3_0, tile_3_2, tile_3_4, tile_3_8},
                                    {tile_4_0, tile_4_2, tile_4_4, tile_4_8},
                                    {tile_6_0, tile_6_2, tile_6_4, tile_6_8}};

/* The sum of the 4 lanes (ARMv7 has no ADDV). */
static inline int32_t lane_sum(int32x4_t v) {
#if defined(__aarch64__)
    return vaddvq_s32(v);
#else
    const int32x2_t pair = vadd_s32(vget_low_s32(v), vget_high_s32(v));
    return vget_lane_s32(vpadd_s32(pair, pair), 0);
#endif
}

void gemm_s8sxs32_2x4c16__neon(size_t m, size_t j0, size_t j1, size_t k_len, const int8_t *a, size_t lda,
                               const lowbit_weights *w, int32_t *c, size_t ldc) {
    const size_t chunks = (k_len + CHUNK - 1) / CHUNK, last = (chunks - 1) * CHUNK;
    const size_t groups = w->group_size ? k_len / w->group_size : 1;
    const size_t width = w->bits == 6 ? 3 : w->bits - 2;
    const size_t span = w->group_size == 0 ? 0 : w->group_size == 32 ? 1 : w->group_size == 64 ? 2 : 3;
    const tile_fn run = TILES[width][span];
    int8_t tail[MR][CHUNK] __attribute__((aligned(16)));
    for (size_t i0 = 0; i0 < m; i0 += MR) {
        const size_t mr = m - i0 < MR ? m - i0 : MR;
        const int8_t *x[MR], *tails[MR];
        memset(tail, 0, sizeof tail);
        for (size_t r = 0; r < MR; r++) {
            x[r] = a + (i0 + (r < mr ? r : 0)) * lda;
            memcpy(tail[r], x[r] + last, k_len - last);
            tails[r] = tail[r];
        }
        for (size_t jb = j0; jb < j1; jb += NR) {
            const size_t nr = j1 - jb < NR ? j1 - jb : NR;
            const uint8_t *col[NR], *sub[NR];
            int32x4_t tot[MR][NR];
            for (size_t cc = 0; cc < NR; cc++) {
                const size_t n = jb + (cc < nr ? cc : nr - 1);
                col[cc] = w->codes + n * w->row_bytes;
                sub[cc] = w->sub + n * groups;
                for (size_t r = 0; r < MR; r++) tot[r][cc] = vdupq_n_s32(0);
            }
            run(chunks, x, tails, col, sub, groups, tot);
            for (size_t r = 0; r < mr; r++)
                for (size_t cc = 0; cc < nr; cc++)
                    c[(i0 + r) * ldc + (jb - j0) + cc] = (w->bias ? w->bias[jb + cc] : 0) + lane_sum(tot[r][cc]);
        }
    }
}
