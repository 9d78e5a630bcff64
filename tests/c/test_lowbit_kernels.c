/* test_lowbit_kernels.c: the low-bit linear kernels (kernel_table.gemm_lowbit), exact.
 *
 * - The test's own packer writes exactly the bytes pyibert/qbert/packing.py writes
 *   (lowbit_packing_fixture.h, kept current by tests/python/test_lowbit_packing_fixture.py).
 * - gemm_s8sxs32_1x1__ref equals the contract's sum computed here in int64 from the
 *   unpacked codes, for every width {2, 3, 4, 6} x group size {0, 32, 64, 128} over
 *   awkward m, n and k (k a multiple of the group size, also not of 128; any k when the
 *   group size is 0), column slices j0 ... j1, strided a and c (c's padding must come
 *   back untouched), random and extreme codes, activations, sub-scales and biases.
 * - At every width the largest k the loader's bound admits with sub-scale 63 and the
 *   bias at the bound: every product at its extreme, the output exactly +-(2^31 - 1).
 * - Every kernel set of this build that the CPU runs (IBERT_KERNELS, as kernels_select
 *   picks it) gives the reference's integers on all of the above.
 * Run under qemu for every CPU of tests/cross/run.sh. Prints "N passed, N failed";
 * exits non-zero on any failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "lowbit_packing_fixture.h"

#define TEST_RNG_SEED 0x2545f491u
#include "test_check.h"

#define CHUNK_CODES 128
#define RUN_BYTES 16
#define PAD 3 /* extra elements at the end of every a and c row (odd: misaligns rows) */
#define SENTINEL32 0x5a5a5a5a
#define COUNT(x) (sizeof(x) / sizeof((x)[0]))

static const unsigned WIDTHS[] = {2, 3, 4, 6};
static const size_t GROUPS[] = {0, 32, 64, 128};
static const size_t M_SIZES[] = {1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 17, 32, 33}; /* 32, 33: two 16-row tiles */
static const size_t N_SIZES[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33};
/* multiples of 32 below, at and past 128-code chunks (k = 96, 160, 224, 416: not multiples of 128;
 * 2144: past a 2048-k slab of the SIMD kernels, and not a multiple of 128 in the second) */
static const size_t K_SIZES[] = {32, 64, 96, 128, 160, 224, 256, 384, 416, 2144};
static const size_t K_UNGROUPED[] = {1, 7, 16, 33, 127, 200}; /* also allowed when group size is 0 */

static size_t row_bytes_for(size_t k, unsigned bits) { return (k + CHUNK_CODES - 1) / CHUNK_CODES * 16 * bits; }

/* One packed plane's bits of code t of a chunk: the layout of packing.py, written forward. */
static void put_plane_bits(uint8_t *plane, unsigned p, size_t t, unsigned value) {
    const size_t per_run = RUN_BYTES * (8 / p);
    plane[t / per_run * RUN_BYTES + t % RUN_BYTES] |= (uint8_t)(value << (t % per_run / RUN_BYTES * p));
}

/* codes q [k] (each in the width's range) -> one packed row of row_bytes_for(k, bits). */
static void pack_row(const int8_t *q, size_t k, unsigned bits, uint8_t *out) {
    const size_t bytes = row_bytes_for(k, bits), padded = bytes * 8 / bits;
    const unsigned low = bits >= 4 ? 4 : 2, high = bits - low;
    memset(out, 0, bytes);
    for (size_t t = 0; t < padded; t++) {
        const unsigned u = (unsigned)((t < k ? q[t] : 0) + (1 << (bits - 1)));
        uint8_t *chunk = out + t / CHUNK_CODES * (CHUNK_CODES * bits / 8);
        put_plane_bits(chunk, low, t % CHUNK_CODES, u & ((1u << low) - 1));
        if (high) put_plane_bits(chunk + low * RUN_BYTES, high, t % CHUNK_CODES, u >> low);
    }
}

static void test_packer_matches_python(void) {
    static const struct {
        unsigned bits;
        const int8_t *codes;
        const uint8_t *packed;
    } fixtures[] = {{2, lowbit_fixture_codes2, lowbit_fixture_packed2},
                    {3, lowbit_fixture_codes3, lowbit_fixture_packed3},
                    {4, lowbit_fixture_codes4, lowbit_fixture_packed4},
                    {6, lowbit_fixture_codes6, lowbit_fixture_packed6}};
    for (size_t f = 0; f < COUNT(fixtures); f++) {
        const unsigned bits = fixtures[f].bits;
        const size_t k = LOWBIT_FIXTURE_COLUMNS, bytes = row_bytes_for(k, bits);
        uint8_t row[CHUNK_CODES * 2 * 6 / 8];
        for (size_t r = 0; r < LOWBIT_FIXTURE_ROWS; r++) {
            pack_row(fixtures[f].codes + r * k, k, bits, row);
            size_t bad = 0;
            while (bad < bytes && row[bad] == fixtures[f].packed[r * bytes + bad]) bad++;
            check(bad == bytes, "packer = packing.py", "%u bits, row %zu: byte %zu is 0x%02x, packing.py 0x%02x",
                  bits, r, bad, bad < bytes ? row[bad] : 0, bad < bytes ? fixtures[f].packed[r * bytes + bad] : 0);
        }
    }
}

