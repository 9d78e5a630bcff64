/* softmax_exp16_finish_u8_1x8__avx2: format version 5's softmax finish (FORMAT.md
 * §4.6 step 2, I-BERT's 16-bit exps), 8 keys at a time, equal to
 * softmax_exp16_finish_u8__ref.
 *
 * It reads the exps e the kernel set's softmax left in the scores (0 <= e <= c <=
 * 2^30 at attended keys; masked keys hold scratch, which the key mask zeroes).
 * Pass 1: e16 = min(32767, rq(e)) by rq8 (fixed_point_avx2.h: VPMULDQ is exact, e and
 * the multiplier are below 2^31) and sat_bits8's clamp to 16 bits in the int64 lanes
 * (rq >= 0, so the clamp is the min, and it comes before the 32-bit join: rq of a large
 * e can exceed 32 bits), masked keys 0, stored over e and summed in int32 lanes (sum <=
 * n * 32767). Pass 2: f = 2^32 / sum (scalar) and P = min(255, (e16 f) >> 24) in 32-bit
 * lanes with f = fh 2^16 + fl (fl < 2^16): floor(e16 f / 2^16) = e16 fh +
 * floor(e16 fl / 2^16). VPMULLD gives e16 fh (at most 2^16: e16 <= sum makes e16 f <= 2^32,
 * also for f = 2^32 when sum = 1), VPMULHUW the second term (e16 and fl sit in the low
 * 16 bits of each 32-bit lane, 0 above, so the high words multiply to 0); >> 8 leaves at
 * most 256 (nested floors: floor(e16 f / 2^24)) and the unsigned saturating packs cap it
 * at 255. Keys past the last multiple of 8 use fp_exp16 and fp_exp16_prob. */
#if !defined(__AVX2__)
#error "softmax_exp16_finish_u8_1x8__avx2 needs -mavx2"
#endif

#include "fixed_point_avx2.h"
#include "kernels/kernels.h"

void softmax_exp16_finish_u8_1x8__avx2(size_t m, size_t n, int32_t *exps, size_t lds, const rq_params *exp16,
                                       const uint8_t *key_mask, uint8_t *p, size_t ldp) {
    if (!kernel_any_attended(n, key_mask)) return;
    const int32_t mult = exp16->mult[0], shift = exp16->shift[0];
    const size_t n8 = n & ~(size_t)7;
    const __m256i vmult = _mm256_set1_epi32(mult), vshift = _mm256_set1_epi32(shift);
    for (size_t i = 0; i < m; i++) {
        int32_t *e = exps + i * lds;
        uint8_t *pr = p + i * ldp;
        __m256i vsum = _mm256_setzero_si256();
        for (size_t j = 0; j < n8; j += 8) {
            const v8x64 r = rq8(_mm256_loadu_si256((const __m256i *)(e + j)), vmult, vshift);
            const __m256i e16 = _mm256_and_si256(sat_bits8(r, 16), attended8(key_mask + j));
            _mm256_storeu_si256((__m256i *)(e + j), e16);
            vsum = _mm256_add_epi32(vsum, e16);
        }
        int32_t sums[8];
        _mm256_storeu_si256((__m256i *)sums, vsum);
        int64_t sum = 0; /* >= 1: the loader keeps rq(c) >= 1, and the row's largest key has e = c */
        for (size_t l = 0; l < 8; l++) sum += sums[l];
        for (size_t j = n8; j < n; j++) {
            e[j] = key_mask[j] ? fp_exp16(e[j], mult, shift) : 0;
            sum += e[j];
        }
        const int64_t f = (INT64_C(1) << 32) / sum;
        const __m256i fh = _mm256_set1_epi32((int32_t)(f >> 16)), fl = _mm256_set1_epi32((int32_t)(f & 0xffff));
        for (size_t j = 0; j < n8; j += 8) {
            const __m256i e16 = _mm256_loadu_si256((const __m256i *)(e + j));
            const __m256i x = _mm256_add_epi32(_mm256_mullo_epi32(e16, fh), _mm256_mulhi_epu16(e16, fl));
            const __m256i p32 = _mm256_srli_epi32(x, 8);
            const __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(p32), _mm256_extracti128_si256(p32, 1));
            _mm_storel_epi64((__m128i *)(pr + j), _mm_packus_epi16(w, w));
        }
        for (size_t j = n8; j < n; j++) pr[j] = fp_exp16_prob(e[j], f);
    }
}
