/* context.c: ibert_context_new(_threads) / ibert_context_free. A context is one
 * aligned allocation of the arena planned for the model and the thread count,
 * carved into the forward pass's buffers, the kernel set the model chose at load,
 * and the thread pool that shares each forward pass. */
#include <inttypes.h>
#include <stdlib.h>

#include "arena.h"
#include "context.h"
#include "error.h"

ibert_status ibert_context_new(const ibert_model *model, ibert_context **out_context) {
    return ibert_context_new_threads(model, 1, out_context);
}

ibert_status ibert_context_new_threads(const ibert_model *model, size_t n_threads, ibert_context **out_context) {
    if (!out_context) return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "ibert_context_new: out_context is NULL");
    *out_context = NULL;
    if (!model) return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "ibert_context_new: model is NULL");
    if (n_threads < 1 || n_threads > IBERT_MAX_THREADS)
        return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "ibert_context_new_threads: n_threads is %zu, expected 1 ... %d",
                          n_threads, IBERT_MAX_THREADS);

    /* the one-thread size was checked at load; more threads add scratch that can overflow */
    size_t bytes = arena_bytes_for(&model->hp, n_threads);
    if (bytes == 0)
        return ibert_fail(IBERT_ERR_OUT_OF_MEMORY,
                          "a context of %zu threads for %" PRIu32 " tokens would need more memory than this platform "
                          "can address",
                          n_threads, model->hp.max_tokens);

    struct ibert_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return ibert_fail(IBERT_ERR_OUT_OF_MEMORY, "out of memory for a context");
    /* posix_memalign, not C11's aligned_alloc: Android's libc has that only from API 28 */
    if (posix_memalign(&ctx->arena, ARENA_ALIGNMENT, bytes) != 0) {
        free(ctx);
        return ibert_fail(IBERT_ERR_OUT_OF_MEMORY, "out of memory for a context arena of %zu bytes", bytes);
    }
    ibert_status st = threadpool_new(n_threads, &ctx->pool);
    if (st != IBERT_OK) {
        free(ctx->arena);
        free(ctx);
        return st;
    }
    ctx->model = model;
    ctx->kernels = model->kernels;
    arena_carve(&model->hp, n_threads, ctx->arena, &ctx->buf);
    *out_context = ctx;
    return IBERT_OK;
}

size_t ibert_context_threads(const ibert_context *context) {
    return context ? threadpool_threads(context->pool) : 0;
}

void ibert_context_free(ibert_context *context) {
    if (!context) return;
    threadpool_free(context->pool);
    free(context->arena);
    free(context);
}
