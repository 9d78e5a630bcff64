/* linear_s8s8s32_4x16c4__avx2: the linear layers (x int8 [m, k] times W^T, W int8
 * [n, k] in -127..127, plus bias) with AVX2, on weights packed once at model load
 * by packw_s8s32_8x4 (linear_packing.gemm).
 *
 * VPMADDUBSW multiplies unsigned by signed bytes and adds adjacent pairs into int16
 * with saturation. It is fed |x| (0..128 as an unsigned byte; |-128| = 0x80 = 128)
 * and sign(W, x) = W * sign(x) (VPSIGNB; in -127..127 because W is never -128), so
 * each product is x * W and a pair sums to at most 2 * 128 * 127 = 32512 < 2^15 in
 * magnitude: no saturation. VPMADDWD by 1 widens the pairs to int32 (a lane then
 * holds 4 consecutive k of one column), added to accumulators that start at the
 * bias. Every partial value is bias + a sum of some of the products, within
 * 2^30 + 128 * 127 * 65536 < 2^31 (FORMAT.md §4.2, k <= 65536), so the result equals
 * gemm_s8s8s32_1x1__ref bit for bit.
 *
 * Packed layout (packw_s8s32_8x4): per block of 8 columns, 8 int32 biases (32
 * bytes), then per group of 4 k the 8 columns' 4 weights: one ymm.
 *
 * Tile: 4 rows x 16 columns (two blocks), 8 ymm accumulators; per group of 4 k:
 * 2 weight loads, 4 broadcasts and VPABSBs, then per row and block VPSIGNB,
 * VPMADDUBSW, VPMADDWD, VPADDD. A range ending in a single block passes it twice
 * (the copy is not stored); rows past m reuse the last row (computed, not stored);
 * columns past j1 are not stored. */
#if !defined(__AVX2__)
#error "linear_s8s8s32_4x16c4__avx2 needs -mavx2"
#endif

#include <immintrin.h>
#include <string.h>

#include "kernels/kernels.h"

#define MR 4
#define NB 8 /* columns per packed block: one ymm of int32 */
#define KG 4

/* Bytes of one packed block: its bias and its k groups. */
static size_t block_bytes(size_t k) { return 32 * (1 + (k + KG - 1) / KG); }

/* acc += x * w for one row's 4 bytes: |x| times sign(w, x), pairs, then quads. */
#define MAC(acc, ax, x, w) \
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(w, x)), ones16))

/* Row r's 4 bytes x (from load(r)) into both blocks' accumulators. */
#define ROW(r, load)                        \
    do {                                    \
        const __m256i x = load(r);          \
        const __m256i ax = _mm256_abs_epi8(x); \
        MAC(c##r##a, ax, x, w0);            \
        MAC(c##r##b, ax, x, w1);            \
    } while (0)

/* Four bytes of row r at kk, broadcast; the tail version reads only len of them
 * (the rest are 0 and meet zero weights). */
static inline __m256i broadcast4(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}
static inline __m256i broadcast_tail(const int8_t *p, size_t len) {
    int32_t v = 0;
    memcpy(&v, p, len);
    return _mm256_set1_epi32(v);
}

/* Stores the first count columns of one row of a block. */
static inline void store_row(int32_t *c, __m256i v, size_t count) {
    if (count == NB) {
        _mm256_storeu_si256((__m256i *)c, v);
    } else {
        int32_t out[NB];
        _mm256_storeu_si256((__m256i *)out, v);
        memcpy(c, out, count * sizeof *out);
    }
}

/* One tile of MR rows and two blocks w[0], w[1] (a range with one block passes it
 * twice, with count[1] = 0); stores rows < mr and the first count[v] columns of
 * block v. Named accumulators, not arrays: GCC keeps arrays of vectors in memory. */
static void tile(size_t k, const int8_t *const ar[MR], const uint8_t *const w[2], size_t mr, int32_t *c, size_t ldc,
                 const size_t count[2]) {
    const __m256i ones16 = _mm256_set1_epi16(1);
    const __m256i ba = _mm256_load_si256((const __m256i *)w[0]), bb = _mm256_load_si256((const __m256i *)w[1]);
    __m256i c0a = ba, c0b = bb, c1a = ba, c1b = bb, c2a = ba, c2b = bb, c3a = ba, c3b = bb;
    const uint8_t *p0 = w[0] + 32, *p1 = w[1] + 32;
    const size_t k_main = k & ~(size_t)(KG - 1);
    for (size_t kk = 0; kk < k_main; kk += KG, p0 += 32, p1 += 32) {
        const __m256i w0 = _mm256_load_si256((const __m256i *)p0), w1 = _mm256_load_si256((const __m256i *)p1);
#define LOAD_FULL(r) broadcast4(ar[r] + kk)
        ROW(0, LOAD_FULL); ROW(1, LOAD_FULL); ROW(2, LOAD_FULL); ROW(3, LOAD_FULL);
#undef LOAD_FULL
    }
    if (k_main < k) {
        const __m256i w0 = _mm256_load_si256((const __m256i *)p0), w1 = _mm256_load_si256((const __m256i *)p1);
#define LOAD_TAIL(r) broadcast_tail(ar[r] + k_main, k - k_main)
        ROW(0, LOAD_TAIL); ROW(1, LOAD_TAIL); ROW(2, LOAD_TAIL); ROW(3, LOAD_TAIL);
#undef LOAD_TAIL
    }
    const __m256i rows[MR][2] = {{c0a, c0b}, {c1a, c1b}, {c2a, c2b}, {c3a, c3b}};
    for (size_t r = 0; r < mr; r++) {
        store_row(c + r * ldc, rows[r][0], count[0]);
        if (count[1]) store_row(c + r * ldc + NB, rows[r][1], count[1]);
    }
}

void linear_s8s8s32_4x16c4__avx2(size_t m, size_t j0, size_t j1, size_t k, const int8_t *a, size_t lda,
                                 const void *packed, int32_t *c, size_t ldc) {
    const uint8_t *base = packed;
    const size_t bb = block_bytes(k);
    for (size_t j = j0; j < j1; j += 2 * NB) {
        const int two = j + NB < j1;
        const uint8_t *w[2] = {base + j / NB * bb, base + (j / NB + (two ? 1 : 0)) * bb};
        const size_t count[2] = {j1 - j < NB ? j1 - j : NB, two ? (j1 - j - NB < NB ? j1 - j - NB : NB) : 0};
        for (size_t i0 = 0; i0 < m; i0 += MR) {
            const size_t mr = m - i0 < MR ? m - i0 : MR;
            const int8_t *ar[MR];
            for (size_t r = 0; r < MR; r++) ar[r] = a + (i0 + (r < mr ? r : mr - 1)) * lda;
            tile(k, ar, w, mr, c + i0 * ldc + j, ldc, count);
        }
    }
}
