/*
 * fill_mask.h: ibert-cli on a fill-mask model: the top tokens at each mask token.
 */
#ifndef IBERT_CLI_FILL_MASK_H
#define IBERT_CLI_FILL_MASK_H

#include <stddef.h>
#include <stdint.h>

#include "ibert.h"

enum { FILL_MASK_TOP_K = 5 };

/* Runs the n_ids ids of one text and prints the text, then per mask token
 * FILL_MASK_TOP_K lines "  mask <r>\t<probability>\t<token>" (the token as the
 * vocabulary spells it), best first. A text without a mask token is an error.
 * Returns 0, or nonzero after printing why to stderr. */
int fill_mask_print(const ibert_model *model, ibert_context *context, const int32_t *ids, size_t n_ids,
                    const char *text, size_t text_len, size_t text_number);

#endif
