/* test_gemm_kernels.c: every gemm_s8s8s32 kernel of this build that the CPU can run,
 * against gemm_s8s8s32_1x1__ref, integer for integer, and the choice kernels_select
 * makes among them. Built for ARM targets (the neon/ kernels); under qemu run it
 * with QEMU_CPU=cortex-a72 (AdvSIMD, no dotprod), cortex-a76 (dotprod) and max
 * (dotprod and i8mm) for AArch64, and cortex-a15 for 32-bit ARM (NEON).
 *
 * Sizes are awkward in m, n and k (tile and 16-wide k-block remainders), operands
 * use the whole int8 range (also -128 in b: the same kernel computes q.k^T, whose
 * operands are both activations) and their extremes, matrices have row strides
 * wider than their rows, and the padding of c must come back untouched. b also
 * gets weights (-127 ... 127, no -128), which the 32-bit kernel multiplies in pairs.
 *
 * The linear GEMMs on packed weights (kernel_table.linear) get the same sizes with
 * weights in the format's -127 ... 127, the model's shapes, k up to 65536, column
 * ranges, and their packers a check that they write exactly packed_size bytes.
 * The P.V kernels (gemm_u8s8s32) are compared with gemm_u8s8s32_1x1__ref on p over
 * 0 ... 255 and v over the whole int8 range.
 *
 * Prints "N passed, N failed"; exits non-zero on any failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kernels/hwcap.h"
#include "kernels/kernels.h"


static const size_t SIZES[] = {1, 2, 3, 15, 16, 17, 31, 33, 63, 65};
#define N_SIZES (sizeof SIZES / sizeof SIZES[0])
#define PAD 5 /* extra elements at the end of every matrix row (odd: misaligns rows) */
#define SENTINEL32 0x5a5a5a5a

/* The CPU features a kernel needs: AT_HWCAP and AT_HWCAP2 bits. */
typedef struct needs {
    unsigned long hwcap, hwcap2;
} needs;

#if defined(__aarch64__)
#define NEON {HWCAP_ASIMD, 0}
#define DOTPROD {HWCAP_ASIMD | HWCAP_ASIMDDP, 0}
#define I8MM {HWCAP_ASIMD | HWCAP_ASIMDDP, HWCAP2_I8MM} /* kernels_select wants dotprod too */
#else
#define NEON {HWCAP_NEON, 0}
#endif

static unsigned long cpu_hwcap, cpu_hwcap2;
static int cpu_has(needs n) { return (cpu_hwcap & n.hwcap) == n.hwcap && (cpu_hwcap2 & n.hwcap2) == n.hwcap2; }

/* A kernel under test and the name its messages give. */
typedef struct gemm_kernel { /* q.k^T: c = a b^T */
    const char *name;
    gemm_s8s8s32_fn fn;
} gemm_kernel;
typedef struct pv_kernel { /* P.V: c = p v, p uint8 [m, k], v int8 [k, n] */
    const char *name;
    gemm_u8s8s32_fn fn;
} pv_kernel;
typedef struct packed_kernel { /* the linear layers, on weights packed at load */
    const char *name;
    linear_packing lp;
} packed_kernel;
#define KERNEL(fn) {#fn, fn}
#define PACKED(size, pack, gemm, column_block) {#gemm, {size, pack, gemm, column_block}}

/* The kernel sets of kernels_select, best first: the CPU features each needs and
 * the kernels it must hold, which are the kernels tested here. */
static const struct kernel_set {
    const char *name;
    needs cpu;
    gemm_kernel gemm;
    pv_kernel pv;
    packed_kernel linear;
} SETS[] = {
#if defined(__aarch64__)
    {"i8mm", I8MM, KERNEL(gemm_s8s8s32_8x8c8__i8mm), KERNEL(gemm_u8s8s32_8x8c8__i8mm),
     PACKED(packw_s8s32_8x8_size, packw_s8s32_8x8, linear_s8s8s32_8x8c8__i8mm, 8)},
    {"dotprod", DOTPROD, KERNEL(gemm_s8s8s32_4x16c4__neondot), KERNEL(gemm_u8s8s32_4x16c4__neondot),
     PACKED(packw_s8s32_16x4_size, packw_s8s32_16x4, linear_s8s8s32_4x16c4__neondot, 16)},
    {"neon", NEON, KERNEL(gemm_s8s8s32_4x4c16__neon), KERNEL(gemm_u8s8s32_4x16__neon),
     PACKED(packw_s8s32_4x16_size, packw_s8s32_4x16, linear_s8s8s32_4x4c16__neon, 4)},
#else
    {"neon", NEON, KERNEL(gemm_s8s8s32_4x2c16__neonv7), KERNEL(gemm_u8s8s32_4x8__neonv7),
     PACKED(packw_s8s32_8x2_size, packw_s8s32_8x2, linear_s8s8s32_4x8c4__neonv7, 8)},
#endif
};
#define N_SETS (sizeof SETS / sizeof SETS[0])



