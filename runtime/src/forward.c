/* forward.c: ibert_forward, the encoder of models/FORMAT.md §4.6 on one sequence:
 * embeddings, the layers, then the classification head or the final hidden
 * states. It checks the caller's arguments, then runs the context's kernels on
 * the context's arena; nothing here allocates and nothing uses floating point. */
#include <inttypes.h>

#include "context.h"
#include "error.h"

#define GELU_INPUT_BITS 20
#define LOGIT_BITS 32

static rq_params rq_of(const rescale *r) {
    rq_params p = {r->mult, r->shift, r->n > 1};
    return p;
}

static ibert_status check_arguments(const ibert_context *ctx, const int32_t *ids, const int32_t *types,
                                    const int32_t *mask, size_t n, const int32_t *out) {
    if (!ctx) return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "ibert_forward: context is NULL");
    if (!ids) return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "ibert_forward: input_ids is NULL");
    if (!out) return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "ibert_forward: out is NULL");
    const model_hparams *hp = &ctx->model->hp;
    if (n < 1 || n > hp->max_tokens)
        return ibert_fail(IBERT_ERR_INVALID_ARGUMENT,
                          "ibert_forward: n_tokens is %zu, expected 1 ... %" PRIu32 " (the model's maximum)", n,
                          hp->max_tokens);
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || (uint32_t)ids[i] >= hp->vocab_size)
            return ibert_fail(IBERT_ERR_INVALID_ARGUMENT,
                              "ibert_forward: input_ids[%zu] is %" PRId32 ", outside the vocabulary 0 ... %" PRIu32,
                              i, ids[i], hp->vocab_size - 1);
        if (types && (types[i] < 0 || (uint32_t)types[i] >= hp->type_vocab_size))
            return ibert_fail(IBERT_ERR_INVALID_ARGUMENT,
                              "ibert_forward: token_type_ids[%zu] is %" PRId32 ", expected 0 ... %" PRIu32, i,
                              types[i], hp->type_vocab_size - 1);
        if (mask && mask[i] != 0 && mask[i] != 1)
            return ibert_fail(IBERT_ERR_INVALID_ARGUMENT,
                              "ibert_forward: attention_mask[%zu] is %" PRId32 ", expected 0 or 1", i, mask[i]);
    }
    return IBERT_OK;
}

/* e[i] = sat_22(rq(token) + rq(position) + rq(type)) into acc, then the embedding
 * layer norm into x. */
static void embed(ibert_context *ctx, const int32_t *ids, const int32_t *types, size_t n) {
    const ibert_model *m = ctx->model;
    size_t h = m->hp.hidden_size;
    const rescale *tok_rq = &m->token_embd_rq, *pos_rq = &m->pos_embd_rq, *type_rq = &m->token_types_rq;
    for (size_t i = 0; i < n; i++) {
        const int8_t *tok = m->token_embd + (size_t)ids[i] * h;
        const int8_t *pos = m->pos_embd + (m->hp.position_offset + i) * h;
        const int8_t *type = m->token_types + (types ? (size_t)types[i] : 0) * h;
        int32_t *e = ctx->buf.acc + i * h;
        for (size_t j = 0; j < h; j++) {
            int64_t sum = fp_rq(tok[j], tok_rq->mult[0], tok_rq->shift[0]) +
                          fp_rq(pos[j], pos_rq->mult[0], pos_rq->shift[0]) +
                          fp_rq(type[j], type_rq->mult[0], type_rq->shift[0]);
            e[j] = (int32_t)fp_sat(sum, KERNEL_RESIDUAL_BITS);
        }
    }
    ctx->kernels->layernorm_s32s8(n, h, ctx->buf.acc, h, m->embd_norm.mult, m->embd_norm.shift, m->embd_norm.bias,
                                  ctx->buf.x, h);
}

/* acc = linear(x) for n rows of x (row stride l->in), on the packed weights when the
 * kernel set packs them. */
static void linear_acc(const ibert_context *ctx, const linear *l, size_t n, const int8_t *x) {
    const linear_packing *lp = ctx->kernels->linear;
    if (lp)
        lp->gemm(n, 0, l->out, l->in, x, l->in, l->packed, ctx->buf.acc, l->out);
    else
        ctx->kernels->gemm_s8s8s32(n, l->out, l->in, x, l->in, l->weight, l->in, l->bias, ctx->buf.acc, l->out);
}

/* out = sat_8(rq(linear(x))), n x l->out. */
static void linear_s8(const ibert_context *ctx, const linear *l, size_t n, const int8_t *x, int8_t *out) {
    linear_acc(ctx, l, n, x);
    rq_params rq = rq_of(&l->rq);
    ctx->kernels->requant_s32s8(n, l->out, ctx->buf.acc, l->out, &rq, out, l->out);
}

