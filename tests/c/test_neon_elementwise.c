/* test_neon_elementwise.c: every NEON elementwise kernel (neon/) against its __ref
 * twin, integer for integer, on everything the kernel contract allows. Built for
 * AArch64 and 32-bit ARM; under qemu run it with QEMU_CPU=cortex-a72, cortex-a76,
 * max (aarch64) and cortex-a15 (armhf). On a 32-bit CPU without NEON it skips.
 *
 * Sizes are awkward and real (1 ... 65 around the 8-wide tiles, 128, 384, 1536),
 * row strides are wider than the rows (the padding must come back untouched),
 * rescales are per channel and per tensor with multipliers up to +-(2^31 - 1) and
 * shifts 1 ... 62, chosen both at random and so that outputs land in the middle of
 * their range (each test also checks that it saw unsaturated outputs, so it cannot
 * pass by saturating everything). Inputs cover full int32 (INT32_MIN and INT32_MAX),
 * 22-bit residual extremes, 20-bit GELU inputs (with constants of both GELU forms,
 * erf2 and erf3, that the loader accepts), and softmax rows with every key
 * masked, one key, ties, and scores at +-2^30; the version-5 finish gets exps from 0
 * to 2^30 at every rescale kind the loader allows (softmax_rounding_cases.h).
 *
 * Prints "N passed, N failed"; exits non-zero on any failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/hwcap.h"
#include "kernels/kernels.h"


static const size_t SIZES[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 65, 128, 384, 1536};
#define N_SIZES (sizeof SIZES / sizeof SIZES[0])
static const size_t ROWS[] = {1, 3, 4};
#define N_ROWS (sizeof ROWS / sizeof ROWS[0])
#define PAD 3   /* extra elements at the end of every row (odd: misaligns rows) */
#define SEEDS 8 /* random repetitions of every shape */
#define MAX_N 1536
#define MAX_M 4
#define LD_MAX (MAX_N + PAD)
#define SENTINEL8 0x5a
#define SENTINEL32 0x5a5a5a5a

#define TEST_RNG_SEED 0x2545f4914f6cdd1du
#include "test_check.h"
#include "softmax_rounding_cases.h"

/* A random value of a random bit length (so small and large magnitudes both occur),
 * within [lo, hi]; one in 8 is lo or hi itself. */
static int64_t rand_scaled(int64_t lo, int64_t hi) {
    if (rand_u64() % 8 == 0) return rand_u64() % 2 ? lo : hi;
    const int64_t bound = INT64_C(1) << rand_in(0, 62);
    int64_t v = rand_in(-bound, bound - 1);
    return v < lo ? lo : v > hi ? hi : v;
}

/* bit length of |v| */
static int bits_of(int64_t v) {
    uint64_t a = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
    int b = 0;
    while (a) {
        b++;
        a >>= 1;
    }
    return b;
}

/* A multiplier, never -2^31 (FORMAT.md §3): random, or one of the extremes. */
static int32_t rand_mult(void) {
    static const int32_t ends[] = {INT32_MAX, -INT32_MAX, 1, -1, 1 << 30, -(1 << 30)};
    if (rand_u64() % 4 == 0) return ends[rand_u64() % (sizeof ends / sizeof ends[0])];
    return (int32_t)rand_scaled(-INT32_MAX, INT32_MAX);
}

/* A shift in 1 ... 62: uniformly random half of the time, else one that maps inputs
 * of `in_bits` times `mult` to about `out_bits` bits, so outputs are not all
 * saturated or all zero. */
static int32_t rand_shift(int in_bits, int32_t mult, int out_bits) {
    if (rand_u64() % 2) return (int32_t)rand_in(1, 62);
    int64_t s = in_bits + bits_of(mult) - out_bits + rand_in(-3, 3);
    return (int32_t)(s < 1 ? 1 : s > 62 ? 62 : s);
}

/* Which rescales rand_rq makes. The kernels take a 32-bit path when every channel
 * has s >= 32 or |m| >= 2^30 (as the converter's normalized multipliers have), and
 * an int64 path otherwise: RQ_ANY mostly gives the latter, the others the former. */
enum rq_kind { RQ_ANY, RQ_NORMALIZED, RQ_LARGE_SHIFT, RQ_KINDS };

/* mult[n], shift[n]: per channel or one value; in_bits as for rand_shift; shifts at
 * least min_shift. */
static rq_params rand_rq(int32_t *mult, int32_t *shift, size_t n, int per_channel, int in_bits, int out_bits,
                         enum rq_kind kind, int32_t min_shift) {
    size_t count = per_channel ? n : 1;
    for (size_t j = 0; j < count; j++) {
        mult[j] = rand_mult();
        if (kind == RQ_NORMALIZED && mult[j] > -(1 << 30) && mult[j] < (1 << 30))
            mult[j] = (int32_t)(rand_u64() % 2 ? rand_in(1 << 30, INT32_MAX) : -rand_in(1 << 30, INT32_MAX));
        shift[j] = rand_shift(in_bits, mult[j], out_bits);
        if (kind == RQ_LARGE_SHIFT && shift[j] < 32) shift[j] = (int32_t)rand_in(32, 62);
        if (shift[j] < min_shift) shift[j] = min_shift;
    }
    return (rq_params){mult, shift, per_channel};
}

/* Whether the kernels' 32-bit path applies to rq (mirrors fpn_rq32_usable). */
static int rq32_path(const rq_params *rq, size_t n) {
    for (size_t j = 0; j < (rq->per_channel ? n : 1); j++)
        if (rq->shift[j] < 32 && rq->mult[j] > -(1 << 30) && rq->mult[j] < (1 << 30)) return 0;
    return 1;
}

/* Whether every shift of rq is at least 32, so that the 32-bit path leaves its SQSHL
 * out (mirrors fpn_rq_shifts_32_up). */
static int rq_shifts_32_up(const rq_params *rq, size_t n) {
    for (size_t j = 0; j < (rq->per_channel ? n : 1); j++)
        if (rq->shift[j] < 32) return 0;
    return 1;
}

