/* model_pack.c: the linear layers' weights in the layout of the model's kernel
 * set (kernel_table.linear), made once at load. Every packed linear lives in one
 * 64-byte aligned allocation the model owns, so loading either succeeds whole or
 * fails with IBERT_ERR_OUT_OF_MEMORY, and freeing is one call. A model mapped from
 * a file then gives the pages of the original weights back (the forward pass
 * reads only the packed copy), so packing does not double the resident memory. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "error.h"
#include "task.h"
#include "model.h"

#define PACK_ALIGNMENT 64 /* a cache line; packed_size returns multiples of it */
#define LINEARS_PER_LAYER 6

/* The head's linear layers: cls_dense (a head on the first token only), cls_out;
 * fill-mask's transform dense and decoder. */
static size_t head_linears(const struct ibert_model *m) {
    head_kind kind = task_head(m->hp.task);
    return kind == HEAD_FIRST_TOKEN || kind == HEAD_MASKED_TOKENS ? 2 : kind == HEAD_EVERY_TOKEN ? 1 : 0;
}

static size_t linear_count(const struct ibert_model *m) {
    return (size_t)m->hp.num_layers * LINEARS_PER_LAYER + head_linears(m);
}

/* The i-th linear layer: each layer's q, k, v, attn_out, ffn_up, ffn_down, then the
 * head's (classifier: cls_dense if pooled, cls_out; fill-mask: transform dense, decoder). */
static linear *linear_at(struct ibert_model *m, size_t i) {
    size_t in_layers = (size_t)m->hp.num_layers * LINEARS_PER_LAYER;
    if (i >= in_layers && m->hp.task == IBERT_TASK_FILL_MASK) return i == in_layers ? &m->mlm.dense : &m->mlm.decoder;
    if (i >= in_layers) return i + 1 == linear_count(m) ? &m->cls_out : &m->cls_dense;
    encoder_layer *layer = &m->layers[i / LINEARS_PER_LAYER];
    linear *const in_layer[LINEARS_PER_LAYER] = {&layer->attn_q,   &layer->attn_k, &layer->attn_v,
                                                 &layer->attn_out, &layer->ffn_up, &layer->ffn_down};
    return in_layer[i % LINEARS_PER_LAYER];
}

/* Drops the mapped file pages that lie wholly inside [p, p + bytes): they are clean
 * (read-only, private, never written), so MADV_DONTNEED only frees them and a later
 * read would fetch them from the file again. Advice, not a requirement: a failure
 * changes nothing. */
static void release_pages(const void *p, size_t bytes) {
    /* getpagesize, not sysconf: the numbers that name sysconf's values differ between
     * glibc/musl and bionic, which tests/android's musl-header build cannot check */
    const long page = getpagesize();
    if (page <= 0) return;
    const uintptr_t start = ((uintptr_t)p + (uintptr_t)page - 1) / (uintptr_t)page * (uintptr_t)page;
    const uintptr_t end = ((uintptr_t)p + bytes) / (uintptr_t)page * (uintptr_t)page;
    if (end > start) madvise((void *)start, end - start, MADV_DONTNEED);
}

ibert_status model_pack_linears(struct ibert_model *m) {
    const linear_packing *lp = m->kernels->linear;
    m->packed = NULL;
    m->packed_bytes = 0;
    if (!lp) return IBERT_OK;
    const size_t count = linear_count(m);
    /* every linear layer may be low-bit (format version 3): then nothing is packed */
    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
        const linear *l = linear_at(m, i);
        if (!l->weight) continue; /* low-bit: the kernels read the file's packed codes */
        size_t bytes = lp->packed_size(l->out, l->in);
        if (bytes > SIZE_MAX - total)
            return ibert_fail(IBERT_ERR_UNSUPPORTED, "the packed weights would need more memory than this platform "
                                                     "can address");
        total += bytes;
    }
    if (total == 0) return IBERT_OK; /* every linear layer is low-bit */
    /* posix_memalign, not C11's aligned_alloc: Android's libc has that only from API 28 */
    void *block = NULL;
    if (posix_memalign(&block, PACK_ALIGNMENT, total) != 0)
        return ibert_fail(IBERT_ERR_OUT_OF_MEMORY, "out of memory for %zu bytes of packed %s weights", total,
                          m->kernels->name);
    uint8_t *dst = block;
    m->packed = dst;
    m->packed_bytes = total;
    for (size_t i = 0; i < count; i++) {
        linear *l = linear_at(m, i);
        if (!l->weight) continue;
        lp->pack(l->out, l->in, l->weight, l->bias, dst);
        l->packed = dst;
        dst += lp->packed_size(l->out, l->in);
        /* a tied decoder's weight is the embedding table, which embedding lookups still read */
        if (m->mapped && l->weight != m->token_embd) release_pages(l->weight, (size_t)l->out * l->in);
    }
    return IBERT_OK;
}
