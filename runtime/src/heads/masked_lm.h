/* masked_lm.h: the fill-mask head (models/FORMAT.md §4.10). */
#ifndef IBERT_MASKED_LM_H
#define IBERT_MASKED_LM_H

#include <stddef.h>
#include <stdint.h>

#include "context.h"

/* The vocabulary logits of the positions i < n whose id is the model's mask token
 * and whose key_mask (buf.key_mask) is 1, from the final hidden states in buf.x:
 * row r of out (vocab_size int32) for the r-th such position. */
void masked_lm_forward(const ibert_context *ctx, const int32_t *ids, size_t n, const igelu_params *g, int32_t *out);

#endif
