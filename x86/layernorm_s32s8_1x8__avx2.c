/* layernorm_s32s8_1x8__avx2: the integer layer norm of FORMAT.md §4.5, 8 columns
 * at a time, equal to layernorm_s32s8_1x1__ref.
 *
 * The sums are int64 lanes: x (22 bits) sign-extended for sum, and y = x - mean
 * (|y| < 2^22, int32) squared exactly by VPMULDQ for var (< 2^57). mean, isqrt and
 * f = 2^31 / std are the scalar steps, once per row. nrm = (y * f) >> 1: f <= 2^31
 * fits VPMULDQ's signed 32-bit operand except f = 2^31 (std = 1), where nrm is
 * y * 2^30, one VPMULDQ by 2^30; |nrm| <= 2^30. out = sat_8((nrm * m + beta) >> s): nrm * m
 * exact by VPMULDQ (< 2^61), beta (|beta| <= 2^61) added in int64, then sra64 and
 * an int64 clamp (fixed_point_avx2.h). Columns past the last multiple of 8 use the
 * scalar steps. */
#if !defined(__AVX2__)
#error "layernorm_s32s8_1x8__avx2 needs -mavx2"
#endif

#include "fixed_point_avx2.h"
#include "kernels/kernels.h"

/* nrm = (y * f) >> 1 for the 4 int32 y in the low halves of the int64 lanes; vf
 * holds f, or 2^30 when f = 2^31 (then nrm = y * 2^30 exactly, with no shift). */
static inline __m256i normalize4(__m256i y, __m256i vf, int f_is_2_31) {
    const __m256i prod = _mm256_mul_epi32(y, vf);
    return f_is_2_31 ? prod : sra64(prod, _mm256_set1_epi64x(1));
}

void layernorm_s32s8_1x8__avx2(size_t m, size_t h, const int32_t *x, size_t ldx, const int32_t *mult,
                               const int32_t *shift, const int64_t *bias, int8_t *out, size_t ldo) {
    const size_t h8 = h & ~(size_t)7;
    const __m256i low32 = _mm256_set1_epi64x(0xffffffff);
    const __m256i lo = _mm256_set1_epi64x(-128), hi = _mm256_set1_epi64x(127);
    for (size_t i = 0; i < m; i++) {
        const int32_t *row = x + i * ldx;
        int8_t *o = out + i * ldo;
        __m256i vsum = _mm256_setzero_si256();
        for (size_t j = 0; j < h8; j += 8) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(row + j));
            vsum = _mm256_add_epi64(vsum, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(v)));
            vsum = _mm256_add_epi64(vsum, _mm256_cvtepi32_epi64(_mm256_extracti128_si256(v, 1)));
        }
        int64_t lanes[4];
        _mm256_storeu_si256((__m256i *)lanes, vsum);
        int64_t sum = lanes[0] + lanes[1] + lanes[2] + lanes[3];
        for (size_t j = h8; j < h; j++) sum += row[j];
        const int64_t mean = fp_floor_div(2 * sum + (int64_t)h, 2 * (int64_t)h);

        const __m256i vmean = _mm256_set1_epi32((int32_t)mean);
        __m256i vvar = _mm256_setzero_si256();
        for (size_t j = 0; j < h8; j += 8) {
            const __m256i y = _mm256_sub_epi32(_mm256_loadu_si256((const __m256i *)(row + j)), vmean);
            const __m256i yo = odd_lanes(y);
            vvar = _mm256_add_epi64(vvar, _mm256_add_epi64(_mm256_mul_epi32(y, y), _mm256_mul_epi32(yo, yo)));
        }
        _mm256_storeu_si256((__m256i *)lanes, vvar);
        uint64_t var = (uint64_t)lanes[0] + (uint64_t)lanes[1] + (uint64_t)lanes[2] + (uint64_t)lanes[3];
        for (size_t j = h8; j < h; j++) {
            const int64_t y = row[j] - mean;
            var += (uint64_t)(y * y);
        }
        const uint64_t std = fp_isqrt_u64(var);
        const int64_t f = var > 0 ? (int64_t)((UINT64_C(1) << 31) / std) : 0;

        const int f_is_2_31 = f == (INT64_C(1) << 31);
        const __m256i vf = _mm256_set1_epi64x(f_is_2_31 ? INT64_C(1) << 30 : f);
        for (size_t j = 0; j < h8; j += 8) {
            const __m256i y = _mm256_sub_epi32(_mm256_loadu_si256((const __m256i *)(row + j)), vmean);
            const __m256i mv = _mm256_loadu_si256((const __m256i *)(mult + j));
            const __m256i sv = _mm256_loadu_si256((const __m256i *)(shift + j));
            const __m256i b0 = _mm256_loadu_si256((const __m256i *)(bias + j)),
                          b1 = _mm256_loadu_si256((const __m256i *)(bias + j + 4));
            /* beta of the even (j, j+2, j+4, j+6) and the odd columns: the unpacks give
             * j, j+4, j+2, j+6 (and j+1, j+5, j+3, j+7), the permute restores the order */
            const __m256i be = _mm256_permute4x64_epi64(_mm256_unpacklo_epi64(b0, b1), 0xd8),
                          bo = _mm256_permute4x64_epi64(_mm256_unpackhi_epi64(b0, b1), 0xd8);
            const __m256i ne = normalize4(y, vf, f_is_2_31), no = normalize4(odd_lanes(y), vf, f_is_2_31);
            v8x64 r;
            r.even = sra64(_mm256_add_epi64(_mm256_mul_epi32(ne, mv), be), _mm256_and_si256(sv, low32));
            r.odd = sra64(_mm256_add_epi64(_mm256_mul_epi32(no, odd_lanes(mv)), bo), odd_lanes(sv));
            r.even = clamp64(r.even, lo, hi);
            r.odd = clamp64(r.odd, lo, hi);
            store8_s8(o + j, join32(r));
        }
        for (size_t j = h8; j < h; j++) {
            const int64_t nrm = ((row[j] - mean) * f) >> 1;
            o[j] = fp_sat8((nrm * mult[j] + bias[j]) >> shift[j]);
        }
    }
}
