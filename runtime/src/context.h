/* context.h: what it takes to run forward passes on a model: the chosen kernels,
 * the threads that share each pass, and the arena of scratch buffers, planned
 * (arena.c) for the model's longest sequence and the context's thread count and
 * carved once when the context is made. */
#ifndef IBERT_CONTEXT_H
#define IBERT_CONTEXT_H

#include <stdint.h>

#include "kernels/kernels.h"
#include "model.h"
#include "threadpool.h"
#include "task.h"

/* Every buffer starts on a 64-byte boundary (a cache line, the widest SIMD load). */
#define ARENA_ALIGNMENT 64

/* What one thread needs for itself while it computes a head's attention. */
typedef struct head_scratch {
    int32_t *scores; /* [n, n] the head's q.k scores, then its exp values */
    uint8_t *probs;  /* [n, n] the head's attention probabilities */
} head_scratch;

/* The scratch of one forward pass, sizes for n = max_tokens tokens. */
typedef struct arena_buffers {
    int8_t *x;         /* [n, H] a layer's input, then its output */
    int8_t *q, *k, *v; /* [n, H] */
    int8_t *ctx;       /* [n, H] attention context; in the head, the tanh output [H] */
    int8_t *attn;      /* [n, H] the attention block's output (after its layer norm) */
    int8_t *ffn;       /* [n, F] the GELU output */
    int32_t *acc;      /* [max(n * max(H, F), C)] accumulators of every matrix product; also
                          the 22-bit residual sums and the 20-bit GELU input, in place */
    head_scratch *heads; /* [threads] one per thread: thread w computes its heads in heads[w] */
    uint8_t *key_mask; /* [n] 1 for a key that attention sees */
} arena_buffers;

/* Points bufs into base, an ARENA_ALIGNMENT-aligned block of
 * arena_bytes_for(hp, threads) bytes (which must not have returned 0). */
void arena_carve(const model_hparams *hp, size_t threads, void *base, arena_buffers *bufs);

/* How many tokens, from the first, layer `layer` of a forward pass over n tokens
 * computes as queries (its keys and values: always all n). n, but 1 in the last
 * layer of a model whose head reads token 0 alone (task_head HEAD_FIRST_TOKEN). */
static inline size_t layer_query_rows(const ibert_model *m, uint32_t layer, size_t n) {
    return task_head(m->hp.task) == HEAD_FIRST_TOKEN && layer + 1 == m->hp.num_layers ? 1 : n;
}

/* Logits are saturated to 32 bits (FORMAT.md §4.10). */
#define LOGIT_BITS 32

static inline rq_params rescale_params(const rescale *r) {
    rq_params p = {r->mult, r->shift, r->n > 1};
    return p;
}

struct ibert_context {
    const ibert_model *model;
    const kernel_table *kernels; /* the model's */
    threadpool *pool; /* the caller of ibert_forward and the context's workers */
    void *arena; /* the one allocation every buffer lives in */
    arena_buffers buf;
};

/* Columns j0 ... j1 - 1 of buf.acc (row stride l->out) = linear(x) for n rows of x
 * (row stride l->in), on the packed weights when the kernel set packs them (then
 * j0 is a multiple of its column_block). forward.c; the heads use it too. */
void context_linear_columns(const ibert_context *ctx, const linear *l, size_t n, const int8_t *x, size_t j0,
                            size_t j1);

#endif