/* A layer of n rows and k inputs with its unpacked codes, for the int64 check. */
typedef struct layer {
    lowbit_weights w;
    size_t n, k, groups;
    int8_t *q;      /* [n][k] */
    uint8_t *codes; /* [n][row_bytes] */
    uint8_t *sub;   /* [n][groups] */
    int32_t *bias;  /* [n] */
} layer;

enum code_fill { CODES_RANDOM, CODES_MIN, CODES_MAX, CODES_ENDS };
enum x_fill { X_RANDOM, X_MIN, X_MAX, X_ENDS };
enum sub_fill { SUB_RANDOM, SUB_MAX, SUB_ONE };
static const char *const CODE_FILLS[] = {"random codes", "all codes min", "all codes max", "codes min/max"};
static const char *const X_FILLS[] = {"random x", "x = -128", "x = 127", "x = -128/127"};
static const char *const SUB_FILLS[] = {"random sub", "sub = 63", "sub = 1"};

static void make_layer(layer *l, unsigned bits, size_t group_size, size_t n, size_t k, enum code_fill cf,
                       enum sub_fill sf) {
    const int lo = -(1 << (bits - 1)), hi = (1 << (bits - 1)) - 1;
    l->n = n;
    l->k = k;
    l->groups = group_size ? k / group_size : 1;
    l->q = test_alloc(n * k);
    l->codes = test_alloc(n * row_bytes_for(k, bits));
    l->sub = test_alloc(n * l->groups);
    l->bias = test_alloc(n * sizeof *l->bias);
    for (size_t i = 0; i < n * k; i++) {
        switch (cf) {
        case CODES_RANDOM: l->q[i] = (int8_t)rand_in(lo, hi); break;
        case CODES_MIN: l->q[i] = (int8_t)lo; break;
        case CODES_MAX: l->q[i] = (int8_t)hi; break;
        case CODES_ENDS: l->q[i] = (int8_t)(rand_u64() & 1 ? lo : hi); break;
        }
    }
    for (size_t j = 0; j < n; j++) pack_row(l->q + j * k, k, bits, l->codes + j * row_bytes_for(k, bits));
    for (size_t i = 0; i < n * l->groups; i++)
        l->sub[i] = sf == SUB_MAX ? 63 : sf == SUB_ONE ? 1 : (uint8_t)rand_in(1, 63);
    /* the bias anywhere the loader's bound leaves room for */
    const int64_t room = (INT64_C(1) << 31) - 1 - (int64_t)k * (1 << (bits - 1)) * 128 * 63;
    for (size_t j = 0; j < n; j++) l->bias[j] = (int32_t)rand_in(-room, room);
    l->w = (lowbit_weights){.bits = bits, .group_size = group_size, .row_bytes = row_bytes_for(k, bits),
                            .codes = l->codes, .sub = l->sub, .bias = l->bias};
}

static void free_layer(layer *l) {
    free(l->q);
    free(l->codes);
    free(l->sub);
    free(l->bias);
}

static void fill_x(int8_t *x, size_t count, enum x_fill how) {
    for (size_t i = 0; i < count; i++) {
        switch (how) {
        case X_RANDOM: x[i] = (int8_t)rand_in(-128, 127); break;
        case X_MIN: x[i] = -128; break;
        case X_MAX: x[i] = 127; break;
        case X_ENDS: x[i] = rand_u64() & 1 ? -128 : 127; break;
        }
    }
}

/* The contract's accumulator, in int64 from the unpacked codes. */
static int64_t contract_acc(const layer *l, const int8_t *x, size_t j) {
    const size_t group = l->w.group_size ? l->w.group_size : l->k;
    int64_t acc = l->w.bias ? l->w.bias[j] : 0;
    for (size_t g = 0; g < l->groups; g++) {
        int64_t sum = 0;
        for (size_t k = g * group; k < (g + 1) * group; k++) sum += (int64_t)l->q[j * l->k + k] * x[k];
        acc += l->sub[j * l->groups + g] * sum;
    }
    return acc;
}

