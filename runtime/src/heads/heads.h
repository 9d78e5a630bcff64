/* heads.h: the task heads of models/FORMAT.md §4.10, run by ibert_forward on the
 * final hidden states in buf.x. Integer arithmetic only, nothing allocated. */
#ifndef IBERT_HEADS_H
#define IBERT_HEADS_H

#include "context.h"

/* Pooler and classifier on token 0 (sequence classification, regression,
 * multiple choice): C logits into out. */
void head_first_token(const ibert_context *ctx, const iexp_params *e, int32_t *out);

/* cls_out on each of the first n rows (token classification, question answering):
 * [n_tokens, C] logits into out, rows n ... n_tokens - 1 (the padding the pass
 * left out) 0. */
void head_every_token(const ibert_context *ctx, size_t n, size_t n_tokens, int32_t *out);

#endif
