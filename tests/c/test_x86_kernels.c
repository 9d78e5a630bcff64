/* test_x86_kernels.c: every kernel of the x86 kernel tables ("avx512vnni", "avx2")
 * that this CPU runs, against its __ref twin, integer for integer, and the choice
 * kernels_select makes among the tables. Built for x86-64 targets only (x86/).
 *
 * Each table is fetched the way the runtime fetches it (IBERT_KERNELS and
 * kernels_select) and each of its kernels runs on the same inputs as the reference
 * table's: awkward sizes (1, 2, 3, 15, 16, 17, 31, 33, 63, 65 and the model's 32,
 * 128, 384, 1536), row strides wider than the rows (padding must come back
 * untouched), full-range random data over many seeds, and the extremes each
 * kernel's contract allows.
 *
 * Prints "N passed, N failed"; exits non-zero on any failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kernels/kernels.h"

static const size_t SIZES[] = {1, 2, 3, 15, 16, 17, 31, 33, 63, 65};
#define N_SIZES (sizeof SIZES / sizeof SIZES[0])
#define PAD 5 /* extra elements at the end of every matrix row (odd: misaligns rows) */
#define SENTINEL32 0x5a5a5a5a
#define SENTINEL8 0x5a

/* The x86 tables, best first, and whether this CPU runs each. */
typedef struct x86_table {
    const char *name;
    int (*supported)(void);
} x86_table;

static int has_avx2(void) { return __builtin_cpu_supports("avx2"); }
static int has_avx512vnni(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512vnni");
}

static const x86_table TABLES[] = {{"avx512vnni", has_avx512vnni}, {"avx2", has_avx2}};
#define N_TABLES (sizeof TABLES / sizeof TABLES[0])

#define TEST_RNG_SEED 0x27d4eb2fu
#include "test_check.h"
#include "softmax_rounding_cases.h"

/* How int8 operands are filled: random over [lo, hi], all lo, or only lo, hi, -hi. */
enum fill { FILL_RANDOM, FILL_LOW, FILL_EXTREMES, N_FILLS };
static const char *const FILL_NAMES[] = {"random", "all lowest", "extremes"};

static void fill8(int8_t *p, size_t count, enum fill how, int lo, int hi) {
    const int extremes[] = {lo, hi, -hi};
    for (size_t i = 0; i < count; i++) {
        switch (how) {
        case FILL_RANDOM: p[i] = (int8_t)rand_in(lo, hi); break;
        case FILL_LOW: p[i] = (int8_t)lo; break;
        default: p[i] = (int8_t)extremes[rand_u64() % 3]; break;
        }
    }
}

static void fill_u8(uint8_t *p, size_t count, enum fill how) {
    for (size_t i = 0; i < count; i++)
        p[i] = how == FILL_RANDOM ? (uint8_t)rand_u64() : how == FILL_LOW ? 255 : (rand_u64() & 1 ? 255 : 0);
}

static size_t first_diff32(const int32_t *want, const int32_t *got, size_t count) {
    for (size_t i = 0; i < count; i++)
        if (want[i] != got[i]) return i;
    return count;
}

/* ---- gemm_s8s8s32: q.k^T (both operands may be -128) and the unpacked linear ---- */

