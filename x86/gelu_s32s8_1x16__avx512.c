/* gelu_s32s8_1x16__avx512: the integer GELU (FORMAT.md §4.4: I-BERT's erf2 or the
 * cubic erf3) on 20-bit inputs and the ffn_gelu rescale (per tensor or per column) to
 * int8, 16 values at a time (the last ones masked), equal to gelu_s32s8_1x1__ref.
 *
 * Which steps fit int32 (the reader validates -2^15 <= b < 0 and -2^11 <= one < 0
 * for both forms). erf2 (-2^30 <= c < 0, b^2 + c < 0, 0 <= shift <= 30): a =
 * min(|t|, -b) <= 2^15, so (a + b)^2 <= 2^30 and z = (a + b)^2 + c is in [c, 0);
 * sign(t) * z and its arithmetic shift y are int32. erf3: with d = a + b, the
 * products d d_mult, c3 D, both Horner steps' and L one are VPMULLDs and each floor
 * shift a VPSRAD, exact in int32 because the reader computed every one of those
 * products for each d in [b, 0] and refuses a file where one leaves int32 or
 * |y + one| exceeds 2^12 + 1 (model_metadata.c, read_gelu_erf3); sign(t) * L one is
 * taken as t < 0 ? -L one : L one (for t = 0, g = t (y + one) = 0 whatever y is).
 * The form is a constant in each copy of the loops (gelu_rows). g = t * (y + one)
 * needs int64 (|g| < 2^31 + 2^19): VPMULDQ makes it exactly. The rescale g * mult
 * needs a 64 x 32-bit product, so g is split as g = h * 2^16 + l with l = g mod 2^16
 * (0..65535) and h = g >> 16 (|h| < 2^15 + 2^3): g * mult = (h * mult) * 2^16 +
 * l * mult, two exact VPMULDQs whose sum is the exact int64 product (< 2^62 + 2^50,
 * FORMAT.md §4.1). Rounding and shift are fp_rq's; the result, clamped to ±2^16,
 * fits int32, takes the zero point there (format version 6), and VPMOVSDB's
 * saturation makes it fp_sat8's. */
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VL__)
#error "gelu_s32s8_1x16__avx512 needs -mavx512f -mavx512bw -mavx512vl"
#endif

#include "fixed_point_avx512.h"
#include "kernels/kernels.h"

/* rq(g, mult, shift) for 8 int64 g. */
static inline __m512i rescale8(__m512i g, __m512i mult, __m512i shift) {
    const __m512i h = _mm512_srai_epi64(g, 16), l = _mm512_and_si512(g, _mm512_set1_epi64(0xffff));
    const __m512i p = _mm512_add_epi64(_mm512_slli_epi64(_mm512_mul_epi32(h, mult), 16), _mm512_mul_epi32(l, mult));
    return round_shift64x8(p, shift);
}

/* The ffn_gelu rescale of 16 columns as the even and odd int64 lanes use it:
 * multipliers in the low halves (VPMULDQ), shifts zero-extended; the zero points
 * (0 without them) as 16 int32. */
typedef struct gelu_rq16 {
    __m512i mult_even, mult_odd, shift_even, shift_odd, zero;
} gelu_rq16;

static inline gelu_rq16 gelu_rq16_load(const rq_params *rq, const int32_t *zero, size_t j, __mmask16 k) {
    const __m512i m = load_channel16(rq->mult, rq->per_channel, j, k);
    const __m512i s = load_channel16(rq->shift, rq->per_channel, j, k);
    const __m512i z = zero ? load_channel16(zero, rq->per_channel, j, k) : _mm512_setzero_si512();
    const gelu_rq16 r = {m, odd_lanes16(m), _mm512_and_si512(s, _mm512_set1_epi64(0xffffffff)), odd_lanes16(s), z};
    return r;
}

/* The integer GELU's constants as vectors: b and one, then erf2's c and shift, then
 * erf3's d_mult and c1 ... c3 (each form reads only its own). */
typedef struct gelu_consts {
    __m512i neg_b, b, one, c, yshift, d_mult, c1, c2, c3;
} gelu_consts;

/* erf2's w = y + one for the 16 t of x. */
static inline __m512i igelu_w_erf2(__m512i x, const gelu_consts *gc) {
    const __m512i zero = _mm512_setzero_si512();
    const __m512i ab = _mm512_add_epi32(_mm512_min_epi32(_mm512_abs_epi32(x), gc->neg_b), gc->b);
    const __m512i z = _mm512_add_epi32(_mm512_mullo_epi32(ab, ab), gc->c);
    /* sign(t) * z: z where t > 0, -z where t < 0, 0 where t = 0 */
    __m512i sz = _mm512_maskz_mov_epi32(_mm512_cmpneq_epi32_mask(x, zero), z);
    sz = _mm512_mask_sub_epi32(sz, _mm512_cmplt_epi32_mask(x, zero), zero, z);
    return _mm512_add_epi32(_mm512_srav_epi32(sz, gc->yshift), gc->one);
}