/* How an int32 input matrix is filled. */
enum fill32 { FILL_FULL, FILL_ENDS, FILL_SMALL };

static void fill32(int32_t *p, size_t count, int64_t lo, int64_t hi, enum fill32 how) {
    for (size_t i = 0; i < count; i++) {
        switch (how) {
        case FILL_FULL: p[i] = (int32_t)rand_scaled(lo, hi); break;
        case FILL_ENDS: p[i] = (int32_t)(rand_u64() % 2 ? lo : hi); break;
        case FILL_SMALL: p[i] = (int32_t)rand_in(lo / 65536, hi / 65536); break;
        }
    }
}

static int32_t in_a[MAX_M * LD_MAX], in_b[MAX_M * LD_MAX], want32[MAX_M * LD_MAX], got32[MAX_M * LD_MAX];
static int8_t in8[MAX_M * LD_MAX], want8[MAX_M * LD_MAX], got8[MAX_M * LD_MAX];
static uint8_t wantu8[MAX_M * LD_MAX], gotu8[MAX_M * LD_MAX], key_mask[LD_MAX];
static int32_t mult_a[LD_MAX], shift_a[LD_MAX], mult_b[LD_MAX], shift_b[LD_MAX];
static int32_t zero_a[LD_MAX]; /* GELU output zero points (format version 6) */
static int64_t beta[LD_MAX];

/* The first index where two arrays differ, or count. */
static size_t first_diff(const void *a, const void *b, size_t count, size_t size) {
    const unsigned char *pa = a, *pb = b;
    for (size_t i = 0; i < count; i++)
        if (memcmp(pa + i * size, pb + i * size, size) != 0) return i;
    return count;
}

/* Outputs counted as strictly inside (lo, hi) against all outputs, per kernel. */
typedef struct coverage {
    long middle, total;
} coverage;
static void count8(coverage *cov, const int8_t *p, size_t m, size_t n, size_t ld) {
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            cov->middle += p[i * ld + j] > -128 && p[i * ld + j] < 127;
            cov->total++;
        }
}
static void check_coverage(const coverage *cov, const char *what) {
    check(cov->middle > cov->total / 10, what, "only %ld of %ld outputs unsaturated: the test data is too coarse",
          cov->middle, cov->total);
}

/* ---- requant_s32s8 and requant_s32s32 --------------------------------------- */

static void test_requant(void) {
    long bad = 0, cases = 0, fast_paths = 0, large_shifts = 0, pre_shifts = 0;
    coverage cov = {0, 0};
    for (size_t im = 0; im < N_ROWS; im++)
        for (size_t in = 0; in < N_SIZES; in++)
            for (int seed = 0; seed < SEEDS; seed++, cases++) {
                const size_t m = ROWS[im], n = SIZES[in], lds = n + (cases % 2 ? PAD : 0), ldd = n + PAD;
                const enum fill32 how = (enum fill32)(cases % 3);
                const int per_channel = (cases / 3) % 2;
                fill32(in_a, m * lds, INT32_MIN, INT32_MAX, how);
                const int in_bits = how == FILL_SMALL ? 16 : (int)rand_in(8, 32);
                /* s8: the contract is any int32 and any rescale */
                const enum rq_kind kind = (enum rq_kind)((cases / 6) % RQ_KINDS);
                rq_params rq = rand_rq(mult_a, shift_a, n, per_channel, in_bits, 7, kind, 1);
                fast_paths += rq32_path(&rq, n);
                large_shifts += rq_shifts_32_up(&rq, n);
                pre_shifts += rq32_path(&rq, n) && !rq_shifts_32_up(&rq, n);
                memset(want8, SENTINEL8, sizeof want8);
                memset(got8, SENTINEL8, sizeof got8);
                requant_s32s8_1x1__ref(m, n, in_a, lds, &rq, want8, ldd);
                requant_s32s8_1x8__neon(m, n, in_a, lds, &rq, got8, ldd);
                size_t at = first_diff(want8, got8, m * ldd, 1);
                if (at < m * ldd) {
                    bad++;
                    check(0, "requant_s32s8", "m=%zu n=%zu %s: [%zu, %zu] is %d, ref %d", m, n,
                          per_channel ? "per channel" : "per tensor", at / ldd, at % ldd, got8[at], want8[at]);
                }
                count8(&cov, want8, m, n, ldd);
                /* s32: bits 2 ... 32, in a separate buffer and in place */
                static const unsigned BITS[] = {2, 8, 20, 22, 29, 30, 31, 32};
                const unsigned bits = BITS[cases % 8];
                rq = rand_rq(mult_a, shift_a, n, per_channel, in_bits, (int)bits - 1, kind, 1);
                fast_paths += bits <= 30 && rq32_path(&rq, n);
                memset(want32, SENTINEL8, sizeof want32);
                memset(got32, SENTINEL8, sizeof got32);
                requant_s32s32_1x1__ref(m, n, in_a, lds, &rq, bits, want32, ldd);
                requant_s32s32_1x8__neon(m, n, in_a, lds, &rq, bits, got32, ldd);
                at = first_diff(want32, got32, m * ldd, 4);
                if (at < m * ldd) {
                    bad++;
                    check(0, "requant_s32s32", "m=%zu n=%zu bits=%u: [%zu, %zu] is %d, ref %d", m, n, bits, at / ldd,
                          at % ldd, got32[at], want32[at]);
                }
                memcpy(got32, in_a, m * lds * sizeof *in_a);
                requant_s32s32_1x8__neon(m, n, got32, lds, &rq, bits, got32, lds);
                for (size_t i = 0; i < m; i++)
                    for (size_t j = 0; j < lds; j++)
                        if (got32[i * lds + j] != (j < n ? want32[i * ldd + j] : in_a[i * lds + j])) {
                            bad++;
                            check(0, "requant_s32s32 in place", "m=%zu n=%zu bits=%u: [%zu, %zu]", m, n, bits, i, j);
                            i = m;
                            break;
                        }
            }
    check(bad == 0, "requant", "%ld of %ld cases differ from the reference", bad, cases);
    check(fast_paths > cases / 2 && fast_paths < 2 * cases * 9 / 10, "requant paths",
          "%ld of %ld rescales take the 32-bit path: both paths must be tested", fast_paths, 2 * cases);
    check(large_shifts > cases / 10 && pre_shifts > cases / 10, "requant_s32s8 32-bit paths",
          "%ld (every shift >= 32) and %ld (some below) of %ld: both must be tested", large_shifts, pre_shifts, cases);
    check_coverage(&cov, "requant_s32s8 coverage");
}

