/*
 * fill_mask.c: the top tokens at each mask token of a text, from the vocabulary
 * logits libibert computes for those positions alone (ibert_fill_mask_count rows).
 */
#include "fill_mask.h"

#include <stdio.h>
#include <stdlib.h>

#include "probability.h"

/* The k largest logits' indices of row, best first (the first index on ties). */
static void top_k(const int32_t *row, size_t n, size_t k, size_t *best) {
    for (size_t r = 0; r < k; r++) {
        size_t found = n;
        for (size_t j = 0; j < n; j++) {
            int taken = 0;
            for (size_t q = 0; q < r; q++) taken |= best[q] == j;
            if (!taken && (found == n || row[j] > row[found])) found = j;
        }
        best[r] = found;
    }
}

int fill_mask_print(const ibert_model *model, ibert_context *context, const int32_t *ids, size_t n_ids,
                    const char *text, size_t text_len, size_t text_number) {
    size_t k = ibert_fill_mask_count(model, ids, NULL, n_ids), vocab = ibert_model_vocab_size(model);
    if (k == 0) {
        fprintf(stderr, "ibert-cli: text %zu has no mask token\n", text_number);
        return 1;
    }
    int32_t *logits = malloc(sizeof *logits * k * vocab);
    if (!logits) {
        fprintf(stderr, "ibert-cli: out of memory for %zu x %zu logits\n", k, vocab);
        return 1;
    }
    if (ibert_forward(context, ids, NULL, NULL, n_ids, logits) != IBERT_OK) {
        fprintf(stderr, "ibert-cli: text %zu: %s\n", text_number, ibert_last_error());
        free(logits);
        return 1;
    }
    fwrite(text, 1, text_len, stdout);
    putchar('\n');
    ibert_scale scale = ibert_model_output_scale(model);
    size_t top = vocab < FILL_MASK_TOP_K ? vocab : FILL_MASK_TOP_K, best[FILL_MASK_TOP_K];
    for (size_t r = 0; r < k; r++) {
        const int32_t *row = logits + r * vocab;
        top_k(row, vocab, top, best);
        for (size_t q = 0; q < top; q++) {
            uint32_t p = probability_per_10000(row, vocab, best[0], best[q], scale);
            size_t len;
            const char *token = ibert_token_text(model, (int32_t)best[q], &len);
            printf("  mask %zu\t%u.%04u\t%.*s\n", r + 1, p / 10000, p % 10000, (int)len, token);
        }
    }
    free(logits);
    return 0;
}
