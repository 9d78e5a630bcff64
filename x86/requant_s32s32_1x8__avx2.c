/* requant_s32s32_1x8__avx2: int32 values rescaled (FORMAT.md §4.1) and saturated
 * to `bits` bits, 8 columns at a time; dst may be src (each vector is read before
 * it is written). Exact int64 products, fp_rq's rounding shift and an int64 clamp
 * (fixed_point_avx2.h) give requant_s32s32_1x1__ref's integers. Columns past the
 * last multiple of 8 use fp_rq. */
#if !defined(__AVX2__)
#error "requant_s32s32_1x8__avx2 needs -mavx2"
#endif

#include "fixed_point_avx2.h"
#include "kernels/kernels.h"

void requant_s32s32_1x8__avx2(size_t m, size_t n, const int32_t *src, size_t lds, const rq_params *rq,
                              unsigned bits, int32_t *dst, size_t ldd) {
    const size_t n8 = n & ~(size_t)7;
    for (size_t i = 0; i < m; i++) {
        const int32_t *s = src + i * lds;
        int32_t *d = dst + i * ldd;
        for (size_t j = 0; j < n8; j += 8) {
            const v8x64 r = rq8(_mm256_loadu_si256((const __m256i *)(s + j)),
                                load_channel8(rq->mult, rq->per_channel, j),
                                load_channel8(rq->shift, rq->per_channel, j));
            _mm256_storeu_si256((__m256i *)(d + j), sat_bits8(r, bits));
        }
        for (size_t j = n8; j < n; j++) {
            const size_t ch = rq->per_channel ? j : 0;
            d[j] = (int32_t)fp_sat(fp_rq(s[j], rq->mult[ch], rq->shift[ch]), bits);
        }
    }
}