/* ---- residual_s32s8s32 -------------------------------------------------------- */

static void test_residual(void) {
    long bad = 0, cases = 0, middle = 0, total = 0, fast_paths = 0, x_low_paths = 0;
    const int32_t hi22 = (1 << 21) - 1;
    for (size_t im = 0; im < N_ROWS; im++)
        for (size_t in = 0; in < N_SIZES; in++)
            for (int seed = 0; seed < SEEDS; seed++, cases++) {
                const size_t m = ROWS[im], n = SIZES[in], ld = n + (cases % 2 ? PAD : 0);
                const enum fill32 how = (enum fill32)(cases % 3);
                fill32(in_a, m * ld, INT32_MIN, INT32_MAX, how);
                for (size_t i = 0; i < m * ld; i++)
                    in8[i] = (int8_t)(how == FILL_ENDS ? (rand_u64() % 2 ? -128 : 127) : rand_in(-128, 127));
                const int in_bits = how == FILL_SMALL ? 16 : (int)rand_in(8, 32);
                const enum rq_kind kind = (enum rq_kind)((cases / 4) % RQ_KINDS);
                rq_params acc_rq = rand_rq(mult_a, shift_a, n, cases % 4 < 2, in_bits, 21, kind, 1);
                /* the 32-bit path also needs every x shift >= 10: mostly given, sometimes not */
                rq_params x_rq = rand_rq(mult_b, shift_b, n, cases % 2, 8, 20, RQ_ANY, seed % 3 ? 10 : 1);
                int x_shifts_ok = 1, x_shifts_low = 1;
                for (size_t j = 0; j < (x_rq.per_channel ? n : 1); j++) {
                    x_shifts_ok &= x_rq.shift[j] >= 10;
                    x_shifts_low &= x_rq.shift[j] <= 31;
                }
                fast_paths += rq32_path(&acc_rq, n) && x_shifts_ok;
                /* the 32-bit path takes rq(x) by SHL + SQRDMULH when every x shift is <= 31 */
                x_low_paths += rq32_path(&acc_rq, n) && x_shifts_ok && x_shifts_low;
                memset(want32, SENTINEL8, sizeof want32);
                memset(got32, SENTINEL8, sizeof got32);
                residual_s32s8s32_1x1__ref(m, n, in_a, ld, &acc_rq, in8, ld, &x_rq, want32, ld);
                /* in place, as forward calls it: out is acc */
                memcpy(got32, in_a, m * ld * sizeof *in_a);
                residual_s32s8s32_1x8__neon(m, n, got32, ld, &acc_rq, in8, ld, &x_rq, got32, ld);
                for (size_t i = 0; i < m; i++)
                    for (size_t j = n; j < ld; j++) want32[i * ld + j] = in_a[i * ld + j];
                size_t at = first_diff(want32, got32, m * ld, 4);
                if (at < m * ld) {
                    bad++;
                    check(0, "residual_s32s8s32", "m=%zu n=%zu: [%zu, %zu] is %d, ref %d", m, n, at / ld, at % ld,
                          got32[at], want32[at]);
                }
                for (size_t i = 0; i < m; i++)
                    for (size_t j = 0; j < n; j++) {
                        middle += want32[i * ld + j] > -hi22 - 1 && want32[i * ld + j] < hi22;
                        total++;
                    }
            }
    check(bad == 0, "residual_s32s8s32", "%ld of %ld cases differ from the reference", bad, cases);
    check(fast_paths > cases / 4 && fast_paths < cases * 9 / 10, "residual paths",
          "%ld of %ld cases take the 32-bit path: both paths must be tested", fast_paths, cases);
    check(x_low_paths > fast_paths / 5 && x_low_paths < fast_paths * 4 / 5, "residual x paths",
          "%ld of %ld cases on the 32-bit path have every x shift <= 31: both forms of rq(x) must be tested",
          x_low_paths, fast_paths);
    check(middle > total / 10, "residual coverage", "only %ld of %ld unsaturated", middle, total);
}

/* ---- layernorm_s32s8 ----------------------------------------------------------- */

/* Row kinds: random 22-bit values, the 22-bit extremes, a constant row (var = 0),
 * a row whose var is 1 ... 3 (std = 1, f = 2^31), and values near a random mean. */
enum ln_row { LN_RANDOM, LN_ENDS, LN_CONSTANT, LN_STD1, LN_NARROW, LN_KINDS };

static void fill_ln_row(int32_t *row, size_t h, enum ln_row kind) {
    const int32_t hi = (1 << 21) - 1, lo = -(1 << 21);
    const int32_t base = (int32_t)rand_in(lo + 4096, hi - 4096);
    for (size_t j = 0; j < h; j++) {
        switch (kind) {
        case LN_RANDOM: row[j] = (int32_t)rand_scaled(lo, hi); break;
        case LN_ENDS: row[j] = rand_u64() % 2 ? lo : hi; break;
        case LN_CONSTANT: row[j] = base; break;
        case LN_STD1: row[j] = base; break;
        case LN_NARROW: row[j] = base + (int32_t)rand_in(-4096, 4095); break;
        case LN_KINDS: break;
        }
    }
    if (kind == LN_STD1) row[rand_u64() % h] += rand_u64() % 2 ? 1 : -1;
}

