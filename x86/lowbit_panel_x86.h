/* lowbit_panel_x86.h: the part of the x86 low-bit linear kernels (gemm_s8sxs32_fn)
 * that does not depend on the vector width: unpacking a block of columns' packed
 * codes once into a panel that every row tile then reads, and the loop over column
 * blocks, k panels and row tiles around an ISA's tile function (in AVX2, which every
 * set that includes this has). The panel and the row tile's activations live on the
 * stack, about 31 KiB per call.
 *
 * Sign handling: the panel holds the signed codes q (-32 ... 31) and the tiles
 * multiply them by x + 128 (0 ... 255, the unsigned operand of VPMADDUBSW and
 * VPDPBUSD), so sum q * x = sum q * (x + 128) - 128 * sum q, and the last term is a
 * property of the weights: the panel fill adds -128 * s * (sum of q over the group)
 * of every group into a per-column correction, with the bias, so rows cost nothing.
 *
 * Exact: every value is the contract's accumulator plus or minus whole products and
 * corrections, added modulo 2^32 (int32 vector lanes wrap, the correction is uint32),
 * and the final sum is the contract's accumulator, which the loader keeps in int32. */
#ifndef IBERT_LOWBIT_PANEL_X86_H
#define IBERT_LOWBIT_PANEL_X86_H

#if !defined(__AVX2__)
#error "lowbit_panel_x86.h needs AVX2 (-mavx2)"
#endif

#include <immintrin.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/lowbit_codes.h"

/* k per panel: a multiple of the chunk (so of every group size), small enough that
 * a panel of 48 columns (24 KiB) and the row tile's activations stay in L1 (256 was slower). */
#define LOWBIT_PANEL_K 512
#define LOWBIT_MAX_COLS 48 /* columns per panel, a multiple of 4 */
#define LOWBIT_MAX_ROWS 8  /* rows per tile */
#define LOWBIT_MIN_GROUP 32

/* Field `field` of two p-bit planes' 16-byte runs, lo's in the low 128 bits, hi's in
 * the high: their p bits of 16 codes each. */
static inline __m256i lowbit_field2x16(const uint8_t *lo, const uint8_t *hi, unsigned p, unsigned field) {
    const __m256i bytes = _mm256_loadu2_m128i((const __m128i *)(const void *)hi, (const __m128i *)(const void *)lo);
    return _mm256_and_si256(_mm256_srli_epi16(bytes, (int)(field * p)), _mm256_set1_epi8((char)((1 << p) - 1)));
}

/* u = q + 2^(bits-1) of codes 16t ... 16t + 15 of the chunks lo (low 128 bits) and hi
 * (high), in lowbit_codes.h's layout. */
static inline __attribute__((always_inline)) __m256i lowbit_u2x16(const uint8_t *lo, const uint8_t *hi, unsigned bits,
                                                                  unsigned t) {
    const unsigned low = bits >= 4 ? 4 : 2, high = bits - low, per_run = 8 / low;
    const size_t run = 16 * (t / per_run);
    __m256i u = lowbit_field2x16(lo + run, hi + run, low, t % per_run);
    if (high) {
        const unsigned per_high = 8 / high;
        const size_t high_run = 16 * low + 16 * (t / per_high);
        const __m256i h = lowbit_field2x16(lo + high_run, hi + high_run, high, t % per_high);
        u = _mm256_or_si256(u, _mm256_slli_epi16(h, (int)low)); /* h < 2^high: no bit crosses a byte */
    }
    return u;
}

/* One panel: codes k0 ... k0 + len - 1 of nc columns. */
typedef struct lowbit_panel {
    size_t k4;       /* rows of 4 k: len rounded up to 16 codes, / 4 */
    size_t group_k4; /* rows of 4 k per sub-scale group (all of them for group size 0) */
    /* q[kk][col][4] for the panel's nc columns (rows of 4 * nc bytes, contiguous for
     * the tile): the codes 4kk ... 4kk + 3 of each column (zeros past k_len) */
    _Alignas(64) int8_t q[LOWBIT_PANEL_K / 4 * LOWBIT_MAX_COLS * 4];
    /* s[g][col]: the sub-scale of the panel's group g */
    _Alignas(64) int32_t s[LOWBIT_PANEL_K / LOWBIT_MIN_GROUP][LOWBIT_MAX_COLS];
    /* bias (first panel only) - 128 * sum_g s * sum_{k in g} q, per column, modulo 2^32 */
    _Alignas(64) uint32_t base[LOWBIT_MAX_COLS];
} lowbit_panel;

