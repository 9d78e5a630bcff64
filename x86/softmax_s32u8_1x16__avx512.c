/* softmax_s32u8_1x16__avx512: attention probabilities through i-exp (FORMAT.md §4.6
 * step 2), 16 keys at a time (the last ones masked), equal to
 * softmax_s32u8_1x1__ref.
 *
 * Pass 1 rescales the scores into the exp domain (fp_rq's int64 steps,
 * fixed_point_avx512.h; |t| <= 2^30 by the file's attn_scores bound, so t is stored
 * back as int32) and takes the maximum over attended keys. Pass 2 computes
 * iexp(t - max) in int32 lanes: n = max - t is in [0, 2^31], exact as uint32;
 * q = n >> K; r = -(n mod 2^K); z = r * (r + b) + c, where the reader's bounds
 * (1 <= K, b >= 2^(K+1), 2^K (b - 2^K) < c <= 2^30) keep |r * (r + b)| < c, so
 * VPMULLD is exact; z >> q by VPSRLVD, which gives 0 for q >= 32 and z >> 31 = 0
 * for q = 31, i.e. 0 whenever q > 30, as fp_iexp. Masked keys get e = 0; the e are
 * summed in int64 lanes. Pass 3: f = 2^62 / sum (scalar), and (e * f + 2^53) >> 54
 * with e < 2^31 and f < 2^63 split as f = fh * 2^32 + fl: e * f = (e * fh) * 2^32 +
 * e * fl, both VPMULUDQ products exact and the sum <= 2^62 (e <= sum). The rounding
 * costs one VPAVGW per 16 keys: x = (e * f) >> 53 <= 2^9, and VPAVGW of x and 0 is
 * (x + 1) >> 1 = floor((floor(e f / 2^53) + 1) / 2) = floor((e f + 2^53) / 2^54)
 * (nested floors); capped at 255 (0 for masked keys, whose e is 0). */
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VL__)
#error "softmax_s32u8_1x16__avx512 needs -mavx512f -mavx512bw -mavx512vl"
#endif

#include "fixed_point_avx512.h"
#include "kernels/kernels.h"

/* The attended keys among j .. j + 15 (within `valid`). */
static inline __mmask16 attended16(const uint8_t *key_mask, __mmask16 valid) {
    const __m128i k = _mm_maskz_loadu_epi8(valid, key_mask);
    return _mm_test_epi8_mask(k, k);
}

/* (e * f) >> 53 for the e in the low halves of the int64 lanes (as uint32): at most 2^9. */
static inline __m512i scale8(__m512i e, __m512i fh, __m512i fl) {
    const __m512i p = _mm512_add_epi64(_mm512_slli_epi64(_mm512_mul_epu32(e, fh), 32), _mm512_mul_epu32(e, fl));
    return _mm512_srli_epi64(p, 53);
}

void softmax_s32u8_1x16__avx512(size_t m, size_t n, int32_t *scores, size_t lds, int32_t mult, int32_t shift,
                                const uint8_t *key_mask, const iexp_params *e, uint8_t *p, size_t ldp) {
    const __m512i vmult = _mm512_set1_epi32(mult), vshift = _mm512_set1_epi32(shift);
    const __m512i frac_mask = _mm512_set1_epi32((1 << e->frac_bits) - 1), kbits = _mm512_set1_epi32((int)e->frac_bits);
    const __m512i vb = _mm512_set1_epi32(e->b), vc = _mm512_set1_epi32(e->c), zero = _mm512_setzero_si512();
    const int any = kernel_any_attended(n, key_mask);
    for (size_t i = 0; i < m; i++) {
        int32_t *s = scores + i * lds;
        uint8_t *pr = p + i * ldp;
        if (!any) {
            for (size_t j = 0; j < n; j++) pr[j] = 0;
            continue;
        }
        /* pass 1: t = rq(s) and the maximum over attended keys */
        __m512i vmax = _mm512_set1_epi32(INT32_MIN);
        for (size_t j = 0; j < n; j += 16) {
            const __mmask16 k = lanes16(j, n);
            const v16x64 r = rq16(_mm512_maskz_loadu_epi32(k, s + j), vmult, vshift);
            const __m512i t = _mm512_mask_blend_epi32((__mmask16)0xaaaa, r.even, _mm512_slli_epi64(r.odd, 32));
            _mm512_mask_storeu_epi32(s + j, k, t);
            vmax = _mm512_mask_max_epi32(vmax, attended16(key_mask + j, k), vmax, t);
        }
        const __m512i max_t = _mm512_set1_epi32(_mm512_reduce_max_epi32(vmax));
        /* pass 2: e = iexp(t - max) for attended keys, 0 for the others, and their sum */
        __m512i vsum = zero;
        for (size_t j = 0; j < n; j += 16) {
            const __mmask16 k = lanes16(j, n);
            const __m512i nn = _mm512_sub_epi32(max_t, _mm512_maskz_loadu_epi32(k, s + j));
            const __m512i q = _mm512_srlv_epi32(nn, kbits);
            const __m512i r = _mm512_sub_epi32(zero, _mm512_and_si512(nn, frac_mask));
            const __m512i z = _mm512_add_epi32(_mm512_mullo_epi32(r, _mm512_add_epi32(r, vb)), vc);
            const __m512i ex = _mm512_maskz_srlv_epi32(attended16(key_mask + j, k), z, q);
            _mm512_mask_storeu_epi32(s + j, k, ex);
            vsum = _mm512_add_epi64(vsum, _mm512_cvtepu32_epi64(_mm512_castsi512_si256(ex)));
            vsum = _mm512_add_epi64(vsum, _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(ex, 1)));
        }
        const int64_t sum = _mm512_reduce_add_epi64(vsum);
        /* pass 3: p = min(255, (e * f + 2^53) >> 54) */
        const int64_t f = (INT64_C(1) << 62) / sum;
        const __m512i fl = _mm512_set1_epi64(f & 0xffffffff), fh = _mm512_set1_epi64(f >> 32);
        const __m512i cap = _mm512_set1_epi32(255);
        for (size_t j = 0; j < n; j += 16) {
            const __mmask16 k = lanes16(j, n);
            const __m512i ex = _mm512_maskz_loadu_epi32(k, s + j);
            const __m512i pe = scale8(ex, fh, fl), po = scale8(odd_lanes16(ex), fh, fl);
            /* x in the low 16 bits of each 32-bit lane, 0 above: VPAVGW rounds x / 2 and leaves the 0 */
            const __m512i x = _mm512_mask_blend_epi32((__mmask16)0xaaaa, pe, _mm512_slli_epi64(po, 32));
            const __m512i prob = _mm512_min_epu32(_mm512_avg_epu16(x, _mm512_setzero_si512()), cap);
            _mm_mask_storeu_epi8(pr + j, k, _mm512_cvtepi32_epi8(prob));
        }
    }
}
