/* fixed_point.h: the scalar integer steps of models/FORMAT.md §4 that several
 * kernels share: the rescale rq (§4.1), saturation, i-exp (§4.3), the exact
 * integer square root (§4.5) and floor division. Every kernel at every ISA level
 * must agree with these bit for bit; the reference kernels call them directly. */
#ifndef IBERT_KERNELS_FIXED_POINT_H
#define IBERT_KERNELS_FIXED_POINT_H

#include <stddef.h>
#include <stdint.h>

/* FORMAT.md writes `>>` for a floor shift of a two's-complement int64. C11 leaves
 * `>>` of a negative value implementation-defined; GCC and Clang define it as the
 * arithmetic shift, which is what every kernel relies on. Refuse any other compiler
 * behaviour at build time rather than compute different integers. */
_Static_assert((INT64_C(-5) >> 1) == -3 && (INT64_C(-1) >> 62) == -1 && (INT32_C(-7) >> 2) == -2,
               "libibert needs >> of a negative integer to be an arithmetic (floor) shift");

/* rq(x, m, s) = (x * m + 2^(s-1)) >> s for 1 <= s <= 62. The file's values keep
 * |x * m| < 2^62 + 2^50 (FORMAT.md §4.1, §4.4), so the sum stays below 2^63. */
static inline int64_t fp_rq(int64_t x, int32_t m, int32_t s) {
    return (x * m + (INT64_C(1) << (s - 1))) >> s;
}

/* sat_b(x): x clamped to [-2^(b-1), 2^(b-1) - 1], 2 <= b <= 63. */
static inline int64_t fp_sat(int64_t x, unsigned bits) {
    int64_t hi = (INT64_C(1) << (bits - 1)) - 1, lo = -hi - 1;
    return x < lo ? lo : x > hi ? hi : x;
}

static inline int8_t fp_sat8(int64_t x) { return (int8_t)(x < -128 ? -128 : x > 127 ? 127 : x); }

/* The constants of i-exp (FORMAT.md §4.3): K = frac_bits, b = poly_b, c = poly_c. */
typedef struct iexp_params {
    uint32_t frac_bits;
    int32_t b, c;
} iexp_params;

/* iexp(w) for w <= 0: 2^(w / 2^K) scaled so that iexp(0) = c; 0 <= result <= c.
 * -w may be 2^31 (scores rescale to |t| <= 2^30), so n is int64. */
static inline int32_t fp_iexp(int64_t w, const iexp_params *e) {
    int64_t n = -w;
    int64_t q = n >> e->frac_bits;
    if (q > 30) return 0;
    int64_t r = -(n - q * (INT64_C(1) << e->frac_bits)); /* in (-2^K, 0] */
    int64_t z = r * (r + e->b) + e->c;                   /* in (0, 2^31) */
    return (int32_t)(z >> q);
}

/* The largest 16-bit exp of an I-BERT file's softmax (format version 5, §4.6). */
#define FP_EXP16_MAX 32767

/* A version-5 softmax's 16-bit exp of an attended key's exp e (FORMAT.md §4.6 step 2):
 * min(32767, rq(e, m, s)). */
static inline int32_t fp_exp16(int64_t e, int32_t m, int32_t s) {
    const int64_t r = fp_rq(e, m, s);
    return (int32_t)(r > FP_EXP16_MAX ? FP_EXP16_MAX : r);
}

/* Its floored probability min(255, (e16 * f) >> 24) for f = floor(2^32 / sum): e16 <= sum
 * keeps e16 * f <= 2^32, so P is at most 256 before the cap. */
static inline uint8_t fp_exp16_prob(int64_t e16, int64_t f) {
    const int64_t prob = (e16 * f) >> 24;
    return (uint8_t)(prob > 255 ? 255 : prob);
}

/* A softmax probability (FORMAT.md §4.6 step 2): min(255, (e * f + 2^53) >> 54),
 * e * f / 2^54 rounded to nearest (ties up) and capped so that P fits uint8. With
 * 0 <= e <= sum and f = floor(2^62 / sum), e * f <= 2^62, so adding 2^53 cannot
 * overflow. */
static inline uint8_t fp_softmax_prob(int64_t e, int64_t f) {
    const int64_t prob = (e * f + (INT64_C(1) << 53)) >> 54;
    return (uint8_t)(prob > 255 ? 255 : prob);
}

/* floor(sqrt(v)), exact for every uint64 (digit-by-digit, two bits at a time). */
static inline uint64_t fp_isqrt_u64(uint64_t v) {
    uint64_t root = 0, bit = UINT64_C(1) << 62;
    while (bit > v) bit >>= 2;
    while (bit != 0) {
        if (v >= root + bit) {
            v -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
        bit >>= 2;
    }
    return root;
}

/* floor(a / b) for b > 0 (C's `/` truncates toward zero). */
static inline int64_t fp_floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* The per-row part of §4.5's layer norm of h 22-bit values (h <= 8192): the mean
 * rounded half up, floor((2 sum + h) / (2 h)), and f = floor(2^31 / isqrt(var)),
 * 0 when var = 0. Element x then normalizes to nrm = ((x - mean) * f) >> 1.
 * Bounds: |sum| < 2^34, |x - mean| < 2^22, var < 2^57, f <= 2^31. */
static inline void fp_layernorm_stats(const int32_t *row, size_t h, int64_t *mean, int64_t *f) {
    int64_t sum = 0;
    for (size_t j = 0; j < h; j++) sum += row[j];
    *mean = fp_floor_div(2 * sum + (int64_t)h, 2 * (int64_t)h);
    uint64_t var = 0;
    for (size_t j = 0; j < h; j++) {
        int64_t y = row[j] - *mean;
        var += (uint64_t)(y * y);
    }
    uint64_t std = fp_isqrt_u64(var);
    *f = var > 0 ? (int64_t)((UINT64_C(1) << 31) / std) : 0;
}

#endif
