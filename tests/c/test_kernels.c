/* test_kernels.c: the reference kernels (runtime/src/kernels/) and the arena plan,
 * checked integer for integer against expectations written independently here:
 * naive loops in int64, exact 128-bit arithmetic (written out below, since 32-bit
 * ARM has no __int128) with floor division by magnitudes instead of signed shifts,
 * a binary-search square root, and FORMAT.md §4 transcribed directly.
 * Sizes are awkward (1, 2, 3, 15, 16, 17, 31, 33, 63, 65) and values go to the
 * ends of their ranges. Matrices get row strides wider than their rows, and the
 * padding must come back untouched.
 *
 * Prints "N passed, N failed"; exits non-zero on any failure. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "arena.h"
#include "context.h"
#include "kernels/hwcap.h"
#include "kernels/kernels.h"

static const size_t SIZES[] = {1, 2, 3, 15, 16, 17, 31, 33, 63, 65};
#define N_SIZES (sizeof SIZES / sizeof SIZES[0])
#define PAD 3             /* extra elements at the end of every matrix row */
#define SENTINEL8 0x5a
#define SENTINEL32 0x5a5a5a5a

#define TEST_RNG_SEED 0x1b873593u
#include "test_check.h"
#include "softmax_rounding_cases.h"

/* ---- exact 128-bit integers ---------------------------------------------------
 * What the references need beyond int64 (|x * m| up to 2^81, iexp * 2^62 / sum up
 * to 2^92, squares just past 2^64): a two's-complement integer mod 2^128 kept in
 * two unsigned halves, so every step wraps with defined behaviour. The values the
 * tests build stay far inside ±2^127, where mod 2^128 is exact. */

typedef struct {
    uint64_t hi, lo; /* value = hi * 2^64 + lo, read as two's complement */
} wide;

static wide w_of(int64_t v) { return (wide){v < 0 ? UINT64_MAX : 0, (uint64_t)v}; }
static wide w_of_u(uint64_t v) { return (wide){0, v}; }
static wide w_pow2(int e) { /* 0 <= e <= 126 */
    return e < 64 ? (wide){0, UINT64_C(1) << e} : (wide){UINT64_C(1) << (e - 64), 0};
}
static int w_is_neg(wide a) { return (a.hi >> 63) != 0; }

static wide w_add(wide a, wide b) {
    wide r = {a.hi + b.hi, a.lo + b.lo};
    r.hi += r.lo < a.lo; /* carry out of the low half */
    return r;
}
static wide w_neg(wide a) { return w_add((wide){~a.hi, ~a.lo}, w_of(1)); }
static wide w_sub(wide a, wide b) { return w_add(a, w_neg(b)); }

/* -1, 0 or 1 as a <, == or > b. Flipping the sign bits turns signed order into unsigned order. */
static int w_cmp(wide a, wide b) {
    uint64_t ah = a.hi ^ (UINT64_C(1) << 63), bh = b.hi ^ (UINT64_C(1) << 63);
    if (ah != bh) return ah < bh ? -1 : 1;
    return a.lo < b.lo ? -1 : a.lo > b.lo;
}

/* The full product of two uint64, schoolbook on 32-bit digits. */
static wide w_mul_u64(uint64_t a, uint64_t b) {
    uint64_t a0 = a & 0xffffffffu, a1 = a >> 32, b0 = b & 0xffffffffu, b1 = b >> 32;
    uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    uint64_t middle = (p00 >> 32) + (p01 & 0xffffffffu) + (p10 & 0xffffffffu); /* < 3 * 2^32 */
    return (wide){p11 + (p01 >> 32) + (p10 >> 32) + (middle >> 32), (middle << 32) | (p00 & 0xffffffffu)};
}

/* a * b mod 2^128: the low halves' full product; the cross terms count from 2^64 up,
 * so only their low 64 bits stay inside 128 bits. */
static wide w_mul(wide a, wide b) {
    wide r = w_mul_u64(a.lo, b.lo);
    r.hi += a.lo * b.hi + a.hi * b.lo;
    return r;
}

/* floor(a / 2^e) for a >= 0, 0 <= e <= 126 */
static wide w_div_pow2_nonneg(wide a, int e) {
    if (e == 0) return a;
    if (e >= 64) return (wide){0, a.hi >> (e - 64)};
    return (wide){a.hi >> e, (a.lo >> e) | (a.hi << (64 - e))};
}

/* floor(a / 2^e), 0 <= e <= 126. Below zero, floor(a / d) = -floor((-a + d - 1) / d). */
static wide w_floor_div_pow2(wide a, int e) {
    if (!w_is_neg(a)) return w_div_pow2_nonneg(a, e);
    wide rounded_up = w_add(w_neg(a), w_sub(w_pow2(e), w_of(1)));
    return w_neg(w_div_pow2_nonneg(rounded_up, e));
}

/* The int64 a wide holds (the caller knows it fits). */
static int64_t w_to_i64(wide a) { return a.lo <= INT64_MAX ? (int64_t)a.lo : -(int64_t)~a.lo - 1; }

/* ---- independent arithmetic -------------------------------------------------- */

static int64_t floor_div64(int64_t a, int64_t b) { /* b > 0 */
    int64_t q = a / b;
    if (a % b != 0 && a < 0) q -= 1;
    return q;
}

/* rq(x, m, s) = floor((x * m + 2^(s-1)) / 2^s), with nothing to overflow */
static wide ref_rq(wide x, int32_t m, int32_t s) {
    return w_floor_div_pow2(w_add(w_mul(x, w_of(m)), w_pow2(s - 1)), s);
}

static int64_t clamp_bits(wide x, unsigned bits) {
    wide hi = w_sub(w_pow2((int)bits - 1), w_of(1)), lo = w_neg(w_pow2((int)bits - 1));
    return w_to_i64(w_cmp(x, lo) < 0 ? lo : w_cmp(x, hi) > 0 ? hi : x);
}

/* s = floor(sqrt(v)): s^2 <= v < (s + 1)^2, compared in 128 bits ((s + 1)^2 may be 2^64) */
static int is_isqrt(uint64_t v, uint64_t s) {
    return s < (UINT64_C(1) << 32) && w_cmp(w_mul_u64(s, s), w_of_u(v)) <= 0 &&
           w_cmp(w_mul_u64(s + 1, s + 1), w_of_u(v)) > 0;
}

static uint64_t ref_isqrt(uint64_t v) { /* largest s with s^2 <= v, by bisection */
    uint64_t lo = 0, hi = UINT64_C(1) << 32; /* hi^2 > any v < 2^64 */
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (w_cmp(w_mul_u64(mid, mid), w_of_u(v)) <= 0) lo = mid;
        else hi = mid;
    }
    return lo;
}

static int64_t ref_iexp(int64_t w, const iexp_params *e) {
    int64_t unit = INT64_C(1) << e->frac_bits;
    int64_t n = -w, q = n / unit;
    if (q > 30) return 0;
    int64_t r = -(n % unit);
    int64_t z = r * (r + e->b) + e->c;
    return z / (INT64_C(1) << q);
}

/* ---- helpers ----------------------------------------------------------------- */

static void fill_random8(int8_t *p, size_t count, int lo, int hi) {
    for (size_t i = 0; i < count; i++) p[i] = (int8_t)rand_in(lo, hi);
}

static int padding_intact8(const void *buf, size_t rows, size_t cols, size_t ld) {
    const uint8_t *p = buf;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = cols; j < ld; j++)
            if (p[i * ld + j] != SENTINEL8) return 0;
    return 1;
}

static int padding_intact32(const int32_t *p, size_t rows, size_t cols, size_t ld) {
    for (size_t i = 0; i < rows; i++)
        for (size_t j = cols; j < ld; j++)
            if (p[i * ld + j] != SENTINEL32) return 0;
    return 1;
}

static int32_t *alloc32(size_t count) {
    int32_t *p = malloc(count * sizeof *p);
    if (!p) abort();
    for (size_t i = 0; i < count; i++) p[i] = SENTINEL32;
    return p;
}