#define TEST_RNG_SEED 0x85ebca6bu
#include "test_check.h"

/* How the operands are filled. */
enum fill { FILL_RANDOM, FILL_MIN, FILL_EXTREMES, FILL_WEIGHTS };
static const char *const FILL_NAMES[] = {"random", "all -128", "random -128/127/-127", "random -127 ... 127"};

static void fill8(int8_t *p, size_t count, enum fill how) {
    static const int8_t extremes[] = {-128, 127, -127};
    for (size_t i = 0; i < count; i++) {
        switch (how) {
        case FILL_RANDOM: p[i] = (int8_t)rand_in(-128, 127); break;
        case FILL_MIN: p[i] = -128; break;
        case FILL_EXTREMES: p[i] = extremes[rand_u64() % 3]; break;
        case FILL_WEIGHTS: p[i] = (int8_t)rand_in(-127, 127); break;
        }
    }
}

/* Biases anywhere in +-2^30 (a linear layer's int32 bias). */
static void random_bias(int32_t *bias, size_t n) {
    for (size_t j = 0; j < n; j++) bias[j] = (int32_t)rand_in(-(INT64_C(1) << 30), INT64_C(1) << 30);
}

/* 1 when want and got agree in all count elements; else 0 and the first that differs. */
static int all_equal(const int32_t *want, const int32_t *got, size_t count, size_t *first_bad) {
    for (size_t i = 0; i < count; i++) {
        if (want[i] != got[i]) {
            *first_bad = i;
            return 0;
        }
    }
    return 1;
}

/* c = a b^T (+ bias) by `fn` and by the reference on the same strided operands;
 * returns 1 when every output and every padding element agree. */
static int same_as_ref(gemm_s8s8s32_fn fn, size_t m, size_t n, size_t k, const int8_t *a, size_t lda,
                       const int8_t *b, size_t ldb, const int32_t *bias, int32_t *want, int32_t *got, size_t ldc,
                       size_t *first_bad) {
    for (size_t i = 0; i < m * ldc; i++) want[i] = got[i] = SENTINEL32;
    gemm_s8s8s32_1x1__ref(m, n, k, a, lda, b, ldb, bias, want, ldc);
    fn(m, n, k, a, lda, b, ldb, bias, got, ldc);
    return all_equal(want, got, m * ldc, first_bad);
}

