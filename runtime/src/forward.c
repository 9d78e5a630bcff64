/* forward.c: ibert_forward, the encoder of models/FORMAT.md §4.6 on one sequence:
 * embeddings, the layers, then the task's head (heads/; the sentence-embedding
 * pool: heads/pooling.c) or the final hidden states. It checks the caller's
 * arguments, then runs the context's kernels on the context's arena; nothing here
 * allocates and nothing uses floating point.
 *
 * The work is split over the context's threads: matrix products by blocks of
 * output columns, attention by heads, row-wise steps (embedding sums, residual
 * sums, layer norms) by blocks of rows. Every output integer is still computed by
 * the same kernel from the same inputs whatever the split: the kernels compute each
 * element of their output on its own (FORMAT.md §4 defines every element, and the
 * SIMD twins match the __ref kernels for every size), so a column or row block
 * gives exactly the integers of the whole. The results are identical for any
 * number of threads.
 *
 * With a head on the first token (heads/), the last layer computes only what it reads:
 * its keys and values for every token, everything else for the first token alone
 * (layer_query_rows). Each row of a layer's output depends on the other tokens
 * only through their keys and values, so x'[0] is the integers the full layer
 * gives, at about a sixth of the layer's work. Nor does it compute the masked
 * tokens at the end of the input (padding): no query reads a masked key. A
 * fill-mask head (heads/masked_lm.c) reads the rows of the mask token's positions
 * and computes the vocabulary's logits for those alone. */
#include <inttypes.h>

#include "context.h"
#include "error.h"
#include "forward.h"
#include "heads.h"
#include "kernels/lowbit_codes.h"
#include "pooling.h"

static rq_params rq_of(const rescale *r) { return rescale_params(r); }

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

/* Tasks per thread in a split: more than one, so that a thread slowed down by other
 * work on its core leaves part of its share to the others; few, because a packed
 * GEMM call interleaves its rows of a on the stack, which every column block
 * repeats (MiniLM at seq 128, dotprod on cortex-a76, 2 threads: +0.3% instructions
 * a pass over 1 thread with 1 task per thread, +0.9% with 2, +2.0% with 4). */
#define TASKS_PER_THREAD 2
/* Output columns per task of a matrix product are a multiple of this: of every
 * GEMM kernel's column tile, so that only the last block has a ragged edge. */
#define COLUMN_GRAIN 16

/* A split of count items (columns, rows) into n_tasks blocks of block items (the
 * last may be shorter); one block, no split, on one thread. */
typedef struct split {
    size_t block, n_tasks;
} split;

static split split_of(const ibert_context *ctx, size_t count, size_t grain) {
    size_t threads = threadpool_threads(ctx->pool);
    if (threads == 1) return (split){count, 1};
    size_t target = threads * TASKS_PER_THREAD;
    size_t block = (count + target - 1) / target;
    block = (block + grain - 1) / grain * grain;
    return (split){block, (count + block - 1) / block};
}

/* The rescale of columns j0 ... of a per-channel or per-tensor rq. */
static rq_params rq_from(const rescale *r, size_t j0) {
    rq_params p = rq_of(r);
    if (p.per_channel) {
        p.mult += j0;
        p.shift += j0;
    }
    return p;
}

/* Columns j0 ... j1 - 1 of acc (row stride l->out) = linear(x) for n rows of x (row
 * stride l->in), on the packed weights when the kernel set packs them (then j0 is
 * a multiple of its column_block). */
static void linear_columns(const ibert_context *ctx, const linear *l, size_t n, const int8_t *x, size_t j0,
                           size_t j1, int32_t *acc) {
    const linear_packing *lp = ctx->kernels->linear;
    if (l->lowbit.codes) /* packed low-bit weights, read as the file has them (FORMAT.md §3.1) */
        ctx->kernels->gemm_lowbit(n, j0, j1, l->in, x, l->in, &l->lowbit, acc + j0, l->out);
    else if (lp)
        lp->gemm(n, j0, j1, l->in, x, l->in, l->packed, acc, l->out);
    else
        ctx->kernels->gemm_s8s8s32(n, j1 - j0, l->in, x, l->in, l->weight + j0 * l->in, l->in, l->bias + j0,
                                   acc + j0, l->out);
}

void context_linear_columns(const ibert_context *ctx, const linear *l, size_t n, const int8_t *x, size_t j0,
                            size_t j1) {
    linear_columns(ctx, l, n, x, j0, j1, ctx->buf.acc);
}