static void *alloc8(size_t count) {
    void *p = malloc(count);
    if (!p) abort();
    memset(p, SENTINEL8, count);
    return p;
}

/* Extreme and ordinary rescales: multipliers at and near ±(2^31 - 1), shifts 1 and 62. */
static const int32_t MULTS[] = {INT32_MAX, -INT32_MAX, INT32_MAX - 1, -INT32_MAX + 1, 1, -1, 0, 1 << 30, 12345};
static const int32_t SHIFTS[] = {1, 2, 31, 32, 61, 62};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void random_rescale(int32_t *mult, int32_t *shift, size_t n) {
    for (size_t j = 0; j < n; j++) {
        mult[j] = rand_u64() % 2 ? MULTS[rand_u64() % COUNT(MULTS)] : (int32_t)rand_in(-INT32_MAX, INT32_MAX);
        shift[j] = rand_u64() % 2 ? SHIFTS[rand_u64() % COUNT(SHIFTS)] : (int32_t)rand_in(1, 62);
    }
}

/* ---- the 128-bit helper itself ---------------------------------------------- */

static void test_wide(void) {
    /* known products: (2^64 - 1)^2 = 2^128 - 2^65 + 1, (2^32 - 1) * (2^32 + 1) = 2^64 - 1 */
    wide big = w_mul_u64(UINT64_MAX, UINT64_MAX), mid = w_mul_u64(0xffffffffu, UINT64_C(0x100000001));
    check(big.hi == UINT64_MAX - 1 && big.lo == 1 && mid.hi == 0 && mid.lo == UINT64_MAX, "wide known products",
          "%" PRIx64 ":%" PRIx64, big.hi, big.lo);
    /* INT64_MIN^2 = 2^126; -1 * 2^126 = -2^126 */
    wide sq = w_mul(w_of(INT64_MIN), w_of(INT64_MIN)), neg = w_mul(w_of(-1), sq);
    check(w_cmp(sq, w_pow2(126)) == 0 && w_cmp(neg, w_neg(w_pow2(126))) == 0 && w_cmp(neg, w_of(INT64_MIN)) < 0,
          "wide signed products", "%" PRIx64 ":%" PRIx64, neg.hi, neg.lo);
    /* against plain int64 where the values fit: products, order, floor division by 2^e */
    long bad = 0;
    for (int i = 0; i < 100000; i++) {
        int64_t a = rand_in(-INT32_MAX, INT32_MAX), b = rand_in(-INT32_MAX, INT32_MAX);
        int e = (int)rand_in(0, 62);
        wide p = w_mul(w_of(a), w_of(b));
        if (w_to_i64(p) != a * b || w_cmp(p, w_of(0)) != (a * b > 0) - (a * b < 0)) bad++;
        if (w_cmp(w_of(a), w_of(b)) != (a > b) - (a < b)) bad++;
        if (w_to_i64(w_floor_div_pow2(p, e)) != floor_div64(a * b, INT64_C(1) << e)) bad++;
    }
    check(bad == 0, "wide agrees with int64", "%ld wrong", bad);
    /* (a * 2^64 + b) / 2^64 = a, for values past int64: floor division across the halves */
    bad = 0;
    for (int i = 0; i < 100000; i++) {
        int64_t a = rand_in(-INT32_MAX, INT32_MAX), b = (int64_t)(rand_u64() >> 1);
        int e = (int)rand_in(1, 63);
        wide x = w_add(w_mul(w_of(a), w_pow2(64)), w_of(b));
        /* floor((a * 2^64 + b) / 2^e) = a * 2^(64-e) + floor(b / 2^e), as b >= 0 */
        wide want = w_add(w_mul(w_of(a), w_pow2(64 - e)), w_of(b / (INT64_C(1) << (e - 1)) / 2));
        if (w_cmp(w_floor_div_pow2(x, e), want) != 0 || w_cmp(w_floor_div_pow2(x, 64), w_of(a)) != 0) bad++;
    }
    check(bad == 0, "wide floor division by 2^e past int64", "%ld wrong", bad);
}

/* ---- fixed point ------------------------------------------------------------- */

static void test_isqrt(void) {
    long bad = 0;
    for (uint64_t v = 0; v < (UINT64_C(1) << 20); v++) {
        uint64_t s = fp_isqrt_u64(v);
        if (!is_isqrt(v, s)) bad++;
    }
    check(bad == 0, "isqrt exhaustive below 2^20", "%ld wrong", bad);

    /* around squares of every size, up to the largest square below 2^64 */
    uint64_t roots[4096];
    size_t n_roots = 0;
    for (int e = 10; e < 32; e++) {
        uint64_t base = UINT64_C(1) << e;
        roots[n_roots++] = base - 1;
        roots[n_roots++] = base;
        roots[n_roots++] = base + 1;
    }
    roots[n_roots++] = UINT64_C(379625062);  /* floor(sqrt(2^57)) */
    roots[n_roots++] = UINT64_C(379625063);
    roots[n_roots++] = UINT64_C(4294967295); /* (2^32 - 1)^2 is the largest square < 2^64 */
    while (n_roots < COUNT(roots)) roots[n_roots++] = (uint64_t)rand_in(1024, (INT64_C(1) << 32) - 1);
    bad = 0;
    for (size_t i = 0; i < n_roots; i++) {
        uint64_t r = roots[i];
        wide sq = w_mul_u64(r, r), two_r = w_of_u(2 * r);
        wide candidates[] = {w_sub(sq, w_of(1)), sq, w_add(sq, w_of(1)), w_add(sq, two_r),
                             w_add(w_add(sq, two_r), w_of(1))};
        for (size_t c = 0; c < COUNT(candidates); c++) {
            if (candidates[c].hi != 0) continue; /* below 0 or above UINT64_MAX */
            uint64_t v = candidates[c].lo;
            uint64_t s = fp_isqrt_u64(v);
            if (!is_isqrt(v, s)) {
                if (bad++ < 5) fprintf(stderr, "isqrt(%" PRIu64 ") = %" PRIu64 "\n", v, s);
            }
        }
    }
    check(bad == 0, "isqrt near squares", "%ld wrong", bad);

    uint64_t edges[] = {UINT64_C(1) << 57, (UINT64_C(1) << 57) - 1, (UINT64_C(1) << 57) + 1, UINT64_MAX,
                        UINT64_MAX - 1, UINT64_C(1) << 62, UINT64_C(1) << 63};
    for (size_t i = 0; i < COUNT(edges); i++) {
        uint64_t s = fp_isqrt_u64(edges[i]);
        check(s == ref_isqrt(edges[i]), "isqrt edge", "isqrt(%" PRIu64 ") = %" PRIu64 ", expected %" PRIu64, edges[i],
              s, ref_isqrt(edges[i]));
    }
    check(fp_isqrt_u64(UINT64_C(1) << 57) == UINT64_C(379625062), "isqrt 2^57", "got %" PRIu64,
          fp_isqrt_u64(UINT64_C(1) << 57));
}

static void test_rq(void) {
    const int64_t xs[] = {INT32_MIN, INT32_MIN + 1, -1, 0, 1, INT32_MAX, INT32_MAX - 1, -(1 << 30), 1 << 30, 3, -3};
    long bad = 0;
    for (size_t a = 0; a < COUNT(xs); a++)
        for (size_t b = 0; b < COUNT(MULTS); b++)
            for (int s = 1; s <= 62; s++) {
                int64_t got = fp_rq(xs[a], MULTS[b], s);
                if (w_cmp(w_of(got), ref_rq(w_of(xs[a]), MULTS[b], s)) != 0) {
                    if (bad++ < 5)
                        fprintf(stderr, "rq(%" PRId64 ", %" PRId32 ", %d) = %" PRId64 "\n", xs[a], MULTS[b], s, got);
                }
            }
    for (int i = 0; i < 200000; i++) {
        int64_t x = rand_in(INT32_MIN, INT32_MAX);
        int32_t m = (int32_t)rand_in(-INT32_MAX, INT32_MAX), s = (int32_t)rand_in(1, 62);
        if (w_cmp(w_of(fp_rq(x, m, s)), ref_rq(w_of(x), m, s)) != 0) bad++;
    }
    check(bad == 0, "rq against 128-bit arithmetic", "%ld wrong", bad);
    /* ties round toward +infinity */
    check(fp_rq(1, 1, 1) == 1 && fp_rq(-1, 1, 1) == 0 && fp_rq(3, 1, 1) == 2 && fp_rq(-3, 1, 1) == -1, "rq ties",
          "rq(±1, 1, 1) = %" PRId64 ", %" PRId64, fp_rq(1, 1, 1), fp_rq(-1, 1, 1));
}

