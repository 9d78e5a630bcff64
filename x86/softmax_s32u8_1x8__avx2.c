/* softmax_s32u8_1x8__avx2: attention probabilities through i-exp (FORMAT.md §4.6
 * step 2), 8 keys at a time, equal to softmax_s32u8_1x1__ref.
 *
 * Pass 1 rescales the scores into the exp domain (fp_rq's int64 steps,
 * fixed_point_avx2.h; |t| <= 2^30 by the file's attn_scores bound, so t is stored
 * back as int32) and takes the maximum over attended keys (masked lanes count as
 * INT32_MIN). Pass 2 computes iexp(t - max) in int32 lanes: n = max - t is in
 * [0, 2^31], exact as uint32; q = n >> K; r = -(n mod 2^K); z = r * (r + b) + c,
 * where the reader's bounds (1 <= K <= 20, b >= 2^(K+1), 2^K (b - 2^K) < c <= 2^30)
 * keep |r * (r + b)| < c, so VPMULLD is exact; z >> q by VPSRLVD, which gives 0
 * for q >= 32 and z >> 31 = 0 for q = 31, i.e. 0 whenever q > 30, as fp_iexp. The
 * e of attended keys are summed in int64 lanes. Pass 3: f = 2^62 / sum (scalar),
 * and (e * f + 2^53) >> 54 with e < 2^31 and f < 2^63 split as f = fh * 2^32 + fl:
 * e * f = (e * fh) * 2^32 + e * fl, both VPMULUDQ products exact and the sum
 * <= 2^62 (e <= sum). The rounding costs one VPAVGW per 8 keys: x = (e * f) >> 53 <= 2^9,
 * and VPAVGW of x and 0 is (x + 1) >> 1 = floor((floor(e f / 2^53) + 1) / 2) =
 * floor((e f + 2^53) / 2^54) (nested floors); capped at 255, 0 for masked keys. Keys past the last
 * multiple of 8 use the scalar steps. */
#if !defined(__AVX2__)
#error "softmax_s32u8_1x8__avx2 needs -mavx2"
#endif

#include "fixed_point_avx2.h"
#include "kernels/kernels.h"

void softmax_s32u8_1x8__avx2(size_t m, size_t n, int32_t *scores, size_t lds, int32_t mult, int32_t shift,
                             const uint8_t *key_mask, const iexp_params *e, uint8_t *p, size_t ldp) {
    const size_t n8 = n & ~(size_t)7;
    const __m256i vmult = _mm256_set1_epi32(mult), vshift = _mm256_set1_epi32(shift);
    const __m256i vmin = _mm256_set1_epi32(INT32_MIN), frac_mask = _mm256_set1_epi32((1 << e->frac_bits) - 1);
    const __m256i vb = _mm256_set1_epi32(e->b), vc = _mm256_set1_epi32(e->c);
    const __m128i kshift = _mm_cvtsi32_si128((int)e->frac_bits);
    const int any = kernel_any_attended(n, key_mask);
    for (size_t i = 0; i < m; i++) {
        int32_t *s = scores + i * lds;
        uint8_t *pr = p + i * ldp;
        if (!any) {
            for (size_t j = 0; j < n; j++) pr[j] = 0;
            continue;
        }
        /* pass 1: t = rq(s) and the maximum over attended keys */
        __m256i vmax = vmin;
        for (size_t j = 0; j < n8; j += 8) {
            const __m256i t = join32(rq8(_mm256_loadu_si256((const __m256i *)(s + j)), vmult, vshift));
            _mm256_storeu_si256((__m256i *)(s + j), t);
            vmax = _mm256_max_epi32(vmax, _mm256_blendv_epi8(vmin, t, attended8(key_mask + j)));
        }
        int32_t lanes[8], max_t = INT32_MIN;
        _mm256_storeu_si256((__m256i *)lanes, vmax);
        for (size_t l = 0; l < 8; l++) max_t = lanes[l] > max_t ? lanes[l] : max_t;
        for (size_t j = n8; j < n; j++) {
            s[j] = (int32_t)fp_rq(s[j], mult, shift);
            if (key_mask[j] && s[j] > max_t) max_t = s[j];
        }
        /* pass 2: e = iexp(t - max) and its sum over attended keys */
        const __m256i vmax_t = _mm256_set1_epi32(max_t);
        __m256i vsum = _mm256_setzero_si256();
        for (size_t j = 0; j < n8; j += 8) {
            const __m256i nn = _mm256_sub_epi32(vmax_t, _mm256_loadu_si256((const __m256i *)(s + j)));
            const __m256i q = _mm256_srl_epi32(nn, kshift);
            const __m256i r = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_and_si256(nn, frac_mask));
            const __m256i z = _mm256_add_epi32(_mm256_mullo_epi32(r, _mm256_add_epi32(r, vb)), vc);
            const __m256i ex = _mm256_and_si256(_mm256_srlv_epi32(z, q), attended8(key_mask + j));
            _mm256_storeu_si256((__m256i *)(s + j), ex);
            vsum = _mm256_add_epi64(vsum, _mm256_cvtepu32_epi64(_mm256_castsi256_si128(ex)));
            vsum = _mm256_add_epi64(vsum, _mm256_cvtepu32_epi64(_mm256_extracti128_si256(ex, 1)));
        }
        int64_t sums[4];
        _mm256_storeu_si256((__m256i *)sums, vsum);
        int64_t sum = sums[0] + sums[1] + sums[2] + sums[3];
        for (size_t j = n8; j < n; j++) {
            if (!key_mask[j]) continue;
            s[j] = fp_iexp((int64_t)s[j] - max_t, e);
            sum += s[j];
        }
        /* pass 3: p = min(255, (e * f + 2^53) >> 54), 0 for masked keys (their e is 0) */
        const int64_t f = (INT64_C(1) << 62) / sum;
        const __m256i fl = _mm256_set1_epi64x(f & 0xffffffff), fh = _mm256_set1_epi64x(f >> 32);
        const __m256i cap = _mm256_set1_epi32(255);
        for (size_t j = 0; j < n8; j += 8) {
            const __m256i ex = _mm256_loadu_si256((const __m256i *)(s + j));
            const __m256i eo = odd_lanes(ex);
            const __m256i pe = _mm256_add_epi64(_mm256_slli_epi64(_mm256_mul_epu32(ex, fh), 32), _mm256_mul_epu32(ex, fl));
            const __m256i po = _mm256_add_epi64(_mm256_slli_epi64(_mm256_mul_epu32(eo, fh), 32), _mm256_mul_epu32(eo, fl));
            const v8x64 x = {_mm256_srli_epi64(pe, 53), _mm256_srli_epi64(po, 53)};
            /* x in the low 16 bits of each 32-bit lane, 0 above: VPAVGW rounds x / 2 and leaves the 0 */
            const __m256i p32 = _mm256_min_epi32(_mm256_avg_epu16(join32(x), _mm256_setzero_si256()), cap);
            const __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(p32), _mm256_extracti128_si256(p32, 1));
            _mm_storel_epi64((__m128i *)(pr + j), _mm_packus_epi16(w, w));
        }
        for (size_t j = n8; j < n; j++) pr[j] = key_mask[j] ? fp_softmax_prob(s[j], f) : 0;
    }
}
