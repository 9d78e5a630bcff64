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
 * (rq(s) = t exactly for each), the three ways the kernels rescale.
 *
 * Also here, for the x86 and NEON tests alike: the contract check on the exps a softmax
 * leaves in the scores, and exp16_finish_check, a kernel set's version-5 finish
 * against softmax_exp16_finish_u8__ref on generated rows (it uses test_check.h, which
 * every includer includes first). */
#ifndef IBERT_TEST_SOFTMAX_ROUNDING_CASES_H
#define IBERT_TEST_SOFTMAX_ROUNDING_CASES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kernels/kernels.h"

#ifndef IBERT_TEST_CHECK_H
#error "include test_check.h before softmax_rounding_cases.h"
#endif

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

/* ---- the version-5 finish (FORMAT.md §4.6 step 2, attn_exp16) ---- */

/* i-exp's c, the largest exp of a row: the smallest valid one (K = 1, b = 4: c > 2 (4 - 2)),
 * the converter's, the largest (2^30) and one at random. */
static inline int32_t exp16_case_c(int which) {
    static const int32_t ends[] = {5, 6093716, 1 << 30};
    return which < 3 ? ends[which] : (int32_t)rand_in(5, 1 << 30);
}

/* The largest shift s <= 62 with rq(c, mult, s) >= 1 (s = 1 always qualifies for mult >= 1). */
static inline int32_t exp16_case_smallest_shift(int32_t c, int32_t mult) {
    int32_t s = 62;
    while (fp_rq(c, mult, s) < 1) s--;
    return s;
}

/* Rescale kinds, each valid for c as the loader checks (mult > 0, rq(c) >= 1): the smallest
 * (mult 1, rq(c) = 1: most keys round to 0 and a row's sum can be 1, where f = 2^32), a
 * normalized mult with the largest shift, c near 2^15 (the converter's: the largest keys
 * clamped at 32767 or not), a saturating one (INT32_MAX, 1: rq(e) beyond 32 bits), shift 31
 * or 32 (where NEON's two rescale paths meet), and a random mult and shift. */
enum exp16_rescale { EXP16_RQ_SMALLEST, EXP16_RQ_NORMALIZED, EXP16_RQ_NEAR_2_15, EXP16_RQ_SATURATING,
                     EXP16_RQ_SHIFT_31_32, EXP16_RQ_RANDOM, EXP16_RQ_KINDS };

static inline void exp16_case_rescale(enum exp16_rescale which, int32_t c, int32_t *mult, int32_t *shift) {
    switch (which) {
    case EXP16_RQ_SMALLEST: *mult = 1, *shift = exp16_case_smallest_shift(c, 1); return;
    case EXP16_RQ_NORMALIZED:
        *mult = (int32_t)rand_in(1 << 30, INT32_MAX), *shift = exp16_case_smallest_shift(c, *mult);
        return;
    case EXP16_RQ_NEAR_2_15: /* rq(c) in [2^14, 2^15), or twice that */
        *mult = (int32_t)rand_in(1 << 30, INT32_MAX);
        *shift = 62;
        while (fp_rq(c, *mult, *shift) < 1 << 14) --*shift;
        *shift -= (int32_t)rand_in(0, *shift > 1);
        return;
    case EXP16_RQ_SATURATING: *mult = INT32_MAX, *shift = 1; return;
    case EXP16_RQ_SHIFT_31_32:
        *shift = (int32_t)rand_in(31, 32);
        do *mult = (int32_t)rand_in(1, INT32_MAX);
        while (fp_rq(c, *mult, *shift) < 1);
        return;
    default:
        do {
            *mult = (int32_t)rand_in(1, INT32_MAX >> rand_in(0, 30));
            *shift = (int32_t)rand_in(1, 62);
        } while (fp_rq(c, *mult, *shift) < 1);
        return;
    }
}

/* The exps of attended keys, in [0, c]: uniform, of a random bit length, or only 0, 1,
 * c - 1 and c. Masked keys hold scratch: any int32. */
enum exp16_exps { EXP16_E_UNIFORM, EXP16_E_SCALED, EXP16_E_EXTREMES, EXP16_E_KINDS };

static inline int32_t exp16_case_exp(enum exp16_exps which, int32_t c) {
    const int32_t ends[] = {0, 1, c - 1, c};
    switch (which) {
    case EXP16_E_UNIFORM: return (int32_t)rand_in(0, c);
    case EXP16_E_SCALED: return (int32_t)rand_in(0, c >> rand_in(0, 30));
    default: return ends[rand_u64() % 4];
    }
}

/* Mask kinds: all attended, none, random, a prefix (a padded batch), one key, the last key. */
enum exp16_mask { EXP16_M_ALL, EXP16_M_NONE, EXP16_M_RANDOM, EXP16_M_PREFIX, EXP16_M_ONE, EXP16_M_LAST, EXP16_M_KINDS };

