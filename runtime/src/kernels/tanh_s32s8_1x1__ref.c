/* tanh_s32s8_1x1__ref: the classification head's integer tanh (FORMAT.md §4.6,
 * Head). u is in the exp domain at scale ln2 / 2^(K+1), so iexp(-|u|) stands for
 * e^(-2|x|) and tanh|x| = (1 - e) / (1 + e); the result is rounded to the
 * nearest multiple of 1/127 (ties up) with non-negative int64 division. */
#include "kernels/kernels.h"

#define TANH_CLAMP (INT64_C(1) << 30)

void tanh_s32s8_1x1__ref(size_t n, const int32_t *acc, const rq_params *rq, const iexp_params *e, int8_t *y) {
    for (size_t j = 0; j < n; j++) {
        size_t ch = rq->per_channel ? j : 0;
        int64_t u = fp_rq(acc[j], rq->mult[ch], rq->shift[ch]);
        if (u > TANH_CLAMP) u = TANH_CLAMP;
        if (u < -TANH_CLAMP) u = -TANH_CLAMP;
        int64_t ex = fp_iexp(u < 0 ? u : -u, e);
        int64_t c = e->c;
        int64_t magnitude = (254 * (c - ex) + (c + ex)) / (2 * (c + ex));
        y[j] = (int8_t)(u > 0 ? magnitude : u < 0 ? -magnitude : 0);
    }
}
