/* gemm_s8s8s32_2x4c16__avx2: int8 x int8^T -> int32 (+ bias) with AVX2, on the
 * unpacked row-major layout: c[i, j] is the dot product of row i of a with row j of
 * b, both contiguous in k. It computes q.k^T, where both operands are activations.
 *
 * Both operands may be -128, where VPMADDUBSW's |x| and sign trick breaks (sign
 * of -128 by a negative is -128 again), so 16 k of each row are sign-extended to
 * int16 (VPMOVSXBW) and multiplied with VPMADDWD: a lane gets two products,
 * |sum| <= 2 * 128 * 128 = 2^15, exact in int32. Over k <= 65536 every partial
 * sum stays below 2^30 and the bias adds at most 2^30 (FORMAT.md §4.2), so the
 * int32 results equal gemm_s8s8s32_1x1__ref bit for bit for every int8 input.
 *
 * Tile: 2 rows of a x 4 rows of b, 16 k at a time: 6 widening loads, 8 VPMADDWD
 * and 8 VPADDD into 8 accumulators of 8 partial sums each (13 of the 16 ymm
 * registers), folded by horizontal adds at the end. Edges: rows and columns past
 * m, n reuse the last valid one (computed, not stored); the k % 16 tail is added in
 * scalar code. */
#if !defined(__AVX2__)
#error "gemm_s8s8s32_2x4c16__avx2 needs -mavx2"
#endif

#include <immintrin.h>

#include "kernels/kernels.h"

#define MR 2
#define NR 4
#define KC 16

/* The 4 sums of the 8 lanes of c0..c3, in order. */
static inline __m128i fold4(__m256i c0, __m256i c1, __m256i c2, __m256i c3) {
    const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(c0, c1), _mm256_hadd_epi32(c2, c3));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

/* 16 int8 at p as int16. */
static inline __m256i widen16(const int8_t *p) { return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)p)); }

void gemm_s8s8s32_2x4c16__avx2(size_t m, size_t n, size_t k_len, const int8_t *a, size_t lda, const int8_t *b,
                               size_t ldb, const int32_t *bias, int32_t *c, size_t ldc) {
    const size_t k_main = k_len & ~(size_t)(KC - 1);
    for (size_t j0 = 0; j0 < n; j0 += NR) {
        const size_t nr = n - j0 < NR ? n - j0 : NR;
        const int8_t *br[NR];
        for (size_t s = 0; s < NR; s++) br[s] = b + (j0 + (s < nr ? s : nr - 1)) * ldb;
        int32_t bias4[NR] = {0};
        if (bias)
            for (size_t s = 0; s < nr; s++) bias4[s] = bias[j0 + s];
        const __m128i vbias = _mm_loadu_si128((const __m128i *)bias4);

        for (size_t i0 = 0; i0 < m; i0 += MR) {
            const size_t mr = m - i0 < MR ? m - i0 : MR;
            const int8_t *ar[MR];
            for (size_t r = 0; r < MR; r++) ar[r] = a + (i0 + (r < mr ? r : mr - 1)) * lda;

            /* Named registers, not arrays, so that they stay in registers. */
            __m256i c00 = _mm256_setzero_si256(), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00,
                    c12 = c00, c13 = c00;
            for (size_t k = 0; k < k_main; k += KC) {
                const __m256i b0 = widen16(br[0] + k), b1 = widen16(br[1] + k), b2 = widen16(br[2] + k),
                              b3 = widen16(br[3] + k);
                __m256i x = widen16(ar[0] + k);
                c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(x, b0));
                c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(x, b1));
                c02 = _mm256_add_epi32(c02, _mm256_madd_epi16(x, b2));
                c03 = _mm256_add_epi32(c03, _mm256_madd_epi16(x, b3));
                x = widen16(ar[1] + k);
                c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(x, b0));
                c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(x, b1));
                c12 = _mm256_add_epi32(c12, _mm256_madd_epi16(x, b2));
                c13 = _mm256_add_epi32(c13, _mm256_madd_epi16(x, b3));
            }

            int32_t tile[MR][NR];
            _mm_storeu_si128((__m128i *)tile[0], _mm_add_epi32(fold4(c00, c01, c02, c03), vbias));
            _mm_storeu_si128((__m128i *)tile[1], _mm_add_epi32(fold4(c10, c11, c12, c13), vbias));
            for (size_t r = 0; r < mr; r++) {
                for (size_t s = 0; s < nr; s++) {
                    int32_t sum = tile[r][s];
                    for (size_t k = k_main; k < k_len; k++) sum += (int32_t)ar[r][k] * br[s][k];
                    c[(i0 + r) * ldc + j0 + s] = sum;
                }
            }
        }
    }
}