static void test_against_ref(const gemm_kernel *kern) {
    const size_t max = SIZES[N_SIZES - 1], ld_max = max + PAD;
    int8_t *a = test_alloc(max * ld_max), *b = test_alloc(max * ld_max);
    int32_t *bias = test_alloc(max * sizeof *bias), *want = test_alloc(max * ld_max * sizeof *want),
            *got = test_alloc(max * ld_max * sizeof *got);
    long cases = 0, bad = 0;
    for (size_t im = 0; im < N_SIZES; im++) {
        for (size_t in = 0; in < N_SIZES; in++) {
            for (size_t ik = 0; ik < N_SIZES; ik++) {
                const size_t m = SIZES[im], n = SIZES[in], k = SIZES[ik];
                /* Rotate the fills, the bias and the strides over the cases. */
                const enum fill fill_a = (enum fill)(cases % 3), fill_b = (enum fill)((cases / 3) % 4);
                const int with_bias = cases % 2 == 0;
                const size_t lda = k + (cases % 4 ? PAD : 0), ldb = k + (cases % 5 ? PAD : 0),
                             ldc = n + (cases % 6 ? PAD : 0);
                cases++;
                fill8(a, m * lda, fill_a);
                fill8(b, n * ldb, fill_b);
                random_bias(bias, n);
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
    int8_t *a = test_alloc(m * k), *b = test_alloc(n * k);
    int32_t want[5 * 6], got[5 * 6];
    memset(a, 0x80, m * k);
    memset(b, 0x80, n * k);
    size_t where = 0;
    if (check(same_as_ref(kern->fn, m, n, k, a, k, b, k, NULL, want, got, n, &where), kern->name,
              "k=65536, all -128: c[%zu] is %d, ref %d", where, got[where], want[where]))
        check(got[0] == (INT32_C(1) << 30), kern->name, "k=65536, all -128: %d, want 2^30", got[0]);
    free(a);
    free(b);
}

/* A k past the kernels' stack chunks (256) and not a multiple of 16, random
 * operands, the model's head-sized rows next to awkward ones. */
static void test_long_k(const gemm_kernel *kern) {
    const size_t m = 9, n = 35, k = 1031, ldc = n + PAD;
    int8_t *a = test_alloc(m * k), *b = test_alloc(n * k);
    int32_t *bias = test_alloc(n * sizeof *bias), *want = test_alloc(m * ldc * sizeof *want),
            *got = test_alloc(m * ldc * sizeof *got);
    fill8(a, m * k, FILL_RANDOM);
    fill8(b, n * k, FILL_RANDOM);
    random_bias(bias, n);
    size_t where = 0;
    check(same_as_ref(kern->fn, m, n, k, a, k, b, k, bias, want, got, ldc, &where), kern->name,
          "m=%zu n=%zu k=%zu random, bias: c[%zu, %zu] is %d, ref %d", m, n, k, where / ldc, where % ldc, got[where],
          want[where]);
    free(a);
    free(b);
    free(bias);
    free(want);
    free(got);
}

/* Weights as the format allows them (FORMAT.md §3: -127 ... 127). */
static void fill_weights(int8_t *p, size_t count, enum fill how) {
    static const int8_t extremes[] = {-127, 127};
    for (size_t i = 0; i < count; i++) {
        switch (how) {
        case FILL_RANDOM:
        case FILL_WEIGHTS: p[i] = (int8_t)rand_in(-127, 127); break;
        case FILL_MIN: p[i] = (rand_u64() & 1) ? 127 : -127; break; /* against a = -128: the largest products */
        case FILL_EXTREMES: p[i] = extremes[rand_u64() % 2]; break;
        }
    }
}

#define GUARD 256      /* bytes after the packed weights that pack must not write */
#define GUARD_BYTE 0xa5

/* Packs w (n x k, with bias) into a fresh 64-byte aligned buffer that starts full
 * of garbage (pack must write every byte the GEMM reads) and ends in a guard.
 * Checks the size is a multiple of 64 and the guard survives; NULL on failure. */
static void *pack_checked(const packed_kernel *pk, size_t n, size_t k, const int8_t *w, const int32_t *bias) {
    const size_t size = pk->lp.packed_size(n, k);
    if (!check(size % 64 == 0 && size >= n * k, pk->name, "packed_size(%zu, %zu) = %zu", n, k, size)) return NULL;
    uint8_t *dst = aligned_alloc(64, size + GUARD);
    if (!dst) {
        fprintf(stderr, "out of memory (%zu bytes)\n", size + GUARD);
        exit(2);
    }
    for (size_t i = 0; i < size; i++) dst[i] = (uint8_t)rand_u64();
    memset(dst + size, GUARD_BYTE, GUARD);
    pk->lp.pack(n, k, w, bias, dst);
    size_t bad = GUARD;
    for (size_t i = 0; i < GUARD && bad == GUARD; i++)
        if (dst[size + i] != GUARD_BYTE) bad = i;
    if (!check(bad == GUARD, pk->name, "pack(%zu, %zu) wrote byte %zu past packed_size", n, k, bad)) {
        free(dst);
        return NULL;
    }
    return dst;
}

/* Columns j0 ... j1 - 1 of c = bias + a w^T by the packed GEMM against the
 * reference; the other columns and the row padding must keep their sentinel. */
static int packed_same_as_ref(const packed_kernel *pk, size_t m, size_t k, const int8_t *a, size_t lda,
                              const int8_t *w, const int32_t *bias, const void *packed, size_t j0, size_t j1,
                              size_t ldc, int32_t *want, int32_t *got, size_t *first_bad) {
    for (size_t i = 0; i < m * ldc; i++) want[i] = got[i] = SENTINEL32;
    gemm_s8s8s32_1x1__ref(m, j1 - j0, k, a, lda, w + j0 * k, k, bias ? bias + j0 : NULL, want + j0, ldc);
    pk->lp.gemm(m, j0, j1, k, a, lda, packed, got, ldc);
    return all_equal(want, got, m * ldc, first_bad);
}

/* Every awkward m, n, k; the fills rotate over random, a = -128 with w = +-127, and
 * the extremes of both; half the cases have no bias (packed as zeros). */
static void test_packed_against_ref(const packed_kernel *pk) {
    const size_t max = SIZES[N_SIZES - 1], ld_max = max + PAD;
    int8_t *a = test_alloc(max * ld_max), *w = test_alloc(max * max);
    int32_t *bias = test_alloc(max * sizeof *bias), *want = test_alloc(max * ld_max * sizeof *want),
            *got = test_alloc(max * ld_max * sizeof *got);
    long cases = 0, bad = 0;
    for (size_t im = 0; im < N_SIZES; im++) {
        for (size_t in = 0; in < N_SIZES; in++) {
            for (size_t ik = 0; ik < N_SIZES; ik++) {
                const size_t m = SIZES[im], n = SIZES[in], k = SIZES[ik];
                const enum fill fill = (enum fill)(cases % 3);
                const int with_bias = (cases / 3) % 2 == 0;
                const size_t lda = k + (cases % 4 ? PAD : 0), ldc = n + (cases % 5 ? PAD : 0);
                cases++;
                fill8(a, m * lda, fill);
                fill_weights(w, n * k, fill);
                random_bias(bias, n);
                void *packed = pack_checked(pk, n, k, w, with_bias ? bias : NULL);
                if (!packed) {
                    bad++;
                    continue;
                }
                size_t where = 0;
                if (!packed_same_as_ref(pk, m, k, a, lda, w, with_bias ? bias : NULL, packed, 0, n, ldc, want, got,
                                        &where)) {
                    bad++;
                    check(0, pk->name, "packed m=%zu n=%zu k=%zu lda=%zu ldc=%zu %s, %s: c[%zu, %zu] is %d, ref %d", m,
                          n, k, lda, ldc, FILL_NAMES[fill], with_bias ? "bias" : "no bias", where / ldc, where % ldc,
                          got[where], want[where]);
                }
                free(packed);
            }
        }
    }
    check(bad == 0, pk->name, "packed: %ld of %ld sizes differ from the reference", bad, cases);
    free(a);
    free(w);
    free(bias);
    free(want);
    free(got);
}

/* The model's shapes and longer k (up to 65536, the format's limit, with a = -128
 * and w = +-127 at the top), and column ranges j0 ... j1 (j0 a multiple of the
 * column block, as threads split them). */
static void test_packed_shapes(const packed_kernel *pk) {
    static const struct {
        size_t m, n, k;
        enum fill fill;
    } shapes[] = {
        {128, 384, 384, FILL_RANDOM},  {128, 1536, 384, FILL_RANDOM}, {128, 384, 1536, FILL_RANDOM},
        {1, 2, 384, FILL_RANDOM},      {7, 33, 1537, FILL_EXTREMES},  {5, 17, 4099, FILL_MIN},
        {3, 20, 65536, FILL_MIN},      {8, 32, 4100, FILL_RANDOM}, /* whole tiles over several k chunks */
        /* 16-k step counts around a k loop unrolled 8 times (4x4c16__neon): 8, 16 and 9
         * steps, 15 (7 single steps first), a chunk of 128 then 8 or 10 steps */
        {8, 12, 128, FILL_EXTREMES},   {8, 12, 256, FILL_MIN},        {8, 12, 129, FILL_RANDOM},
        {6, 12, 240, FILL_EXTREMES},   {8, 12, 2176, FILL_RANDOM},    {9, 8, 2200, FILL_EXTREMES},
        /* one row (a classifier's last layer) over whole column blocks, the same counts */
        {1, 20, 384, FILL_MIN},        {1, 12, 128, FILL_RANDOM},     {1, 12, 240, FILL_EXTREMES},
        {1, 12, 2176, FILL_EXTREMES},  {1, 9, 2200, FILL_RANDOM},     {1, 8, 4352, FILL_MIN},
    };
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        const size_t m = shapes[t].m, n = shapes[t].n, k = shapes[t].k, ldc = n + 3;
        int8_t *a = test_alloc(m * k), *w = test_alloc(n * k);
        int32_t *bias = test_alloc(n * sizeof *bias), *want = test_alloc(m * ldc * sizeof *want),
                *got = test_alloc(m * ldc * sizeof *got);
        fill8(a, m * k, shapes[t].fill);
        fill_weights(w, n * k, shapes[t].fill);
        random_bias(bias, n);
        void *packed = pack_checked(pk, n, k, w, bias);
        if (packed) {
            const size_t cb = pk->lp.column_block;
            /* the whole width, a block-aligned middle range, the last columns */
            const size_t ranges[][2] = {{0, n}, {cb, n - n / 3 > cb ? n - n / 3 : n}, {(n - 1) / cb * cb, n}};
            for (size_t r = 0; r < 3; r++) {
                const size_t j0 = ranges[r][0] < n ? ranges[r][0] : 0, j1 = ranges[r][1];
                size_t where = 0;
                check(packed_same_as_ref(pk, m, k, a, k, w, bias, packed, j0, j1, ldc, want, got, &where),
                      pk->name, "packed m=%zu n=%zu k=%zu %s, columns %zu ... %zu: c[%zu, %zu] is %d, ref %d", m, n,
                      k, FILL_NAMES[shapes[t].fill], j0, j1, where / ldc, where % ldc, got[where], want[where]);
            }
            free(packed);
        }
        free(a);
        free(w);
        free(bias);
        free(want);
        free(got);
    }
}


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
        int8_t *a = test_alloc(m * k), *b = test_alloc(n * k);
        int32_t *bias = test_alloc(n * sizeof *bias), *want = test_alloc(m * n * sizeof *want),
                *got = test_alloc(m * n * sizeof *got);
        fill8(a, m * k, FILL_RANDOM);
        fill8(b, n * k, SHAPES[t].b);
        random_bias(bias, n);
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


/* p: random, all 255 (with v all -128: the largest |c|), or random 0/255/1 */
static void fill_probs(uint8_t *p, size_t count, enum fill how) {
    static const uint8_t extremes[] = {0, 255, 1};
    for (size_t i = 0; i < count; i++) {
        switch (how) {
        case FILL_RANDOM:
        case FILL_WEIGHTS: p[i] = (uint8_t)rand_in(0, 255); break;
        case FILL_MIN: p[i] = 255; break;
        case FILL_EXTREMES: p[i] = extremes[rand_u64() % 3]; break;
        }
    }
}

static int pv_same_as_ref(const pv_kernel *kern, size_t m, size_t n, size_t k, const uint8_t *p, size_t ldp,
                          const int8_t *v, size_t ldv, int32_t *want, int32_t *got, size_t ldc, size_t *first_bad) {
    for (size_t i = 0; i < m * ldc; i++) want[i] = got[i] = SENTINEL32;
    gemm_u8s8s32_1x1__ref(m, n, k, p, ldp, v, ldv, want, ldc);
    kern->fn(m, n, k, p, ldp, v, ldv, got, ldc);
    return all_equal(want, got, m * ldc, first_bad);
}

/* The awkward sizes, then the model's (128 tokens, heads of 32) and k past the
 * kernel's stack chunk (257, 1031) up to 65536 with every product at its largest. */
static void test_pv_against_ref(const pv_kernel *kern) {
    static const struct {
        size_t m, n, k;
        enum fill fill;
    } shapes[] = {{128, 32, 128, FILL_RANDOM}, {9, 32, 257, FILL_EXTREMES}, {5, 19, 1031, FILL_RANDOM},
                  {3, 17, 65536, FILL_MIN}};
    const size_t n_sizes = N_SIZES + sizeof shapes / sizeof shapes[0];
    long cases = 0, bad = 0;
    for (size_t im = 0; im < n_sizes; im++) {
        for (size_t in = 0; in < n_sizes; in++) {
            for (size_t ik = 0; ik < n_sizes; ik++) {
                /* the awkward sizes in every combination, the shapes as they are */
                const int shape = im >= N_SIZES || in >= N_SIZES || ik >= N_SIZES;
                if (shape && !(im == in && in == ik)) continue;
                const size_t m = shape ? shapes[im - N_SIZES].m : SIZES[im],
                             n = shape ? shapes[in - N_SIZES].n : SIZES[in],
                             k = shape ? shapes[ik - N_SIZES].k : SIZES[ik];
                const enum fill fill = shape ? shapes[im - N_SIZES].fill : (enum fill)(cases % 3);
                const size_t ldp = k + (cases % 4 ? PAD : 0), ldv = n + (cases % 5 ? PAD : 0),
                             ldc = n + (cases % 6 ? PAD : 0);
                cases++;
                uint8_t *p = test_alloc(m * ldp);
                int8_t *v = test_alloc(k * ldv);
                int32_t *want = test_alloc(m * ldc * sizeof *want), *got = test_alloc(m * ldc * sizeof *got);
                fill_probs(p, m * ldp, fill);
                fill8(v, k * ldv, fill);
                size_t where = 0;
                if (!pv_same_as_ref(kern, m, n, k, p, ldp, v, ldv, want, got, ldc, &where)) {
                    bad++;
                    check(0, kern->name, "P.V m=%zu n=%zu k=%zu ldp=%zu ldv=%zu ldc=%zu %s: c[%zu, %zu] is %d, ref %d",
                          m, n, k, ldp, ldv, ldc, FILL_NAMES[fill], where / ldc, where % ldc, got[where], want[where]);
                }
                free(p);
                free(v);
                free(want);
                free(got);
            }
        }
    }
    check(bad == 0, kern->name, "P.V: %ld of %ld sizes differ from the reference", bad, cases);
}


/* kernels_select: the best set the CPU runs by default, each name forced to its
 * own kernels, and a name the CPU cannot run refused with the valid ones listed. */
static void test_select(void) {
    const kernel_table *kt = NULL;
    unsetenv("IBERT_KERNELS");
    const char *best_name = "ref";
    for (size_t i = N_SETS; i-- > 0;)
        if (cpu_has(SETS[i].cpu)) best_name = SETS[i].name;
    check(kernels_select(&kt) == IBERT_OK && kt && strcmp(kt->name, best_name) == 0, "kernels_select default",
          "got %s, want %s", kt ? kt->name : "NULL", best_name);
    for (size_t i = 0; i < N_SETS; i++) {
        const struct kernel_set *set = &SETS[i];
        setenv("IBERT_KERNELS", set->name, 1);
        kt = NULL;
        ibert_status st = kernels_select(&kt);
        if (cpu_has(set->cpu)) {
            const linear_packing *want = &set->linear.lp;
            check(st == IBERT_OK && kt && strcmp(kt->name, set->name) == 0 && kt->gemm_s8s8s32 == set->gemm.fn &&
                      kt->gemm_u8s8s32 == set->pv.fn && kt->linear && kt->linear->gemm == want->gemm &&
                      kt->linear->pack == want->pack && kt->linear->packed_size == want->packed_size &&
                      kt->linear->column_block == want->column_block,
                  "kernels_select forced", "IBERT_KERNELS=%s gave status %d, table %s, not the kernels tested here",
                  set->name, st, kt ? kt->name : "NULL");
        } else {
            const char *msg = ibert_last_error();
            check(st == IBERT_ERR_INVALID_ARGUMENT && strstr(msg, set->name) && strstr(msg, "valid: ref"),
                  "kernels_select unsupported", "IBERT_KERNELS=%s gave status %d, message '%s'", set->name, st, msg);
        }
    }
    unsetenv("IBERT_KERNELS");
}

/* Whether this CPU runs the set's kernels; says which it is in the log. */
static int runs_here(const struct kernel_set *set, const char *kernel) {
    if (!cpu_has(set->cpu)) {
        printf("%s: this CPU lacks the %s set's features, not run\n", kernel, set->name);
        return 0;
    }
    printf("%s: against the reference\n", kernel);
    return 1;
}

int main(void) {
    cpu_hwcap = getauxval(AT_HWCAP);
    cpu_hwcap2 = getauxval(AT_HWCAP2);
    for (size_t i = 0; i < N_SETS; i++) {
        const gemm_kernel *kern = &SETS[i].gemm;
        if (!runs_here(&SETS[i], kern->name)) continue;
        test_against_ref(kern);
        test_longest_k(kern);
        test_long_k(kern);
        test_model_shapes(kern);
    }
    for (size_t i = 0; i < N_SETS; i++) {
        const packed_kernel *pk = &SETS[i].linear;
        if (!runs_here(&SETS[i], pk->name)) continue;
        test_packed_against_ref(pk);
        test_packed_shapes(pk);
    }
    for (size_t i = 0; i < N_SETS; i++)
        if (runs_here(&SETS[i], SETS[i].pv.name)) test_pv_against_ref(&SETS[i].pv);
    test_select();
    printf("%ld passed, %ld failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
