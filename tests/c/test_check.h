/* test_check.h: what every C kernel test shares: named checks that count passes
 * and failures (printing the first 40 failures in full) and a small deterministic
 * random generator, so a failure reproduces, and an allocator that ends the test when
 * memory runs out. Each test is one translation unit:
 * define TEST_RNG_SEED (the generator's start) before including this. */
#ifndef IBERT_TEST_CHECK_H
#define IBERT_TEST_CHECK_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef TEST_RNG_SEED
#error "define TEST_RNG_SEED before including test_check.h"
#endif

static long passed, failed;

/* One named check: returns ok, and on failure prints name and the formatted detail. */
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

/* splitmix64 */
static uint64_t rng_state = TEST_RNG_SEED;
static inline uint64_t rand_u64(void) {
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* uniform in [lo, hi] for any lo <= hi below the full int64 range (the arithmetic is
 * unsigned, so hi - lo does not overflow) */
static inline int64_t rand_in(int64_t lo, int64_t hi) {
    return (int64_t)((uint64_t)lo + rand_u64() % ((uint64_t)hi - (uint64_t)lo + 1));
}

/* malloc that ends the test (exit 2: not a test failure) when memory runs out. */
static inline void *test_alloc(size_t size) {
    void *p = malloc(size ? size : 1);
    if (!p) {
        fprintf(stderr, "out of memory (%zu bytes)\n", size);
        exit(2);
    }
    return p;
}

#endif