/* The constant sets of i-exp the tests use: the converter's K = 10 values (set 0),
 * the smallest b and c FORMAT.md allows for a few K (b = 2^(K+1) and
 * c = 2^K (b - 2^K) + 1), and the largest b and K. */
static const iexp_params EXP_SETS[] = {
    {10, 3999, 6093716},
    {1, 4, 2 * (4 - 2) + 1},
    {4, 32, 16 * (32 - 16) + 1},
    {10, 2048, 1024 * (2048 - 1024) + 1},
    {12, 8192, 4096 * (8192 - 4096) + 1},
    {10, 1 << 20, 1 << 30},
    {14, 1 << 15, (1 << 28) + 1},
    {1, 1 << 20, 2 * ((1 << 20) - 2) + 1},
};

static void test_iexp(void) {
    for (size_t p = 0; p < COUNT(EXP_SETS); p++) {
        const iexp_params *e = &EXP_SETS[p];
        int64_t unit = INT64_C(1) << e->frac_bits;
        long bad = 0, out_of_range = 0;
        check(fp_iexp(0, e) == e->c, "iexp(0) = c", "set %zu: %" PRId32, p, fp_iexp(0, e));
        /* every remainder r at a few exponents q, then the ends of the domain */
        int64_t ws[] = {0, -1, -unit, -31 * unit, -31 * unit + 1, -31 * unit - 1, INT32_MIN, INT32_MIN + 1};
        for (int q = 0; q <= 31; q += (q < 3 || q > 28) ? 1 : 7)
            for (int64_t r = 0; r < unit; r += unit > 4096 ? 97 : 1) {
                int64_t w = -(q * unit + r);
                int64_t got = fp_iexp(w, e);
                if (got != ref_iexp(w, e)) bad++;
                if (got < 0 || got > e->c || (q == 0 && got <= 0)) out_of_range++;
            }
        for (size_t i = 0; i < COUNT(ws); i++)
            if (fp_iexp(ws[i], e) != ref_iexp(ws[i], e)) bad++;
        check(bad == 0, "iexp against formula", "set %zu: %ld wrong", p, bad);
        check(out_of_range == 0, "iexp in [0, c], positive at q = 0", "set %zu: %ld outside", p, out_of_range);
        if (p != 0) continue;
        /* the converter's constants are monotone: a larger w never gives a smaller value
         * (the extreme sets need not be: the polynomial need not reach c / 2 at r = -2^K) */
        long not_monotone = 0;
        for (int64_t w = -3 * unit; w < 0; w += unit > 4096 ? 13 : 1)
            if (fp_iexp(w, e) > fp_iexp(w + 1, e)) not_monotone++;
        check(not_monotone == 0, "iexp monotone", "set %zu: %ld decreases", p, not_monotone);
    }
}

/* ---- matrix products --------------------------------------------------------- */

static void test_gemm_s8s8s32(void) {
    long bad = 0, pad_bad = 0, cases = 0;
    for (size_t a = 0; a < N_SIZES; a++)
        for (size_t b = 0; b < N_SIZES; b++)
            for (size_t c = 0; c < N_SIZES; c++) {
                size_t m = SIZES[a], n = SIZES[b], k = SIZES[c];
                size_t lda = k + PAD, ldb = k + 1, ldc = n + PAD;
                int8_t *x = alloc8(m * lda), *w = alloc8(n * ldb);
                int32_t *bias = alloc32(n), *out = alloc32(m * ldc);
                int extreme = (a + b + c) % 3 == 0; /* all -128 against all ±127 */
                for (size_t i = 0; i < m; i++) fill_random8(x + i * lda, k, extreme ? -128 : -128, extreme ? -128 : 127);
                for (size_t j = 0; j < n; j++) fill_random8(w + j * ldb, k, extreme ? 127 : -127, 127);
                if (extreme && (b % 2)) for (size_t j = 0; j < n * ldb; j++) w[j] = (int8_t)-w[j];
                for (size_t j = 0; j < n; j++) bias[j] = (int32_t)rand_in(-(1 << 30), 1 << 30);
                int with_bias = (a + c) % 2;
                gemm_s8s8s32_1x1__ref(m, n, k, x, lda, w, ldb, with_bias ? bias : NULL, out, ldc);
                for (size_t i = 0; i < m; i++)
                    for (size_t j = 0; j < n; j++) {
                        int64_t want = with_bias ? bias[j] : 0;
                        for (size_t kk = 0; kk < k; kk++) want += (int64_t)x[i * lda + kk] * w[j * ldb + kk];
                        if (out[i * ldc + j] != want) bad++;
                    }
                if (!padding_intact32(out, m, n, ldc)) pad_bad++;
                cases++;
                free(x), free(w), free(bias), free(out);
            }
    check(bad == 0, "gemm_s8s8s32 against naive int64", "%ld wrong over %ld shapes", bad, cases);
    check(pad_bad == 0, "gemm_s8s8s32 keeps row padding", "%ld shapes wrote past a row", pad_bad);

    /* the largest accumulator FORMAT.md allows: K = 65536, -128 * -127 everywhere, bias ±2^30 */
    size_t k = 65536;
    int8_t *x = alloc8(k), *w = alloc8(2 * k);
    memset(x, 0x80, k);                                    /* -128 */
    for (size_t i = 0; i < 2 * k; i++) w[i] = i < k ? -127 : 127;
    int32_t bias[2] = {1 << 30, -(1 << 30)}, out[2];
    gemm_s8s8s32_1x1__ref(1, 2, k, x, k, w, k, bias, out, 2);
    check(out[0] == (1 << 30) + 65536 * 16256 && out[1] == -(1 << 30) - 65536 * 16256, "gemm_s8s8s32 K = 65536",
          "%" PRId32 " %" PRId32, out[0], out[1]);
    free(x), free(w);
}

static void test_gemm_u8s8s32(void) {
    long bad = 0, pad_bad = 0;
    for (size_t a = 0; a < N_SIZES; a++)
        for (size_t b = 0; b < N_SIZES; b++)
            for (size_t c = 0; c < N_SIZES; c++) {
                size_t m = SIZES[a], n = SIZES[b], k = SIZES[c];
                size_t ldp = k + PAD, ldv = n + 5, ldc = n + PAD; /* v: a column slice of a wider matrix */
                uint8_t *p = alloc8(m * ldp);
                int8_t *v = alloc8(k * ldv);
                int32_t *out = alloc32(m * ldc);
                int extreme = (a + b + c) % 3 == 0;
                for (size_t i = 0; i < m; i++)
                    for (size_t kk = 0; kk < k; kk++) p[i * ldp + kk] = extreme ? 255 : (uint8_t)rand_in(0, 255);
                for (size_t kk = 0; kk < k; kk++) fill_random8(v + kk * ldv, n, -128, extreme ? -128 : 127);
                gemm_u8s8s32_1x1__ref(m, n, k, p, ldp, v, ldv, out, ldc);
                for (size_t i = 0; i < m; i++)
                    for (size_t j = 0; j < n; j++) {
                        int64_t want = 0;
                        for (size_t kk = 0; kk < k; kk++) want += (int64_t)p[i * ldp + kk] * v[kk * ldv + j];
                        if (out[i * ldc + j] != want) bad++;
                    }
                if (!padding_intact32(out, m, n, ldc)) pad_bad++;
                free(p), free(v), free(out);
            }
    check(bad == 0, "gemm_u8s8s32 against naive int64", "%ld wrong", bad);
    check(pad_bad == 0, "gemm_u8s8s32 keeps row padding", "%ld shapes wrote past a row", pad_bad);
}