/* §4.6 steps 1-3: the attention context of every head into buf.ctx. */
static void attention(const ibert_context *ctx, const encoder_layer *layer, size_t n, const iexp_params *e) {
    const kernel_table *kt = ctx->kernels;
    const arena_buffers *b = &ctx->buf;
    size_t h = ctx->model->hp.hidden_size, d = ctx->model->hp.head_size;
    linear_s8(ctx, &layer->attn_q, n, b->x, b->q);
    linear_s8(ctx, &layer->attn_k, n, b->x, b->k);
    linear_s8(ctx, &layer->attn_v, n, b->x, b->v);
    rq_params ctx_rq = rq_of(&layer->attn_ctx);
    for (size_t head = 0; head < ctx->model->hp.num_heads; head++) {
        size_t col = head * d;
        kt->gemm_s8s8s32(n, n, d, b->q + col, h, b->k + col, h, NULL, b->scores, n);
        kt->softmax_s32u8(n, n, b->scores, n, layer->attn_scores.mult[0], layer->attn_scores.shift[0], b->key_mask,
                          e, b->probs, n);
        kt->gemm_u8s8s32(n, d, n, b->probs, n, b->v + col, h, b->acc, d);
        kt->requant_s32s8(n, d, b->acc, d, &ctx_rq, b->ctx + col, h);
    }
}

/* One encoder layer: buf.x in, buf.x out. */
static void encoder_layer_forward(const ibert_context *ctx, const encoder_layer *layer, size_t n,
                                  const iexp_params *e, const igelu_params *g) {
    const kernel_table *kt = ctx->kernels;
    const arena_buffers *b = &ctx->buf;
    size_t h = ctx->model->hp.hidden_size, f = ctx->model->hp.intermediate_size;

    attention(ctx, layer, n, e);
    /* step 4: r = sat_22(rq(linear(ctx)) + rq(x)); a = LN(r) */
    linear_acc(ctx, &layer->attn_out, n, b->ctx);
    rq_params out_rq = rq_of(&layer->attn_out.rq), res_rq = rq_of(&layer->attn_res);
    kt->residual_s32s8s32(n, h, b->acc, h, &out_rq, b->x, h, &res_rq, b->acc, h);
    kt->layernorm_s32s8(n, h, b->acc, h, layer->attn_norm.mult, layer->attn_norm.shift, layer->attn_norm.bias,
                        b->attn, h);
    /* step 5: t = sat_20(rq(linear(a))); u = sat_8(rq(igelu(t))) */
    linear_acc(ctx, &layer->ffn_up, n, b->attn);
    rq_params up_rq = rq_of(&layer->ffn_up.rq);
    kt->requant_s32s32(n, f, b->acc, f, &up_rq, GELU_INPUT_BITS, b->acc, f);
    kt->gelu_s32s8(n, f, b->acc, f, g, layer->ffn_gelu.mult[0], layer->ffn_gelu.shift[0], b->ffn, f);
    /* step 6: r = sat_22(rq(linear(u)) + rq(a)); x' = LN(r) */
    linear_acc(ctx, &layer->ffn_down, n, b->ffn);
    rq_params down_rq = rq_of(&layer->ffn_down.rq), ffn_res_rq = rq_of(&layer->ffn_res);
    kt->residual_s32s8s32(n, h, b->acc, h, &down_rq, b->attn, h, &ffn_res_rq, b->acc, h);
    kt->layernorm_s32s8(n, h, b->acc, h, layer->ffn_norm.mult, layer->ffn_norm.shift, layer->ffn_norm.bias, b->x, h);
}

/* The classification head on the first token: dense, integer tanh, classifier. */
static void head(const ibert_context *ctx, const iexp_params *e, int32_t *logits) {
    const ibert_model *m = ctx->model;
    const arena_buffers *b = &ctx->buf;
    linear_acc(ctx, &m->cls_dense, 1, b->x);
    rq_params dense_rq = rq_of(&m->cls_dense.rq);
    ctx->kernels->tanh_s32s8(m->cls_dense.out, b->acc, &dense_rq, e, b->ctx);
    linear_acc(ctx, &m->cls_out, 1, b->ctx);
    rq_params out_rq = rq_of(&m->cls_out.rq);
    ctx->kernels->requant_s32s32(1, m->cls_out.out, b->acc, m->cls_out.out, &out_rq, LOGIT_BITS, logits,
                                 m->cls_out.out);
}

ibert_status ibert_forward(ibert_context *context, const int32_t *input_ids, const int32_t *token_type_ids,
                           const int32_t *attention_mask, size_t n_tokens, int32_t *out) {
    ibert_status st = check_arguments(context, input_ids, token_type_ids, attention_mask, n_tokens, out);
    if (st != IBERT_OK) return st;
    const ibert_model *m = context->model;
    iexp_params e = {m->exp.frac_bits, m->exp.poly_b, m->exp.poly_c};
    igelu_params g = {m->gelu.b, m->gelu.c, m->gelu.one, m->gelu.shift};

    for (size_t i = 0; i < n_tokens; i++) context->buf.key_mask[i] = attention_mask ? (uint8_t)attention_mask[i] : 1;
    embed(context, input_ids, token_type_ids, n_tokens);
    for (uint32_t l = 0; l < m->hp.num_layers; l++) encoder_layer_forward(context, &m->layers[l], n_tokens, &e, &g);

    if (m->hp.num_labels > 0) {
        head(context, &e, out);
    } else {
        size_t count = n_tokens * m->hp.hidden_size;
        for (size_t i = 0; i < count; i++) out[i] = context->buf.x[i];
    }
    return IBERT_OK;
}