/* Runs fn on rows [m] of a (stride lda) and columns j0 ... j1 into a sentineled c of
 * stride ldc; returns the first wrong element (an output that differs from want, which
 * is [m][n], or a touched padding element) as its index in c, or SIZE_MAX. */
static size_t run_and_compare(gemm_s8sxs32_fn fn, const layer *l, size_t m, size_t j0, size_t j1, const int8_t *a,
                              size_t lda, const int64_t *want, int32_t *c, size_t ldc) {
    for (size_t i = 0; i < m * ldc; i++) c[i] = SENTINEL32;
    fn(m, j0, j1, l->k, a, lda, &l->w, c, ldc);
    for (size_t i = 0; i < m; i++)
        for (size_t jj = 0; jj < ldc; jj++) {
            const int64_t expect = jj < j1 - j0 ? want[i * l->n + j0 + jj] : SENTINEL32;
            if (c[i * ldc + jj] != expect) return i * ldc + jj;
        }
    return SIZE_MAX;
}

/* The kernels under test: "ref" and every other table the CPU runs whose low-bit kernel
 * is its own. */
typedef struct kernel_under_test {
    const char *name;
    gemm_s8sxs32_fn fn;
} kernel_under_test;
static kernel_under_test kernels[8];
static size_t n_kernels;

static void find_kernels(void) {
    static const char *const names[] = {"ref", "neon", "dotprod", "i8mm", "avx2", "avx512vnni"};
    for (size_t i = 0; i < COUNT(names); i++) {
        const kernel_table *kt = NULL;
        setenv("IBERT_KERNELS", names[i], 1);
        if (kernels_select(&kt) != IBERT_OK) continue; /* not in this build, or not on this CPU */
        if (i > 0 && kt->gemm_lowbit == gemm_s8sxs32_1x1__ref) {
            printf("kernel set %s: gemm_lowbit is the reference\n", names[i]);
            continue;
        }
        printf("kernel set %s: testing its gemm_lowbit\n", names[i]);
        kernels[n_kernels++] = (kernel_under_test){names[i], kt->gemm_lowbit};
    }
    unsetenv("IBERT_KERNELS");
}

/* One shape with rotating fills: every kernel on all columns and on a slice. */
static void test_case(unsigned bits, size_t group_size, size_t m, size_t n, size_t k, long index) {
    const enum code_fill cf = (enum code_fill)(index % 4);
    const enum x_fill xf = (enum x_fill)(index / 4 % 4);
    const enum sub_fill sf = (enum sub_fill)(index / 16 % 3);
    layer l;
    make_layer(&l, bits, group_size, n, k, cf, sf);
    if (index % 5 == 4) l.w.bias = NULL;
    const size_t lda = k + (index % 3 ? PAD : 0), ldc = n + (index % 2 ? PAD : 0);
    int8_t *a = test_alloc(m * lda);
    int64_t *want = test_alloc(m * n * sizeof *want);
    int32_t *c = test_alloc(m * ldc * sizeof *c);
    fill_x(a, m * lda, xf);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) want[i * n + j] = contract_acc(&l, a + i * lda, j);
    /* all columns, then a slice that starts and ends inside */
    const size_t slices[2][2] = {{0, n}, {n / 3, n - n / 4}};
    for (size_t kk = 0; kk < n_kernels; kk++) {
        for (size_t s = 0; s < 2; s++) {
            const size_t j0 = slices[s][0], j1 = slices[s][1];
            if (j1 <= j0) continue;
            const size_t bad = run_and_compare(kernels[kk].fn, &l, m, j0, j1, a, lda, want, c, ldc);
            check(bad == SIZE_MAX, kernels[kk].name,
                  "%u bits, group %zu, m=%zu n=%zu k=%zu, columns %zu...%zu, lda=%zu ldc=%zu, %s, %s, %s, %s: "
                  "c[%zu, %zu] is %d, want %lld",
                  bits, group_size, m, n, k, j0, j1, lda, ldc, CODE_FILLS[cf], X_FILLS[xf], SUB_FILLS[sf],
                  l.w.bias ? "bias" : "no bias", bad / ldc, bad % ldc, bad == SIZE_MAX ? 0 : c[bad],
                  bad == SIZE_MAX ? 0LL
                  : bad % ldc < j1 - j0 ? (long long)want[bad / ldc * n + j0 + bad % ldc]
                                        : (long long)SENTINEL32);
        }
    }
    free(a);
    free(want);
    free(c);
    free_layer(&l);
}

