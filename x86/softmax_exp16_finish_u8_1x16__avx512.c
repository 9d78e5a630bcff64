/* softmax_exp16_finish_u8_1x16__avx512: format version 5's softmax finish (FORMAT.md
 * §4.6 step 2, I-BERT's 16-bit exps), 16 keys at a time, equal to
 * softmax_exp16_finish_u8__ref.
 *
 * It reads the exps e the kernel set's softmax left in the scores (0 <= e <= c <=
 * 2^30). Pass 1: e16 = min(32767, rq(e)) by rq16 (VPMULDQ is exact: e and the
 * multiplier are below 2^31) and a clamp in the int64 lanes, masked keys 0, stored
 * over e and summed in int32 lanes
 * (sum <= n * 32767). Pass 2: f = 2^32 / sum (scalar) and P = min(255, (e16 f) >> 24)
 * in 32-bit lanes with f = fh 2^16 + fl (fl < 2^16), as the AVX2 twin:
 * floor(e16 f / 2^16) = e16 fh + floor(e16 fl / 2^16) is at most 2^16 (e16 <= sum),
 * also for f = 2^32 (sum = 1), so VPMULLD and VPMULHUW are exact; >> 8 leaves at most
 * 256 (nested floors) and the unsigned min caps it at 255. */
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VL__)
#error "softmax_exp16_finish_u8_1x16__avx512 needs -mavx512f -mavx512bw -mavx512vl"
#endif

#include "fixed_point_avx512.h"
#include "kernels/kernels.h"

void softmax_exp16_finish_u8_1x16__avx512(size_t m, size_t n, int32_t *exps, size_t lds, const rq_params *exp16,
                                          const uint8_t *key_mask, uint8_t *p, size_t ldp) {
    if (!kernel_any_attended(n, key_mask)) return;
    const __m512i vmult = _mm512_set1_epi32(exp16->mult[0]), vshift = _mm512_set1_epi32(exp16->shift[0]);
    const __m512i cap = _mm512_set1_epi32(255);
    for (size_t i = 0; i < m; i++) {
        int32_t *e = exps + i * lds;
        uint8_t *pr = p + i * ldp;
        __m512i vsum = _mm512_setzero_si512();
        for (size_t j = 0; j < n; j += 16) {
            const __mmask16 k = lanes16(j, n);
            const __m128i km = _mm_maskz_loadu_epi8(k, key_mask + j);
            const __mmask16 attended = _mm_test_epi8_mask(km, km);
            const v16x64 r = rq16(_mm512_maskz_loadu_epi32(attended, e + j), vmult, vshift);
            /* clamped in int64 lanes: rq of a large e can exceed 32 bits before the min */
            const __m512i e16 = _mm512_maskz_mov_epi32(attended, clamp_join16(r, 0, FP_EXP16_MAX));
            _mm512_mask_storeu_epi32(e + j, k, e16);
            vsum = _mm512_add_epi32(vsum, e16);
        }
        const int64_t f = (INT64_C(1) << 32) / _mm512_reduce_add_epi32(vsum);
        const __m512i fh = _mm512_set1_epi32((int32_t)(f >> 16)), fl = _mm512_set1_epi32((int32_t)(f & 0xffff));
        for (size_t j = 0; j < n; j += 16) {
            const __mmask16 k = lanes16(j, n);
            const __m512i e16 = _mm512_maskz_loadu_epi32(k, e + j);
            const __m512i x = _mm512_add_epi32(_mm512_mullo_epi32(e16, fh), _mm512_mulhi_epu16(e16, fl));
            _mm_mask_storeu_epi8(pr + j, k, _mm512_cvtepi32_epi8(_mm512_min_epu32(_mm512_srli_epi32(x, 8), cap)));
        }
    }
}
