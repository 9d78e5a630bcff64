/* pooling.h: the sentence-embedding head (models/FORMAT.md §4.10). */
#ifndef IBERT_HEADS_POOLING_H
#define IBERT_HEADS_POOLING_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* The embedding of one sequence into out[0 ... H-1]: each of the n_rows rows of r
 * (the last layer's 22-bit residual sums, row stride H) through the 16-bit pool
 * layer norm, pooled as the model says over the rows whose key_mask is 1 (CLS:
 * row 0 alone, so n_rows may be 1), then L2-normalized if the model says so. */
void pool_embedding(const ibert_model *m, const int32_t *r, size_t n_rows, const uint8_t *key_mask, int32_t *out);

#endif