/* ---- rescales ---------------------------------------------------------------- */

static int32_t random_acc(void) {
    switch (rand_u64() % 4) {
    case 0: return rand_u64() % 2 ? INT32_MAX : INT32_MIN + 1;
    case 1: return (int32_t)rand_in(-1000, 1000);
    default: return (int32_t)rand_in(INT32_MIN + 1, INT32_MAX);
    }
}

static void test_requant(void) {
    static const unsigned BITS[] = {8, 20, 22, 32};
    long bad8 = 0, bad32 = 0, pad_bad = 0;
    for (size_t a = 0; a < N_SIZES; a++)
        for (size_t b = 0; b < N_SIZES; b++)
            for (int per_channel = 0; per_channel <= 1; per_channel++) {
                size_t m = SIZES[a], n = SIZES[b], lds = n + PAD, ldd = n + PAD;
                int32_t *src = alloc32(m * lds), *mult = alloc32(n), *shift = alloc32(n), *dst32 = alloc32(m * ldd);
                int8_t *dst8 = alloc8(m * ldd);
                random_rescale(mult, shift, n);
                for (size_t i = 0; i < m; i++)
                    for (size_t j = 0; j < n; j++) src[i * lds + j] = random_acc();
                rq_params rq = {mult, shift, per_channel};
                unsigned bits = BITS[(a + b) % COUNT(BITS)];
                requant_s32s8_1x1__ref(m, n, src, lds, &rq, dst8, ldd);
                requant_s32s32_1x1__ref(m, n, src, lds, &rq, bits, dst32, ldd);
                for (size_t i = 0; i < m; i++)
                    for (size_t j = 0; j < n; j++) {
                        size_t ch = per_channel ? j : 0;
                        wide r = ref_rq(w_of(src[i * lds + j]), mult[ch], shift[ch]);
                        if (dst8[i * ldd + j] != clamp_bits(r, 8)) bad8++;
                        if (dst32[i * ldd + j] != clamp_bits(r, bits)) bad32++;
                    }
                if (!padding_intact8(dst8, m, n, ldd) || !padding_intact32(dst32, m, n, ldd)) pad_bad++;
                /* in place, as forward uses the 20-bit requant */
                requant_s32s32_1x1__ref(m, n, src, lds, &rq, bits, src, lds);
                for (size_t i = 0; i < m; i++)
                    for (size_t j = 0; j < n; j++)
                        if (src[i * lds + j] != dst32[i * ldd + j]) bad32++;
                free(src), free(mult), free(shift), free(dst32), free(dst8);
            }
    check(bad8 == 0, "requant_s32s8 against 128-bit arithmetic", "%ld wrong", bad8);
    check(bad32 == 0, "requant_s32s32 against 128-bit arithmetic (8/20/22/32 bits, in place)", "%ld wrong", bad32);
    check(pad_bad == 0, "requant keeps row padding", "%ld shapes wrote past a row", pad_bad);
}

static void test_residual(void) {
    long bad = 0, pad_bad = 0;
    for (size_t a = 0; a < N_SIZES; a++)
        for (size_t b = 0; b < N_SIZES; b++) {
            size_t m = SIZES[a], n = SIZES[b], ld = n + PAD;
            int32_t *acc = alloc32(m * ld), *out = alloc32(m * ld), *mult = alloc32(n), *shift = alloc32(n);
            int32_t *x_mult = alloc32(n), *x_shift = alloc32(n);
            int8_t *x = alloc8(m * ld);
            /* the identity's rescale per tensor or, since format version 2, per channel */
            const int x_per_channel = (int)((a + b) % 2);
            random_rescale(mult, shift, n);
            random_rescale(x_mult, x_shift, x_per_channel ? n : 1);
            for (size_t i = 0; i < m; i++) {
                for (size_t j = 0; j < n; j++) acc[i * ld + j] = random_acc();
                fill_random8(x + i * ld, n, -128, 127);
            }
            rq_params acc_rq = {mult, shift, 1}, x_rq = {x_mult, x_shift, x_per_channel};
            residual_s32s8s32_1x1__ref(m, n, acc, ld, &acc_rq, x, ld, &x_rq, out, ld);
            int32_t *want = alloc32(m * ld);
            for (size_t i = 0; i < m; i++)
                for (size_t j = 0; j < n; j++) {
                    wide sum = w_add(ref_rq(w_of(acc[i * ld + j]), mult[j], shift[j]),
                                     ref_rq(w_of(x[i * ld + j]), x_mult[x_per_channel ? j : 0],
                                            x_shift[x_per_channel ? j : 0]));
                    want[i * ld + j] = (int32_t)clamp_bits(sum, 22);
                    if (out[i * ld + j] != want[i * ld + j]) bad++;
                }
            if (!padding_intact32(out, m, n, ld)) pad_bad++;
            /* in place over the accumulator, as forward runs it */
            residual_s32s8s32_1x1__ref(m, n, acc, ld, &acc_rq, x, ld, &x_rq, acc, ld);
            for (size_t i = 0; i < m; i++)
                for (size_t j = 0; j < n; j++)
                    if (acc[i * ld + j] != want[i * ld + j]) bad++;
            free(acc), free(out), free(mult), free(shift), free(x_mult), free(x_shift), free(x), free(want);
        }
    check(bad == 0, "residual against 128-bit arithmetic", "%ld wrong", bad);
    check(pad_bad == 0, "residual keeps row padding", "%ld shapes wrote past a row", pad_bad);
}

/* ---- layer norm -------------------------------------------------------------- */

static void ref_layernorm_row(size_t h, const int32_t *x, const int32_t *mult, const int32_t *shift,
                              const int64_t *beta, int8_t *out, long *bound_violations) {
    /* |x| <= 2^21 and h <= 8192 keep sum, var (<= 2^57) and (x - mean) * f (< 2^54) in int64 */
    int64_t sum = 0;
    for (size_t j = 0; j < h; j++) sum += x[j];
    int64_t mean = floor_div64(2 * sum + (int64_t)h, 2 * (int64_t)h);
    int64_t var = 0;
    for (size_t j = 0; j < h; j++) var += (x[j] - mean) * (x[j] - mean);
    if (var >= INT64_C(1) << 57) ++*bound_violations;
    int64_t std = (int64_t)ref_isqrt((uint64_t)var);
    int64_t f = var > 0 ? (INT64_C(1) << 31) / std : 0;
    for (size_t j = 0; j < h; j++) {
        int64_t nrm = floor_div64((x[j] - mean) * f, 2);
        if (nrm > INT64_C(1) << 30 || nrm < -(INT64_C(1) << 30)) ++*bound_violations;
        wide scaled = w_add(w_mul(w_of(nrm), w_of(mult[j])), w_of(beta[j]));
        out[j] = (int8_t)clamp_bits(w_floor_div_pow2(scaled, shift[j]), 8);
    }
}

enum { ROW_RANDOM, ROW_CONSTANT, ROW_MAX, ROW_MIN, ROW_ALTERNATING, ROW_ONE_SPIKE, ROW_KINDS };

static void fill_ln_row(int kind, int32_t *row, size_t h) {
    const int32_t hi = (1 << 21) - 1, lo = -(1 << 21);
    int32_t constant = (int32_t)rand_in(lo, hi);
    for (size_t j = 0; j < h; j++) {
        switch (kind) {
        case ROW_RANDOM: row[j] = (int32_t)rand_in(lo, hi); break;
        case ROW_CONSTANT: row[j] = constant; break; /* var = 0 */
        case ROW_MAX: row[j] = hi; break;
        case ROW_MIN: row[j] = lo; break;
        case ROW_ALTERNATING: row[j] = j % 2 ? hi : lo; break;
        default: row[j] = j == h / 2 ? hi : lo; break;
        }
    }
}