/* The split of a linear layer's output columns: blocks of the packed GEMM's
 * column_block, or of COLUMN_GRAIN for the file's weights. */
static split column_split(const ibert_context *ctx, const linear *l) {
    const linear_packing *lp = ctx->kernels->linear;
    return split_of(ctx, l->out, lp && !l->lowbit.codes ? lp->column_block : COLUMN_GRAIN);
}

/* Columns task * block ... of acc = linear(x) and their epilogue. */
static void linear_task(void *arg, size_t task, size_t worker) {
    (void)worker;
    const linear_job *job = arg;
    const kernel_table *kt = job->ctx->kernels;
    const linear *l = job->l;
    size_t ld = l->out, j0 = task * job->block;
    size_t cols = j0 + job->block < ld ? job->block : ld - j0;
    int32_t *base = job->acc ? job->acc : job->ctx->buf.acc, *acc = base + j0;
    linear_columns(job->ctx, l, job->n, job->x, j0, j0 + cols, base);
    rq_params rq = rq_from(&l->rq, j0);
    if (job->then == REQUANT_S32) {
        kt->requant_s32s32(job->n, cols, acc, ld, &rq, job->bits, acc, ld);
    } else if (job->then == REQUANT_S8) {
        kt->requant_s32s8(job->n, cols, acc, ld, &rq, job->out + j0, ld);
    } else if (job->then == GELU) {
        kt->requant_s32s32(job->n, cols, acc, ld, &rq, GELU_INPUT_BITS, acc, ld);
        rq_params gelu_rq = rq_from(job->gelu_rq, j0);
        const int32_t *zero = job->gelu_rq->zero;   /* the GELU output's zero points (version 6), or NULL */
        if (zero && gelu_rq.per_channel) zero += j0;
        kt->gelu_s32s8(job->n, cols, acc, ld, job->g, &gelu_rq, zero, job->out + j0, ld);
    }
}

void linear_forward(linear_job *job) {
    split s = column_split(job->ctx, job->l);
    job->block = s.block;
    threadpool_parallel_for(job->ctx->pool, s.n_tasks, linear_task, job);
}

/* Element j of word embedding row id: int8, or a low-bit code (FORMAT.md §3.1). */
static inline int32_t word_embedding(const ibert_model *m, size_t id, size_t j) {
    if (m->token_embd_codes)
        return lowbit_code(m->token_embd_codes + id * m->token_embd_row_bytes, m->token_embd_bits, j);
    return m->token_embd[id * m->hp.hidden_size + j];
}

static inline int32_t added_value(const added_table *t, size_t i) { return t->i16 ? t->i16[i] : t->i8[i]; }

typedef struct embed_job {
    const ibert_context *ctx;
    const int32_t *ids, *types;
    size_t block, n;
} embed_job;

/* Rows task * block ...: e[i] = sat_22(rq(token) + rq(position) + rq(type)) into
 * acc, then the embedding layer norm into x. */
static void embed_task(void *arg, size_t task, size_t worker) {
    (void)worker;
    const embed_job *job = arg;
    const ibert_context *ctx = job->ctx;
    const ibert_model *m = ctx->model;
    size_t h = m->hp.hidden_size, i0 = task * job->block;
    size_t rows = i0 + job->block < job->n ? job->block : job->n - i0;
    const rescale *tok_rq = &m->token_embd_rq, *pos_rq = &m->pos_embd_rq, *type_rq = &m->token_types_rq;
    for (size_t i = i0; i < i0 + rows; i++) {
        const size_t id = (size_t)job->ids[i];
        const size_t tok_scale = tok_rq->n > 1 ? id : 0; /* one rescale per row (format version 3) */
        const size_t pos = (m->hp.position_offset + i) * h, type = (job->types ? (size_t)job->types[i] : 0) * h;
        int32_t *e = ctx->buf.acc + i * h;
        for (size_t j = 0; j < h; j++) {
            const int32_t tok = word_embedding(m, id, j);
            int64_t sum = fp_rq(tok, tok_rq->mult[tok_scale], tok_rq->shift[tok_scale]) +
                          fp_rq(added_value(&m->pos_embd, pos + j), pos_rq->mult[0], pos_rq->shift[0]) +
                          fp_rq(added_value(&m->token_types, type + j), type_rq->mult[0], type_rq->shift[0]);
            e[j] = (int32_t)fp_sat(sum, KERNEL_RESIDUAL_BITS);
        }
    }
    ctx->kernels->layernorm_s32s8(rows, h, ctx->buf.acc + i0 * h, h, m->embd_norm.mult, m->embd_norm.shift,
                                  m->embd_norm.bias, ctx->buf.x + i0 * h, h);
}

