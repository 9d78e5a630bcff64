/* test_gemm_kernels.c: every GEMM kernel of this build that the CPU can run, against
 * gemm_s8s8s32_1x1__ref and gemm_u8s8s32_1x1__ref, integer for integer, and the
 * choice kernels_select makes among them. Built for ARM targets (the neon/
 * kernels); under qemu run it with QEMU_CPU=cortex-a72 (AdvSIMD, no dotprod),
 * cortex-a76 and max (dotprod) for AArch64 and cortex-a15 for 32-bit ARM.
 *
 * Sizes are awkward in m, n and k (tile and 16-wide k-block remainders), operands
 * use the whole int8 range (also -128 in b: the same kernel computes q.k^T, whose
 * operands are both activations) and their extremes, probabilities the whole
 * uint8 range, matrices have row strides wider than their rows, and the padding of
 * c must come back untouched.
 *
 * Prints "N passed, N failed"; exits non-zero on any failure. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "error.h"
#include "kernels/kernels.h"

#if defined(__aarch64__)
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#else
#ifndef HWCAP_NEON
#define HWCAP_NEON (1 << 12)
#endif
#endif

static const size_t SIZES[] = {1, 2, 3, 15, 16, 17, 31, 33, 63, 65};
#define N_SIZES (sizeof SIZES / sizeof SIZES[0])
#define PAD 5 /* extra elements at the end of every matrix row (odd: misaligns rows) */
#define SENTINEL32 0x5a5a5a5a

/* The kernels under test, best first, with the AT_HWCAP bits they need. */
typedef struct gemm_kernel {
    const char *name; /* its kernel table's IBERT_KERNELS name */
    gemm_s8s8s32_fn fn;
    unsigned long hwcap;
} gemm_kernel;

static const gemm_kernel KERNELS[] = {
#if defined(__aarch64__)
    {"dotprod", gemm_s8s8s32_4x4c16__neondot, HWCAP_ASIMD | HWCAP_ASIMDDP},
    {"neon", gemm_s8s8s32_4x4c16__neon, HWCAP_ASIMD},
#else
    {"neon", gemm_s8s8s32_4x2c16__neonv7, HWCAP_NEON},
#endif
};
#define N_KERNELS (sizeof KERNELS / sizeof KERNELS[0])

static long passed, failed;