static void ln_rescale(int32_t *mult, int32_t *shift, int64_t *beta, size_t h, int style) {
    for (size_t j = 0; j < h; j++) {
        if (style == 0) { /* realistic: m / 2^s about 2^-24, beta a few units */
            shift[j] = (int32_t)rand_in(30, 40);
            mult[j] = (int32_t)rand_in(-(1 << 30), 1 << 30) >> (40 - shift[j]);
            beta[j] = rand_in(-40, 40) * (INT64_C(1) << (shift[j] - 1)) + (INT64_C(1) << (shift[j] - 1));
        } else { /* extremes */
            random_rescale(&mult[j], &shift[j], 1);
            beta[j] = rand_u64() % 2 ? (rand_u64() % 2 ? INT64_C(1) << 61 : -(INT64_C(1) << 61))
                                     : rand_in(-(INT64_C(1) << 61), INT64_C(1) << 61);
        }
    }
}

static void test_layernorm(void) {
    size_t hs[N_SIZES + 2];
    memcpy(hs, SIZES, sizeof SIZES);
    hs[N_SIZES] = 768;
    hs[N_SIZES + 1] = 8192; /* the largest H: var approaches 2^57 */
    long bad = 0, pad_bad = 0, bound_violations = 0, saturated = 0, middle = 0;
    for (size_t a = 0; a < COUNT(hs); a++)
        for (int style = 0; style <= 1; style++) {
            size_t h = hs[a], m = ROW_KINDS * 2, ld = h + PAD;
            int32_t *x = alloc32(m * ld), *mult = alloc32(h), *shift = alloc32(h);
            int64_t *beta = malloc(h * sizeof *beta);
            int8_t *out = alloc8(m * ld), *want = alloc8(h);
            ln_rescale(mult, shift, beta, h, style);
            for (size_t i = 0; i < m; i++) fill_ln_row((int)(i % ROW_KINDS), x + i * ld, h);
            layernorm_s32s8_1x1__ref(m, h, x, ld, mult, shift, beta, out, ld);
            for (size_t i = 0; i < m; i++) {
                ref_layernorm_row(h, x + i * ld, mult, shift, beta, want, &bound_violations);
                for (size_t j = 0; j < h; j++) {
                    int8_t got = out[i * ld + j];
                    if (got != want[j]) {
                        if (bad++ < 5)
                            fprintf(stderr, "layernorm h=%zu row %zu col %zu: %d, expected %d\n", h, i, j, got,
                                    want[j]);
                    }
                    if (got == 127 || got == -128) saturated++;
                    else middle++;
                }
            }
            if (!padding_intact8(out, m, h, ld)) pad_bad++;
            free(x), free(mult), free(shift), free(beta), free(out), free(want);
        }
    check(bad == 0, "layernorm against 128-bit arithmetic", "%ld wrong", bad);
    check(pad_bad == 0, "layernorm keeps row padding", "%ld shapes wrote past a row", pad_bad);
    check(bound_violations == 0, "layernorm bounds of FORMAT.md §4.5", "%ld violated", bound_violations);
    check(middle > saturated / 10, "layernorm tests exercise unsaturated outputs", "%ld saturated, %ld not", saturated,
          middle);

    /* var = 0: out = sat_8(beta >> s) */
    int32_t row[3] = {-(1 << 21), -(1 << 21), -(1 << 21)}, mult[3] = {INT32_MAX, -INT32_MAX, 5}, shift[3] = {1, 62, 3};
    int64_t beta[3] = {-(INT64_C(1) << 61), INT64_C(1) << 61, 21};
    int8_t out[3];
    layernorm_s32s8_1x1__ref(1, 3, row, 3, mult, shift, beta, out, 3);
    check(out[0] == -128 && out[1] == 0 && out[2] == 2, "layernorm var = 0 gives sat_8(beta >> s)", "%d %d %d", out[0],
          out[1], out[2]);
    /* the mean rounds half up, also for negative sums: {-1, 0} has mean floor(-1/2 + 1/2) = 0 */
    int32_t pair[2] = {-1, 0}, unit_mult[2] = {1, 1}, unit_shift[2] = {1, 1};
    int64_t zero_beta[2] = {0, 0};
    layernorm_s32s8_1x1__ref(1, 2, pair, 2, unit_mult, unit_shift, zero_beta, out, 2);
    /* y = {-1, 0}, var = 1, std = 1, f = 2^31, nrm = {-2^30, 0}, out = sat_8(nrm >> 1) = {-128, 0} */
    check(out[0] == -128 && out[1] == 0, "layernorm mean rounds half up", "%d %d", out[0], out[1]);
}

/* ---- softmax ----------------------------------------------------------------- */

/* Returns the sum of the row's exp values (0 for a fully masked row). */
static int64_t ref_softmax_row(size_t n, const int32_t *scores, int32_t mult, int32_t shift, const uint8_t *mask,
                               const iexp_params *e, uint8_t *p) {
    int any = 0;
    int64_t max_t = 0, t[128];
    for (size_t j = 0; j < n; j++) {
        t[j] = w_to_i64(ref_rq(w_of(scores[j]), mult, shift));
        if (mask[j] && (!any || t[j] > max_t)) max_t = t[j], any = 1;
    }
    int64_t sum = 0;
    for (size_t j = 0; j < n; j++)
        if (mask[j]) sum += ref_iexp(t[j] - max_t, e);
    int64_t f = any ? (INT64_C(1) << 62) / sum : 0;
    for (size_t j = 0; j < n; j++) {
        if (!mask[j]) {
            p[j] = 0;
            continue;
        }
        /* rounded to nearest, ties up (format version 2) */
        wide prob = w_floor_div_pow2(w_add(w_mul(w_of(ref_iexp(t[j] - max_t, e)), w_of(f)), w_pow2(53)), 54);
        p[j] = (uint8_t)(w_cmp(prob, w_of(255)) > 0 ? 255 : prob.lo);
    }
    return sum;
}

enum { MASK_ALL, MASK_NONE, MASK_RANDOM, MASK_SINGLE, MASK_KINDS };

