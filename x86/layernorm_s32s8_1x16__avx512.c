/* layernorm_s32s8_1x16__avx512: the integer layer norm of FORMAT.md §4.5, 16
 * columns at a time (the last ones masked), equal to layernorm_s32s8_1x1__ref.
 *
 * The sums are int64 lanes: x (22 bits) sign-extended for sum, and y = x - mean
 * (|y| < 2^22, int32) squared exactly by VPMULDQ for var (< 2^57). mean, isqrt and
 * f = 2^31 / std are the scalar steps, once per row. nrm = (y * f) >> 1: f <= 2^31
 * fits VPMULDQ's signed 32-bit operand except f = 2^31 (std = 1), where nrm is
 * y * 2^30, one VPMULDQ by 2^30; |nrm| <= 2^30. out = sat_8((nrm * m + beta) >> s):
 * nrm * m exact by VPMULDQ (< 2^61), beta (|beta| <= 2^61) added in int64, then
 * VPSRAVQ and an int64 clamp. */
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VL__)
#error "layernorm_s32s8_1x16__avx512 needs -mavx512f -mavx512bw -mavx512vl"
#endif

#include "fixed_point_avx512.h"
#include "kernels/kernels.h"

void layernorm_s32s8_1x16__avx512(size_t m, size_t h, const int32_t *x, size_t ldx, const int32_t *mult,
                                  const int32_t *shift, const int64_t *bias, int8_t *out, size_t ldo) {
    const __m512i low32 = _mm512_set1_epi64(0xffffffff);
    const __m512i even_idx = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14), odd_idx = _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15);
    for (size_t i = 0; i < m; i++) {
        const int32_t *row = x + i * ldx;
        int8_t *o = out + i * ldo;
        __m512i vsum = _mm512_setzero_si512();
        for (size_t j = 0; j < h; j += 16) {
            const __m512i v = _mm512_maskz_loadu_epi32(lanes16(j, h), row + j);
            vsum = _mm512_add_epi64(vsum, _mm512_cvtepi32_epi64(_mm512_castsi512_si256(v)));
            vsum = _mm512_add_epi64(vsum, _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(v, 1)));
        }
        const int64_t sum = _mm512_reduce_add_epi64(vsum);
        const int64_t mean = fp_floor_div(2 * sum + (int64_t)h, 2 * (int64_t)h);

        const __m512i vmean = _mm512_set1_epi32((int32_t)mean);
        __m512i vvar = _mm512_setzero_si512();
        for (size_t j = 0; j < h; j += 16) {
            const __mmask16 k = lanes16(j, h);
            /* masked-off lanes give y = 0 - 0 = 0: maskz_sub */
            const __m512i y = _mm512_maskz_sub_epi32(k, _mm512_maskz_loadu_epi32(k, row + j), vmean);
            const __m512i yo = odd_lanes16(y);
            vvar = _mm512_add_epi64(vvar, _mm512_add_epi64(_mm512_mul_epi32(y, y), _mm512_mul_epi32(yo, yo)));
        }
        const uint64_t var = (uint64_t)_mm512_reduce_add_epi64(vvar);
        const uint64_t std = fp_isqrt_u64(var);
        const int64_t f = var > 0 ? (int64_t)((UINT64_C(1) << 31) / std) : 0;

        const int f_is_2_31 = f == (INT64_C(1) << 31);
        const __m512i vf = _mm512_set1_epi64(f_is_2_31 ? INT64_C(1) << 30 : f);
        const __m512i nshift = _mm512_set1_epi64(f_is_2_31 ? 0 : 1);
        for (size_t j = 0; j < h; j += 16) {
            const __mmask16 k = lanes16(j, h);
            const __m512i y = _mm512_sub_epi32(_mm512_maskz_loadu_epi32(k, row + j), vmean);
            const __m512i mv = _mm512_maskz_loadu_epi32(k, mult + j), sv = _mm512_maskz_loadu_epi32(k, shift + j);
            const __m512i b0 = _mm512_maskz_loadu_epi64((__mmask8)k, bias + j),
                          b1 = _mm512_maskz_loadu_epi64((__mmask8)(k >> 8), bias + j + 8);
            const __m512i be = _mm512_permutex2var_epi64(b0, even_idx, b1), bo = _mm512_permutex2var_epi64(b0, odd_idx, b1);
            const __m512i ne = _mm512_srav_epi64(_mm512_mul_epi32(y, vf), nshift);
            const __m512i no = _mm512_srav_epi64(_mm512_mul_epi32(odd_lanes16(y), vf), nshift);
            v16x64 r;
            r.even = _mm512_srav_epi64(_mm512_add_epi64(_mm512_mul_epi32(ne, mv), be), _mm512_and_si512(sv, low32));
            r.odd = _mm512_srav_epi64(_mm512_add_epi64(_mm512_mul_epi32(no, odd_lanes16(mv)), bo), odd_lanes16(sv));
            _mm_mask_storeu_epi8(o + j, k, _mm512_cvtepi32_epi8(clamp_join16(r, -128, 127)));
        }
    }
}
