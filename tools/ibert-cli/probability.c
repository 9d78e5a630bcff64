/*
 * probability.c: softmax of dequantized logits in Q30 fixed point.
 *
 * p_top = 1 / sum_j exp(-d_j) with d_j = (logit_top - logit_j) * scale >= 0, so
 * only exp of non-positive arguments is needed: exp(-d) = 2^-k * exp(-r) with
 * d = k*ln2 + r, 0 <= r < ln2, and exp(-r) from its Taylor series, which at
 * |r| < ln2 is within 2e-12 after 12 terms. Terms with d >= 32 (exp < 1.3e-14)
 * are dropped: even 4096 of them cannot move the fourth decimal (nor, below
 * 1e-5 of a point, a 30,000-token vocabulary's).
 */
#include "probability.h"

#define Q 30
#define ONE_Q ((int64_t)1 << Q)
#define LN2_Q INT64_C(744261118)        /* round(ln 2 * 2^30) */
#define NEGLIGIBLE_Q ((uint64_t)32 << Q) /* d from which exp(-d) counts as 0 */
#define TAYLOR_TERMS 12

size_t top_label(const int32_t *logits, size_t n) {
    size_t top = 0;
    for (size_t j = 1; j < n; j++) {
        if (logits[j] > logits[top]) top = j;
    }
    return top;
}

/* (logit_top - logit_j) * multiplier * 2^-shift in Q30, or NEGLIGIBLE_Q if it
 * is at least that large. The product of the 32-bit difference and the 31-bit
 * multiplier fits in 63 bits. */
static uint64_t difference_q30(int32_t top_logit, int32_t logit, ibert_scale scale) {
    uint64_t difference = (uint64_t)((int64_t)top_logit - logit);
    uint64_t product = difference * (uint64_t)scale.multiplier;
    int right = scale.shift - Q;
    uint64_t d;
    if (right > 0) {
        d = (product + ((uint64_t)1 << (right - 1))) >> right;
    } else {
        if (product >= (NEGLIGIBLE_Q >> -right)) return NEGLIGIBLE_Q;
        d = product << -right;
    }
    return d < NEGLIGIBLE_Q ? d : NEGLIGIBLE_Q;
}

/* exp(-d) in Q30 for 0 <= d < NEGLIGIBLE_Q (Q30). */
static int64_t exp_negative_q30(uint64_t d) {
    int64_t k = (int64_t)(d / (uint64_t)LN2_Q);
    int64_t r = (int64_t)d - k * LN2_Q;             /* 0 <= r < ln2, so term * r < 2^60 */
    int64_t term = ONE_Q, sum = ONE_Q;
    for (int i = 1; i <= TAYLOR_TERMS; i++) {
        term = ((term * r + (ONE_Q >> 1)) >> Q) / i;
        sum += (i % 2) ? -term : term;
    }
    return k == 0 ? sum : (sum + ((int64_t)1 << (k - 1))) >> k;
}

uint32_t probability_per_10000(const int32_t *logits, size_t n, size_t top, size_t j, ibert_scale scale) {
    int64_t sum = 0;                                /* at most 2^22 * 2^30 */
    for (size_t i = 0; i < n; i++) {
        uint64_t d = difference_q30(logits[top], logits[i], scale);
        if (d < NEGLIGIBLE_Q) sum += exp_negative_q30(d);
    }
    /* The top label's own term is exp(0) = 2^30, so sum >= 2^30; 10000 * 2^30 * exp(-d_j) < 2^44. */
    uint64_t d = difference_q30(logits[top], logits[j], scale);
    int64_t own = d < NEGLIGIBLE_Q ? exp_negative_q30(d) : 0;
    return (uint32_t)((10000 * own + sum / 2) / sum);
}

uint32_t top_probability_per_10000(const int32_t *logits, size_t n, size_t top, ibert_scale scale) {
    return probability_per_10000(logits, n, top, top, scale);
}