static inline void exp16_case_mask(enum exp16_mask which, size_t n, uint8_t *mask) {
    const size_t end = rand_u64() % n, one = rand_u64() % n;
    for (size_t j = 0; j < n; j++) {
        switch (which) {
        case EXP16_M_ALL: mask[j] = 1; break;
        case EXP16_M_RANDOM: mask[j] = (uint8_t)(rand_u64() % 2 ? rand_in(1, 255) : 0); break;
        case EXP16_M_PREFIX: mask[j] = j <= end; break;
        case EXP16_M_ONE: mask[j] = j == one; break;
        case EXP16_M_LAST: mask[j] = j == n - 1; break;
        default: mask[j] = 0; break;
        }
    }
}

/* The version-5 finish `kernel` against softmax_exp16_finish_u8__ref, as named checks: rows
 * of n = 1 ... 131 keys (odd n and the 8- and 16-key blocks' scalar ends) at row strides n and
 * n + 3, every c, rescale, exp and mask kind above, each attended row with its largest key at
 * e = c (as a softmax leaves it). The probabilities must match everywhere (fully masked rows
 * unwritten), the stored e16 at attended keys, and the padding must come back untouched. A
 * coverage check makes sure the rows reach a sum of 1, clamped exps and P strictly inside
 * (0, 255). */
static inline void exp16_finish_check(softmax_exp16_finish_fn kernel, const char *name) {
    enum { EXP16_ROWS = 3, EXP16_MAX_N = 131, EXP16_LD = EXP16_MAX_N + 3 };
    static const size_t EXP16_SIZES[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 128, 131};
    static int32_t in[EXP16_ROWS * EXP16_LD], want[EXP16_ROWS * EXP16_LD], got[EXP16_ROWS * EXP16_LD];
    static uint8_t mask[EXP16_MAX_N], want_p[EXP16_ROWS * EXP16_LD], got_p[EXP16_ROWS * EXP16_LD];
    long cases = 0, bad = 0, sum_one = 0, clamped = 0, middle = 0;
    for (size_t in_n = 0; in_n < sizeof EXP16_SIZES / sizeof *EXP16_SIZES; in_n++)
        for (int ci = 0; ci < 4; ci++)
            for (int rk = 0; rk < EXP16_RQ_KINDS; rk++)
                for (int ek = 0; ek < EXP16_E_KINDS; ek++)
                    for (int mk = 0; mk < EXP16_M_KINDS; mk++, cases++) {
                        const size_t n = EXP16_SIZES[in_n], ld = n + (cases % 2 ? 3 : 0);
                        const int32_t c = exp16_case_c(ci);
                        int32_t mult, shift;
                        exp16_case_rescale((enum exp16_rescale)rk, c, &mult, &shift);
                        const rq_params exp16 = {&mult, &shift, 0};
                        exp16_case_mask((enum exp16_mask)mk, n, mask);
                        for (size_t i = 0; i < EXP16_ROWS * ld; i++) {
                            const size_t j = i % ld;
                            in[i] = j >= n ? 0x5a5a5a5a
                                    : mask[j] ? exp16_case_exp((enum exp16_exps)ek, c)
                                              : (int32_t)rand_u64();
                        }
                        for (size_t i = 0; i < EXP16_ROWS; i++) {
                            const size_t top = rand_u64() % n;
                            for (size_t j = 0; j < n; j++)
                                if (mask[(top + j) % n]) {
                                    in[i * ld + (top + j) % n] = c;
                                    break;
                                }
                        }
                        memcpy(want, in, sizeof in);
                        memcpy(got, in, sizeof in);
                        memset(want_p, 0x5a, sizeof want_p);
                        memset(got_p, 0x5a, sizeof got_p);
                        softmax_exp16_finish_u8__ref(EXP16_ROWS, n, want, ld, &exp16, mask, want_p, ld);
                        kernel(EXP16_ROWS, n, got, ld, &exp16, mask, got_p, ld);
                        int differ = memcmp(want_p, got_p, sizeof want_p) != 0 ||
                                     softmax_exps_differ(EXP16_ROWS, n, want, got, ld, mask);
                        for (size_t i = 0; i < EXP16_ROWS; i++) {
                            int64_t sum = 0;
                            for (size_t j = 0; j < ld; j++) {
                                differ |= j >= n && got[i * ld + j] != in[i * ld + j];
                                if (j >= n || !mask[j]) continue;
                                sum += want[i * ld + j];
                                clamped += want[i * ld + j] == FP_EXP16_MAX;
                                middle += want_p[i * ld + j] > 0 && want_p[i * ld + j] < 255;
                            }
                            sum_one += sum == 1;
                        }
                        if (differ && bad++ == 0)
                            fprintf(stderr, "%s: exp16 finish n=%zu ld=%zu c=%d rescale %d * 2^-%d exps %d mask %d "
                                    "differs from the reference\n", name, n, ld, c, mult, shift, ek, mk);
                    }
    check(bad == 0, name, "softmax_exp16_finish: %ld of %ld cases differ from the reference", bad, cases);
    check(sum_one > 0 && clamped > 0 && middle > 0, name,
          "softmax_exp16_finish coverage: %ld rows with sum 1, %ld exps clamped, %ld P in 1 ... 254", sum_one,
          clamped, middle);
}

#endif
