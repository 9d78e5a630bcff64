/* fixed_point_avx2.h: the int64 steps of FORMAT.md §4 on AVX2 vectors, shared by
 * the x86 elementwise kernels; each matches its scalar twin in
 * runtime/src/kernels/fixed_point.h bit for bit.
 *
 * AVX2 multiplies 32 x 32 -> 64 bits only in the even int32 lanes (VPMULDQ), so 8
 * int32 values travel as two vectors of 4 int64: "even" (lanes 0, 2, 4, 6) and
 * "odd" (lanes 1, 3, 5, 7, moved down by a 64-bit shift). It has no 64-bit
 * arithmetic right shift either; sra64 builds one from the logical shift. */
#ifndef IBERT_X86_FIXED_POINT_AVX2_H
#define IBERT_X86_FIXED_POINT_AVX2_H

#if !defined(__AVX2__)
#error "fixed_point_avx2.h needs -mavx2"
#endif

#include <immintrin.h>
#include <stdint.h>

/* Two int64 vectors holding the even and the odd lanes of 8 int32 values. */
typedef struct v8x64 {
    __m256i even, odd;
} v8x64;

/* The odd int32 lanes of x moved into the low halves of the int64 lanes (VPMULDQ
 * reads only those halves). */
static inline __m256i odd_lanes(__m256i x) { return _mm256_srli_epi64(x, 32); }

/* floor(v / 2^s) for int64 v and 0 <= s <= 63 per lane: adding 2^63 (XOR of the
 * sign bit) maps v to v + 2^63 >= 0, whose logical shift is floor(v / 2^s) +
 * 2^(63 - s) exactly (2^63 is a multiple of 2^s); subtract that constant again. */
static inline __m256i sra64(__m256i v, __m256i s) {
    const __m256i bias = _mm256_set1_epi64x(INT64_MIN);
    return _mm256_sub_epi64(_mm256_srlv_epi64(_mm256_xor_si256(v, bias), s), _mm256_srlv_epi64(bias, s));
}

/* (p + 2^(s-1)) >> s for int64 products p, 1 <= s <= 62 (s in the low halves of
 * its int64 lanes): the rounding of fp_rq. |p| < 2^62 + 2^50 keeps the sum in
 * int64 (FORMAT.md §4.1). */
static inline __m256i round_shift64(__m256i p, __m256i s) {
    const __m256i half = _mm256_sllv_epi64(_mm256_set1_epi64x(1), _mm256_sub_epi64(s, _mm256_set1_epi64x(1)));
    return sra64(_mm256_add_epi64(p, half), s);
}

/* fp_rq(x, m, s) for 8 int32 x with their own int32 m and s (1 <= s <= 62). The
 * products x * m are exact in VPMULDQ's int64. */
static inline v8x64 rq8(__m256i x, __m256i m, __m256i s) {
    const __m256i low32 = _mm256_set1_epi64x(0xffffffff);
    v8x64 r;
    r.even = round_shift64(_mm256_mul_epi32(x, m), _mm256_and_si256(s, low32));
    r.odd = round_shift64(_mm256_mul_epi32(odd_lanes(x), odd_lanes(m)), odd_lanes(s));
    return r;
}

/* v clamped to [lo, hi] (int64 lanes). */
static inline __m256i clamp64(__m256i v, __m256i lo, __m256i hi) {
    v = _mm256_blendv_epi8(v, hi, _mm256_cmpgt_epi64(v, hi));
    return _mm256_blendv_epi8(v, lo, _mm256_cmpgt_epi64(lo, v));
}

/* 8 int64 values known to fit int32 back into one vector of 8 int32, in order. */
static inline __m256i join32(v8x64 v) {
    return _mm256_blend_epi32(v.even, _mm256_slli_epi64(v.odd, 32), 0xaa);
}

/* sat_bits of 8 int64 values (2 <= bits <= 32) as 8 int32. */
static inline __m256i sat_bits8(v8x64 v, unsigned bits) {
    const __m256i hi = _mm256_set1_epi64x((INT64_C(1) << (bits - 1)) - 1);
    const __m256i lo = _mm256_set1_epi64x(-(INT64_C(1) << (bits - 1)));
    v.even = clamp64(v.even, lo, hi);
    v.odd = clamp64(v.odd, lo, hi);
    return join32(v);
}

/* Stores 8 int32 values as 8 bytes at dst, saturated to int8 (the packs saturate
 * to int16, then to int8). */
static inline void store8_s8(int8_t *dst, __m256i x) {
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(x), _mm256_extracti128_si256(x, 1));
    _mm_storel_epi64((__m128i *)dst, _mm_packs_epi16(w, w));
}

/* The 8 per-channel rescale values of columns j .. j + 7, or the tensor's one. */
static inline __m256i load_channel8(const int32_t *p, int per_channel, size_t j) {
    return per_channel ? _mm256_loadu_si256((const __m256i *)(p + j)) : _mm256_set1_epi32(p[0]);
}

/* All-ones int32 lanes where key_mask[0 .. 7] is attended (a softmax's keys). */
static inline __m256i attended8(const uint8_t *key_mask) {
    const __m256i k = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)key_mask));
    return _mm256_xor_si256(_mm256_cmpeq_epi32(k, _mm256_setzero_si256()), _mm256_set1_epi32(-1));
}

#endif
