/* gelu_s32s8_1x8__avx2: the integer GELU (FORMAT.md §4.4: I-BERT's erf2 or the cubic
 * erf3) on 20-bit inputs and the ffn_gelu rescale (per tensor or per column) to
 * int8, 8 values at a time, equal to gelu_s32s8_1x1__ref.
 *
 * Which steps fit int32 (the reader validates -2^15 <= b < 0 and -2^11 <= one < 0
 * for both forms). erf2 (-2^30 <= c < 0, b^2 + c < 0, 0 <= shift <= 30): a =
 * min(|t|, -b) <= 2^15, so (a + b)^2 <= 2^30 and z = (a + b)^2 + c is in [c, 0);
 * sign(t) * z (VPSIGND) and its arithmetic shift y are int32. erf3: with d = a + b,
 * the products d d_mult, c3 D, both Horner steps' and L one are VPMULLDs and each
 * floor shift a VPSRAD, exact in int32 because the reader computed every one of
 * those products for each d in [b, 0] and refuses a file where one leaves int32 or
 * |y + one| exceeds 2^12 + 1 (model_metadata.c, read_gelu_erf3); sign(t) * L one is
 * VPSIGND again. The form is a constant in each copy of the loops (gelu_blocks).
 * g = t * (y + one) needs int64 (|g| < 2^31 + 2^19): VPMULDQ makes it exactly. The
 * rescale g * mult then needs a 64 x 32-bit product, which AVX2 lacks, so g is
 * split as g = h * 2^16 + l with l = g mod 2^16 (0..65535) and h = g >> 16
 * (|h| < 2^15 + 2^3): g * mult = (h * mult) * 2^16 + l * mult, two exact VPMULDQs,
 * their sum the exact int64 product (< 2^62 + 2^50, FORMAT.md §4.1). Rounding and
 * shift are fp_rq's; the result, clamped to ±2^16, fits int32, takes the zero point
 * there (format version 6), and the saturating packs of store8_s8 make it fp_sat8's.
 * Columns past the last multiple of 8 use the scalar steps. */
#if !defined(__AVX2__)
#error "gelu_s32s8_1x8__avx2 needs -mavx2"
#endif

#include "fixed_point_avx2.h"
#include "kernels/kernels.h"

/* The ffn_gelu rescale of 8 columns as the even and odd int64 lanes use it:
 * multipliers in the low halves (VPMULDQ), shifts zero-extended; the zero points
 * (0 without them) as 8 int32. */
typedef struct gelu_rq8 {
    __m256i mult_even, mult_odd, shift_even, shift_odd, zero;
} gelu_rq8;

static inline gelu_rq8 gelu_rq8_load(const rq_params *rq, const int32_t *zero, size_t j) {
    const __m256i m = load_channel8(rq->mult, rq->per_channel, j), s = load_channel8(rq->shift, rq->per_channel, j);
    const __m256i z = zero ? load_channel8(zero, rq->per_channel, j) : _mm256_setzero_si256();
    const gelu_rq8 r = {m, odd_lanes(m), _mm256_and_si256(s, _mm256_set1_epi64x(0xffffffff)), odd_lanes(s), z};
    return r;
}

/* rq(g, mult, shift) for 4 int64 g, clamped to ±2^16: a zero point (|z| <= 128)
 * added to it then saturates to int8 as it would have unclamped. */
static inline __m256i rescale4(__m256i g, __m256i mult, __m256i shift) {
    const __m256i h = sra64(g, _mm256_set1_epi64x(16));
    const __m256i l = _mm256_and_si256(g, _mm256_set1_epi64x(0xffff));
    const __m256i p = _mm256_add_epi64(_mm256_slli_epi64(_mm256_mul_epi32(h, mult), 16), _mm256_mul_epi32(l, mult));
    return clamp64(round_shift64(p, shift), _mm256_set1_epi64x(-65536), _mm256_set1_epi64x(65536));
}

/* The integer GELU's constants as vectors: b and one, then erf2's c and shift, then
 * erf3's d_mult and c1 ... c3 (each form reads only its own). */
typedef struct gelu_consts {
    __m256i neg_b, b, one, c, d_mult, c1, c2, c3;
    __m128i yshift;
} gelu_consts;

/* erf2's w = y + one for the 8 t of x. */
static inline __m256i igelu_w_erf2(__m256i x, const gelu_consts *k) {
    const __m256i ab = _mm256_add_epi32(_mm256_min_epi32(_mm256_abs_epi32(x), k->neg_b), k->b);
    const __m256i z = _mm256_add_epi32(_mm256_mullo_epi32(ab, ab), k->c);
    return _mm256_add_epi32(_mm256_sra_epi32(_mm256_sign_epi32(z, x), k->yshift), k->one);
}