static void embed(const ibert_context *ctx, const int32_t *ids, const int32_t *types, size_t n) {
    split s = split_of(ctx, n, 1);
    embed_job job = {ctx, ids, types, s.block, n};
    threadpool_parallel_for(ctx->pool, s.n_tasks, embed_task, &job);
}

typedef struct residual_norm_job {
    const ibert_context *ctx;
    const linear *l;         /* the linear layer whose accumulators are in buf.acc */
    const int8_t *x;         /* the residual input */
    const rescale *x_rq;
    const rescale *norm;
    int8_t *out;
    size_t block, n;
} residual_norm_job;

/* Rows task * block ... of §4.6 steps 4 and 6: r = sat_22(rq(acc) + rq(x)) in
 * place, out = LN(r). */
static void residual_norm_task(void *arg, size_t task, size_t worker) {
    (void)worker;
    const residual_norm_job *job = arg;
    const kernel_table *kt = job->ctx->kernels;
    size_t h = job->ctx->model->hp.hidden_size, i0 = task * job->block;
    size_t rows = i0 + job->block < job->n ? job->block : job->n - i0;
    int32_t *acc = job->ctx->buf.acc + i0 * h;
    rq_params acc_rq = rq_of(&job->l->rq), x_rq = rq_of(job->x_rq);
    kt->residual_s32s8s32(rows, h, acc, h, &acc_rq, job->x + i0 * h, h, &x_rq, acc, h);
    kt->layernorm_s32s8(rows, h, acc, h, job->norm->mult, job->norm->shift, job->norm->bias, job->out + i0 * h, h);
}

static void residual_norm(const ibert_context *ctx, const linear *l, size_t n, const int8_t *x,
                          const rescale *x_rq, const rescale *norm, int8_t *out) {
    split s = split_of(ctx, n, 1);
    residual_norm_job job = {ctx, l, x, x_rq, norm, out, s.block, n};
    threadpool_parallel_for(ctx->pool, s.n_tasks, residual_norm_task, &job);
}

typedef struct heads_job {
    const ibert_context *ctx;
    const encoder_layer *layer;
    const iexp_params *e;
    size_t n_query, n; /* query rows (the first n_query tokens), keys */
} heads_job;

/* §4.6 steps 2-3 for one head, in the calling thread's scratch: its columns of
 * buf.ctx from its columns of q, k and v (its probs times v go to the same
 * columns of buf.acc, free while attention runs). */
static void head_task(void *arg, size_t head, size_t worker) {
    const heads_job *job = arg;
    const ibert_context *ctx = job->ctx;
    const kernel_table *kt = ctx->kernels;
    const arena_buffers *b = &ctx->buf;
    const head_scratch *s = &b->heads[worker];
    const encoder_layer *layer = job->layer;
    size_t n = job->n, rows = job->n_query, h = ctx->model->hp.hidden_size, d = ctx->model->hp.head_size,
           col = head * d;
    kt->gemm_s8s8s32(rows, n, d, b->q + col, h, b->k + col, h, NULL, s->scores, n);
    kt->softmax_s32u8(rows, n, s->scores, n, layer->attn_scores.mult[0], layer->attn_scores.shift[0], b->key_mask,
                      job->e, s->probs, n);
    if (layer->attn_exp16.n) {
        rq_params exp16 = rq_of(&layer->attn_exp16);
        kt->softmax_exp16_finish(rows, n, s->scores, n, &exp16, b->key_mask, s->probs, n);
    }
    kt->gemm_u8s8s32(rows, d, n, s->probs, n, b->v + col, h, b->acc + col, h);
    rq_params ctx_rq = rq_of(&layer->attn_ctx);
    kt->requant_s32s8(rows, d, b->acc + col, h, &ctx_rq, b->ctx + col, h);
}

/* §4.6 steps 1-3: the attention context of every head into buf.ctx, for the first
 * n_query tokens as queries and all n as keys. */