static void test_gemm_s8s8s32(const kernel_table *kt) {
    static const size_t KS[] = {1, 2, 3, 15, 16, 17, 31, 32, 33, 63, 65, 128, 384};
    const size_t max_mn = 65, max_k = 384, ld_max = max_k + PAD;
    int8_t *a = test_alloc(max_mn * ld_max), *b = test_alloc(max_mn * ld_max);
    int32_t *bias = test_alloc(max_mn * sizeof *bias), *want = test_alloc(max_mn * (max_mn + PAD) * sizeof *want),
            *got = test_alloc(max_mn * (max_mn + PAD) * sizeof *got);
    long cases = 0, bad = 0;
    for (size_t im = 0; im < N_SIZES; im++)
        for (size_t in = 0; in < N_SIZES; in++)
            for (size_t ik = 0; ik < sizeof KS / sizeof KS[0]; ik++) {
                const size_t m = SIZES[im], n = SIZES[in], k = KS[ik];
                const enum fill fa = (enum fill)(cases % N_FILLS), fb = (enum fill)((cases / N_FILLS) % N_FILLS);
                const int with_bias = cases % 2 == 0;
                const size_t lda = k + (cases % 4 ? PAD : 0), ldb = k + (cases % 5 ? PAD : 0),
                             ldc = n + (cases % 6 ? PAD : 0);
                cases++;
                fill8(a, m * lda, fa, -128, 127);
                fill8(b, n * ldb, fb, -128, 127);
                for (size_t j = 0; j < n; j++) bias[j] = (int32_t)rand_in(-(INT64_C(1) << 29), INT64_C(1) << 29);
                for (size_t i = 0; i < m * ldc; i++) want[i] = got[i] = SENTINEL32;
                gemm_s8s8s32_1x1__ref(m, n, k, a, lda, b, ldb, with_bias ? bias : NULL, want, ldc);
                kt->gemm_s8s8s32(m, n, k, a, lda, b, ldb, with_bias ? bias : NULL, got, ldc);
                const size_t d = first_diff32(want, got, m * ldc);
                if (d < m * ldc) {
                    bad++;
                    check(0, kt->name, "gemm_s8s8s32 m=%zu n=%zu k=%zu a %s b %s: c[%zu, %zu] is %d, ref %d", m, n,
                          k, FILL_NAMES[fa], FILL_NAMES[fb], d / ldc, d % ldc, got[d], want[d]);
                }
            }
    check(bad == 0, kt->name, "gemm_s8s8s32: %ld of %ld cases differ from the reference", bad, cases);
    free(a), free(b), free(bias), free(want), free(got);

    /* Past the kernels' internal chunks of rows and k (256 each in the VNNI one). */
    {
        const size_t m = 300, n = 130, k = 300, ld = k + PAD;
        a = test_alloc(m * ld), b = test_alloc(n * ld), bias = test_alloc(n * sizeof *bias);
        want = test_alloc(m * n * sizeof *want), got = test_alloc(m * n * sizeof *got);
        fill8(a, m * ld, FILL_RANDOM, -128, 127);
        fill8(b, n * ld, FILL_EXTREMES, -128, 127);
        for (size_t j = 0; j < n; j++) bias[j] = (int32_t)rand_in(-(INT64_C(1) << 29), INT64_C(1) << 29);
        gemm_s8s8s32_1x1__ref(m, n, k, a, ld, b, ld, bias, want, n);
        kt->gemm_s8s8s32(m, n, k, a, ld, b, ld, bias, got, n);
        check(first_diff32(want, got, m * n) == m * n, kt->name, "gemm_s8s8s32 m=300 n=130 k=300 differs");
        free(a), free(b), free(bias), free(want), free(got);
    }

    /* The longest k (65536) with every product 128 * 128: the sum is 2^30. */
    const size_t m = 5, n = 6, k = 65536;
    a = test_alloc(m * k), b = test_alloc(n * k);
    int32_t w[5 * 6], g[5 * 6];
    memset(a, 0x80, m * k);
    memset(b, 0x80, n * k);
    gemm_s8s8s32_1x1__ref(m, n, k, a, k, b, k, NULL, w, n);
    kt->gemm_s8s8s32(m, n, k, a, k, b, k, NULL, g, n);
    check(memcmp(w, g, sizeof w) == 0 && g[0] == (INT32_C(1) << 30), kt->name,
          "gemm_s8s8s32 k=65536 all -128: %d, want 2^30", g[0]);
    free(a), free(b);
}

/* ---- the packed linear layers ---- */

/* Packs an [n, k] weight (-127..127) and bias, checking the packer writes exactly
 * packed_size bytes, then runs gemm over columns [j0, j1) and compares with the
 * reference GEMM; every element of c outside the range must stay untouched. */