static void test_softmax(void) {
    long bad = 0, pad_bad = 0, masked_nonzero = 0, sum_bad = 0;
    for (size_t a = 0; a < N_SIZES; a++)
        for (size_t b = 0; b < N_SIZES; b++)
            for (size_t p_set = 0; p_set < COUNT(EXP_SETS); p_set++) {
                const iexp_params *e = &EXP_SETS[p_set];
                size_t m = SIZES[a], n = SIZES[b], lds = n + PAD, ldp = n + PAD;
                int32_t *scores = alloc32(m * lds), *copy = alloc32(m * lds);
                uint8_t *p = alloc8(m * ldp), *mask = alloc8(n), want[128];
                int mask_kind = (int)((a + b + p_set) % MASK_KINDS);
                for (size_t j = 0; j < n; j++)
                    mask[j] = mask_kind == MASK_ALL    ? 1
                              : mask_kind == MASK_NONE ? 0
                              : mask_kind == MASK_SINGLE ? j == n / 2
                                                         : (uint8_t)(rand_u64() % 2);
                /* rescales with |t| <= 2^30: (m, s) = (1, 1) lets the scores span the whole
                 * int32 range (a huge spread); the others give realistic exp-domain values */
                int32_t mult, shift;
                int spread = (a + b) % 3;
                if (spread == 0) mult = 1, shift = 1;
                else if (spread == 1) mult = (int32_t)rand_in(1 << 20, 1 << 30), shift = 30;
                else mult = (int32_t)rand_in(-(1 << 30), -1), shift = 31;
                for (size_t i = 0; i < m; i++)
                    for (size_t j = 0; j < n; j++)
                        scores[i * lds + j] = spread == 0 ? (rand_u64() % 2 ? INT32_MAX : INT32_MIN + 1)
                                                                      : (int32_t)rand_in(-(1 << 14) * 64, (1 << 14) * 64);
                if (spread == 0) scores[0] = INT32_MIN; /* w = -2^31 */
                memcpy(copy, scores, m * lds * sizeof *scores);
                softmax_s32u8_1x1__ref(m, n, scores, lds, mult, shift, mask, e, p, ldp);
                for (size_t i = 0; i < m; i++) {
                    int64_t exp_sum = ref_softmax_row(n, copy + i * lds, mult, shift, mask, e, want);
                    int64_t total = 0;
                    size_t attended = 0;
                    for (size_t j = 0; j < n; j++) {
                        uint8_t got = p[i * ldp + j];
                        if (got != want[j]) {
                            if (bad++ < 5)
                                fprintf(stderr, "softmax n=%zu set %zu row %zu key %zu: %u, expected %u\n", n, p_set,
                                        i, j, got, want[j]);
                        }
                        if (!mask[j] && got != 0) masked_nonzero++;
                        total += got;
                        attended += mask[j] != 0;
                    }
                    /* the exact e * f / 2^54 of a row sum to at most 256 and, as
                     * f = floor(2^62 / sum) loses less than sum / 2^54 in all, to more than
                     * (2^62 - sum) / 2^54; each is rounded to nearest (off by at most 1/2)
                     * and the cap takes at most 1 off a row */
                    int64_t low = ((INT64_C(1) << 62) - exp_sum) / (INT64_C(1) << 54);
                    if (attended > 0 && (2 * total > 512 + (int64_t)attended || 2 * total < 2 * low - (int64_t)attended - 2))
                        sum_bad++;
                    if (attended == 0 && total != 0) sum_bad++;
                }
                if (!padding_intact8(p, m, n, ldp)) pad_bad++;
                free(scores), free(copy), free(p), free(mask);
            }
    check(bad == 0, "softmax against FORMAT.md §4.6", "%ld wrong", bad);
    check(masked_nonzero == 0, "softmax gives masked keys 0", "%ld nonzero", masked_nonzero);
    check(sum_bad == 0, "softmax rows sum to about 256", "%ld rows off", sum_bad);
    check(pad_bad == 0, "softmax keeps row padding", "%ld shapes wrote past a row", pad_bad);

    /* one key: probability 255 (256 capped) */
    int32_t s1 = 12345;
    uint8_t one = 1, p1;
    softmax_s32u8_1x1__ref(1, 1, &s1, 1, 1, 1, &one, &EXP_SETS[0], &p1, 1);
    check(p1 == 255, "softmax single key is 255", "got %u", p1);
    long wrong = softmax_cases_wrong(softmax_s32u8_1x1__ref, "ref");
    check(wrong == 0, "softmax rounding ties up and caps at 255", "%ld rows wrong", wrong);
}

/* I-BERT's softmax (format version 5, FORMAT.md §4.6 step 2): e16 = min(32767, rq(e)),
 * P = (e16 * floor(2^32 / sum)) >> 24. With the constants of softmax_rounding_cases.h a
 * key at t = -2q has e = 2^(20 - q); the rows are those of tests/python/test_golden_ops.py's
 * test_exp16_softmax_requantizes_the_exps_to_16_bits_then_floors. */
static void test_softmax_exp16(void) {
    const int32_t mult = 1 << 30, shift = 30; /* rq(s) = s */
    const int32_t one[] = {1}, six[] = {6}, one_shift[] = {1};
    const rq_params one_in_64 = {one, six, 0}, halve = {one, one_shift, 0};
    /* e16 = 16384, 8192, 4096, 1, 0 (sum 28673, floor(2^32 / 28673) = 149791); the masked key gets 0 */
    int32_t scores[] = {0, -2, -4, -30, -32, 0};
    const uint8_t mask[] = {1, 1, 1, 1, 1, 0};
    uint8_t p[6];
    softmax_s32u8_1x1__ref(1, 6, scores, 6, mult, shift, mask, &SOFTMAX_CASE_EXP, p, 6);
    softmax_exp16_finish_u8__ref(1, 6, scores, 6, &one_in_64, mask, p, 6);
    check(p[0] == 146 && p[1] == 73 && p[2] == 36 && p[3] == 0 && p[4] == 0 && p[5] == 0,
          "exp16 softmax floors e16 * f / 2^24", "got %u %u %u %u %u %u", p[0], p[1], p[2], p[3], p[4], p[5]);
    /* e = 2^20 saturates at 32767; beside 512 its P is 252.06 and the other's 3.94: floored to 3 */
    int32_t two[] = {0, -20};
    softmax_s32u8_1x1__ref(1, 2, two, 2, mult, shift, mask, &SOFTMAX_CASE_EXP, p, 2);
    softmax_exp16_finish_u8__ref(1, 2, two, 2, &halve, mask, p, 2);
    check(p[0] == 252 && p[1] == 3, "exp16 softmax clamps at 32767", "got %u %u", p[0], p[1]);
    const uint8_t none[] = {0, 0};
    softmax_s32u8_1x1__ref(1, 2, two, 2, mult, shift, none, &SOFTMAX_CASE_EXP, p, 2);
    softmax_exp16_finish_u8__ref(1, 2, two, 2, &halve, none, p, 2);
    check(p[0] == 0 && p[1] == 0, "exp16 softmax of a fully masked row is 0", "got %u %u", p[0], p[1]);
}

/* ---- GELU -------------------------------------------------------------------- */

/* erf2's w = y + one (FORMAT.md §4.4) for t and a = min(|t|, -b). */
static wide ref_w_erf2(int64_t t, int64_t a, const igelu_params *g) {
    wide z = w_add(w_mul(w_of(a + g->b), w_of(a + g->b)), w_of(g->c));
    wide signed_z = t > 0 ? z : t < 0 ? w_neg(z) : w_of(0);
    return w_add(w_floor_div_pow2(signed_z, (int)g->shift), w_of(g->one));
}

/* erf3's w = y + one (FORMAT.md §4.4) for t and a = min(|t|, -b), each product in
 * 128 bits and each shift a floor division by 2^12 or 2^14. */
static wide ref_w_erf3(int64_t t, int64_t a, const igelu_params *g) {
    wide dd = w_floor_div_pow2(w_mul(w_of(a + g->b), w_of(g->d_mult)), 12);
    wide p = w_add(w_floor_div_pow2(w_mul(w_of(g->c3), dd), 14), w_of(g->c2));
    p = w_add(w_floor_div_pow2(w_mul(p, dd), 14), w_of(g->c1));
    wide l = w_add(w_pow2(14), w_floor_div_pow2(w_mul(p, dd), 14));
    wide l_one = w_mul(l, w_of(g->one));
    wide signed_l_one = t > 0 ? l_one : t < 0 ? w_neg(l_one) : w_of(0);
    return w_add(w_floor_div_pow2(signed_l_one, 14), w_of(g->one));
}

static int8_t ref_gelu(int64_t t, const igelu_params *g, int32_t mult, int32_t shift) {
    int64_t a = t < 0 ? -t : t;
    if (a > -(int64_t)g->b) a = -(int64_t)g->b;
    wide w = g->form == IGELU_ERF3 ? ref_w_erf3(t, a, g) : ref_w_erf2(t, a, g);
    wide prod = w_mul(w_of(t), w);
    return (int8_t)clamp_bits(ref_rq(prod, mult, shift), 8);
}