static void attention(const ibert_context *ctx, const encoder_layer *layer, size_t n_query, size_t n,
                      const iexp_params *e) {
    const arena_buffers *b = &ctx->buf;
    linear_forward(
        &(linear_job){.ctx = ctx, .l = &layer->attn_q, .n = n_query, .x = b->x, .then = REQUANT_S8, .out = b->q});
    linear_forward(&(linear_job){.ctx = ctx, .l = &layer->attn_k, .n = n, .x = b->x, .then = REQUANT_S8, .out = b->k});
    linear_forward(&(linear_job){.ctx = ctx, .l = &layer->attn_v, .n = n, .x = b->x, .then = REQUANT_S8, .out = b->v});
    heads_job job = {ctx, layer, e, n_query, n};
    threadpool_parallel_for(ctx->pool, ctx->model->hp.num_heads, head_task, &job);
}

/* One encoder layer: buf.x in; the first n_query rows of buf.x out (the rest of
 * buf.x is left as it was). */
static void encoder_layer_forward(const ibert_context *ctx, const encoder_layer *layer, size_t n_query, size_t n,
                                  const iexp_params *e, const igelu_params *g) {
    const arena_buffers *b = &ctx->buf;
    attention(ctx, layer, n_query, n, e);
    /* step 4: r = sat_22(rq(linear(ctx)) + rq(x)); a = LN(r) */
    linear_forward(&(linear_job){.ctx = ctx, .l = &layer->attn_out, .n = n_query, .x = b->ctx, .then = KEEP_ACC});
    residual_norm(ctx, &layer->attn_out, n_query, b->x, &layer->attn_res, &layer->attn_norm, b->attn);
    /* step 5: t = sat_20(rq(linear(a))); u = sat_8(rq(igelu(t))) */
    linear_forward(&(linear_job){.ctx = ctx, .l = &layer->ffn_up, .n = n_query, .x = b->attn, .then = GELU,
                                 .out = b->ffn, .g = g, .gelu_rq = &layer->ffn_gelu});
    /* step 6: r = sat_22(rq(linear(u)) + rq(a)); x' = LN(r) */
    linear_forward(&(linear_job){.ctx = ctx, .l = &layer->ffn_down, .n = n_query, .x = b->ffn, .then = KEEP_ACC});
    residual_norm(ctx, &layer->ffn_down, n_query, b->attn, &layer->ffn_res, &layer->ffn_norm, b->x);
}

ibert_status ibert_forward(ibert_context *context, const int32_t *input_ids, const int32_t *token_type_ids,
                           const int32_t *attention_mask, size_t n_tokens, int32_t *out) {
    ibert_status st = check_arguments(context, input_ids, token_type_ids, attention_mask, n_tokens, out);
    if (st != IBERT_OK) return st;
    const ibert_model *m = context->model;
    iexp_params e = {m->exp.frac_bits, m->exp.poly_b, m->exp.poly_c};

    for (size_t i = 0; i < n_tokens; i++) context->buf.key_mask[i] = attention_mask ? (uint8_t)attention_mask[i] : 1;
    /* Masked keys are read by nobody and no head or pool reads a masked token's
     * output: with either, the masked tokens at the end (padding) need not be
     * computed at all. */
    head_kind kind = task_head(m->hp.task);
    bool pooled = m->hp.task == IBERT_TASK_SENTENCE_EMBEDDING;
    size_t n = n_tokens;
    if (kind == HEAD_MASKED_TOKENS && ibert_fill_mask_count(m, input_ids, attention_mask, n_tokens) == 0)
        return IBERT_OK;
    if (kind != HEAD_NONE || pooled)
        while (n > 1 && !context->buf.key_mask[n - 1]) n--;
    embed(context, input_ids, token_type_ids, n);
    for (uint32_t l = 0; l < m->hp.num_layers; l++)
        encoder_layer_forward(context, &m->layers[l], layer_query_rows(m, l, n), n, &e, &m->gelu);

    if (kind == HEAD_FIRST_TOKEN) {
        head_first_token(context, &e, out);
    } else if (kind == HEAD_EVERY_TOKEN) {
        head_every_token(context, n, n_tokens, out);
    } else if (kind == HEAD_MASKED_TOKENS) {
        masked_lm_forward(context, input_ids, n, &m->gelu, out);
    } else if (pooled) {
        /* the last layer's residual sums are still in buf.acc (residual_norm_task) */
        pool_embedding(m, context->buf.acc, layer_query_rows(m, m->hp.num_layers - 1, n), context->buf.key_mask, out);
    } else {
        size_t count = n_tokens * m->hp.hidden_size;
        for (size_t i = 0; i < count; i++) out[i] = context->buf.x[i];
    }
    return IBERT_OK;
}