static int linear_case(const kernel_table *kt, size_t m, size_t n, size_t k, size_t j0, size_t j1, enum fill fx,
                       enum fill fw, int with_bias, const char **why) {
    const linear_packing *lp = kt->linear;
    const size_t lda = k + PAD, ldc = n + PAD, size = lp->packed_size(n, k);
    int8_t *x = test_alloc(m * lda), *w = test_alloc(n * k);
    int32_t *bias = test_alloc(n * sizeof *bias), *want = test_alloc(m * ldc * sizeof *want),
            *got = test_alloc(m * ldc * sizeof *got);
    uint8_t *packed = aligned_alloc(64, size + 64);
    fill8(x, m * lda, fx, -128, 127);
    fill8(w, n * k, fw, -127, 127);
    for (size_t j = 0; j < n; j++) bias[j] = (int32_t)rand_in(-(INT64_C(1) << 30), INT64_C(1) << 30);
    memset(packed, SENTINEL8, size + 64);
    lp->pack(n, k, w, with_bias ? bias : NULL, packed);
    int ok = 1;
    *why = "";
    if (size % 64 != 0) ok = 0, *why = "packed_size is not a multiple of 64";
    for (size_t i = size; i < size + 64; i++)
        if (packed[i] != SENTINEL8) ok = 0, *why = "pack wrote past packed_size";
    for (size_t i = 0; i < m * ldc; i++) want[i] = got[i] = SENTINEL32;
    int32_t *full = test_alloc(m * ldc * sizeof *full);
    gemm_s8s8s32_1x1__ref(m, n, k, x, lda, w, k, with_bias ? bias : NULL, full, ldc);
    for (size_t i = 0; i < m; i++)
        for (size_t j = j0; j < j1; j++) want[i * ldc + j] = full[i * ldc + j];
    lp->gemm(m, j0, j1, k, x, lda, packed, got, ldc);
    if (ok && first_diff32(want, got, m * ldc) < m * ldc) ok = 0, *why = "c differs from the reference";
    free(x), free(w), free(bias), free(want), free(got), free(packed), free(full);
    return ok;
}

static void test_linear(const kernel_table *kt) {
    if (!check(kt->linear != NULL, kt->name, "the table has no linear packing")) return;
    const size_t cb = kt->linear->column_block;
    static const size_t NS[] = {1, 2, 3, 15, 16, 17, 31, 33, 63, 65, 384};
    static const size_t KS[] = {1, 2, 3, 4, 5, 15, 16, 17, 31, 33, 63, 65, 384};
    long cases = 0, bad = 0;
    for (size_t im = 0; im < N_SIZES; im++)
        for (size_t in = 0; in < sizeof NS / sizeof NS[0]; in++)
            for (size_t ik = 0; ik < sizeof KS / sizeof KS[0]; ik++) {
                const size_t m = SIZES[im], n = NS[in], k = KS[ik];
                /* the whole range, then a random block-aligned one */
                for (int range = 0; range < 2; range++) {
                    size_t j0 = 0, j1 = n;
                    if (range == 1) {
                        j0 = (size_t)rand_in(0, (int64_t)((n - 1) / cb)) * cb;
                        j1 = (size_t)rand_in((int64_t)j0 + 1, (int64_t)n);
                    }
                    const enum fill fx = (enum fill)(cases % N_FILLS), fw = (enum fill)((cases / 2) % N_FILLS);
                    const char *why;
                    cases++;
                    if (!linear_case(kt, m, n, k, j0, j1, fx, fw, cases % 3 != 0, &why)) {
                        bad++;
                        check(0, kt->name, "linear m=%zu n=%zu k=%zu columns %zu..%zu x %s w %s: %s", m, n, k, j0,
                              j1, FILL_NAMES[fx], FILL_NAMES[fw], why);
                    }
                }
            }
    /* The model's shapes: 128 tokens through 384 -> 1536 and 1536 -> 384. */
    const char *why;
    check(linear_case(kt, 128, 1536, 384, 0, 1536, FILL_RANDOM, FILL_RANDOM, 1, &why), kt->name,
          "linear 128x384 -> 1536: %s", why);
    check(linear_case(kt, 128, 384, 1536, 0, 384, FILL_EXTREMES, FILL_EXTREMES, 1, &why), kt->name,
          "linear 128x1536 -> 384, extremes: %s", why);
    check(linear_case(kt, 7, 48, 65536, 0, 48, FILL_LOW, FILL_EXTREMES, 0, &why), kt->name,
          "linear k=65536, x all -128: %s", why);
    check(bad == 0, kt->name, "linear: %ld of %ld cases differ from the reference", bad, cases);
}

/* ---- gemm_u8s8s32: probabilities times values ---- */

