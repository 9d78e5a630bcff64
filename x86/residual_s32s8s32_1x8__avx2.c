/* residual_s32s8s32_1x8__avx2: the residual sum of FORMAT.md §4.6 steps 4 and 6,
 * 8 columns at a time: rq(acc) + rq(x) added in int64 and saturated to 22 bits.
 * Both rescales are fp_rq's exact int64 steps (fixed_point_avx2.h), the sum of two
 * such values cannot overflow int64 (each is below 2^62 / 2), and the clamp is in
 * int64, so every output equals residual_s32s8s32_1x1__ref's; out may be acc.
 * Columns past the last multiple of 8 use the scalar steps. */
#if !defined(__AVX2__)
#error "residual_s32s8s32_1x8__avx2 needs -mavx2"
#endif

#include "fixed_point_avx2.h"
#include "kernels/kernels.h"

void residual_s32s8s32_1x8__avx2(size_t m, size_t n, const int32_t *acc, size_t lda, const rq_params *acc_rq,
                                 const int8_t *x, size_t ldx, const rq_params *x_rq, int32_t *out, size_t ldo) {
    const size_t n8 = n & ~(size_t)7;
    for (size_t i = 0; i < m; i++) {
        const int32_t *a = acc + i * lda;
        const int8_t *xr = x + i * ldx;
        int32_t *o = out + i * ldo;
        for (size_t j = 0; j < n8; j += 8) {
            const v8x64 ra = rq8(_mm256_loadu_si256((const __m256i *)(a + j)),
                                 load_channel8(acc_rq->mult, acc_rq->per_channel, j),
                                 load_channel8(acc_rq->shift, acc_rq->per_channel, j));
            const __m256i xv = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(xr + j)));
            const v8x64 rx = rq8(xv, load_channel8(x_rq->mult, x_rq->per_channel, j),
                                 load_channel8(x_rq->shift, x_rq->per_channel, j));
            const v8x64 sum = {_mm256_add_epi64(ra.even, rx.even), _mm256_add_epi64(ra.odd, rx.odd)};
            _mm256_storeu_si256((__m256i *)(o + j), sat_bits8(sum, KERNEL_RESIDUAL_BITS));
        }
        for (size_t j = n8; j < n; j++) {
            const size_t ca = acc_rq->per_channel ? j : 0, cx = x_rq->per_channel ? j : 0;
            const int64_t sum = fp_rq(a[j], acc_rq->mult[ca], acc_rq->shift[ca]) +
                                fp_rq(xr[j], x_rq->mult[cx], x_rq->shift[cx]);
            o[j] = (int32_t)fp_sat(sum, KERNEL_RESIDUAL_BITS);
        }
    }
}
