/* residual_s32s8s32_1x16__avx512: the residual sum of FORMAT.md §4.6 steps 4 and 6,
 * 16 columns at a time (the last ones masked): rq(acc) + rq(x) added in int64 and
 * saturated to 22 bits. Both rescales are fp_rq's exact int64 steps
 * (fixed_point_avx512.h), the sum of two such values (each below 2^61 + 2^49)
 * cannot overflow int64, and the clamp is in int64, so every output equals
 * residual_s32s8s32_1x1__ref's; out may be acc. */
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VL__)
#error "residual_s32s8s32_1x16__avx512 needs -mavx512f -mavx512bw -mavx512vl"
#endif

#include "fixed_point_avx512.h"
#include "kernels/kernels.h"

void residual_s32s8s32_1x16__avx512(size_t m, size_t n, const int32_t *acc, size_t lda, const rq_params *acc_rq,
                                    const int8_t *x, size_t ldx, const rq_params *x_rq, int32_t *out, size_t ldo) {
    const int64_t hi = (INT64_C(1) << (KERNEL_RESIDUAL_BITS - 1)) - 1, lo = -hi - 1;
    for (size_t i = 0; i < m; i++) {
        const int32_t *a = acc + i * lda;
        const int8_t *xr = x + i * ldx;
        int32_t *o = out + i * ldo;
        for (size_t j = 0; j < n; j += 16) {
            const __mmask16 k = lanes16(j, n);
            const v16x64 ra = rq16(_mm512_maskz_loadu_epi32(k, a + j),
                                   load_channel16(acc_rq->mult, acc_rq->per_channel, j, k),
                                   load_channel16(acc_rq->shift, acc_rq->per_channel, j, k));
            const v16x64 rx = rq16(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(k, xr + j)),
                                   load_channel16(x_rq->mult, x_rq->per_channel, j, k),
                                   load_channel16(x_rq->shift, x_rq->per_channel, j, k));
            const v16x64 sum = {_mm512_add_epi64(ra.even, rx.even), _mm512_add_epi64(ra.odd, rx.odd)};
            _mm512_mask_storeu_epi32(o + j, k, clamp_join16(sum, lo, hi));
        }
    }
}