static void test_gemm_u8s8s32(const kernel_table *kt) {
    /* k past one interleaved chunk of each kernel (512, 1024 keys) too */
    static const size_t KS[] = {1, 2, 3, 4, 5, 15, 16, 17, 31, 33, 63, 65, 128, 513, 1030};
    static const size_t NS[] = {1, 2, 3, 15, 16, 17, 31, 32, 33, 65};
    const size_t max_m = 65, max_n = 65, max_k = 1030;
    uint8_t *p = test_alloc(max_m * (max_k + PAD));
    int8_t *v = test_alloc(max_k * (max_n + PAD));
    int32_t *want = test_alloc(max_m * (max_n + PAD) * sizeof *want), *got = test_alloc(max_m * (max_n + PAD) * sizeof *got);
    long cases = 0, bad = 0;
    for (size_t im = 0; im < N_SIZES; im++)
        for (size_t in = 0; in < sizeof NS / sizeof NS[0]; in++)
            for (size_t ik = 0; ik < sizeof KS / sizeof KS[0]; ik++) {
                const size_t m = SIZES[im], n = NS[in], k = KS[ik];
                const enum fill fp = (enum fill)(cases % N_FILLS), fv = (enum fill)((cases / N_FILLS) % N_FILLS);
                const size_t ldp = k + (cases % 4 ? PAD : 0), ldv = n + (cases % 5 ? PAD : 0),
                             ldc = n + (cases % 6 ? PAD : 0);
                cases++;
                fill_u8(p, m * ldp, fp);
                fill8(v, k * ldv, fv, -128, 127);
                for (size_t i = 0; i < m * ldc; i++) want[i] = got[i] = SENTINEL32;
                gemm_u8s8s32_1x1__ref(m, n, k, p, ldp, v, ldv, want, ldc);
                kt->gemm_u8s8s32(m, n, k, p, ldp, v, ldv, got, ldc);
                const size_t d = first_diff32(want, got, m * ldc);
                if (d < m * ldc) {
                    bad++;
                    check(0, kt->name, "gemm_u8s8s32 m=%zu n=%zu k=%zu p %s v %s: c[%zu, %zu] is %d, ref %d", m, n,
                          k, FILL_NAMES[fp], FILL_NAMES[fv], d / ldc, d % ldc, got[d], want[d]);
                }
            }
    check(bad == 0, kt->name, "gemm_u8s8s32: %ld of %ld cases differ from the reference", bad, cases);
    free(p), free(v), free(want), free(got);

    /* The longest k (65536), every product 255 * -128. */
    const size_t m = 9, n = 17, k = 65536;
    p = test_alloc(m * k), v = test_alloc(k * n);
    memset(p, 0xff, m * k);
    memset(v, 0x80, k * n);
    int32_t w[9 * 17], g[9 * 17];
    gemm_u8s8s32_1x1__ref(m, n, k, p, k, v, n, w, n);
    kt->gemm_u8s8s32(m, n, k, p, k, v, n, g, n);
    check(memcmp(w, g, sizeof w) == 0, kt->name, "gemm_u8s8s32 k=65536, 255 x -128: %d, ref %d", g[0], w[0]);
    free(p), free(v);
}

/* ---- the elementwise kernels ---- */

/* Columns the elementwise tests use: the odd sizes, vector remainders and the
 * model's widths. */
static const size_t COLS[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 65, 128, 384, 1536};
#define N_COLS (sizeof COLS / sizeof COLS[0])
#define ROWS 3
#define MAX_COLS 1536
#define LD (MAX_COLS + PAD)

static int32_t *src32, *want32, *got32;
static int8_t *x8, *want8, *got8;

/* Extreme and ordinary rescales: multipliers at and near +-(2^31 - 1), shifts 1 and 62. */
static const int32_t MULTS[] = {INT32_MAX, -INT32_MAX, INT32_MAX - 1, -INT32_MAX + 1, 1, -1, 0, 1 << 30, 12345};
static const int32_t SHIFTS[] = {1, 2, 31, 32, 61, 62};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int32_t mult_buf[2][MAX_COLS], shift_buf[2][MAX_COLS];
static int32_t zero_buf[MAX_COLS]; /* GELU output zero points (format version 6) */