static void test_shapes(void) {
    long index = 0;
    for (size_t b = 0; b < COUNT(WIDTHS); b++) {
        for (size_t g = 0; g < COUNT(GROUPS); g++) {
            for (size_t ik = 0; ik < COUNT(K_SIZES) + COUNT(K_UNGROUPED); ik++) {
                const size_t k = ik < COUNT(K_SIZES) ? K_SIZES[ik] : K_UNGROUPED[ik - COUNT(K_SIZES)];
                if (GROUPS[g] ? k % GROUPS[g] != 0 : 0) continue;
                /* the sizes rotate (coprime list lengths), so every m and n meets every width */
                for (size_t rep = 0; rep < 2; rep++, index++) {
                    const size_t m = M_SIZES[(size_t)index % COUNT(M_SIZES)];
                    const size_t n = N_SIZES[(size_t)(index * 7 + 3) % COUNT(N_SIZES)];
                    test_case(WIDTHS[b], GROUPS[g], m, n, k, index);
                }
            }
        }
    }
    printf("%ld shapes\n", index);
}

/* The assembly tiles of the dotprod kernel past a 2048-k slab (the first slab from the
 * biases, the second adding to c; k = 2144, or 2176 = 17 * 128 for groups of 64 and
 * 128): 16-row tiles, one-quad tiles of 4 rows and of fewer, with sub-scales 1 (group
 * size 0: the unsigned path, every width) and random (the signed, summation-by-parts
 * path of 2 and 4 bits); the fills rotate through the index. */
static void test_slab_tiles(void) {
    static const size_t ROWS[] = {1, 4, 6, 16, 20};
    static const enum sub_fill SUBS[] = {SUB_ONE, SUB_RANDOM};
    long cases = 0;
    for (size_t b = 0; b < COUNT(WIDTHS); b++)
        for (size_t g = 0; g < COUNT(GROUPS); g++)
            for (size_t im = 0; im < COUNT(ROWS); im++)
                for (size_t is = 0; is < COUNT(SUBS); is++, cases++)
                    test_case(WIDTHS[b], GROUPS[g], ROWS[im], 9, GROUPS[g] > 32 ? 2176 : 2144,
                              48 * cases + 16 * SUBS[is] + cases % 16);
    printf("%ld slab-tile shapes\n", cases);
}

/* The largest k (a multiple of 128) the bound admits with every sub-scale 63, the bias
 * taking the rest of the room: codes at their minimum times x = -128 gives exactly
 * 2^31 - 1, times x = 127 with the bias negated gives -(2^31 - 1) + 63 * k * 2^(bits-1). */
static void test_bound(void) {
    for (size_t b = 0; b < COUNT(WIDTHS); b++) {
        const unsigned bits = WIDTHS[b];
        const int64_t per_k = (int64_t)(1 << (bits - 1)) * 128 * 63;
        size_t k = (size_t)(((INT64_C(1) << 31) - 1) / per_k) / 128 * 128;
        if (k > 65536) k = 65536;
        for (size_t g = 0; g < COUNT(GROUPS); g++) {
            const size_t m = 3, n = 5;
            layer l;
            make_layer(&l, bits, GROUPS[g], n, k, CODES_MIN, SUB_MAX);
            const int64_t top = (int64_t)k * per_k;
            for (size_t j = 0; j < n; j++) l.bias[j] = (int32_t)((j % 2 ? -1 : 1) * ((INT64_C(1) << 31) - 1 - top));
            int8_t *a = test_alloc(m * k);
            int64_t want[3 * 5];
            int32_t c[3 * 5];
            fill_x(a, k, X_MIN);
            fill_x(a + k, k, X_MAX);
            fill_x(a + 2 * k, k, X_ENDS);
            for (size_t i = 0; i < m; i++)
                for (size_t j = 0; j < n; j++) want[i * n + j] = contract_acc(&l, a + i * k, j);
            check(want[0] == INT32_MAX, "bound", "%u bits, k=%zu: the test's extreme is %lld, not 2^31 - 1", bits, k,
                  (long long)want[0]);
            for (size_t kk = 0; kk < n_kernels; kk++) {
                const size_t bad = run_and_compare(kernels[kk].fn, &l, m, 0, n, a, k, want, c, n);
                check(bad == SIZE_MAX, kernels[kk].name, "%u bits, group %zu, k=%zu at the bound: c[%zu] is %d, want %lld",
                      bits, GROUPS[g], k, bad, bad == SIZE_MAX ? 0 : c[bad],
                      bad == SIZE_MAX ? 0LL : (long long)want[bad]);
            }
            free(a);
            free_layer(&l);
        }
    }
}

int main(void) {
    test_packer_matches_python();
    find_kernels();
    test_shapes();
    test_slab_tiles();
    test_bound();
    printf("%ld passed, %ld failed\n", passed, failed);
    return failed ? 1 : 0;
}
