/* fixed_point_avx512.h: the int64 steps of FORMAT.md §4 on AVX-512 vectors, shared
 * by the x86 AVX-512 elementwise kernels; each matches its scalar twin in
 * runtime/src/kernels/fixed_point.h bit for bit.
 *
 * VPMULDQ multiplies 32 x 32 -> 64 bits in the even int32 lanes only, so 16 int32
 * values travel as two vectors of 8 int64: "even" (lanes 0, 2, ... 14) and "odd"
 * (lanes 1, 3, ... 15, moved down by a 64-bit shift). AVX-512 has the 64-bit
 * arithmetic shift (VPSRAVQ) and 64-bit min/max the AVX2 versions build by hand. */
#ifndef IBERT_X86_FIXED_POINT_AVX512_H
#define IBERT_X86_FIXED_POINT_AVX512_H

#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VL__)
#error "fixed_point_avx512.h needs -mavx512f -mavx512bw -mavx512vl"
#endif

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

/* Two int64 vectors holding the even and the odd lanes of 16 int32 values. */
typedef struct v16x64 {
    __m512i even, odd;
} v16x64;

/* The odd int32 lanes moved into the low halves of the int64 lanes (VPMULDQ reads
 * only those halves). */
static inline __m512i odd_lanes16(__m512i x) { return _mm512_srli_epi64(x, 32); }

/* (p + 2^(s-1)) >> s for int64 products p and 1 <= s <= 62 (s in the low halves of
 * the int64 lanes, high halves 0): fp_rq's rounding. |p| < 2^62 + 2^50 keeps the
 * sum in int64 (FORMAT.md §4.1). */
static inline __m512i round_shift64x8(__m512i p, __m512i s) {
    const __m512i half = _mm512_sllv_epi64(_mm512_set1_epi64(1), _mm512_sub_epi64(s, _mm512_set1_epi64(1)));
    return _mm512_srav_epi64(_mm512_add_epi64(p, half), s);
}

/* fp_rq(x, m, s) for 16 int32 x with their own int32 m and s (1 <= s <= 62); the
 * products x * m are exact in VPMULDQ's int64. */
static inline v16x64 rq16(__m512i x, __m512i m, __m512i s) {
    const __m512i low32 = _mm512_set1_epi64(0xffffffff);
    v16x64 r;
    r.even = round_shift64x8(_mm512_mul_epi32(x, m), _mm512_and_si512(s, low32));
    r.odd = round_shift64x8(_mm512_mul_epi32(odd_lanes16(x), odd_lanes16(m)), odd_lanes16(s));
    return r;
}

/* 16 int64 values clamped to [lo, hi] (which fit int32), back in one vector of 16
 * int32 in order. */
static inline __m512i clamp_join16(v16x64 v, int64_t lo, int64_t hi) {
    const __m512i vlo = _mm512_set1_epi64(lo), vhi = _mm512_set1_epi64(hi);
    const __m512i e = _mm512_min_epi64(_mm512_max_epi64(v.even, vlo), vhi);
    const __m512i o = _mm512_min_epi64(_mm512_max_epi64(v.odd, vlo), vhi);
    return _mm512_mask_blend_epi32((__mmask16)0xaaaa, e, _mm512_slli_epi64(o, 32));
}

/* The 16 per-channel rescale values of columns j .. j + 15 (those in mask), or the
 * tensor's one. */
static inline __m512i load_channel16(const int32_t *p, int per_channel, size_t j, __mmask16 mask) {
    return per_channel ? _mm512_maskz_loadu_epi32(mask, p + j) : _mm512_set1_epi32(p[0]);
}

/* The mask of the first min(16, n - j) lanes. */
static inline __mmask16 lanes16(size_t j, size_t n) {
    return n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
}

#endif