static void test_layernorm(void) {
    long bad = 0, cases = 0, high_paths = 0;
    coverage cov = {0, 0};
    for (size_t in = 0; in < N_SIZES; in++)
        for (int seed = 0; seed < SEEDS; seed++)
            for (int kind = 0; kind < LN_KINDS; kind++, cases++) {
                const size_t m = ROWS[cases % N_ROWS], h = SIZES[in], ld = h + (cases % 2 ? PAD : 0);
                for (size_t i = 0; i < m; i++) fill_ln_row(in_a + i * ld, h, (enum ln_row)((kind + i) % LN_KINDS));
                /* nrm is about 2^30 / sqrt(h): aim the outputs at 7 bits */
                const int nrm_bits = 30 - bits_of((int64_t)h) / 2;
                for (size_t j = 0; j < h; j++) {
                    mult_a[j] = rand_mult();
                    shift_a[j] = rand_shift(nrm_bits, mult_a[j], 7);
                    /* the kernel has a path for rows whose shifts are all >= 32 */
                    if (cases % 2 && shift_a[j] < 32) shift_a[j] = (int32_t)rand_in(32, 40);
                    /* |beta| <= 2^61, mostly about the size of the product */
                    const int64_t around = INT64_C(1) << (shift_a[j] + 6 > 61 ? 61 : shift_a[j] + 6);
                    beta[j] = rand_u64() % 8 == 0 ? (rand_u64() % 2 ? INT64_C(1) << 61 : -(INT64_C(1) << 61))
                                                  : rand_in(-around, around);
                }
                memset(want8, SENTINEL8, sizeof want8);
                memset(got8, SENTINEL8, sizeof got8);
                layernorm_s32s8_1x1__ref(m, h, in_a, ld, mult_a, shift_a, beta, want8, ld);
                layernorm_s32s8_1x8__neon(m, h, in_a, ld, mult_a, shift_a, beta, got8, ld);
                size_t at = first_diff(want8, got8, m * ld, 1);
                if (at < m * ld) {
                    bad++;
                    check(0, "layernorm_s32s8", "m=%zu h=%zu row kind %d: [%zu, %zu] is %d, ref %d", m, h, kind,
                          at / ld, at % ld, got8[at], want8[at]);
                }
                count8(&cov, want8, m, h, ld);
                int high = h >= 8;
                for (size_t j = 0; j < h; j++) high &= shift_a[j] >= 32;
                high_paths += high;
            }
    check(bad == 0, "layernorm_s32s8", "%ld of %ld cases differ from the reference", bad, cases);
    check(high_paths > cases / 4 && high_paths < cases * 3 / 4, "layernorm paths",
          "%ld of %ld cases have every shift >= 32: both paths must be tested", high_paths, cases);
    check_coverage(&cov, "layernorm coverage");
}

/* nrm to its last bit: beta cancels the spec's nrm (computed here as FORMAT.md §4.5
 * says) up to a small offset, so that out = floor((nrm - nrm_spec + r) / 2 or 4) shows
 * any difference of 1 in nrm, on both paths (s = 1 and s = 32). */
static void test_layernorm_nrm_exact(void) {
    long bad = 0;
    for (size_t in = 0; in < N_SIZES; in++)
        for (int kind = 0; kind < LN_KINDS; kind++)
            for (int high = 0; high < 2; high++) {
                const size_t h = SIZES[in];
                fill_ln_row(in_a, h, (enum ln_row)kind);
                int64_t sum = 0;
                for (size_t j = 0; j < h; j++) sum += in_a[j];
                const int64_t mean = fp_floor_div(2 * sum + (int64_t)h, 2 * (int64_t)h);
                uint64_t var = 0;
                for (size_t j = 0; j < h; j++) var += (uint64_t)((in_a[j] - mean) * (in_a[j] - mean));
                const int64_t f = var > 0 ? (int64_t)((UINT64_C(1) << 31) / fp_isqrt_u64(var)) : 0;
                for (size_t j = 0; j < h; j++) {
                    const int64_t nrm = ((in_a[j] - mean) * f) >> 1, r = rand_in(-100, 100);
                    mult_a[j] = high ? 1 << 30 : 1;
                    shift_a[j] = high ? 32 : 1;
                    beta[j] = high ? (r - nrm) * (INT64_C(1) << 30) : r - nrm;
                }
                layernorm_s32s8_1x1__ref(1, h, in_a, h, mult_a, shift_a, beta, want8, h);
                layernorm_s32s8_1x8__neon(1, h, in_a, h, mult_a, shift_a, beta, got8, h);
                bad += first_diff(want8, got8, h, 1) < h;
            }
    check(bad == 0, "layernorm_s32s8 nrm", "%ld rows differ from the reference", bad);
}

/* ---- softmax_s32u8 --------------------------------------------------------------- */

/* i-exp constants within FORMAT.md's bounds: 1 <= K <= 14, 2^(K+1) <= b <= 2^20,
 * 2^K (b - 2^K) < c <= 2^30; one in 4 is the shipped model's K = 10 set. */
static iexp_params rand_iexp(void) {
    if (rand_u64() % 4 == 0) return (iexp_params){10, 3999, 6093716};
    iexp_params e;
    e.frac_bits = (uint32_t)rand_in(1, 14);
    const int64_t k = INT64_C(1) << e.frac_bits;
    int64_t b_hi = (INT64_C(1) << 30) / k + k - 1;
    if (b_hi > (INT64_C(1) << 20)) b_hi = INT64_C(1) << 20;
    e.b = (int32_t)rand_in(2 * k, b_hi);
    e.c = (int32_t)rand_in(k * (e.b - k) + 1, INT64_C(1) << 30);
    return e;
}

/* Mask kinds: all attended, random, a prefix (a padded batch), none, one random key,
 * only the last key. */
enum mask_kind { MASK_ALL, MASK_RANDOM, MASK_PREFIX, MASK_NONE, MASK_ONE, MASK_LAST, MASK_KINDS };

/* Score kinds: spread over a random range, all tied, at +-2^30 (mult 1, shift 1). */
enum score_kind { SCORES_SPREAD, SCORES_TIED, SCORES_HUGE, SCORE_KINDS };

