/* masked_lm.c: the fill-mask head, on the masked positions only: their rows of the
 * final hidden states are gathered, run through the transform (dense, i-GELU,
 * layer norm) and the decoder, which writes its logits straight into the caller's
 * output. The decoder is a [V, H] linear layer (tens of millions of products a
 * row), so it runs on the kernel set's packed GEMM split over the context's
 * threads like every other linear layer; the transform is a few H-wide rows. */
#include <string.h>

#include "forward.h"
#include "heads.h"

void masked_lm_forward(const ibert_context *ctx, const int32_t *ids, size_t n, const igelu_params *g, int32_t *out) {
    const ibert_model *m = ctx->model;
    const masked_lm_head *head = &m->mlm;
    const kernel_table *kt = ctx->kernels;
    const arena_buffers *b = &ctx->buf;
    const size_t h = m->hp.hidden_size;

    /* the masked rows of x, in order, into q (free once the encoder is done) */
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (ids[i] == m->mask_token_id && b->key_mask[i]) memcpy(b->q + k++ * h, b->x + i * h, h);
    if (k == 0) return;

    /* t = sat_20(rq(linear(x, mlm_dense))); a = sat_22(rq(igelu(t), mlm_gelu)) */
    linear_forward(&(linear_job){.ctx = ctx, .l = &head->dense, .n = k, .x = b->q, .then = KEEP_ACC});
    rq_params dense_rq = rescale_params(&head->dense.rq);
    kt->requant_s32s32(k, h, b->acc, h, &dense_rq, GELU_INPUT_BITS, b->acc, h);
    for (size_t i = 0; i < k * h; i++)
        b->acc[i] = (int32_t)fp_sat(fp_rq(kernel_igelu(b->acc[i], g), head->gelu.mult[0], head->gelu.shift[0]),
                                    KERNEL_RESIDUAL_BITS);
    /* y = LN(a, mlm_norm) */
    kt->layernorm_s32s8(k, h, b->acc, h, head->norm.mult, head->norm.shift, head->norm.bias, b->attn, h);
    /* logits = sat_32(rq(linear(y, mlm_decoder))), written to out */
    linear_forward(&(linear_job){.ctx = ctx, .l = &head->decoder, .n = k, .x = b->attn, .then = REQUANT_S32,
                                 .acc = out, .bits = LOGIT_BITS});
}
