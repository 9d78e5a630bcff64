/* arena.c: the plan of a context's scratch memory (context.h lists the buffers).
 * One function lays the buffers out, so the size computed at load and the
 * pointers carved at context creation cannot disagree. Sizes are checked for
 * size_t overflow, which a 32-bit device can hit with a long maximum sequence. */
#include "arena.h"

#include <stdint.h>

#include "context.h"

/* The byte offset of the next buffer, or overflowed. */
typedef struct layout {
    size_t used;
    int overflowed;
} layout;

static size_t mul_or_flag(layout *l, size_t a, size_t b) {
    if (a != 0 && b > SIZE_MAX / a) {
        l->overflowed = 1;
        return 0;
    }
    return a * b;
}

/* Reserves count elements of elem_size bytes, rounded up to the alignment, and
 * returns the buffer's offset. */
static size_t reserve(layout *l, size_t count, size_t elem_size) {
    size_t bytes = mul_or_flag(l, count, elem_size);
    size_t offset = l->used;
    if (bytes > SIZE_MAX - (ARENA_ALIGNMENT - 1) - offset) {
        l->overflowed = 1;
        return 0;
    }
    l->used = offset + (bytes + ARENA_ALIGNMENT - 1) / ARENA_ALIGNMENT * ARENA_ALIGNMENT;
    return offset;
}

typedef struct buffer_offsets {
    size_t x, q, k, v, ctx, attn, ffn, acc, heads, key_mask;
    size_t scores[IBERT_MAX_THREADS], probs[IBERT_MAX_THREADS];
} buffer_offsets;

/* Each thread's scores and probs are buffers of their own, so two threads never
 * write to one cache line. */
static void plan(const model_hparams *hp, size_t threads, layout *l, buffer_offsets *o) {
    size_t n = hp->max_tokens, h = hp->hidden_size, f = hp->intermediate_size;
    size_t nh = mul_or_flag(l, n, h);
    size_t nn = mul_or_flag(l, n, n);
    size_t acc_count = mul_or_flag(l, n, h > f ? h : f);
    /* a head's logits: C on the first token, or C per token */
    size_t head_count = task_head(hp->task) == HEAD_EVERY_TOKEN ? mul_or_flag(l, n, hp->num_labels) : hp->num_labels;
    if (acc_count < head_count) acc_count = head_count;

    o->x = reserve(l, nh, sizeof(int8_t));
    o->q = reserve(l, nh, sizeof(int8_t));
    o->k = reserve(l, nh, sizeof(int8_t));
    o->v = reserve(l, nh, sizeof(int8_t));
    o->ctx = reserve(l, nh, sizeof(int8_t));
    o->attn = reserve(l, nh, sizeof(int8_t));
    o->ffn = reserve(l, mul_or_flag(l, n, f), sizeof(int8_t));
    o->acc = reserve(l, acc_count, sizeof(int32_t));
    o->key_mask = reserve(l, n, sizeof(uint8_t));
    o->heads = reserve(l, threads, sizeof(head_scratch));
    for (size_t t = 0; t < threads; t++) {
        o->scores[t] = reserve(l, nn, sizeof(int32_t));
        o->probs[t] = reserve(l, nn, sizeof(uint8_t));
    }
}

size_t arena_bytes_for(const model_hparams *hp, size_t threads) {
    if (threads < 1 || threads > IBERT_MAX_THREADS) return 0;
    layout l = {0, 0};
    buffer_offsets o;
    plan(hp, threads, &l, &o);
    return l.overflowed ? 0 : l.used;
}

void arena_carve(const model_hparams *hp, size_t threads, void *base, arena_buffers *bufs) {
    layout l = {0, 0};
    buffer_offsets o;
    plan(hp, threads, &l, &o);
    uint8_t *b = base;
    bufs->x = (int8_t *)(b + o.x);
    bufs->q = (int8_t *)(b + o.q);
    bufs->k = (int8_t *)(b + o.k);
    bufs->v = (int8_t *)(b + o.v);
    bufs->ctx = (int8_t *)(b + o.ctx);
    bufs->attn = (int8_t *)(b + o.attn);
    bufs->ffn = (int8_t *)(b + o.ffn);
    bufs->acc = (int32_t *)(void *)(b + o.acc);
    bufs->key_mask = b + o.key_mask;
    bufs->heads = (head_scratch *)(void *)(b + o.heads);
    for (size_t t = 0; t < threads; t++) {
        bufs->heads[t].scores = (int32_t *)(void *)(b + o.scores[t]);
        bufs->heads[t].probs = b + o.probs[t];
    }
}
