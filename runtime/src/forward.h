/* forward.h: the pieces of forward.c that the heads (runtime/src/heads/) run on
 * their own rows: a linear layer split over the context's threads. */
#ifndef IBERT_FORWARD_H
#define IBERT_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include "context.h"

/* i-GELU's input is saturated to 20 bits (FORMAT.md §4.6 step 5). */
#define GELU_INPUT_BITS 20

/* What a linear layer's column blocks do after the matrix product. */
typedef enum epilogue {
    KEEP_ACC,    /* leave the accumulators in acc (a residual sum follows) */
    REQUANT_S8,  /* out = sat_8(rq(acc)) */
    GELU,        /* t = sat_20(rq(acc)) in place, out = sat_8(rq(igelu(t))) (§4.6 step 5) */
    REQUANT_S32, /* acc = sat_bits(rq(acc)) in place (logits) */
} epilogue;

typedef struct linear_job {
    const ibert_context *ctx;
    const linear *l;
    size_t n; /* rows */
    const int8_t *x;
    epilogue then;
    int8_t *out;            /* REQUANT_S8 and GELU */
    const igelu_params *g;  /* GELU only */
    const rescale *gelu_rq; /* GELU only */
    int32_t *acc;           /* the accumulators, n rows of stride l->out; NULL: buf.acc */
    unsigned bits;          /* REQUANT_S32 only */
    size_t block;           /* set by linear_forward */
} linear_job;

/* acc = linear(x) for job->n rows of x (row stride l->in), then the epilogue,
 * split by blocks of output columns over the context's threads. */
void linear_forward(linear_job *job);

#endif