static void test_softmax(void) {
    long bad = 0, bad_exps = 0, cases = 0, middle = 0, total = 0;
    for (size_t in = 0; in < N_SIZES; in++)
        for (int seed = 0; seed < SEEDS; seed++)
            for (int mk = 0; mk < MASK_KINDS; mk++)
                for (int sk = 0; sk < SCORE_KINDS; sk++, cases++) {
                    const size_t m = ROWS[cases % N_ROWS], n = SIZES[in], lds = n + (cases % 2 ? PAD : 0),
                                 ldp = n + PAD;
                    const iexp_params e = rand_iexp();
                    /* the kernel rescales shift 31, shifts >= 32 and smaller ones differently */
                    const int how = (int)(cases % 3);
                    int32_t mult = rand_mult(),
                            shift = how == 0 ? 31 : how == 1 ? (int32_t)rand_in(32, 62) : (int32_t)rand_in(1, 30);
                    if (sk == SCORES_HUGE) { /* scores at INT32_MIN / INT32_MAX give t = -2^30 / about 2^30 */
                        static const int32_t HUGE_MULT[] = {1 << 30, INT32_MAX, 1}, HUGE_SHIFT[] = {31, 32, 1};
                        mult = HUGE_MULT[how];
                        shift = HUGE_SHIFT[how];
                    }
                    const size_t prefix_end = rand_u64() % n;
                    for (size_t j = 0; j < n; j++) {
                        switch ((enum mask_kind)mk) {
                        case MASK_ALL: key_mask[j] = 1; break;
                        case MASK_RANDOM: key_mask[j] = (uint8_t)(rand_u64() % 2 ? rand_in(1, 255) : 0); break;
                        case MASK_PREFIX: key_mask[j] = j <= prefix_end; break;
                        case MASK_NONE: key_mask[j] = 0; break;
                        case MASK_ONE:
                        case MASK_LAST: key_mask[j] = 0; break;
                        case MASK_KINDS: break;
                        }
                    }
                    if (mk == MASK_ONE) key_mask[rand_u64() % n] = 1;
                    if (mk == MASK_LAST) key_mask[n - 1] = 1;
                    /* |t| <= range <= 2^30, the contract; range mostly a few units of the
                     * exp domain, so rows spread over it, sometimes so large that a row
                     * collapses onto its largest keys */
                    const int64_t range_bits = sk == SCORES_HUGE ? 30
                                               : rand_u64() % 4 ? rand_in(e.frac_bits, e.frac_bits + 5)
                                                                : rand_in(e.frac_bits, 30);
                    const int64_t range = INT64_C(1) << range_bits;
                    const int32_t tied = (int32_t)rand_scaled(INT32_MIN, INT32_MAX);
                    for (size_t i = 0; i < m * lds; i++) {
                        int32_t s;
                        if (sk == SCORES_HUGE) s = rand_u64() % 2 ? INT32_MIN : INT32_MAX;
                        else if (sk == SCORES_TIED) s = tied;
                        else s = (int32_t)rand_in(INT32_MIN, INT32_MAX);
                        while (fp_rq(s, mult, shift) > range || fp_rq(s, mult, shift) < -range) s /= 2;
                        in_a[i] = in_b[i] = s;
                    }
                    memset(wantu8, SENTINEL8, sizeof wantu8);
                    memset(gotu8, SENTINEL8, sizeof gotu8);
                    softmax_s32u8_1x1__ref(m, n, in_a, lds, mult, shift, key_mask, &e, wantu8, ldp);
                    softmax_s32u8_1x8__neon(m, n, in_b, lds, mult, shift, key_mask, &e, gotu8, ldp);
                    size_t at = first_diff(wantu8, gotu8, m * ldp, 1);
                    if (at < m * ldp) {
                        bad++;
                        check(0, "softmax_s32u8", "m=%zu n=%zu mask %d scores %d K=%u: [%zu, %zu] is %u, ref %u", m, n,
                              mk, sk, e.frac_bits, at / ldp, at % ldp, gotu8[at], wantu8[at]);
                    }
                    bad_exps += softmax_exps_differ(m, n, in_a, in_b, lds, key_mask);
                    /* rows that can spread (several keys, not so many that all round to 0) */
                    if (sk == SCORES_SPREAD && mk <= MASK_PREFIX && n >= 8 && n <= 128)
                        for (size_t i = 0; i < m; i++)
                            for (size_t j = 0; j < n; j++) {
                                middle += wantu8[i * ldp + j] > 0 && wantu8[i * ldp + j] < 255;
                                total++;
                            }
                }
    check(bad == 0, "softmax_s32u8", "%ld of %ld cases differ from the reference", bad, cases);
    check(bad_exps == 0, "softmax_s32u8 exps", "%ld cases leave other exps in the scores than the reference", bad_exps);
    check(middle > total / 10, "softmax coverage", "only %ld of %ld probabilities in 1 ... 254", middle, total);
    const long wrong = softmax_cases_wrong(softmax_s32u8_1x8__neon, "neon");
    check(wrong == 0, "softmax_s32u8 rounding ties up and caps at 255", "%ld rows wrong", wrong);
}

/* ---- softmax_exp16_finish (format version 5) ----------------------------------- */

static void test_softmax_exp16_finish(void) { exp16_finish_check(softmax_exp16_finish_u8_1x8__neon, "neon"); }

/* ---- gelu_s32s8 ------------------------------------------------------------------ */

/* erf2 constants within FORMAT.md's bounds: -2^15 <= b < 0, -2^30 <= c < 0 with
 * b^2 + c < 0, 0 <= E <= 30, -2^11 <= one < 0 with (-c) >> E <= 2^11; one in 4 has
 * the extremes of b, c and one. */
static igelu_params rand_igelu(void) {
    igelu_params g = {.form = IGELU_ERF2};
    const int ends = rand_u64() % 4 == 0;
    g.b = ends ? -(1 << 15) + 1 : (int32_t)rand_in(-(1 << 15) + 1, -1);
    g.c = ends ? -(1 << 30) : (int32_t)rand_in(-(1 << 30), -(int64_t)g.b * g.b - 1);
    uint32_t e_min = 0;
    while (((-(int64_t)g.c) >> e_min) > (1 << 11)) e_min++;
    g.shift = (uint32_t)rand_in(e_min, ends ? e_min : 30);
    g.one = ends ? -(1 << 11) : (int32_t)rand_in(-(1 << 11), -1);
    return g;
}