/* Columns c0 ... c0 + 3 of the panel from their packed rows, over `blocks` blocks of
 * 16 codes from k0; base -= 128 * s * (sum of q over each group). Columns 0 and 2 share
 * a ymm, as do 1 and 3. Always inlined with a constant width, so the plane arithmetic
 * of lowbit_u2x16 folds away. */
static inline __attribute__((always_inline)) void lowbit_fill4(lowbit_panel *p, const uint8_t *const row[4],
                                                               unsigned bits, size_t nc, size_t c0, size_t k0,
                                                               size_t blocks) {
    const size_t chunk_bytes = LOWBIT_CHUNK / 8 * bits, row_bytes = nc * 4;
    const __m256i half = _mm256_set1_epi8((char)(1 << (bits - 1))), ones8 = _mm256_set1_epi8(1);
    const __m256i ones16 = _mm256_set1_epi16(1);
    __m128i base = _mm_load_si128((const __m128i *)(const void *)(p->base + c0));
    /* sum of q over the group so far: columns 0 ... 3 of panel rows 4b and 4b + 2 in the
     * low half, of rows 4b + 1 and 4b + 3 in the high half */
    __m256i sum_q = _mm256_setzero_si256();
    size_t g = 0, group_left = p->group_k4; /* counters, not a division per block */
    for (size_t b = 0; b < blocks; b++) {
        const size_t k = k0 + 16 * b, chunk = k / LOWBIT_CHUNK * chunk_bytes;
        const unsigned t = (unsigned)(k % LOWBIT_CHUNK / 16);
        const __m256i q02 = _mm256_sub_epi8(lowbit_u2x16(row[0] + chunk, row[2] + chunk, bits, t), half);
        const __m256i q13 = _mm256_sub_epi8(lowbit_u2x16(row[1] + chunk, row[3] + chunk, bits, t), half);
        /* 4 x 4 transpose of 32-bit lanes: panel row 4b + r gets 4 k of each column.
         * lo = [0.0 1.0 0.1 1.1 | 2.0 3.0 2.1 3.1] (column.k-quad), hi the same for quads 2, 3;
         * qwords 0 2 1 3 put rows 4b, 4b + 1 (4b + 2, 4b + 3) in the halves. */
        const __m256i lo = _mm256_unpacklo_epi32(q02, q13), hi = _mm256_unpackhi_epi32(q02, q13);
        const __m256i r01 = _mm256_permute4x64_epi64(lo, 0xd8), r23 = _mm256_permute4x64_epi64(hi, 0xd8);
        int8_t *dst = p->q + (4 * b * nc + c0) * 4;
        _mm_store_si128((__m128i *)(void *)dst, _mm256_castsi256_si128(r01));
        _mm_store_si128((__m128i *)(void *)(dst + row_bytes), _mm256_extracti128_si256(r01, 1));
        _mm_store_si128((__m128i *)(void *)(dst + 2 * row_bytes), _mm256_castsi256_si128(r23));
        _mm_store_si128((__m128i *)(void *)(dst + 3 * row_bytes), _mm256_extracti128_si256(r23, 1));
        /* two rows of q in -32 ... 31 add up within int8; then 8 codes per int32 lane */
        sum_q = _mm256_add_epi32(sum_q, _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, _mm256_add_epi8(r01, r23)), ones16));
        group_left -= 4;
        if (group_left == 0 || b + 1 == blocks) { /* a group ends */
            const __m128i s = _mm_load_si128((const __m128i *)(const void *)&p->s[g++][c0]);
            const __m128i sum = _mm_add_epi32(_mm256_castsi256_si128(sum_q), _mm256_extracti128_si256(sum_q, 1));
            base = _mm_sub_epi32(base, _mm_mullo_epi32(_mm_slli_epi32(sum, 7), s));
            sum_q = _mm256_setzero_si256();
            group_left = p->group_k4;
        }
    }
    _mm_store_si128((__m128i *)(void *)(p->base + c0), base);
}

/* Fills p with columns j ... j + nc - 1 (those at or past j_end repeat j_end - 1;
 * they are computed, not stored) over k0 ... k0 + len - 1. */