static int check(int ok, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int check(int ok, const char *name, const char *fmt, ...) {
    if (ok) {
        passed++;
        return 1;
    }
    failed++;
    if (failed <= 40) {
        va_list args;
        va_start(args, fmt);
        fprintf(stderr, "FAIL %s: ", name);
        vfprintf(stderr, fmt, args);
        fputc('\n', stderr);
        va_end(args);
    }
    return 0;
}

/* splitmix64: a small deterministic generator, so failures reproduce. */
static uint64_t rng_state = 0x85ebca6bu;
static uint64_t rand_u64(void) {
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}
static int64_t rand_in(int64_t lo, int64_t hi) { return lo + (int64_t)(rand_u64() % (uint64_t)(hi - lo + 1)); }

/* How the operands are filled. */
enum fill { FILL_RANDOM, FILL_MIN, FILL_EXTREMES, FILL_WEIGHTS, FILL_WEIGHT_ENDS };
static const char *const FILL_NAMES[] = {"random", "all -128", "random -128/127/-127", "random -127 ... 127",
                                         "random -127/127"};

static void fill8(int8_t *p, size_t count, enum fill how) {
    static const int8_t extremes[] = {-128, 127, -127};
    for (size_t i = 0; i < count; i++) {
        switch (how) {
        case FILL_RANDOM: p[i] = (int8_t)rand_in(-128, 127); break;
        case FILL_MIN: p[i] = -128; break;
        case FILL_EXTREMES: p[i] = extremes[rand_u64() % 3]; break;
        case FILL_WEIGHTS: p[i] = (int8_t)rand_in(-127, 127); break;
        case FILL_WEIGHT_ENDS: p[i] = rand_u64() % 2 ? -127 : 127; break;
        }
    }
}

/* c = a b^T (+ bias) by `fn` and by the reference on the same strided operands;
 * returns 1 when every output and every padding element agree. */
static int same_as_ref(gemm_s8s8s32_fn fn, size_t m, size_t n, size_t k, const int8_t *a, size_t lda,
                       const int8_t *b, size_t ldb, const int32_t *bias, int32_t *want, int32_t *got, size_t ldc,
                       size_t *first_bad) {
    for (size_t i = 0; i < m * ldc; i++) want[i] = got[i] = SENTINEL32;
    gemm_s8s8s32_1x1__ref(m, n, k, a, lda, b, ldb, bias, want, ldc);
    fn(m, n, k, a, lda, b, ldb, bias, got, ldc);
    for (size_t i = 0; i < m * ldc; i++) {
        if (want[i] != got[i]) {
            *first_bad = i;
            return 0;
        }
    }
    return 1;
}

static void test_against_ref(const gemm_kernel *kern) {
    const size_t max = SIZES[N_SIZES - 1], ld_max = max + PAD;
    int8_t *a = malloc(max * ld_max), *b = malloc(max * ld_max);
    int32_t *bias = malloc(max * sizeof *bias), *want = malloc(max * ld_max * sizeof *want),
            *got = malloc(max * ld_max * sizeof *got);
    if (!a || !b || !bias || !want || !got) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    long cases = 0, bad = 0;
    for (size_t im = 0; im < N_SIZES; im++) {
        for (size_t in = 0; in < N_SIZES; in++) {
            for (size_t ik = 0; ik < N_SIZES; ik++) {
                const size_t m = SIZES[im], n = SIZES[in], k = SIZES[ik];
                /* Rotate the fills, the bias and the strides over the cases. */
                /* b also as weights (no -128, FORMAT.md §3), which some kernels exploit */
                const enum fill fill_a = (enum fill)(cases % 3), fill_b = (enum fill)((cases / 3) % 5);
                const int with_bias = cases % 2 == 0;
                const size_t lda = k + (cases % 4 ? PAD : 0), ldb = k + (cases % 5 ? PAD : 0),
                             ldc = n + (cases % 6 ? PAD : 0);
                cases++;
                fill8(a, m * lda, fill_a);
                fill8(b, n * ldb, fill_b);
                for (size_t j = 0; j < n; j++) bias[j] = (int32_t)rand_in(-(INT64_C(1) << 30), INT64_C(1) << 30);
                size_t where = 0;
                if (!same_as_ref(kern->fn, m, n, k, a, lda, b, ldb, with_bias ? bias : NULL, want, got, ldc,
                                 &where)) {
                    bad++;
                    check(0, kern->name,
                          "m=%zu n=%zu k=%zu lda=%zu ldb=%zu ldc=%zu a %s, b %s, %s: c[%zu, %zu] is %d, ref %d", m,
                          n, k, lda, ldb, ldc, FILL_NAMES[fill_a], FILL_NAMES[fill_b], with_bias ? "bias" : "no bias",
                          where / ldc, where % ldc, got[where], want[where]);
                }
            }
        }
    }
    check(bad == 0, kern->name, "%ld of %ld sizes differ from the reference", bad, cases);
    free(a);
    free(b);
    free(bias);
    free(want);
    free(got);
}

/* The longest k FORMAT.md allows (65536) with every product at its largest,
 * 128 * 128: the sum is 2^30, the int32 accumulators' worst case. */
static void test_longest_k(const gemm_kernel *kern) {
    const size_t m = 5, n = 6, k = 65536;
    int8_t *a = malloc(m * k), *b = malloc(n * k);
    int32_t want[5 * 6], got[5 * 6];
    if (!a || !b) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    memset(a, 0x80, m * k);
    memset(b, 0x80, n * k);
    size_t where = 0;
    if (check(same_as_ref(kern->fn, m, n, k, a, k, b, k, NULL, want, got, n, &where), kern->name,
              "k=65536, all -128: c[%zu] is %d, ref %d", where, got[where], want[where]))
        check(got[0] == (INT32_C(1) << 30), kern->name, "k=65536, all -128: %d, want 2^30", got[0]);
    free(a);
    free(b);
}

#if !defined(__aarch64__)
/* The P.V kernels (gemm_u8s8s32: p [m, k] uint8 times v [k, n] int8), best first. */
typedef struct pv_kernel {
    const char *name;
    gemm_u8s8s32_fn fn;
    unsigned long hwcap;
} pv_kernel;

static const pv_kernel PV_KERNELS[] = {
    {"neon", gemm_u8s8s32_4x8__neonv7, HWCAP_NEON},
};
#define N_PV_KERNELS (sizeof PV_KERNELS / sizeof PV_KERNELS[0])

/* p filled with 255 everywhere (FILL_MIN: the largest products), random 0/255/1
 * (FILL_EXTREMES), or at random. */
static void fill_u8(uint8_t *p, size_t count, enum fill how) {
    static const uint8_t extremes[] = {0, 255, 1};
    for (size_t i = 0; i < count; i++)
        p[i] = how == FILL_MIN ? 255 : how == FILL_EXTREMES ? extremes[rand_u64() % 3] : (uint8_t)rand_in(0, 255);
}

/* c = p v by `fn` and by the reference; returns 1 when every output and every
 * padding element agree. */
static int pv_same_as_ref(gemm_u8s8s32_fn fn, size_t m, size_t n, size_t k, const uint8_t *p, size_t ldp,
                          const int8_t *v, size_t ldv, int32_t *want, int32_t *got, size_t ldc, size_t *first_bad) {
    for (size_t i = 0; i < m * ldc; i++) want[i] = got[i] = SENTINEL32;
    gemm_u8s8s32_1x1__ref(m, n, k, p, ldp, v, ldv, want, ldc);
    fn(m, n, k, p, ldp, v, ldv, got, ldc);
    for (size_t i = 0; i < m * ldc; i++) {
        if (want[i] != got[i]) {
            *first_bad = i;
            return 0;
        }
    }
    return 1;
}

static void test_pv_against_ref(const pv_kernel *kern) {
    const size_t max = SIZES[N_SIZES - 1], ld_max = max + PAD;
    uint8_t *p = malloc(max * ld_max);
    int8_t *v = malloc(max * ld_max);
    int32_t *want = malloc(max * ld_max * sizeof *want), *got = malloc(max * ld_max * sizeof *got);
    if (!p || !v || !want || !got) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    long cases = 0, bad = 0;
    for (size_t im = 0; im < N_SIZES; im++) {
        for (size_t in = 0; in < N_SIZES; in++) {
            for (size_t ik = 0; ik < N_SIZES; ik++) {
                const size_t m = SIZES[im], n = SIZES[in], k = SIZES[ik];
                const enum fill fill_p = (enum fill)(cases % 3), fill_v = (enum fill)((cases / 3) % 3);
                const size_t ldp = k + (cases % 4 ? PAD : 0), ldv = n + (cases % 5 ? PAD : 0),
                             ldc = n + (cases % 6 ? PAD : 0);
                cases++;
                fill_u8(p, m * ldp, fill_p);
                fill8(v, k * ldv, fill_v);
                size_t where = 0;
                if (!pv_same_as_ref(kern->fn, m, n, k, p, ldp, v, ldv, want, got, ldc, &where)) {
                    bad++;
                    check(0, kern->name, "P.V m=%zu n=%zu k=%zu ldp=%zu ldv=%zu ldc=%zu: c[%zu, %zu] is %d, ref %d", m,
                          n, k, ldp, ldv, ldc, where / ldc, where % ldc, got[where], want[where]);
                }
            }
        }
    }
    check(bad == 0, kern->name, "P.V: %ld of %ld sizes differ from the reference", bad, cases);
    free(p);
    free(v);
    free(want);
    free(got);
}

/* The longest k (65536 keys) with every product at its most negative, 255 * -128:
 * the sum is -255 * 2^23, the int32 accumulators' worst case. */
static void test_pv_longest_k(const pv_kernel *kern) {
    const size_t m = 5, n = 9, k = 65536;
    uint8_t *p = malloc(m * k);
    int8_t *v = malloc(k * n);
    int32_t want[5 * 9], got[5 * 9];
    if (!p || !v) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    memset(p, 255, m * k);
    memset(v, 0x80, k * n);
    size_t where = 0;
    if (pv_same_as_ref(kern->fn, m, n, k, p, k, v, n, want, got, n, &where))
        check(got[0] == -255 * (INT32_C(1) << 23), kern->name, "P.V k=65536: %d, want -255 * 2^23", got[0]);
    else
        check(0, kern->name, "P.V k=65536: c[%zu] is %d, ref %d", where, got[where], want[where]);
    free(p);
    free(v);
}

/* P.V at the model's shape: 128 queries x 128 keys times a head's 32 columns of v
 * (row stride H = 384). */
static void test_pv_model_shape(const pv_kernel *kern) {
    const size_t m = 128, k = 128, n = 32, ldv = 384;
    uint8_t *p = malloc(m * k);
    int8_t *v = malloc(k * ldv);
    int32_t *want = malloc(m * n * sizeof *want), *got = malloc(m * n * sizeof *got);
    if (!p || !v || !want || !got) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    fill_u8(p, m * k, FILL_RANDOM);
    fill8(v, k * ldv, FILL_RANDOM);
    size_t where = 0;
    check(pv_same_as_ref(kern->fn, m, n, k, p, k, v + 5 * n, ldv, want, got, n, &where), kern->name,
          "P.V model shape: c[%zu] is %d, ref %d", where, got[where], want[where]);
    free(p);
    free(v);
    free(want);
    free(got);
}
#endif

/* The shipped model's shapes (H = 384, F = 1536, 12 heads of 32, sequence 128; 17
 * rows for the linear layers keep the reference fast under qemu): a random, b as
 * weights for the linear layers and as activations for q.k^T. */
static void test_model_shapes(const gemm_kernel *kern) {
    static const struct {
        size_t m, n, k;
        enum fill b;
    } SHAPES[] = {{17, 384, 384, FILL_WEIGHTS}, {17, 1536, 384, FILL_WEIGHTS}, {17, 384, 1536, FILL_WEIGHTS},
                  {128, 128, 32, FILL_RANDOM}};
    for (size_t t = 0; t < sizeof SHAPES / sizeof SHAPES[0]; t++) {
        const size_t m = SHAPES[t].m, n = SHAPES[t].n, k = SHAPES[t].k;
        int8_t *a = malloc(m * k), *b = malloc(n * k);
        int32_t *bias = malloc(n * sizeof *bias), *want = malloc(m * n * sizeof *want), *got = malloc(m * n * sizeof *got);
        if (!a || !b || !bias || !want || !got) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
        fill8(a, m * k, FILL_RANDOM);
        fill8(b, n * k, SHAPES[t].b);
        for (size_t j = 0; j < n; j++) bias[j] = (int32_t)rand_in(-(INT64_C(1) << 30), INT64_C(1) << 30);
        size_t where = 0;
        check(same_as_ref(kern->fn, m, n, k, a, k, b, k, SHAPES[t].b == FILL_WEIGHTS ? bias : NULL, want, got, n,
                          &where),
              kern->name, "model shape m=%zu n=%zu k=%zu: c[%zu] is %d, ref %d", m, n, k, where, got[where],
              want[where]);
        free(a);
        free(b);
        free(bias);
        free(want);
        free(got);
    }
}

/* kernels_select: the best kernel the CPU runs by default, each name forced to its
 * own kernel, and a name the CPU cannot run refused with the valid ones listed. */
static void test_select(unsigned long hwcap) {
    const kernel_table *kt = NULL;
    unsetenv("IBERT_KERNELS");
    const gemm_kernel *best = NULL;
    for (size_t i = 0; i < N_KERNELS && !best; i++)
        if ((hwcap & KERNELS[i].hwcap) == KERNELS[i].hwcap) best = &KERNELS[i];
    const char *best_name = best ? best->name : "ref";
    check(kernels_select(&kt) == IBERT_OK && kt && strcmp(kt->name, best_name) == 0, "kernels_select default",
          "got %s, want %s", kt ? kt->name : "NULL", best_name);
    for (size_t i = 0; i < N_KERNELS; i++) {
        const gemm_kernel *kern = &KERNELS[i];
        setenv("IBERT_KERNELS", kern->name, 1);
        kt = NULL;
        ibert_status st = kernels_select(&kt);
        if ((hwcap & kern->hwcap) == kern->hwcap) {
            check(st == IBERT_OK && kt && strcmp(kt->name, kern->name) == 0 && kt->gemm_s8s8s32 == kern->fn,
                  "kernels_select forced", "IBERT_KERNELS=%s gave status %d, table %s", kern->name, st,
                  kt ? kt->name : "NULL");
        } else {
            const char *msg = ibert_last_error();
            check(st == IBERT_ERR_INVALID_ARGUMENT && strstr(msg, kern->name) && strstr(msg, "valid: ref"),
                  "kernels_select unsupported", "IBERT_KERNELS=%s gave status %d, message '%s'", kern->name, st,
                  msg);
        }
    }
    unsetenv("IBERT_KERNELS");
}

int main(void) {
    const unsigned long hwcap = getauxval(AT_HWCAP);
    for (size_t i = 0; i < N_KERNELS; i++) {
        const gemm_kernel *kern = &KERNELS[i];
        if ((hwcap & kern->hwcap) != kern->hwcap) {
            printf("%s: this CPU lacks its features, not run\n", kern->name);
            continue;
        }
        printf("%s: against the reference\n", kern->name);
        test_against_ref(kern);
        test_longest_k(kern);
        test_model_shapes(kern);
    }
#if !defined(__aarch64__)
    for (size_t i = 0; i < N_PV_KERNELS; i++) {
        const pv_kernel *kern = &PV_KERNELS[i];
        if ((hwcap & kern->hwcap) != kern->hwcap) {
            printf("%s P.V: this CPU lacks its features, not run\n", kern->name);
            continue;
        }
        printf("%s P.V: against the reference\n", kern->name);
        test_pv_against_ref(kern);
        test_pv_longest_k(kern);
        test_pv_model_shape(kern);
    }
#endif
    test_select(hwcap);
    printf("%ld passed, %ld failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