/* A random rescale (per channel or not) in slot `which`. */
static rq_params random_rq(int which, int per_channel) {
    for (size_t j = 0; j < MAX_COLS; j++) {
        mult_buf[which][j] = rand_u64() % 2 ? MULTS[rand_u64() % COUNT(MULTS)] : (int32_t)rand_in(-INT32_MAX, INT32_MAX);
        shift_buf[which][j] = rand_u64() % 2 ? SHIFTS[rand_u64() % COUNT(SHIFTS)] : (int32_t)rand_in(1, 62);
    }
    rq_params rq = {mult_buf[which], shift_buf[which], per_channel};
    return rq;
}

/* int32 values: random over [lo, hi] or only lo, hi, 0, +-1 (case % 3 picks). */
static void fill32(int32_t *p, size_t count, int64_t lo, int64_t hi, long which) {
    const int64_t special[] = {lo, hi, 0, 1, -1};
    for (size_t i = 0; i < count; i++)
        p[i] = (int32_t)(which % 3 == 0 ? special[rand_u64() % 5] : rand_in(lo, hi));
}

static void reset_outputs(void) {
    for (size_t i = 0; i < ROWS * LD; i++) want32[i] = got32[i] = SENTINEL32, want8[i] = got8[i] = SENTINEL8;
}

static int report(const kernel_table *kt, const char *op, long bad, long cases) {
    return check(bad == 0, kt->name, "%s: %ld of %ld cases differ from the reference", op, bad, cases);
}

static void test_requant(const kernel_table *kt) {
    static const unsigned BITS[] = {2, 8, 20, 22, 31, 32};
    long cases = 0, bad8 = 0, bad32 = 0, bad_inplace = 0;
    for (int seed = 0; seed < 8; seed++)
        for (size_t c = 0; c < N_COLS; c++, cases++) {
            const size_t n = COLS[c];
            const rq_params rq = random_rq(0, cases % 2);
            fill32(src32, ROWS * LD, INT32_MIN, INT32_MAX, cases);
            reset_outputs();
            requant_s32s8_1x1__ref(ROWS, n, src32, LD, &rq, want8, LD);
            kt->requant_s32s8(ROWS, n, src32, LD, &rq, got8, LD);
            if (memcmp(want8, got8, ROWS * LD) != 0 &&
                !check(0, kt->name, "requant_s32s8 n=%zu per_channel=%d differs", n, rq.per_channel))
                bad8++;
            const unsigned bits = BITS[cases % COUNT(BITS)];
            requant_s32s32_1x1__ref(ROWS, n, src32, LD, &rq, bits, want32, LD);
            kt->requant_s32s32(ROWS, n, src32, LD, &rq, bits, got32, LD);
            if (memcmp(want32, got32, ROWS * LD * sizeof *got32) != 0 &&
                !check(0, kt->name, "requant_s32s32 n=%zu bits=%u differs", n, bits))
                bad32++;
            /* in place, as forward runs it */
            kt->requant_s32s32(ROWS, n, src32, LD, &rq, bits, src32, LD);
            for (size_t i = 0; i < ROWS; i++)
                if (memcmp(want32 + i * LD, src32 + i * LD, n * sizeof *src32) != 0) {
                    bad_inplace++;
                    break;
                }
        }
    report(kt, "requant_s32s8", bad8, cases);
    report(kt, "requant_s32s32", bad32, cases);
    report(kt, "requant_s32s32 in place", bad_inplace, cases);
}

static void test_residual(const kernel_table *kt) {
    long cases = 0, bad = 0;
    for (int seed = 0; seed < 8; seed++)
        for (size_t c = 0; c < N_COLS; c++, cases++) {
            const size_t n = COLS[c];
            const rq_params acc_rq = random_rq(0, cases % 2), x_rq = random_rq(1, (cases / 2) % 2);
            fill32(src32, ROWS * LD, INT32_MIN, INT32_MAX, cases);
            fill8(x8, ROWS * LD, (enum fill)(cases % N_FILLS), -128, 127);
            reset_outputs();
            residual_s32s8s32_1x1__ref(ROWS, n, src32, LD, &acc_rq, x8, LD, &x_rq, want32, LD);
            kt->residual_s32s8s32(ROWS, n, src32, LD, &acc_rq, x8, LD, &x_rq, got32, LD);
            const size_t d = first_diff32(want32, got32, ROWS * LD);
            if (d < ROWS * LD && !check(0, kt->name, "residual n=%zu: [%zu] is %d, ref %d", n, d, got32[d], want32[d]))
                bad++;
        }
    report(kt, "residual_s32s8s32", bad, cases);
}