static void test_gelu(void) {
    /* per form, the converter's constants for s_g = 2^-10 first, then the extremes
     * FORMAT.md allows: for erf2 among them ones where |t * (y + one)| exceeds 2^31;
     * for erf3 ones that pass the loader's check (model_metadata.c, read_gelu_erf3)
     * with b = -2^15 and d_mult = 2^16, so d * d_mult = -2^31 at d = b, and |y + one|
     * = 2^12 + 1 inside the clip (L up to 16392, or from -16320 up to 16385), and
     * one with d_mult = 2^17 - 1 and c1 ... c3 at +-(2^15 - 1); erf3's rescales spread
     * the products inside the clip (|g| <= 2^15 (2^12 + 1)) over the int8 range */
    static const struct {
        igelu_params g;
        int32_t mult, shift;
    } sets[] = {
        {{.b = -2562, .c = -7261568, .one = -1773, .shift = 12, .form = IGELU_ERF2}, 1 << 20, 31},
        {{.b = -32767, .c = -(1 << 30), .one = -2048, .shift = 19, .form = IGELU_ERF2}, INT32_MAX, 62},
        {{.b = -23170, .c = -(1 << 29) - 1, .one = -2048, .shift = 18, .form = IGELU_ERF2}, -INT32_MAX, 1},
        {{.b = -1, .c = -2, .one = -1, .shift = 0, .form = IGELU_ERF2}, INT32_MAX, 1},
        {{.b = -3288, .one = -1773, .form = IGELU_ERF3, .d_mult = 46341, .c1 = 541, .c2 = 1310, .c3 = 1971},
         -(1 << 30), 47},
        {{.b = -32768, .one = -2048, .form = IGELU_ERF3, .d_mult = 65536, .c1 = 63, .c2 = 16, .c3 = 1}, INT32_MAX, 51},
        {{.b = -32768, .one = -2048, .form = IGELU_ERF3, .d_mult = 65536, .c1 = -2, .c2 = 0, .c3 = 1}, -INT32_MAX, 50},
        {{.b = -4, .one = -2048, .form = IGELU_ERF3, .d_mult = 131071, .c1 = 32767, .c2 = -32767, .c3 = 32767},
         INT32_MAX, 38},
    };
    const int32_t lo = -(1 << 19), hi = (1 << 19) - 1;
    for (size_t s = 0; s < COUNT(sets); s++) {
        const igelu_params *g = &sets[s].g;
        int32_t mult = sets[s].mult, shift = sets[s].shift;
        long bad = 0;
        /* every 20-bit input, in rows of an awkward width */
        size_t width = 65, ld = width + PAD;
        size_t rows = ((size_t)1 << 20) / width + 1;
        int32_t *t = alloc32(rows * ld);
        int8_t *u = alloc8(rows * ld);
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < width; j++) {
                int64_t v = lo + (int64_t)(i * width + j);
                t[i * ld + j] = (int32_t)(v > hi ? hi : v);
            }
        const rq_params whole = {&mult, &shift, 0};
        gelu_s32s8_1x1__ref(rows, width, t, ld, g, &whole, NULL, u, ld);
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < width; j++)
                if (u[i * ld + j] != ref_gelu(t[i * ld + j], g, mult, shift)) {
                    if (bad++ < 5)
                        fprintf(stderr, "gelu set %zu t=%" PRId32 ": %d, expected %d\n", s, t[i * ld + j],
                                u[i * ld + j], ref_gelu(t[i * ld + j], g, mult, shift));
                }
        check(bad == 0, "gelu over every 20-bit input", "set %zu: %ld wrong", s, bad);
        check(padding_intact8(u, rows, width, ld), "gelu keeps row padding", "set %zu", s);
        /* a rescale per column (format version 2), every column's its own, on the
         * first 64 rows (inputs from -2^19 on, the far end of the range in row 0) */
        int32_t col_mult[65], col_shift[65];
        random_rescale(col_mult, col_shift, width);
        for (size_t j = 0; j < width; j++) t[j] = j % 2 ? hi : lo;
        const rq_params columns = {col_mult, col_shift, 1};
        memset(u, SENTINEL8, rows * ld);
        gelu_s32s8_1x1__ref(64, width, t, ld, g, &columns, NULL, u, ld);
        long bad_columns = 0;
        for (size_t i = 0; i < 64; i++)
            for (size_t j = 0; j < width; j++)
                bad_columns += u[i * ld + j] != ref_gelu(t[i * ld + j], g, col_mult[j], col_shift[j]);
        check(bad_columns == 0, "gelu with a rescale per column", "set %zu: %ld wrong", s, bad_columns);
        check(padding_intact8(u, 64, width, ld), "gelu per column keeps row padding", "set %zu", s);
        free(t), free(u);
    }
    /* the converter's constants (sets 0 and 4) approximate GELU: g * s_g * sigma / 2 ~
     * gelu(t * 2^-10); check the sign pattern and the zero: gelu(0) = 0, positive
     * inputs give positive outputs under a negative rescale (sigma < 0 is folded into
     * it); erf3's w is 0 below its clip (t = -2^12 <= b), so that output is 0 */
    int32_t t[3] = {0, 1 << 12, -(1 << 12)};
    int8_t u[3];
    const int32_t shape_mult = -(1 << 20), shape_shift = 31;
    const rq_params shape_rq = {&shape_mult, &shape_shift, 0};
    gelu_s32s8_1x1__ref(1, 3, t, 3, &sets[0].g, &shape_rq, NULL, u, 3);
    check(u[0] == 0 && u[1] > 0 && u[2] <= 0, "gelu shape", "%d %d %d", u[0], u[1], u[2]);
    gelu_s32s8_1x1__ref(1, 3, t, 3, &sets[4].g, &shape_rq, NULL, u, 3);
    check(u[0] == 0 && u[1] > 0 && u[2] == 0, "gelu shape (erf3)", "%d %d %d", u[0], u[1], u[2]);
}

/* ---- tanh -------------------------------------------------------------------- */

static int8_t ref_tanh(int32_t acc, int32_t mult, int32_t shift, const iexp_params *e) {
    wide u = ref_rq(w_of(acc), mult, shift);
    if (w_cmp(u, w_pow2(30)) > 0) u = w_pow2(30);
    if (w_cmp(u, w_neg(w_pow2(30))) < 0) u = w_neg(w_pow2(30));
    int64_t au = w_to_i64(w_is_neg(u) ? w_neg(u) : u);
    int64_t ex = ref_iexp(-au, e), c = e->c;
    int64_t mag = (254 * (c - ex) + (c + ex)) / (2 * (c + ex));
    int sign = w_cmp(u, w_of(0));
    return (int8_t)(sign > 0 ? mag : sign < 0 ? -mag : 0);
}

static void test_tanh(void) {
    long bad = 0;
    for (size_t p_set = 0; p_set < COUNT(EXP_SETS); p_set++) {
        const iexp_params *e = &EXP_SETS[p_set];
        for (size_t a = 0; a < N_SIZES; a++) {
            size_t n = SIZES[a];
            int32_t *acc = alloc32(n), *mult = alloc32(n), *shift = alloc32(n);
            int8_t *y = alloc8(n + PAD);
            for (size_t j = 0; j < n; j++) {
                acc[j] = random_acc();
                if (j % 3 == 0) { /* land near the exp domain's useful range */
                    mult[j] = 1;
                    shift[j] = (int32_t)rand_in(1, 24);
                } else {
                    random_rescale(&mult[j], &shift[j], 1);
                }
            }
            rq_params rq = {mult, shift, 1};
            tanh_s32s8_1x1__ref(n, acc, &rq, e, y);
            for (size_t j = 0; j < n; j++)
                if (y[j] != ref_tanh(acc[j], mult[j], shift[j], e)) bad++;
            check(padding_intact8(y, 1, n, n + PAD), "tanh writes n values", "n = %zu", n);
            free(acc), free(mult), free(shift), free(y);
        }
        /* an exhaustive sweep of u over the first few octaves, and the clamp */
        int32_t one = 1, two = 1;
        rq_params unit = {&one, &two, 0}; /* rq(acc, 1, 1) = floor((acc + 1) / 2) */
        for (int64_t acc = -(INT64_C(40) << e->frac_bits); acc <= (INT64_C(40) << e->frac_bits);
             acc += e->frac_bits > 12 ? 4099 : 1) {
            int32_t a32 = (int32_t)acc;
            int8_t got;
            tanh_s32s8_1x1__ref(1, &a32, &unit, e, &got);
            if (got != ref_tanh(a32, 1, 1, e)) bad++;
        }
        int32_t ends[4] = {INT32_MAX, INT32_MIN + 1, 0, -1}; /* u = 2^30 (clamped), -2^30, 0, 0 */
        int8_t got[4];
        tanh_s32s8_1x1__ref(4, ends, &unit, e, got);
        check(got[0] == 127 && got[1] == -127 && got[2] == 0 && got[3] == 0, "tanh ends", "set %zu: %d %d %d %d", p_set,
              got[0], got[1], got[2], got[3]);
    }
    check(bad == 0, "tanh against FORMAT.md §4.6", "%ld wrong", bad);
}

