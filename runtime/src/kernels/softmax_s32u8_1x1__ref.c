/* softmax_s32u8_1x1__ref: attention probabilities through i-exp (FORMAT.md §4.6
 * step 2), rounded to nearest (format version 2). Masked keys take part in neither the max nor the sum and get 0. The
 * file's attn_scores rescale keeps |t| <= 2^30, so t and e fit the int32 scores
 * row, which holds t and then e between the passes (and keeps e: the kernels'
 * contract, kernels.h).
 *
 * softmax_exp16_finish_u8__ref: after any kernel set's softmax, P again from the
 * exps it left in the scores, requantized to 16 bits and floored as Hugging Face's
 * I-BERT IntSoftmax computes it (format version 5, a layer with an attn_exp16
 * rescale). Only I-BERT files run it; the NEON, AVX2 and AVX-512 sets have twins. */
#include "kernels/kernels.h"

void softmax_s32u8_1x1__ref(size_t m, size_t n, int32_t *scores, size_t lds, int32_t mult, int32_t shift,
                            const uint8_t *key_mask, const iexp_params *e, uint8_t *p, size_t ldp) {
    for (size_t i = 0; i < m; i++) {
        int32_t *s = scores + i * lds;
        uint8_t *p_row = p + i * ldp;
        int any = 0;
        int32_t max_t = 0;
        for (size_t j = 0; j < n; j++) {
            if (!key_mask[j]) continue;
            s[j] = (int32_t)fp_rq(s[j], mult, shift);
            if (!any || s[j] > max_t) max_t = s[j];
            any = 1;
        }
        int64_t sum = 0; /* >= c when any key is attended: the max key contributes iexp(0) = c */
        for (size_t j = 0; j < n; j++) {
            if (!key_mask[j]) continue;
            s[j] = fp_iexp((int64_t)s[j] - max_t, e);
            sum += s[j];
        }
        /* 2^62 / sum keeps >= 19 bits in f for any row (sum <= n * c <= 2^43), and e <= sum keeps e * f <= 2^62 */
        int64_t f = any ? (INT64_C(1) << 62) / sum : 0;
        for (size_t j = 0; j < n; j++) p_row[j] = key_mask[j] ? fp_softmax_prob(s[j], f) : 0;
    }
}

void softmax_exp16_finish_u8__ref(size_t m, size_t n, int32_t *exps, size_t lds, const rq_params *exp16,
                                  const uint8_t *key_mask, uint8_t *p, size_t ldp) {
    const int32_t mult = exp16->mult[0], shift = exp16->shift[0];
    if (!kernel_any_attended(n, key_mask)) return;
    for (size_t i = 0; i < m; i++) {
        int32_t *e = exps + i * lds;
        uint8_t *p_row = p + i * ldp;
        int64_t sum = 0; /* >= 1: the loader keeps rq(c) >= 1, and the row's largest key has e = c */
        for (size_t j = 0; j < n; j++) {
            e[j] = key_mask[j] ? fp_exp16(e[j], mult, shift) : 0;
            sum += e[j];
        }
        int64_t f = (INT64_C(1) << 32) / sum;
        for (size_t j = 0; j < n; j++) p_row[j] = fp_exp16_prob(e[j], f);
    }
}