static void test_layernorm(const kernel_table *kt) {
    static int64_t beta[MAX_COLS];
    const int64_t x_max = (INT64_C(1) << 21) - 1;
    long cases = 0, bad = 0;
    for (int seed = 0; seed < 8; seed++)
        for (size_t c = 0; c < N_COLS; c++, cases++) {
            const size_t h = COLS[c];
            random_rq(0, 1);
            for (size_t j = 0; j < MAX_COLS; j++)
                beta[j] = rand_u64() % 4 == 0 ? (rand_u64() % 2 ? INT64_C(1) << 61 : -(INT64_C(1) << 61))
                                               : rand_in(-(INT64_C(1) << 61), INT64_C(1) << 61);
            switch (cases % 5) {
            case 0: fill32(src32, ROWS * LD, -x_max - 1, x_max, 0); break; /* extremes */
            case 1: fill32(src32, ROWS * LD, -x_max - 1, x_max, 1); break;
            case 2: fill32(src32, ROWS * LD, -300, 300, 1); break;
            case 3: /* a constant row (var = 0) and rows of std 1 (f = 2^31) */
                fill32(src32, ROWS * LD, 5, 5, 1);
                src32[LD + 0] = 6;
                src32[2 * LD + h - 1] = 4;
                break;
            default: fill32(src32, ROWS * LD, x_max, x_max, 1); break;
            }
            reset_outputs();
            layernorm_s32s8_1x1__ref(ROWS, h, src32, LD, mult_buf[0], shift_buf[0], beta, want8, LD);
            kt->layernorm_s32s8(ROWS, h, src32, LD, mult_buf[0], shift_buf[0], beta, got8, LD);
            if (memcmp(want8, got8, ROWS * LD) != 0 && !check(0, kt->name, "layernorm h=%zu case %ld differs", h, cases))
                bad++;
        }
    report(kt, "layernorm_s32s8", bad, cases);
}

/* The version-5 finish against the reference (softmax_rounding_cases.h). */
static void test_softmax_exp16_finish(const kernel_table *kt) { exp16_finish_check(kt->softmax_exp16_finish, kt->name); }

static void test_softmax(const kernel_table *kt) {
    /* i-exp constants: the converter's (K = 10) and the extremes FORMAT.md allows */
    static const iexp_params EXP_SETS[] = {
        {10, 3999, 6093716},       {1, 4, 2 * (4 - 2) + 1},        {10, 1 << 20, 1 << 30},
        {14, 1 << 15, (1 << 28) + 1}, {14, 1 << 15, 1 << 30}, {1, 1 << 20, 2 * ((1 << 20) - 2) + 1},
    };
    static uint8_t mask[MAX_COLS], want_p[ROWS * LD], got_p[ROWS * LD];
    long cases = 0, bad = 0, bad_exps = 0;
    for (int seed = 0; seed < 6; seed++)
        for (size_t c = 0; c < N_COLS; c++, cases++) {
            const size_t n = COLS[c];
            const iexp_params *e = &EXP_SETS[cases % COUNT(EXP_SETS)];
            /* |scores| <= 2^20 and |mult| < 2^31 >> (shift - 21) keep |t| <= 2^30 */
            const int32_t shift = (int32_t)rand_in(21, 40);
            const int32_t mult = cases % 4 == 0 ? (cases % 8 ? INT32_MAX : -INT32_MAX)
                                                : (int32_t)rand_in(-INT32_MAX, INT32_MAX);
            fill32(src32, ROWS * LD, -(1 << 20), 1 << 20, cases);
            switch (cases % 4) {
            case 0: memset(mask, 1, sizeof mask); break;
            case 1: for (size_t j = 0; j < MAX_COLS; j++) mask[j] = rand_u64() % 3 != 0; break;
            case 2: memset(mask, 0, sizeof mask); break; /* every key masked: all-zero rows */
            default: memset(mask, 0, sizeof mask), mask[n - 1] = 1; break;
            }
            memcpy(got32, src32, ROWS * LD * sizeof *src32);
            memcpy(want32, src32, ROWS * LD * sizeof *src32);
            memset(want_p, SENTINEL8, sizeof want_p);
            memset(got_p, SENTINEL8, sizeof got_p);
            softmax_s32u8_1x1__ref(ROWS, n, want32, LD, mult, shift, mask, e, want_p, LD);
            kt->softmax_s32u8(ROWS, n, got32, LD, mult, shift, mask, e, got_p, LD);
            if (memcmp(want_p, got_p, sizeof want_p) != 0 &&
                !check(0, kt->name, "softmax n=%zu mask case %ld K=%u differs", n, cases % 4, e->frac_bits))
                bad++;
            bad_exps += softmax_exps_differ(ROWS, n, want32, got32, LD, mask);
        }
    report(kt, "softmax_s32u8", bad, cases);
    check(bad_exps == 0, kt->name, "softmax leaves the attended keys' exps in the scores: %ld cases differ", bad_exps);
    const long wrong = softmax_cases_wrong(kt->softmax_s32u8, kt->name);
    check(wrong == 0, kt->name, "softmax rounding (ties up, cap 255): %ld rows wrong", wrong);
}

