/* lowbit_driver.c: one linear layer, R times, through the kernel set kernels_select
 * picks (IBERT_KERNELS forces one), so bench/lowbit_instructions.py can count the
 * instructions of a low-bit layer against the int8 layer of the same shape: it runs
 * the driver under armcount with R = K and R = K + N and divides the difference by
 * N, which cancels the setup below.
 *
 *   lowbit_driver M N K BITS GROUP R
 *
 * M rows of int8 activations times a layer of N outputs and K inputs:
 *   BITS 8         the int8 linear layer as forward runs it: the set's packed linear
 *                  GEMM on weights packed here (kernel_table.linear), else
 *                  gemm_s8s8s32 on the plain weights
 *   BITS 2/3/4/6   kernel_table.gemm_lowbit on packed codes of that width with
 *                  groups of GROUP inputs (0: one group)
 * The operands are deterministic pseudo-random integers of the contracts' ranges
 * (sub-scales and biases kept within the loader's bound); the SIMD kernels' counts
 * do not depend on the values. Prints the kernel set's name; exits 2 on errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kernels/kernels.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rand_u64(void) { /* splitmix64 */
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void *alloc_random(size_t bytes) {
    uint8_t *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) {
        fprintf(stderr, "lowbit_driver: out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < bytes; i++) p[i] = (uint8_t)rand_u64();
    return p;
}

static size_t parse_size(const char *text, const char *what) {
    char *end;
    const unsigned long long v = strtoull(text, &end, 10);
    if (*text == '\0' || *end != '\0') {
        fprintf(stderr, "lowbit_driver: %s '%s' is not a number\n", what, text);
        exit(2);
    }
    return (size_t)v;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: lowbit_driver M N K BITS GROUP R\n");
        return 2;
    }
    const size_t m = parse_size(argv[1], "M"), n = parse_size(argv[2], "N"), k = parse_size(argv[3], "K");
    const size_t bits = parse_size(argv[4], "BITS"), group = parse_size(argv[5], "GROUP");
    const size_t repeats = parse_size(argv[6], "R");
    if (!m || !n || !k || k > 65536 || (bits != 8 && bits != 2 && bits != 3 && bits != 4 && bits != 6) ||
        (group != 0 && group != 32 && group != 64 && group != 128) || (group && k % group)) {
        fprintf(stderr, "lowbit_driver: M, N, K >= 1, K <= 65536, BITS 2/3/4/6/8, GROUP 0/32/64/128 dividing K\n");
        return 2;
    }
    const kernel_table *kt;
    if (kernels_select(&kt) != IBERT_OK) {
        fprintf(stderr, "lowbit_driver: %s\n", ibert_last_error());
        return 2;
    }
    int8_t *a = alloc_random(m * k);
    int32_t *c = alloc_random(m * n * sizeof *c);
    int32_t *bias = alloc_random(n * sizeof *bias);
    for (size_t j = 0; j < n; j++) bias[j] %= 1 << 20;
    if (bits == 8) {
        int8_t *weights = alloc_random(n * k);
        for (size_t i = 0; i < n * k; i++)
            if (weights[i] == -128) weights[i] = -127; /* the format's int8 weights */
        void *packed = kt->linear ? alloc_random(kt->linear->packed_size(n, k)) : NULL;
        if (packed) kt->linear->pack(n, k, weights, bias, packed);
        for (size_t r = 0; r < repeats; r++) {
            if (packed) kt->linear->gemm(m, 0, n, k, a, k, packed, c, n);
            else kt->gemm_s8s8s32(m, n, k, a, k, weights, k, bias, c, n);
        }
        free(weights);
        free(packed);
    } else {
        const size_t groups = group ? k / group : 1, row_bytes = (k + 127) / 128 * 16 * bits;
        uint8_t *codes = alloc_random(n * row_bytes), *sub = alloc_random(n * groups);
        /* sub-scales 1 ... 63 below the bound k * 2^(bits-1) * 128 * s + |bias| < 2^31 */
        size_t max_sub = ((size_t)1 << 30) / (k << (bits - 1)) / 128;
        if (max_sub > 63) max_sub = 63;
        for (size_t i = 0; i < n * groups; i++) sub[i] = group ? (uint8_t)(1 + sub[i] % max_sub) : 1;
        const lowbit_weights w = {.bits = (unsigned)bits, .group_size = group, .row_bytes = row_bytes,
                                  .codes = codes, .sub = sub, .bias = bias};
        for (size_t r = 0; r < repeats; r++) kt->gemm_lowbit(m, 0, n, k, a, k, &w, c, n);
        free(codes);
        free(sub);
    }
    printf("%s\n", kt->name);
    free(a);
    free(c);
    free(bias);
    return 0;
}