/* ---- kernel selection and the arena ------------------------------------------ */

static void test_kernels_select(void) {
    /* unset, the best set the CPU reports: on AArch64 SMMLA (HWCAP2_I8MM) with SDOT makes it
     * "i8mm", else SDOT (HWCAP_ASIMDDP) "dotprod", else "neon" (AdvSIMD is on
     * every AArch64 CPU); on 32-bit ARM "neon" when the CPU reports NEON (HWCAP_NEON,
     * bit 12); on x86-64 AVX-512 VNNI makes it "avx512vnni", else AVX2
     * "avx2", else "ref"; other builds have "ref" only */
#if defined(IBERT_AARCH64_KERNELS)
    const int sdot = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0, smmla = (getauxval(AT_HWCAP2) & HWCAP2_I8MM) != 0;
    const char *best = smmla && sdot ? "i8mm" : sdot ? "dotprod" : "neon";
#elif defined(IBERT_NEON_KERNELS)
    const char *best = getauxval(AT_HWCAP) & HWCAP_NEON ? "neon" : "ref";
#elif defined(IBERT_X86_KERNELS)
    const char *best = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw") &&
                               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2")
                           ? "avx512vnni"
                       : __builtin_cpu_supports("avx2") ? "avx2"
                                                        : "ref";
#else
    const char *best = "ref";
#endif
    const kernel_table *kt = NULL;
    unsetenv("IBERT_KERNELS");
    check(kernels_select(&kt) == IBERT_OK && kt && strcmp(kt->name, best) == 0, "kernels_select default",
          "%s, expected %s", kt ? kt->name : "NULL", best);
    printf("default kernel set: %s\n", kt ? kt->name : "NULL"); /* tests/cross/run.sh reads it */
    setenv("IBERT_KERNELS", "ref", 1);
    kt = NULL;
    check(kernels_select(&kt) == IBERT_OK && kt && kt->gemm_s8s8s32 == gemm_s8s8s32_1x1__ref, "kernels_select ref",
          "%s", kt ? kt->name : "NULL");
    setenv("IBERT_KERNELS", "avx9000", 1);
    ibert_status st = kernels_select(&kt);
    const char *msg = ibert_last_error();
    check(st == IBERT_ERR_INVALID_ARGUMENT && strstr(msg, "avx9000") && strstr(msg, "valid: ref"),
          "kernels_select unknown name", "status %d, message '%s'", st, msg);
    unsetenv("IBERT_KERNELS");
}

static int disjoint(const void *a, size_t a_bytes, const void *b, size_t b_bytes) {
    uintptr_t pa = (uintptr_t)a, pb = (uintptr_t)b;
    return pa + a_bytes <= pb || pb + b_bytes <= pa;
}

static void test_arena(void) {
    model_hparams shapes[] = {
        {.hidden_size = 1, .intermediate_size = 1, .max_tokens = 1, .num_labels = 0},
        {.hidden_size = 3, .intermediate_size = 5, .max_tokens = 17, .num_labels = 4096},
        {.hidden_size = 384, .intermediate_size = 1536, .max_tokens = 512, .num_labels = 2},
        {.hidden_size = 65, .intermediate_size = 7, .max_tokens = 63, .num_labels = 3},
    };
    const size_t thread_counts[] = {1, 2, 3, IBERT_MAX_THREADS};
    for (size_t s = 0; s < COUNT(shapes); s++) {
        for (size_t tc = 0; tc < COUNT(thread_counts); tc++) {
            const model_hparams *hp = &shapes[s];
            size_t threads = thread_counts[tc];
            size_t bytes = arena_bytes_for(hp, threads);
            check(bytes > 0 && bytes % ARENA_ALIGNMENT == 0, "arena size is a multiple of the alignment", "%zu",
                  bytes);
            void *base = aligned_alloc(ARENA_ALIGNMENT, bytes);
            arena_buffers b;
            arena_carve(hp, threads, base, &b);
            size_t n = hp->max_tokens, h = hp->hidden_size, f = hp->intermediate_size;
            size_t acc = n * (h > f ? h : f) > hp->num_labels ? n * (h > f ? h : f) : hp->num_labels;
            struct {
                const void *p;
                size_t bytes;
            } bufs[12 + 2 * IBERT_MAX_THREADS] = {
                {b.x, n * h},   {b.q, n * h},    {b.k, n * h},   {b.v, n * h},         {b.ctx, n * h},
                {b.attn, n * h}, {b.ffn, n * f}, {b.acc, acc * 4}, {b.key_mask, n},
                {b.heads, threads * sizeof *b.heads}};
            size_t n_bufs = 10;
            for (size_t t = 0; t < threads; t++) {
                bufs[n_bufs].p = b.heads[t].scores;
                bufs[n_bufs++].bytes = n * n * 4;
                bufs[n_bufs].p = b.heads[t].probs;
                bufs[n_bufs++].bytes = n * n;
            }
            int ok = 1;
            for (size_t i = 0; i < n_bufs; i++) {
                uintptr_t p = (uintptr_t)bufs[i].p;
                if (p % ARENA_ALIGNMENT != 0 || p < (uintptr_t)base || p + bufs[i].bytes > (uintptr_t)base + bytes)
                    ok = 0;
                for (size_t j = 0; j < i; j++)
                    if (!disjoint(bufs[i].p, bufs[i].bytes, bufs[j].p, bufs[j].bytes)) ok = 0;
                memset((void *)bufs[i].p, 0, bufs[i].bytes); /* ASan: every buffer is inside the block */
            }
            check(ok, "arena buffers aligned, inside, disjoint", "shape %zu, %zu threads", s, threads);
            free(base);
        }
    }
    model_hparams small = {.hidden_size = 3, .intermediate_size = 5, .max_tokens = 17};
    check(arena_bytes_for(&small, 2) > arena_bytes_for(&small, 1), "a second thread gets its own scratch", "%zu",
          arena_bytes_for(&small, 2));
    check(arena_bytes_for(&small, 0) == 0 && arena_bytes_for(&small, IBERT_MAX_THREADS + 1) == 0,
          "thread counts outside 1 ... IBERT_MAX_THREADS give 0", "%zu", arena_bytes_for(&small, 0));
    model_hparams huge = {.hidden_size = UINT32_MAX, .intermediate_size = UINT32_MAX, .max_tokens = UINT32_MAX};
    check(arena_bytes_for(&huge, 1) == 0, "arena size overflow gives 0", "%zu", arena_bytes_for(&huge, 1));
    model_hparams huge_n = {.hidden_size = 1, .intermediate_size = 1, .max_tokens = UINT32_MAX};
    size_t need = arena_bytes_for(&huge_n, 1);
#if SIZE_MAX > UINT32_MAX
    int need_ok = need == 0 || need / 4 >= (size_t)UINT32_MAX * UINT32_MAX / 4;
#else
    int need_ok = need == 0; /* n^2 alone is past a 32-bit size_t */
#endif
    check(need_ok, "arena size of n^2 scores", "%zu", need);
    /* per-thread scratch must not overflow quietly either: 2^16 tokens need 2^32 * 5 bytes a thread */
    model_hparams long_seq = {.hidden_size = 1, .intermediate_size = 1, .max_tokens = 1u << 16};
    size_t one = arena_bytes_for(&long_seq, 1), many = arena_bytes_for(&long_seq, IBERT_MAX_THREADS);
    check(many == 0 || many > one, "arena size of many threads' scratch", "%zu", many);
}

int main(void) {
    test_wide();
    test_isqrt();
    test_rq();
    test_iexp();
    test_gemm_s8s8s32();
    test_gemm_u8s8s32();
    test_requant();
    test_residual();
    test_layernorm();
    test_softmax();
    test_softmax_exp16();
    test_gelu();
    test_tanh();
    test_kernels_select();
    test_arena();
    printf("%ld passed, %ld failed\n", passed, failed);
    return failed ? 1 : 0;
}