/* GELU inputs (20 bits): random, or (which % 3 == 0) only the ends -2^19 and 2^19 - 1
 * and their neighbours, 0, +-1, and +-b and their neighbours, where the clip starts. */
static void fill_gelu(int32_t *p, size_t count, int32_t b, long which) {
    const int32_t lo = -(1 << 19), hi = (1 << 19) - 1;
    const int32_t special[] = {lo, lo + 1, hi, hi - 1, 0, 1, -1, b - 1, b, b + 1, -b - 1, -b, -b + 1};
    for (size_t i = 0; i < count; i++)
        p[i] = which % 3 == 0 ? special[rand_u64() % COUNT(special)] : (int32_t)rand_in(lo, hi);
}

static void test_gelu(const kernel_table *kt) {
    /* per form, the converter's constants, then extremes the reader accepts (erf2: some
     * with |t * (y + one)| beyond 2^31; erf3: d * d_mult = -2^31 at d = b = -2^15 with
     * |y + one| = 2^12 + 1 inside the clip, and d_mult and c1 ... c3 at their ends;
     * test_kernels.c's test_gelu has the same sets) */
    static const igelu_params SETS[] = {
        {.b = -2562, .c = -7261568, .one = -1773, .shift = 12, .form = IGELU_ERF2},
        {.b = -32767, .c = -(1 << 30), .one = -2048, .shift = 19, .form = IGELU_ERF2},
        {.b = -23170, .c = -(1 << 29) - 1, .one = -2048, .shift = 18, .form = IGELU_ERF2},
        {.b = -1, .c = -2, .one = -1, .shift = 0, .form = IGELU_ERF2},
        {.b = -3288, .one = -1773, .form = IGELU_ERF3, .d_mult = 46341, .c1 = 541, .c2 = 1310, .c3 = 1971},
        {.b = -32768, .one = -2048, .form = IGELU_ERF3, .d_mult = 65536, .c1 = 63, .c2 = 16, .c3 = 1},
        {.b = -32768, .one = -2048, .form = IGELU_ERF3, .d_mult = 65536, .c1 = -2, .c2 = 0, .c3 = 1},
        {.b = -4, .one = -2048, .form = IGELU_ERF3, .d_mult = 131071, .c1 = 32767, .c2 = -32767, .c3 = 32767},
    };
    long cases = 0, bad = 0;
    for (size_t s = 0; s < COUNT(SETS); s++)
        for (int seed = 0; seed < 4; seed++)
            for (size_t c = 0; c < N_COLS; c++, cases++) {
                const size_t n = COLS[c];
                const igelu_params *g = &SETS[s];
                /* the rescale per tensor or, since format version 2, per column */
                const rq_params rq = random_rq(0, (cases / 4) % 2);
                if (cases % 3 == 2) /* |g| up to 2^31 lands on 0 ... 2^12 rather than saturating */
                    for (size_t j = 0; j < MAX_COLS; j++) shift_buf[0][j] = (int32_t)rand_in(50, 62);
                /* half the cases with zero points, one in 4 of them at -128 or 127 */
                const int32_t *zero = NULL;
                if ((cases / 8) % 2) {
                    for (size_t j = 0; j < MAX_COLS; j++)
                        zero_buf[j] = rand_u64() % 4 ? (int32_t)rand_in(-128, 127) : rand_u64() % 2 ? -128 : 127;
                    zero = zero_buf;
                }
                fill_gelu(src32, ROWS * LD, g->b, cases);
                reset_outputs();
                gelu_s32s8_1x1__ref(ROWS, n, src32, LD, g, &rq, zero, want8, LD);
                kt->gelu_s32s8(ROWS, n, src32, LD, g, &rq, zero, got8, LD);
                if (memcmp(want8, got8, ROWS * LD) != 0 &&
                    !check(0, kt->name, "gelu n=%zu set %zu per_channel %d zero points %d differs", n, s,
                           rq.per_channel, zero != NULL))
                    bad++;
            }
    report(kt, "gelu_s32s8", bad, cases);
}

