/* gemm_s8s8s32_4x4c32__avx512vnni: int8 x int8^T -> int32 (+ bias) with VPDPBUSD
 * on 256-bit vectors (AVX-512 VL + VNNI), on the unpacked row-major layout: c[i, j]
 * is the dot product of row i of a with row j of b, both contiguous in k. It
 * computes q.k^T, where both operands are activations and may be -128.
 *
 * VPDPBUSD multiplies unsigned by signed bytes: a enters as u = a + 128 (a XOR
 * 0x80, 0..255) and b as it is (-128..127, exact as a signed byte), and
 *     c[i, j] = bias[j] + sum_k u[i, k] * b[j, k] - 128 * sum_k b[j, k],
 * with sum_k b[j, k] computed once per column (VPDPBUSD of bytes 1 with b). Each
 * VPDPBUSD step adds four products |u * b| <= 255 * 128 = 32640; over k <= 65536 a
 * lane's dot product stays below 2^31 and the column sum below 2^23, so every
 * partial value is an exact int32 (any wraparound of the final additions would be
 * exact too, mod 2^32, and c fits int32 by FORMAT.md §4.2). The result equals
 * gemm_s8s8s32_1x1__ref bit for bit for every int8 value of both operands.
 *
 * Tile: 4 rows of a x 4 rows of b, 32 k at a time: 8 loads, 4 XORs, 16 VPDPBUSD,
 * each accumulator holding 8 partial sums of one output; horizontal adds fold them
 * at the end. Edges: rows and columns past m, n reuse the last valid one
 * (computed, not stored); the k % 32 tail is added in scalar code. */
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VL__) || !defined(__AVX512VNNI__)
#error "gemm_s8s8s32_4x4c32__avx512vnni needs -mavx512f -mavx512bw -mavx512vl -mavx512vnni"
#endif

#include <immintrin.h>

#include "kernels/kernels.h"

#define MR 4
#define NR 4
#define KC 32

/* The 4 sums of the 8 lanes of c0..c3, in order. */
static inline __m128i fold4(__m256i c0, __m256i c1, __m256i c2, __m256i c3) {
    const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(c0, c1), _mm256_hadd_epi32(c2, c3));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

static inline __m256i load32(const int8_t *p) { return _mm256_loadu_si256((const __m256i *)p); }

void gemm_s8s8s32_4x4c32__avx512vnni(size_t m, size_t n, size_t k_len, const int8_t *a, size_t lda, const int8_t *b,
                                     size_t ldb, const int32_t *bias, int32_t *c, size_t ldc) {
    const size_t k_main = k_len & ~(size_t)(KC - 1);
    const __m256i offset = _mm256_set1_epi8((char)0x80), ones = _mm256_set1_epi8(1);
    for (size_t j0 = 0; j0 < n; j0 += NR) {
        const size_t nr = n - j0 < NR ? n - j0 : NR;
        const int8_t *br[NR];
        for (size_t s = 0; s < NR; s++) br[s] = b + (j0 + (s < nr ? s : nr - 1)) * ldb;

        /* base[s] = bias - 128 * (the column sum over the vector part of k) */
        __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
        for (size_t k = 0; k < k_main; k += KC) {
            s0 = _mm256_dpbusd_epi32(s0, ones, load32(br[0] + k));
            s1 = _mm256_dpbusd_epi32(s1, ones, load32(br[1] + k));
            s2 = _mm256_dpbusd_epi32(s2, ones, load32(br[2] + k));
            s3 = _mm256_dpbusd_epi32(s3, ones, load32(br[3] + k));
        }
        __m128i base = _mm_slli_epi32(fold4(s0, s1, s2, s3), 7);
        base = _mm_sub_epi32(_mm_setzero_si128(), base);
        if (bias) {
            int32_t bias4[NR] = {0};
            for (size_t s = 0; s < nr; s++) bias4[s] = bias[j0 + s];
            base = _mm_add_epi32(base, _mm_loadu_si128((const __m128i *)bias4));
        }

        for (size_t i0 = 0; i0 < m; i0 += MR) {
            const size_t mr = m - i0 < MR ? m - i0 : MR;
            const int8_t *ar[MR];
            for (size_t r = 0; r < MR; r++) ar[r] = a + (i0 + (r < mr ? r : mr - 1)) * lda;

            /* Named registers, not arrays, so that they stay in registers. */
            __m256i c00 = _mm256_setzero_si256(), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00,
                    c12 = c00, c13 = c00, c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00,
                    c32 = c00, c33 = c00;
            for (size_t k = 0; k < k_main; k += KC) {
                const __m256i b0 = load32(br[0] + k), b1 = load32(br[1] + k), b2 = load32(br[2] + k),
                              b3 = load32(br[3] + k);
                __m256i u = _mm256_xor_si256(load32(ar[0] + k), offset);
                c00 = _mm256_dpbusd_epi32(c00, u, b0);
                c01 = _mm256_dpbusd_epi32(c01, u, b1);
                c02 = _mm256_dpbusd_epi32(c02, u, b2);
                c03 = _mm256_dpbusd_epi32(c03, u, b3);
                u = _mm256_xor_si256(load32(ar[1] + k), offset);
                c10 = _mm256_dpbusd_epi32(c10, u, b0);
                c11 = _mm256_dpbusd_epi32(c11, u, b1);
                c12 = _mm256_dpbusd_epi32(c12, u, b2);
                c13 = _mm256_dpbusd_epi32(c13, u, b3);
                u = _mm256_xor_si256(load32(ar[2] + k), offset);
                c20 = _mm256_dpbusd_epi32(c20, u, b0);
                c21 = _mm256_dpbusd_epi32(c21, u, b1);
                c22 = _mm256_dpbusd_epi32(c22, u, b2);
                c23 = _mm256_dpbusd_epi32(c23, u, b3);
                u = _mm256_xor_si256(load32(ar[3] + k), offset);
                c30 = _mm256_dpbusd_epi32(c30, u, b0);
                c31 = _mm256_dpbusd_epi32(c31, u, b1);
                c32 = _mm256_dpbusd_epi32(c32, u, b2);
                c33 = _mm256_dpbusd_epi32(c33, u, b3);
            }

            int32_t tile[MR][NR];
            _mm_storeu_si128((__m128i *)tile[0], _mm_add_epi32(fold4(c00, c01, c02, c03), base));
            _mm_storeu_si128((__m128i *)tile[1], _mm_add_epi32(fold4(c10, c11, c12, c13), base));
            _mm_storeu_si128((__m128i *)tile[2], _mm_add_epi32(fold4(c20, c21, c22, c23), base));
            _mm_storeu_si128((__m128i *)tile[3], _mm_add_epi32(fold4(c30, c31, c32, c33), base));
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