/* erf3's w = y + one for the 8 t of x (each product fits int32: see the top of the file). */
static inline __m256i igelu_w_erf3(__m256i x, const gelu_consts *k) {
    const __m256i d = _mm256_add_epi32(_mm256_min_epi32(_mm256_abs_epi32(x), k->neg_b), k->b);
    const __m256i dd = _mm256_srai_epi32(_mm256_mullo_epi32(d, k->d_mult), IGELU_ERF3_D_SHIFT);
    /* p = (c3 D >> 14) + c2, p = (p D >> 14) + c1, L = 2^14 + (p D >> 14) */
    __m256i p = _mm256_add_epi32(_mm256_srai_epi32(_mm256_mullo_epi32(k->c3, dd), IGELU_ERF3_FRAC), k->c2);
    p = _mm256_add_epi32(_mm256_srai_epi32(_mm256_mullo_epi32(p, dd), IGELU_ERF3_FRAC), k->c1);
    const __m256i l = _mm256_add_epi32(_mm256_srai_epi32(_mm256_mullo_epi32(p, dd), IGELU_ERF3_FRAC),
                                       _mm256_set1_epi32(1 << IGELU_ERF3_FRAC));
    /* y = sign(t) L one >> 14, VPSIGND's sign(t) 0 for t = 0 as the reference's */
    const __m256i y = _mm256_srai_epi32(_mm256_sign_epi32(_mm256_mullo_epi32(l, k->one), x), IGELU_ERF3_FRAC);
    return _mm256_add_epi32(y, k->one);
}

/* u for the 8 t at tr, in the given form (a constant in each copy of the loops). */
static inline void gelu8(const int32_t *tr, const gelu_consts *k, igelu_form form, const gelu_rq8 *r, int8_t *ur) {
    const __m256i x = _mm256_loadu_si256((const __m256i *)tr);
    const __m256i y1 = form == IGELU_ERF3 ? igelu_w_erf3(x, k) : igelu_w_erf2(x, k);
    const __m256i ge = _mm256_mul_epi32(x, y1), go = _mm256_mul_epi32(odd_lanes(x), odd_lanes(y1));
    const v8x64 u = {rescale4(ge, r->mult_even, r->shift_even), rescale4(go, r->mult_odd, r->shift_odd)};
    store8_s8(ur, _mm256_add_epi32(join32(u), r->zero));
}

/* The n8 (a multiple of 8) first columns in one form: a per-tensor rescale is made
 * into vectors once, a per-column one for each block. */
static inline __attribute__((always_inline)) void gelu_blocks(size_t m, size_t n8, const int32_t *t, size_t ldt,
                                                              const gelu_consts *k, igelu_form form,
                                                              const rq_params *rq, const int32_t *zero, int8_t *u,
                                                              size_t ldu) {
    if (rq->per_channel) {
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n8; j += 8) {
                const gelu_rq8 r = gelu_rq8_load(rq, zero, j);
                gelu8(t + i * ldt + j, k, form, &r, u + i * ldu + j);
            }
    } else {
        const gelu_rq8 whole = gelu_rq8_load(rq, zero, 0);
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n8; j += 8) gelu8(t + i * ldt + j, k, form, &whole, u + i * ldu + j);
    }
}

void gelu_s32s8_1x8__avx2(size_t m, size_t n, const int32_t *t, size_t ldt, const igelu_params *g,
                          const rq_params *rq, const int32_t *zero, int8_t *u, size_t ldu) {
    const gelu_consts k = {_mm256_set1_epi32(-g->b), _mm256_set1_epi32(g->b),      _mm256_set1_epi32(g->one),
                           _mm256_set1_epi32(g->c),  _mm256_set1_epi32(g->d_mult), _mm256_set1_epi32(g->c1),
                           _mm256_set1_epi32(g->c2), _mm256_set1_epi32(g->c3),     _mm_cvtsi32_si128((int)g->shift)};
    const size_t n8 = n & ~(size_t)7;
    if (g->form == IGELU_ERF3)
        gelu_blocks(m, n8, t, ldt, &k, IGELU_ERF3, rq, zero, u, ldu);
    else
        gelu_blocks(m, n8, t, ldt, &k, IGELU_ERF2, rq, zero, u, ldu);
    for (size_t i = 0; i < m; i++)
        for (size_t j = n8; j < n; j++) {
            const size_t ch = rq->per_channel ? j : 0;
            const int64_t z = zero ? zero[ch] : 0;
            u[i * ldu + j] = fp_sat8(fp_rq(kernel_igelu(t[i * ldt + j], g), rq->mult[ch], rq->shift[ch]) + z);
        }
}
