/* requant_s32s32_1x16__avx512: int32 values rescaled (FORMAT.md §4.1) and saturated
 * to `bits` bits, 16 columns at a time (the last ones masked); dst may be src
 * (each vector is read before it is written). Exact int64 products, fp_rq's
 * rounding shift and an int64 clamp (fixed_point_avx512.h) give
 * requant_s32s32_1x1__ref's integers. */
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VL__)
#error "requant_s32s32_1x16__avx512 needs -mavx512f -mavx512bw -mavx512vl"
#endif

#include "fixed_point_avx512.h"
#include "kernels/kernels.h"

void requant_s32s32_1x16__avx512(size_t m, size_t n, const int32_t *src, size_t lds, const rq_params *rq,
                                 unsigned bits, int32_t *dst, size_t ldd) {
    const int64_t hi = (INT64_C(1) << (bits - 1)) - 1, lo = -hi - 1;
    for (size_t i = 0; i < m; i++) {
        const int32_t *s = src + i * lds;
        int32_t *d = dst + i * ldd;
        for (size_t j = 0; j < n; j += 16) {
            const __mmask16 k = lanes16(j, n);
            const v16x64 r = rq16(_mm512_maskz_loadu_epi32(k, s + j), load_channel16(rq->mult, rq->per_channel, j, k),
                                  load_channel16(rq->shift, rq->per_channel, j, k));
            _mm512_mask_storeu_epi32(d + j, k, clamp_join16(r, lo, hi));
        }
    }
}