static int fits_i32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

/* The loader's rule for erf3's constants (model_metadata.c, read_gelu_erf3), computed
 * here on its own: for every d in [b, 0], d d_mult, c3 D, both Horner products and
 * L one fit int32, and |y + one| <= 2^12 + 1 for both signs of t. */
static int erf3_loads(const igelu_params *g) {
    for (int64_t d = g->b; d <= 0; d++) {
        const int64_t d_mult = d * g->d_mult, dd = d_mult >> 12;
        const int64_t p3 = g->c3 * dd, p2 = ((p3 >> 14) + g->c2) * dd, p1 = ((p2 >> 14) + g->c1) * dd;
        const int64_t l_one = ((INT64_C(1) << 14) + (p1 >> 14)) * g->one;
        const int64_t w_pos = (l_one >> 14) + g->one, w_neg = ((-l_one) >> 14) + g->one;
        if (!fits_i32(d_mult) || !fits_i32(p3) || !fits_i32(p2) || !fits_i32(p1) || !fits_i32(l_one) ||
            llabs(w_pos) > 4097 || llabs(w_neg) > 4097)
            return 0;
    }
    return 1;
}

/* A coefficient of erf3's cubic: random sign and bit length, within +-(2^15 - 1). */
static int32_t rand_erf3_coefficient(void) {
    const int32_t v = (int32_t)rand_in(0, (INT64_C(1) << rand_in(0, 15)) - 1);
    return rand_u64() % 2 ? -v : v;
}

/* erf3 constants the loader accepts (erf3_loads), drawn until they pass: half of them
 * the converter's cubic (c1 = 541, c2 = 1310, c3 = 1971 for D down to -37200) moved
 * to a random range of D, so that L runs from about 0 to 2^14 as erf does, the others
 * of random bit lengths; one in 4 with b = -2^15, one in 3 with one = -2^11 (whose w
 * = 2 one = -2^12 for t > -b keeps the kernel off its exact 32-bit product). */
static igelu_params rand_igelu_erf3(void) {
    for (;;) {
        igelu_params g = {.form = IGELU_ERF3};
        g.b = rand_u64() % 4 == 0 ? -(1 << 15) : -(int32_t)rand_in(1, INT64_C(1) << rand_in(0, 15));
        g.one = rand_u64() % 3 == 0 ? -(1 << 11) : -(int32_t)rand_in(1, INT64_C(1) << rand_in(0, 11));
        if (rand_u64() % 2) {
            const int64_t d_mult_max = (INT64_C(1) << 31) / -g.b; /* d * d_mult >= -2^31 at d = b */
            g.d_mult = (int32_t)rand_in(1, d_mult_max < (1 << 17) - 1 ? d_mult_max : (1 << 17) - 1);
            const int64_t range = -(((int64_t)g.b * g.d_mult) >> 12), r = 37200; /* -D at d = b */
            const int64_t c1 = 541 * r / range + rand_in(-2, 2), c2 = 1310 * r * r / (range * range) + rand_in(-2, 2),
                          c3 = 1971 * r * r * r / (range * range * range) + rand_in(-2, 2);
            if (llabs(c1) >= 1 << 15 || llabs(c2) >= 1 << 15 || llabs(c3) >= 1 << 15) continue;
            g.c1 = (int32_t)c1, g.c2 = (int32_t)c2, g.c3 = (int32_t)c3;
        } else {
            g.d_mult = (int32_t)rand_in(1, (INT64_C(1) << rand_in(1, 17)) - 1);
            g.c1 = rand_erf3_coefficient(), g.c2 = rand_erf3_coefficient(), g.c3 = rand_erf3_coefficient();
        }
        if (erf3_loads(&g)) return g;
    }
}

/* Whether the GELU kernel's 32-bit path with a clamped product is exact for a zero
 * point z (mirrors gelu_ends_saturate). */
static int gelu32_path(int32_t mult, int32_t shift, int32_t zero) {
    return shift >= 32 &&
           ((INT64_C(2147483647) * (mult < 0 ? -(int64_t)mult : mult)) >> (shift - 1)) >= 257 + 2 * llabs(zero);
}

/* gelu32_path for every channel of rq (n of them, or 1) and its zero points (or none). */
static int gelu32_path_rq(const rq_params *rq, const int32_t *zero, size_t n) {
    for (size_t j = 0; j < (rq->per_channel ? n : 1); j++)
        if (!gelu32_path(rq->mult[j], rq->shift[j], zero ? zero[j] : 0)) return 0;
    return 1;
}

/* n random zero points, one in 4 at -128 or 127. */
static const int32_t *rand_zero_points(size_t n) {
    for (size_t j = 0; j < n; j++)
        zero_a[j] = rand_u64() % 4 ? (int32_t)rand_in(-128, 127) : rand_u64() % 2 ? -128 : 127;
    return zero_a;
}

/* Whether g = t (y + one) fits int32 for every 20-bit t, so that the kernel's 32-bit
 * path multiplies exactly (mirrors gelu_product_fits): |w| < 2^12 where a is clipped,
 * which for erf3 is w = 2 one (t > 0) or 0 (t < 0). */
static int gelu_exact_product(const igelu_params *g) {
    if (g->form == IGELU_ERF3) return g->one > -2048;
    const int64_t w_pos = ((int64_t)g->c >> g->shift) + g->one, w_neg = ((-(int64_t)g->c) >> g->shift) + g->one;
    return llabs(w_pos) < 4096 && llabs(w_neg) < 4096;
}

/* GELU inputs at the ends: -2^19 and 2^19 - 1 and their neighbours, 0, +-1, and +-b
 * and their neighbours (where the clip starts). */
static void fill_gelu_ends(int32_t *p, size_t count, int32_t b) {
    const int32_t lo = -(1 << 19), hi = (1 << 19) - 1;
    const int32_t ends[] = {lo, lo + 1, hi, hi - 1, 0, 1, -1, b - 1, b, b + 1, -b - 1, -b, -b + 1};
    for (size_t i = 0; i < count; i++) p[i] = ends[rand_u64() % (sizeof ends / sizeof ends[0])];
}

