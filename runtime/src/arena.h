/* arena.h: the memory plan of one context, made for the model's longest sequence
 * and the context's thread count before any forward pass, so that a forward pass
 * never allocates. */
#ifndef IBERT_ARENA_H
#define IBERT_ARENA_H

#include <stddef.h>

#include "model.h"

/* Bytes a context of `threads` threads (>= 1) needs to run forward on up to
 * hp->max_tokens tokens, or 0 if that size does not fit in size_t. */
size_t arena_bytes_for(const model_hparams *hp, size_t threads);

#endif