static void test_elementwise(const kernel_table *kt) {
    src32 = test_alloc(ROWS * LD * sizeof *src32), want32 = test_alloc(ROWS * LD * sizeof *want32),
    got32 = test_alloc(ROWS * LD * sizeof *got32);
    x8 = test_alloc(ROWS * LD), want8 = test_alloc(ROWS * LD), got8 = test_alloc(ROWS * LD);
    test_requant(kt);
    test_residual(kt);
    test_layernorm(kt);
    test_softmax(kt);
    test_softmax_exp16_finish(kt);
    test_gelu(kt);
    free(src32), free(want32), free(got32), free(x8), free(want8), free(got8);
}

/* ---- kernels_select ---- */

static void test_select(void) {
    const kernel_table *kt = NULL;
    unsetenv("IBERT_KERNELS");
    const char *best = "ref";
    for (size_t i = 0; i < N_TABLES; i++)
        if (TABLES[i].supported()) {
            best = TABLES[i].name;
            break;
        }
    check(kernels_select(&kt) == IBERT_OK && kt && strcmp(kt->name, best) == 0, "kernels_select default",
          "got %s, want %s", kt ? kt->name : "NULL", best);
    for (size_t i = 0; i < N_TABLES; i++) {
        setenv("IBERT_KERNELS", TABLES[i].name, 1);
        kt = NULL;
        ibert_status st = kernels_select(&kt);
        if (TABLES[i].supported()) {
            check(st == IBERT_OK && kt && strcmp(kt->name, TABLES[i].name) == 0, "kernels_select forced",
                  "IBERT_KERNELS=%s gave status %d, table %s", TABLES[i].name, st, kt ? kt->name : "NULL");
        } else {
            const char *msg = ibert_last_error();
            check(st == IBERT_ERR_INVALID_ARGUMENT && strstr(msg, TABLES[i].name) && strstr(msg, "valid: ref"),
                  "kernels_select unsupported", "IBERT_KERNELS=%s gave status %d, message '%s'", TABLES[i].name, st,
                  msg);
        }
    }
    setenv("IBERT_KERNELS", "sse9", 1);
    ibert_status st = kernels_select(&kt);
    check(st == IBERT_ERR_INVALID_ARGUMENT && strstr(ibert_last_error(), "valid: ref"), "kernels_select unknown",
          "IBERT_KERNELS=sse9 gave status %d, message '%s'", st, ibert_last_error());
    unsetenv("IBERT_KERNELS");
}

int main(void) {
    test_select();
    for (size_t t = 0; t < N_TABLES; t++) {
        if (!TABLES[t].supported()) {
            printf("%s: this CPU lacks its features, skipped\n", TABLES[t].name);
            continue;
        }
        setenv("IBERT_KERNELS", TABLES[t].name, 1);
        const kernel_table *kt = NULL;
        if (!check(kernels_select(&kt) == IBERT_OK, TABLES[t].name, "kernels_select failed: %s", ibert_last_error()))
            continue;
        const long before = failed;
        test_gemm_s8s8s32(kt);
        test_linear(kt);
        test_gemm_u8s8s32(kt);
        test_elementwise(kt);
        printf("%s: %s\n", kt->name, failed == before ? "all kernels match the reference" : "FAILED");
    }
    unsetenv("IBERT_KERNELS");
    printf("%ld passed, %ld failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