/* Random constants of one form against the reference, on every path of the kernel. */
static void test_gelu(igelu_form form) {
    const char *name = form == IGELU_ERF3 ? "gelu_s32s8 erf3" : "gelu_s32s8 erf2";
    long bad = 0, cases = 0, fast_paths = 0, exact_paths = 0;
    coverage cov = {0, 0};
    const int32_t lo20 = -(1 << 19), hi20 = (1 << 19) - 1;
    for (size_t im = 0; im < N_ROWS; im++)
        for (size_t in = 0; in < N_SIZES; in++)
            for (int seed = 0; seed < SEEDS; seed++, cases++) {
                const size_t m = ROWS[im], n = SIZES[in], ldt = n + (cases % 2 ? PAD : 0), ldu = n + PAD;
                const igelu_params g = form == IGELU_ERF3 ? rand_igelu_erf3() : rand_igelu();
                /* one case in 5 only the ends of the input range and of the clip */
                if (cases % 5 == 4) fill_gelu_ends(in_a, m * ldt, g.b);
                else fill32(in_a, m * ldt, lo20, hi20, (enum fill32)(cases % 3));
                /* g = t (y + one) has up to 31 bits; the rescale per tensor or per column
                 * (format version 2), shifts >= 32 on every channel half of the time */
                const int per_channel = (int)((cases / 2) % 2);
                const rq_params rq = rand_rq(mult_a, shift_a, n, per_channel, 31, 7,
                                             seed % 2 ? RQ_LARGE_SHIFT : RQ_ANY, 1);
                /* output zero points (format version 6) in half the cases */
                const int32_t *zero = (cases / 4) % 2 ? rand_zero_points(n) : NULL;
                if (rq_shifts_32_up(&rq, n) && gelu_exact_product(&g)) exact_paths++;
                else fast_paths += gelu32_path_rq(&rq, zero, n);
                memset(want8, SENTINEL8, sizeof want8);
                memset(got8, SENTINEL8, sizeof got8);
                gelu_s32s8_1x1__ref(m, n, in_a, ldt, &g, &rq, zero, want8, ldu);
                gelu_s32s8_1x8__neon(m, n, in_a, ldt, &g, &rq, zero, got8, ldu);
                size_t at = first_diff(want8, got8, m * ldu, 1);
                if (at < m * ldu) {
                    bad++;
                    const size_t ch = per_channel ? at % ldu : 0;
                    check(0, name,
                          "m=%zu n=%zu b=%d one=%d c=%d E=%u d_mult=%d c1=%d c2=%d c3=%d mult=%d shift=%d zero=%d "
                          "(per channel %d): [%zu, %zu] (t=%d) is %d, ref %d", m, n, g.b, g.one, g.c, g.shift,
                          g.d_mult, g.c1, g.c2, g.c3, rq.mult[ch], rq.shift[ch], zero ? zero[ch] : 0, per_channel,
                          at / ldu, at % ldu, in_a[at / ldu * ldt + at % ldu], got8[at], want8[at]);
                }
                count8(&cov, want8, m, n, ldu);
            }
    check(bad == 0, name, "%ld of %ld cases differ from the reference", bad, cases);
    /* one = -2^11 (one in 4 for erf2, one in 3 for erf3) gives |w| = 2^12 at the
     * clipped ends, so the clamped product is the rarer 32-bit path (rarer still per
     * channel, where every channel must saturate at the int32 ends);
     * test_gelu_every_input covers it too */
    check(fast_paths > cases / 30 && exact_paths > cases / 5 && fast_paths + exact_paths < cases * 4 / 5, name,
          "%ld (clamped product) and %ld (exact product) of %ld cases take the 32-bit path: all three paths must be "
          "tested", fast_paths, exact_paths, cases);
    check_coverage(&cov, name);
}

/* Every 20-bit input, once, with the widest parameters: the split of the
 * multiplier (mult = mh 2^16 + ml) at its ends, mh = -2^15 and ml = 2^16 - 1. */
static void test_gelu_every_input(void) {
    static const int32_t MULTS[] = {INT32_MAX, -INT32_MAX, -(1 << 30) - 1, 0x7fff0000, 65535};
    /* erf2 with w for t > -b: -4096, -4095 (the largest |w| for which the kernel
     * multiplies in int32) and -4097 (the smallest w the file allows: t w leaves int32);
     * erf3 with the converter's constants (w = 2 one = -3546 for t > -b: the exact
     * 32-bit product), and with b = -2^15, d_mult = 2^16 (d * d_mult = -2^31 at d = b),
     * |w| = 2^12 + 1 inside the clip and w = 2 one = -4096 for t > -b (the clamped one) */
    const igelu_params gs[] = {
        {.b = -(1 << 15) + 1, .c = -(1 << 30), .one = -(1 << 11), .shift = 19, .form = IGELU_ERF2},
        {.b = -(1 << 15) + 1, .c = -(1 << 30), .one = -(1 << 11) + 1, .shift = 19, .form = IGELU_ERF2},
        {.b = -23170, .c = -(1 << 29) - 1, .one = -(1 << 11), .shift = 18, .form = IGELU_ERF2},
        {.b = -3288, .one = -1773, .form = IGELU_ERF3, .d_mult = 46341, .c1 = 541, .c2 = 1310, .c3 = 1971},
        {.b = -(1 << 15), .one = -(1 << 11), .form = IGELU_ERF3, .d_mult = 1 << 16, .c1 = 63, .c2 = 16, .c3 = 1},
    };
    for (size_t gi = 0; gi < sizeof gs / sizeof gs[0]; gi++)
        if (gs[gi].form == IGELU_ERF3)
            check(erf3_loads(&gs[gi]), "gelu_s32s8 every 20-bit input", "erf3 set %zu is not one a file may have", gi);
    long bad = 0;
    for (size_t gi = 0; gi < sizeof gs / sizeof gs[0]; gi++)
        for (size_t k = 0; k < sizeof MULTS / sizeof MULTS[0]; k++) {
            const igelu_params g = gs[gi];
            /* the 32-bit path at its boundary (about 8 bits of output), then the int64 path */
            int32_t shift = 32;
            while (gelu32_path(MULTS[k], shift + 1, 0)) shift++;
            if (k % 2) shift = shift + 1 < 62 ? shift + 1 : 31;
            const int32_t mult = MULTS[k];
            for (int32_t start = -(1 << 19); start < (1 << 19); start += MAX_N) {
                for (size_t j = 0; j < MAX_N; j++) in_a[j] = start + (int32_t)j < (1 << 19) ? start + (int32_t)j : 0;
                const rq_params rq = {&mult, &shift, 0};
                gelu_s32s8_1x1__ref(1, MAX_N, in_a, MAX_N, &g, &rq, NULL, want8, MAX_N);
                gelu_s32s8_1x8__neon(1, MAX_N, in_a, MAX_N, &g, &rq, NULL, got8, MAX_N);
                bad += first_diff(want8, got8, MAX_N, 1) < MAX_N;
            }
        }
    check(bad == 0, "gelu_s32s8 every 20-bit input", "%ld blocks differ from the reference", bad);
}

