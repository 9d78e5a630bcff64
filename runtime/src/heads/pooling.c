/* pooling.c: the sentence-embedding head of models/FORMAT.md §4.10, scalar C for
 * every kernel set (one row of output per sequence: next to the encoder, the
 * work is negligible, and one implementation is bit-exact by construction).
 *
 * The pool reads the last layer's residual sums rather than its int8 output: its
 * own layer norm keeps 16 bits, so mean pooling averages values that int8 would
 * have rounded to a handful of levels per channel. out doubles as the accumulator:
 * a mean's sum of at most 8192 rows of 16-bit values stays below 2^28. */
#include "pooling.h"

#include "kernels/fixed_point.h"

#define POOL_BITS 16
#define NORMALIZED_SHIFT 15 /* a normalized embedding has scale 2^-15 */
#define NORM_EXTRA_BITS 9   /* the squared norm is taken 2^18 larger: sqrt to 9 more bits */

/* Row i of r through §4.5's layer norm, saturated to 16 bits, handed to `take`
 * channel by channel (the pooling's step). */
typedef void (*take_fn)(int32_t *out, size_t j, int32_t z);

static void take_sum(int32_t *out, size_t j, int32_t z) { out[j] += z; }
static void take_max(int32_t *out, size_t j, int32_t z) { out[j] = z > out[j] ? z : out[j]; }
static void take_copy(int32_t *out, size_t j, int32_t z) { out[j] = z; }

static void pool_norm_row(const rescale *norm, const int32_t *row, size_t h, take_fn take, int32_t *out) {
    int64_t mean, f;
    fp_layernorm_stats(row, h, &mean, &f);
    for (size_t j = 0; j < h; j++) {
        int64_t nrm = ((row[j] - mean) * f) >> 1;
        take(out, j, (int32_t)fp_sat((nrm * norm->mult[j] + norm->bias[j]) >> norm->shift[j], POOL_BITS));
    }
}

/* out = round(p * 2^15 / |p|), p = out; 0 for p = 0. |p| < 2^15 per element and
 * H <= 8192, so the squares sum below 2^43 and times 2^18 below 2^61. */
static void l2_normalize(int32_t *out, size_t h) {
    uint64_t squares = 0;
    for (size_t j = 0; j < h; j++) squares += (uint64_t)((int64_t)out[j] * out[j]);
    if (squares == 0) return;
    int64_t norm = (int64_t)fp_isqrt_u64(squares << (2 * NORM_EXTRA_BITS));
    for (size_t j = 0; j < h; j++) {
        int64_t numerator = (int64_t)out[j] * (INT64_C(1) << (NORMALIZED_SHIFT + NORM_EXTRA_BITS + 1));
        out[j] = (int32_t)fp_floor_div(numerator + norm, 2 * norm);
    }
}

void pool_embedding(const ibert_model *m, const int32_t *r, size_t n_rows, const uint8_t *key_mask, int32_t *out) {
    size_t h = m->hp.hidden_size, count = 0;
    const rescale *norm = &m->pool_norm;
    for (size_t j = 0; j < h; j++) out[j] = 0;
    if (m->pool_mode == POOL_CLS) {
        pool_norm_row(norm, r, h, take_copy, out);
    } else {
        for (size_t i = 0; i < n_rows; i++) {
            if (!key_mask[i]) continue;
            /* max starts from the first unmasked row itself */
            take_fn take = m->pool_mode == POOL_MEAN ? take_sum : count == 0 ? take_copy : take_max;
            pool_norm_row(norm, r + i * h, h, take, out);
            count++;
        }
        if (m->pool_mode == POOL_MEAN && count > 0)
            for (size_t j = 0; j < h; j++)
                out[j] = (int32_t)fp_floor_div(2 * (int64_t)out[j] + (int64_t)count, 2 * (int64_t)count);
    }
    if (m->normalize) l2_normalize(out, h);
}