/* erf3's w = y + one for the 16 t of x (each product fits int32: see the top of the file). */
static inline __m512i igelu_w_erf3(__m512i x, const gelu_consts *gc) {
    const __m512i zero = _mm512_setzero_si512();
    const __m512i d = _mm512_add_epi32(_mm512_min_epi32(_mm512_abs_epi32(x), gc->neg_b), gc->b);
    const __m512i dd = _mm512_srai_epi32(_mm512_mullo_epi32(d, gc->d_mult), IGELU_ERF3_D_SHIFT);
    /* p = (c3 D >> 14) + c2, p = (p D >> 14) + c1, L = 2^14 + (p D >> 14) */
    __m512i p = _mm512_add_epi32(_mm512_srai_epi32(_mm512_mullo_epi32(gc->c3, dd), IGELU_ERF3_FRAC), gc->c2);
    p = _mm512_add_epi32(_mm512_srai_epi32(_mm512_mullo_epi32(p, dd), IGELU_ERF3_FRAC), gc->c1);
    const __m512i l = _mm512_add_epi32(_mm512_srai_epi32(_mm512_mullo_epi32(p, dd), IGELU_ERF3_FRAC),
                                       _mm512_set1_epi32(1 << IGELU_ERF3_FRAC));
    /* sign(t) * L one as t < 0 ? -L one : L one (see the top of the file for t = 0) */
    const __m512i l_one = _mm512_mullo_epi32(l, gc->one);
    const __m512i signed_l_one = _mm512_mask_sub_epi32(l_one, _mm512_cmplt_epi32_mask(x, zero), zero, l_one);
    return _mm512_add_epi32(_mm512_srai_epi32(signed_l_one, IGELU_ERF3_FRAC), gc->one);
}

/* u for the t at tr of the lanes in k, in the given form (a constant in each copy of the loops). */
static inline void gelu16(const int32_t *tr, __mmask16 k, const gelu_consts *gc, igelu_form form,
                          const gelu_rq16 *r, int8_t *ur) {
    const __m512i x = _mm512_maskz_loadu_epi32(k, tr);
    const __m512i y1 = form == IGELU_ERF3 ? igelu_w_erf3(x, gc) : igelu_w_erf2(x, gc);
    const v16x64 u = {rescale8(_mm512_mul_epi32(x, y1), r->mult_even, r->shift_even),
                      rescale8(_mm512_mul_epi32(odd_lanes16(x), odd_lanes16(y1)), r->mult_odd, r->shift_odd)};
    const __m512i shifted = _mm512_add_epi32(clamp_join16(u, -65536, 65536), r->zero);
    _mm_mask_storeu_epi8(ur, k, _mm512_cvtsepi32_epi8(shifted));
}

/* Every row in one form: a per-tensor rescale is made into vectors once, a
 * per-column one for each block. */
static inline __attribute__((always_inline)) void gelu_rows(size_t m, size_t n, const int32_t *t, size_t ldt,
                                                            const gelu_consts *gc, igelu_form form,
                                                            const rq_params *rq, const int32_t *zero, int8_t *u,
                                                            size_t ldu) {
    if (rq->per_channel) {
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j += 16) {
                const __mmask16 k = lanes16(j, n);
                const gelu_rq16 r = gelu_rq16_load(rq, zero, j, k);
                gelu16(t + i * ldt + j, k, gc, form, &r, u + i * ldu + j);
            }
        return;
    }
    const gelu_rq16 whole = gelu_rq16_load(rq, zero, 0, (__mmask16)1);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j += 16) gelu16(t + i * ldt + j, lanes16(j, n), gc, form, &whole, u + i * ldu + j);
}

void gelu_s32s8_1x16__avx512(size_t m, size_t n, const int32_t *t, size_t ldt, const igelu_params *g,
                             const rq_params *rq, const int32_t *zero, int8_t *u, size_t ldu) {
    const gelu_consts gc = {_mm512_set1_epi32(-g->b), _mm512_set1_epi32(g->b),         _mm512_set1_epi32(g->one),
                            _mm512_set1_epi32(g->c),  _mm512_set1_epi32((int)g->shift), _mm512_set1_epi32(g->d_mult),
                            _mm512_set1_epi32(g->c1), _mm512_set1_epi32(g->c2),         _mm512_set1_epi32(g->c3)};
    if (g->form == IGELU_ERF3)
        gelu_rows(m, n, t, ldt, &gc, IGELU_ERF3, rq, zero, u, ldu);
    else
        gelu_rows(m, n, t, ldt, &gc, IGELU_ERF2, rq, zero, u, ldu);
}
