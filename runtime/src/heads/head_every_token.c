/* head_every_token.c: the per-token head of models/FORMAT.md §4.10: cls_out on
 * every computed token's final hidden state (token classification: C labels;
 * question answering: start and end). n * C * H products, on the calling thread
 * alone (a tenth of one layer's ffn_up for BIO tags on MiniLM). */
#include "heads.h"

void head_every_token(const ibert_context *ctx, size_t n, size_t n_tokens, int32_t *out) {
    const linear *cls = &ctx->model->cls_out;
    size_t c = cls->out;
    context_linear_columns(ctx, cls, n, ctx->buf.x, 0, c);
    rq_params out_rq = rescale_params(&cls->rq);
    ctx->kernels->requant_s32s32(n, c, ctx->buf.acc, c, &out_rq, LOGIT_BITS, out, c);
    for (size_t i = n * c; i < n_tokens * c; i++) out[i] = 0;
}
