/* requant_s32s8_1x8__avx2: int32 accumulators rescaled (FORMAT.md §4.1) and
 * saturated to int8, 8 columns at a time. The products x * mult are exact int64
 * (VPMULDQ), the rounding shift is fp_rq's own (fixed_point_avx2.h), and the
 * saturation is a clamp in int64 before narrowing, so every output equals
 * requant_s32s8_1x1__ref's. Columns past the last multiple of 8 use fp_rq. */
#if !defined(__AVX2__)
#error "requant_s32s8_1x8__avx2 needs -mavx2"
#endif

#include "fixed_point_avx2.h"
#include "kernels/kernels.h"

void requant_s32s8_1x8__avx2(size_t m, size_t n, const int32_t *src, size_t lds, const rq_params *rq, int8_t *dst,
                             size_t ldd) {
    const __m256i lo = _mm256_set1_epi64x(-128), hi = _mm256_set1_epi64x(127);
    const size_t n8 = n & ~(size_t)7;
    for (size_t i = 0; i < m; i++) {
        const int32_t *s = src + i * lds;
        int8_t *d = dst + i * ldd;
        for (size_t j = 0; j < n8; j += 8) {
            v8x64 r = rq8(_mm256_loadu_si256((const __m256i *)(s + j)), load_channel8(rq->mult, rq->per_channel, j),
                          load_channel8(rq->shift, rq->per_channel, j));
            r.even = clamp64(r.even, lo, hi);
            r.odd = clamp64(r.odd, lo, hi);
            store8_s8(d + j, join32(r));
        }
        for (size_t j = n8; j < n; j++) {
            const size_t ch = rq->per_channel ? j : 0;
            d[j] = fp_sat8(fp_rq(s[j], rq->mult[ch], rq->shift[ch]));
        }
    }
}
