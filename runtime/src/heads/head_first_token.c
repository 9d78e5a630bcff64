/* head_first_token.c: the pooled head of models/FORMAT.md §4.10 (as §4.6 of
 * version 2): dense, integer tanh, classifier, on token 0's final hidden state.
 * One row of work (about H * H products), on the calling thread alone. */
#include "heads.h"

void head_first_token(const ibert_context *ctx, const iexp_params *e, int32_t *out) {
    const ibert_model *m = ctx->model;
    const kernel_table *kt = ctx->kernels;
    const arena_buffers *b = &ctx->buf;
    const linear *dense = &m->cls_dense, *cls = &m->cls_out;
    context_linear_columns(ctx, dense, 1, b->x, 0, dense->out);
    rq_params dense_rq = rescale_params(&dense->rq);
    kt->tanh_s32s8(dense->out, b->acc, &dense_rq, e, b->ctx);
    context_linear_columns(ctx, cls, 1, b->ctx, 0, cls->out);
    rq_params out_rq = rescale_params(&cls->rq);
    kt->requant_s32s32(1, cls->out, b->acc, cls->out, &out_rq, LOGIT_BITS, out, cls->out);
}
