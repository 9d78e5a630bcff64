/* context.c: ibert_context_new / ibert_context_free. A context is one aligned
 * allocation of the arena the model planned at load, carved into the forward
 * pass's buffers, plus the kernel set the model chose at load. */
#include <stdlib.h>

#include "context.h"
#include "error.h"

ibert_status ibert_context_new(const ibert_model *model, ibert_context **out_context) {
    if (!out_context) return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "ibert_context_new: out_context is NULL");
    *out_context = NULL;
    if (!model) return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "ibert_context_new: model is NULL");

    struct ibert_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return ibert_fail(IBERT_ERR_OUT_OF_MEMORY, "out of memory for a context");
    /* context_bytes is a non-zero multiple of the alignment, as aligned_alloc requires */
    ctx->arena = aligned_alloc(ARENA_ALIGNMENT, model->context_bytes);
    if (!ctx->arena) {
        free(ctx);
        return ibert_fail(IBERT_ERR_OUT_OF_MEMORY, "out of memory for a context arena of %zu bytes",
                          model->context_bytes);
    }
    ctx->model = model;
    ctx->kernels = model->kernels;
    arena_carve(&model->hp, ctx->arena, &ctx->buf);
    *out_context = ctx;
    return IBERT_OK;
}

void ibert_context_free(ibert_context *context) {
    if (!context) return;
    free(context->arena);
    free(context);
}
