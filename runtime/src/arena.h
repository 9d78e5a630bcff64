/* arena.h: the memory plan of one context, made at load for the model's longest
 * sequence, so that a forward pass never allocates. */
#ifndef IBERT_ARENA_H
#define IBERT_ARENA_H

#include <stddef.h>

#include "model.h"

/* Bytes one context needs to run forward on up to hp->max_tokens tokens, or 0 if
 * that size does not fit in size_t. */
size_t arena_bytes_for(const model_hparams *hp);

#endif