static inline void lowbit_panel_fill(lowbit_panel *p, const lowbit_weights *w, size_t k_len, size_t j, size_t j_end,
                                     size_t nc, size_t k0, size_t len) {
    const size_t group = w->group_size ? w->group_size : k_len, groups = w->group_size ? k_len / group : 1;
    const size_t g0 = w->group_size ? k0 / group : 0, blocks = (len + 15) / 16;
    p->k4 = blocks * 4;
    p->group_k4 = w->group_size ? group / 4 : p->k4;
    for (size_t c0 = 0; c0 < nc; c0 += 4) {
        const uint8_t *row[4];
        for (size_t cc = 0; cc < 4; cc++) {
            const size_t n = j + c0 + cc < j_end ? j + c0 + cc : j_end - 1;
            row[cc] = w->codes + n * w->row_bytes;
            p->base[c0 + cc] = k0 == 0 && w->bias ? (uint32_t)w->bias[n] : 0;
            for (size_t g = 0; g * p->group_k4 < p->k4; g++) p->s[g][c0 + cc] = w->sub[n * groups + g0 + g];
        }
        switch (w->bits) {
        case 2: lowbit_fill4(p, row, 2, nc, c0, k0, blocks); break;
        case 3: lowbit_fill4(p, row, 3, nc, c0, k0, blocks); break;
        case 4: lowbit_fill4(p, row, 4, nc, c0, k0, blocks); break;
        default: lowbit_fill4(p, row, 6, nc, c0, k0, blocks); break;
        }
    }
}

/* x + 128 of rows a[0 ... mr - 1] (row mr - 1 repeated up to rows) over k0 ... k0 + len - 1,
 * zeros up to 16 * blocks (where the panel's q are 0). In GCC vectors of one register of
 * the kernel's ISA. */
#ifdef __AVX512F__
typedef uint8_t lowbit_vec __attribute__((vector_size(64)));
#else
typedef uint8_t lowbit_vec __attribute__((vector_size(32)));
#endif
static inline void lowbit_rows_u8(uint8_t xu[][LOWBIT_PANEL_K], size_t rows, size_t mr, const int8_t *a, size_t lda,
                                  size_t k0, size_t len) {
    const size_t full = len / sizeof(lowbit_vec) * sizeof(lowbit_vec), padded = (len + 15) & ~(size_t)15;
    for (size_t r = 0; r < rows; r++) {
        const int8_t *x = a + (r < mr ? r : mr - 1) * lda + k0;
        for (size_t k = 0; k < full; k += sizeof(lowbit_vec)) {
            lowbit_vec v;
            memcpy(&v, x + k, sizeof v);
            v ^= 0x80;
            memcpy(xu[r] + k, &v, sizeof v);
        }
        for (size_t k = full; k < padded; k++) xu[r][k] = k < len ? (uint8_t)(x[k] ^ 0x80) : 0;
    }
}

/* c[i, j] for rows < mr, columns < count of a tile: (first panel ? 0 : c) + p->base +
 * sum over the panel's groups g of p->s[g] * sum q * xu. */
typedef void (*lowbit_tile_fn)(const uint8_t xu[][LOWBIT_PANEL_K], const lowbit_panel *p, int first, int32_t *c,
                               size_t ldc, size_t mr, size_t count);

/* The whole gemm_s8sxs32_fn around a tile of rows x nc. */
static inline void lowbit_gemm_x86(size_t rows, size_t nc, lowbit_tile_fn tile, size_t m, size_t j0, size_t j1,
                                   size_t k_len, const int8_t *a, size_t lda, const lowbit_weights *w, int32_t *c,
                                   size_t ldc) {
    lowbit_panel p;
    _Alignas(64) uint8_t xu[LOWBIT_MAX_ROWS][LOWBIT_PANEL_K];
    for (size_t j = j0; j < j1; j += nc) {
        const size_t count = j1 - j < nc ? j1 - j : nc;
        for (size_t k0 = 0; k0 < k_len; k0 += LOWBIT_PANEL_K) {
            const size_t len = k_len - k0 < LOWBIT_PANEL_K ? k_len - k0 : LOWBIT_PANEL_K;
            lowbit_panel_fill(&p, w, k_len, j, j1, nc, k0, len);
            for (size_t i0 = 0; i0 < m; i0 += rows) {
                const size_t mr = m - i0 < rows ? m - i0 : rows;
                lowbit_rows_u8(xu, rows, mr, a + i0 * lda, lda, k0, len);
                tile((const uint8_t(*)[LOWBIT_PANEL_K])xu, &p, k0 == 0, c + i0 * ldc + (j - j0), ldc, mr, count);
            }
        }
    }
}

#endif
