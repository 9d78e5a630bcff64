/* softmax_rounding_cases.h: softmax rows whose exact probabilities are known in
 * closed form, at the two places format version 2's rounding decides
 * (FORMAT.md §4.6 step 2: P = min(255, (e * f + 2^53) >> 54)):
 *
 * - SOFTMAX_HALF: e * f lands exactly on a half for two keys (ties round up: 1,
 *   where version 1's floor gave 0);
 * - SOFTMAX_CAP: the largest key's e * f / 2^54 is 255.75, which rounds to 256 and
 *   the cap makes 255;
 * - SOFTMAX_ONE: a single key with e > 0, 256 capped to 255.
 *
 * With i-exp constants K = 1, b = 4, c = 2^20 (valid: c > 2^K (b - 2^K)), a key of
 * w = t - max = -2q (r = 0) has e = c >> q, exactly 2^(20 - q), and keys with
 * q > 30 have e = 0. HALF: e = 2^20, 2^19, ..., 2^13, 2^12, 2^12 sum to 2^21, so
 * f = 2^41 and P = e / 2^13: 128, 64, ..., 1 and 0.5 -> 1 twice. CAP: e = 2^20 and
 * 2^10, f = floor(2^62 / (2^20 + 2^10)), P = 256 * 1024 / 1025 -> 255 and 0.25 -> 0.
 * The other keys of a row have e = 0 (w = -62), so the rows can be as long as a test
 * wants (the SIMD kernels must meet these keys in every lane: `rotate` moves them),
 * and one of those keys can be masked without changing any P (the kernels' path for
 * rows with masked keys).
 *
 * The scores are s = t * 2^(shift - 30) with mult = 2^30 and shift 30, 31 or 32
 * (rq(s) = t exactly for each), the three ways the kernels rescale. */
#ifndef IBERT_TEST_SOFTMAX_ROUNDING_CASES_H
#define IBERT_TEST_SOFTMAX_ROUNDING_CASES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kernels/kernels.h"

enum softmax_case { SOFTMAX_HALF, SOFTMAX_CAP, SOFTMAX_ONE, SOFTMAX_CASES };

static const iexp_params SOFTMAX_CASE_EXP = {1, 4, 1 << 20};
static const int32_t SOFTMAX_CASE_MULT = 1 << 30;
/* the shifts 30, 31, 32: an int64 rescale, SQRDMULH, SQDMULH + shift on NEON */
#define SOFTMAX_CASE_SHIFTS 3

/* The q (e = c >> q) and the probability of each key that has e > 0. */
typedef struct softmax_case_key {
    int q;
    uint8_t p;
} softmax_case_key;

static size_t softmax_case_keys(enum softmax_case which, softmax_case_key *keys) {
    static const softmax_case_key HALF[] = {{0, 128}, {1, 64}, {2, 32}, {3, 16}, {4, 8},
                                            {5, 4},   {6, 2},  {7, 1},  {8, 1},  {8, 1}};
    static const softmax_case_key CAP[] = {{0, 255}, {10, 0}};
    static const softmax_case_key ONE[] = {{0, 255}};
    const softmax_case_key *src = which == SOFTMAX_HALF ? HALF : which == SOFTMAX_CAP ? CAP : ONE;
    const size_t count = which == SOFTMAX_HALF ? sizeof HALF / sizeof *HALF
                         : which == SOFTMAX_CAP ? sizeof CAP / sizeof *CAP
                                                : sizeof ONE / sizeof *ONE;
    for (size_t i = 0; i < count; i++) keys[i] = src[i];
    return count;
}

/* One row of n keys (n >= 11) for case `which`, its keys with e > 0 starting at
 * position `rotate` (mod n), scores for shift 30 + shift_index; want receives the
 * probabilities; mask marks every key attended, except one key with e = 0 when
 * masked_inside. Returns the shift. */
static int32_t softmax_case_row(enum softmax_case which, size_t n, size_t rotate, int shift_index, int masked_inside,
                                int32_t *scores, uint8_t *mask, uint8_t *want) {
    softmax_case_key keys[16];
    const size_t count = softmax_case_keys(which, keys);
    const int32_t scale = INT32_C(1) << shift_index;
    for (size_t j = 0; j < n; j++) {
        scores[j] = -62 * scale; /* e = 0 */
        mask[j] = 1;
        want[j] = 0;
    }
    for (size_t i = 0; i < count; i++) {
        const size_t j = (rotate + i) % n;
        scores[j] = -2 * keys[i].q * scale;
        want[j] = keys[i].p;
    }
    if (masked_inside) mask[(rotate + count) % n] = 0;
    return 30 + shift_index;
}

/* Rows of every case for n = 11 ... 40 keys (the 8- and 16-key blocks of the SIMD
 * kernels and their scalar ends), every rotation, each shift, with and without a
 * masked key, two rows per call (the second at a row stride of n + 3): the rows on
 * which `kernel` gives other probabilities than the closed form, the first printed. */
static long softmax_cases_wrong(softmax_s32u8_fn kernel, const char *name) {
    enum { CASE_MAX_N = 40, CASE_LD = CASE_MAX_N + 3 };
    int32_t scores[2 * CASE_LD];
    uint8_t mask[CASE_MAX_N], want[CASE_MAX_N], p[2 * CASE_LD];
    long wrong = 0;
    for (int which = 0; which < SOFTMAX_CASES; which++)
        for (size_t n = 11; n <= CASE_MAX_N; n++)
            for (size_t rotate = 0; rotate < n; rotate++)
                for (int si = 0; si < SOFTMAX_CASE_SHIFTS; si++)
                    for (int masked = 0; masked < 2; masked++) {
                        const int32_t shift = softmax_case_row((enum softmax_case)which, n, rotate, si, masked,
                                                               scores, mask, want);
                        for (size_t j = 0; j < n; j++) scores[n + 3 + j] = scores[j];
                        kernel(2, n, scores, n + 3, SOFTMAX_CASE_MULT, shift, mask, &SOFTMAX_CASE_EXP, p, n + 3);
                        for (size_t i = 0; i < 2; i++) {
                            size_t j = 0;
                            while (j < n && p[i * (n + 3) + j] == want[j]) j++;
                            if (j < n && wrong++ == 0)
                                fprintf(stderr, "%s: softmax case %d n=%zu rotate %zu shift %d masked %d: key %zu is "
                                        "%u, expected %u\n", name, which, n, rotate, shift, masked, j,
                                        p[i * (n + 3) + j], want[j]);
                        }
                    }
    return wrong;
}

/* Whether a kernel's scores (got) differ from the reference's (want) at an attended key of
 * one of m rows: the contract a version-5 softmax builds on is that every kernel leaves the
 * attended keys' exps e_ij in the scores (masked keys are scratch). */
static inline int softmax_exps_differ(size_t m, size_t n, const int32_t *want, const int32_t *got, size_t ld,
                                      const uint8_t *key_mask) {
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            if (key_mask[j] && got[i * ld + j] != want[i * ld + j]) return 1;
    return 0;
}

#endif
