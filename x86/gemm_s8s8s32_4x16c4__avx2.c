/* gemm_s8s8s32_4x16c4__avx2: the linear layers (x int8 [m, k] times W^T, W int8
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
 * VPMADDUBSW, VPMADDWD, VPADDD. A range ending in a single block uses a 4 x 8 tile;
 * rows past m reuse the last row (computed, not stored); columns past j1 are not
 * stored. */
#if !defined(__AVX2__)
#error "gemm_s8s8s32_4x16c4__avx2 needs -mavx2"
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
static inline __m256i mac(__m256i acc, __m256i ax, __m256i x, __m256i w, __m256i ones16) {
    const __m256i pairs = _mm256_maddubs_epi16(ax, _mm256_sign_epi8(w, x));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, ones16));
}

/* Adds group g of 4 k (len of them in a, the rest meeting zero weights) to the
 * accumulators of MR rows and nv blocks. */
static inline __attribute__((always_inline)) void group(int nv, __m256i acc[MR][2], const uint8_t *const w[2],
                                                        size_t g, const int8_t *const ar[MR], size_t len) {
    const __m256i ones16 = _mm256_set1_epi16(1);
    __m256i wv[2];
    for (int v = 0; v < nv; v++) wv[v] = _mm256_load_si256((const __m256i *)(w[v] + 32 * (1 + g)));
    for (int r = 0; r < MR; r++) {
        int32_t a4 = 0;
        memcpy(&a4, ar[r] + KG * g, len);
        const __m256i x = _mm256_set1_epi32(a4), ax = _mm256_abs_epi8(x);
        for (int v = 0; v < nv; v++) acc[r][v] = mac(acc[r][v], ax, x, wv[v], ones16);
    }
}

/* One tile of MR rows and nv (1 or 2, a constant at each call) blocks; stores rows
 * < mr and the first count[v] columns of block v. */
static inline __attribute__((always_inline)) void tile(int nv, size_t k, const int8_t *const ar[MR],
                                                       const uint8_t *const w[2], size_t mr, int32_t *c, size_t ldc,
                                                       const size_t count[2]) {
    __m256i acc[MR][2];
    for (int v = 0; v < nv; v++) {
        const __m256i b = _mm256_load_si256((const __m256i *)w[v]);
        for (int r = 0; r < MR; r++) acc[r][v] = b;
    }
    const size_t full = k / KG;
    for (size_t g = 0; g < full; g++) group(nv, acc, w, g, ar, KG);
    if (full * KG < k) group(nv, acc, w, full, ar, k - full * KG);
    for (size_t r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++) {
            if (count[v] == NB) {
                _mm256_storeu_si256((__m256i *)(c + r * ldc + v * NB), acc[r][v]);
            } else {
                int32_t out[NB];
                _mm256_storeu_si256((__m256i *)out, acc[r][v]);
                memcpy(c + r * ldc + v * NB, out, count[v] * sizeof *out);
            }
        }
}

void gemm_s8s8s32_4x16c4__avx2(size_t m, size_t j0, size_t j1, size_t k, const int8_t *a, size_t lda, const void *packed,
                               int32_t *c, size_t ldc) {
    const uint8_t *base = packed;
    const size_t bb = block_bytes(k);
    for (size_t j = j0; j < j1; j += 2 * NB) {
        const int two = j + NB < j1;
        const uint8_t *w[2] = {base + j / NB * bb, two ? base + (j / NB + 1) * bb : NULL};
        const size_t count[2] = {j1 - j < NB ? j1 - j : NB, two ? (j1 - j - NB < NB ? j1 - j - NB : NB) : 0};
        for (size_t i0 = 0; i0 < m; i0 += MR) {
            const size_t mr = m - i0 < MR ? m - i0 : MR;
            const int8_t *ar[MR];
            for (size_t r = 0; r < MR; r++) ar[r] = a + (i0 + (r < mr ? r : mr - 1)) * lda;
            if (two)
                tile(2, k, ar, w, mr, c + i0 * ldc + j, ldc, count);
            else
                tile(1, k, ar, w, mr, c + i0 * ldc + j, ldc, count);
        }
    }
}
