/* lowbit_timing.c: host wall-clock time of the low-bit linear kernel against the
 * int8 linear kernel of the same kernel set (kernels_select; IBERT_KERNELS forces
 * one), single thread, on MiniLM's linear shapes at 128 rows. Prints a table of the
 * best of R runs in microseconds and the ratio to int8; a benchmark, not a test.
 *
 *   lowbit_timing [R]    (default 30)
 *
 * Operands are pseudo-random within the contracts' ranges (sub-scales within the
 * loader's bound); the kernels' time does not depend on the values. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "error.h"
#include "kernels/kernels.h"
#include "kernels/lowbit_codes.h"

#define ROWS 128

static uint64_t rng_state = 0x2545f4914f6cdd1du;
static uint8_t rand_byte(void) { /* xorshift64 */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint8_t)rng_state;
}

static void *alloc_random(size_t bytes) {
    uint8_t *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) {
        fprintf(stderr, "lowbit_timing: out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < bytes; i++) p[i] = rand_byte();
    return p;
}

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

typedef struct {
    const kernel_table *kt;
    size_t n, k;
    const int8_t *a;
    int32_t *c;
    const void *packed;      /* int8: the set's packed weights */
    const lowbit_weights *w; /* low-bit: NULL for int8 */
} layer;

static void run(const layer *l) {
    if (l->w) l->kt->gemm_lowbit(ROWS, 0, l->n, l->k, l->a, l->k, l->w, l->c, l->n);
    else l->kt->linear->gemm(ROWS, 0, l->n, l->k, l->a, l->k, l->packed, l->c, l->n);
}

static double best_us(const layer *l, size_t repeats) {
    double best = 1e30;
    run(l); /* warm the caches */
    for (size_t r = 0; r < repeats; r++) {
        const double t0 = now_us();
        run(l);
        const double t = now_us() - t0;
        if (t < best) best = t;
    }
    return best;
}

int main(int argc, char **argv) {
    const size_t repeats = argc > 1 ? strtoul(argv[1], NULL, 10) : 30;
    const kernel_table *kt;
    if (kernels_select(&kt) != IBERT_OK) {
        fprintf(stderr, "lowbit_timing: %s\n", ibert_last_error());
        return 2;
    }
    if (!kt->linear) {
        fprintf(stderr, "lowbit_timing: kernel set %s has no packed int8 linear kernel\n", kt->name);
        return 2;
    }
    static const size_t shapes[][2] = {{384, 384}, {1536, 384}, {384, 1536}}; /* {n, k} */
    static const unsigned widths[][2] = {{4, 0}, {2, 0}, {3, 0}, {6, 0}, {4, 32}, {4, 64}, {4, 128}};
    printf("kernel set %s, %d rows, best of %zu, microseconds (ratio to int8)\n", kt->name, ROWS, repeats);
    printf("%-10s %9s", "k->n", "int8");
    for (size_t v = 0; v < sizeof widths / sizeof *widths; v++) {
        char name[16];
        snprintf(name, sizeof name, "%u/%u", widths[v][0], widths[v][1]);
        printf(" %15s", name);
    }
    printf("\n");
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const size_t n = shapes[s][0], k = shapes[s][1];
        int8_t *a = alloc_random(ROWS * k), *weights = alloc_random(n * k);
        int32_t *c = alloc_random(ROWS * n * sizeof *c), *bias = alloc_random(n * sizeof *bias);
        for (size_t i = 0; i < n * k; i++)
            if (weights[i] == -128) weights[i] = -127;
        for (size_t j = 0; j < n; j++) bias[j] %= 1 << 20;
        void *packed = alloc_random(kt->linear->packed_size(n, k));
        kt->linear->pack(n, k, weights, bias, packed);
        const layer int8 = {kt, n, k, a, c, packed, NULL};
        const double t8 = best_us(&int8, repeats);
        printf("%4zu->%-5zu %9.1f", k, n, t8);
        for (size_t v = 0; v < sizeof widths / sizeof *widths; v++) {
            const unsigned bits = widths[v][0];
            const size_t group = widths[v][1], groups = group ? k / group : 1;
            const size_t row_bytes = lowbit_row_bytes(k, bits);
            uint8_t *codes = alloc_random(n * row_bytes), *sub = alloc_random(n * groups);
            for (size_t i = 0; i < n * groups; i++) sub[i] = (uint8_t)(1 + sub[i] % 32);
            const lowbit_weights w = {.bits = bits, .group_size = group, .row_bytes = row_bytes,
                                      .codes = codes, .sub = sub, .bias = bias};
            const layer low = {kt, n, k, a, c, NULL, &w};
            const double t = best_us(&low, repeats);
            printf(" %8.1f (%4.2f)", t, t / t8);
            free(codes);
            free(sub);
        }
        printf("\n");
        free(a);
        free(weights);
        free(c);
        free(bias);
        free(packed);
    }
    return 0;
}