/* ---- tanh_s32s8 -------------------------------------------------------------------- */

static void test_tanh(void) {
    long bad = 0, cases = 0, middle = 0, total = 0;
    for (size_t in = 0; in < N_SIZES; in++)
        for (int seed = 0; seed < 4 * SEEDS; seed++, cases++) {
            const size_t n = SIZES[in];
            const iexp_params e = rand_iexp();
            const enum fill32 how = (enum fill32)(cases % 3);
            fill32(in_a, n, INT32_MIN, INT32_MAX, how);
            const int in_bits = how == FILL_SMALL ? 16 : (int)rand_in(8, 32);
            /* u in the exp domain: aim at a few units of 2^K, sometimes past the clamp */
            rq_params rq = rand_rq(mult_a, shift_a, n, cases % 2, in_bits, (int)e.frac_bits + 2,
                                   (enum rq_kind)((cases / 2) % RQ_KINDS), 1);
            memset(want8, SENTINEL8, n + PAD);
            memset(got8, SENTINEL8, n + PAD);
            tanh_s32s8_1x1__ref(n, in_a, &rq, &e, want8);
            tanh_s32s8_1x4__neon(n, in_a, &rq, &e, got8);
            size_t at = first_diff(want8, got8, n + PAD, 1);
            if (at < n + PAD) {
                bad++;
                check(0, "tanh_s32s8", "n=%zu K=%u: [%zu] is %d, ref %d", n, e.frac_bits, at, got8[at], want8[at]);
            }
            for (size_t j = 0; j < n; j++) {
                middle += want8[j] > -127 && want8[j] < 127 && want8[j] != 0;
                total++;
            }
        }
    check(bad == 0, "tanh_s32s8", "%ld of %ld cases differ from the reference", bad, cases);
    check(middle > total / 10, "tanh coverage", "only %ld of %ld outputs strictly inside (-127, 127) and not 0",
          middle, total);
}

/* The largest |g| = |t (y + one)| a file allows, beyond int32: t = 2^19 - 1 and
 * y + one = -4097 (b = -20000, c just above -2049 * 2^18, E = 18, one = -2^11). For
 * rescales where sat_32(g) and g round to different int8 values, the kernel must not
 * take its 32-bit path (which works on sat_32(g)); test them all for one shift. */
static void test_gelu_int32_end(void) {
    const igelu_params g = {.b = -20000, .c = -2049 * (1 << 18) + 1, .one = -(1 << 11), .shift = 18,
                            .form = IGELU_ERF2};
    const int64_t t = (1 << 19) - 1, w = (g.c >> g.shift) + g.one, prod = t * w;
    const int32_t shift = 40;
    long differing = 0, bad = 0;
    check(w == -4097 && prod < INT32_MIN, "gelu int32 end", "w = %lld, g = %lld", (long long)w, (long long)prod);
    for (int32_t mult = 1 << 14; mult < 1 << 17; mult++) {
        const int8_t want = fp_sat8(fp_rq(prod, mult, shift));
        if (want == fp_sat8(fp_rq(INT32_MIN, mult, shift))) continue;
        differing++;
        for (size_t j = 0; j < 8; j++) in_a[j] = (int32_t)t;
        const rq_params rq = {&mult, &shift, 0};
        gelu_s32s8_1x8__neon(1, 8, in_a, 8, &g, &rq, NULL, got8, 8);
        bad += got8[0] != want;
    }
    check(differing > 0 && bad == 0, "gelu int32 end", "%ld of %ld rescales wrong", bad, differing);
    /* the same with zero points at both ends: the kernel must widen its margin by |z| */
    static const int32_t ZEROS[] = {-128, 127};
    differing = bad = 0;
    for (size_t zi = 0; zi < 2; zi++)
        for (int32_t mult = 1 << 14; mult < 1 << 17; mult++) {
            const int8_t want = fp_sat8(fp_rq(prod, mult, shift) + ZEROS[zi]);
            if (want == fp_sat8(fp_rq(INT32_MIN, mult, shift) + ZEROS[zi])) continue;
            differing++;
            for (size_t j = 0; j < 8; j++) in_a[j] = (int32_t)t;
            const rq_params rq = {&mult, &shift, 0};
            gelu_s32s8_1x8__neon(1, 8, in_a, 8, &g, &rq, &ZEROS[zi], got8, 8);
            bad += got8[0] != want;
        }
    check(differing > 0 && bad == 0, "gelu int32 end with zero points", "%ld of %ld rescales wrong", bad, differing);
}

int main(void) {
#if !defined(__aarch64__)
    if (!(getauxval(AT_HWCAP) & HWCAP_NEON)) {
        printf("this CPU has no NEON: nothing to test\n");
        return 0;
    }
#endif
    test_requant();
    test_residual();
    test_layernorm();
    test_layernorm_nrm_exact();
    test_softmax();
    test_softmax_exp16_finish();
    test_gelu(IGELU_ERF2);
    test_gelu(IGELU_ERF3);
    test_gelu_every_input();
    test_gelu_int32_end();
    test_tanh();
    printf("%ld passed, %ld failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
