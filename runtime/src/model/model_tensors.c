/* model_tensors.c: the tensors of models/FORMAT.md §3 bound into the model, each
 * with its exact type and shape, and every value the arithmetic of §4 depends on
 * scanned once here so the forward pass never has to check. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "error.h"
#include "task.h"
#include "model_validate.h"

/* A tensor name is a prefix ("blk.255.attn_norm", at most 31 bytes) and a suffix
 * (".rq_shift", at most 15); the sizes let GCC prove snprintf never truncates. */
#define PREFIX_BYTES 32
#define NAME_BYTES (PREFIX_BYTES + 16)

/* The tensors bound so far, to find a file's tensors that the format does not define. */
typedef struct binder {
    const gguf_file *file;
    const gguf_tensor **bound; /* room for every tensor of the file */
    size_t n_bound;
} binder;

static const char *type_name(gguf_tensor_type type) {
    switch (type) {
    case GGUF_TENSOR_I8: return "I8";
    case GGUF_TENSOR_I16: return "I16";
    case GGUF_TENSOR_I32: return "I32";
    case GGUF_TENSOR_I64: return "I64";
    }
    return "?";
}

/* "[a, b]" in numpy order (GGUF stores the dimensions fastest first); size >= 96
 * holds any shape (4 dimensions of at most 20 digits). */
static void format_shape(const gguf_tensor *t, char *out, size_t size) {
    size_t n = 0;
    for (uint32_t d = t->n_dims; d-- > 0;)
        n += (size_t)snprintf(out + n, size - n, "%s%" PRIu64, d + 1 == t->n_dims ? "[" : ", ", t->dims[d]);
    snprintf(out + n, size - n, "]");
}

/* Tensor `name` of numpy shape [rows] (cols == 0) or [rows, cols]. */
static ibert_status bind(binder *b, const char *name, gguf_tensor_type type, uint32_t rows, uint32_t cols,
                         const void **out) {
    const gguf_tensor *t;
    ibert_status st = gguf_get_tensor(b->file, name, &t);
    if (st != IBERT_OK) return st;
    if (t->type != type)
        return ibert_fail(IBERT_ERR_FORMAT, "tensor '%s' has type %s, expected %s", name, type_name(t->type),
                          type_name(type));
    bool shape_ok = cols == 0 ? t->n_dims == 1 && t->dims[0] == rows
                              : t->n_dims == 2 && t->dims[0] == cols && t->dims[1] == rows;
    if (!shape_ok) {
        char shape[128], expected[48];
        format_shape(t, shape, sizeof shape);
        if (cols == 0) snprintf(expected, sizeof expected, "[%" PRIu32 "]", rows);
        else snprintf(expected, sizeof expected, "[%" PRIu32 ", %" PRIu32 "]", rows, cols);
        return ibert_fail(IBERT_ERR_FORMAT, "tensor '%s' has shape %s, expected %s", name, shape, expected);
    }
    /* each name is bound once and the file's names are unique, so bound has room */
    b->bound[b->n_bound++] = t;
    *out = t->data;
    return IBERT_OK;
}

/* Bytes per block of check_weights: large enough to amortize the block's test,
 * small enough to stay in L1 while a -128 is searched for. */
#define WEIGHT_CHECK_BLOCK 4096

/* No weight is -128 (FORMAT.md §3). A block's comparisons are ORed into one byte,
 * which the compiler vectorizes (a loop that returns at the first -128 it is not):
 * the model's 22 MB of weights are read at every load (MiniLM: 13.2 -> 7.1 ms a
 * load on the host). Only a block with a -128 is searched again, for the position
 * the message gives. */
static ibert_status check_weights(const char *name, const int8_t *w, uint32_t rows, uint32_t cols) {
    const uint64_t count = (uint64_t)rows * cols;
    for (uint64_t start = 0; start < count; start += WEIGHT_CHECK_BLOCK) {
        const uint64_t end = count - start < WEIGHT_CHECK_BLOCK ? count : start + WEIGHT_CHECK_BLOCK;
        uint8_t found = 0; /* a byte, so the vector loop stays in bytes */
        for (uint64_t i = start; i < end; i++) found |= (uint8_t)(w[i] == INT8_MIN);
        if (!found) continue;
        for (uint64_t i = start; i < end; i++)
            if (w[i] == INT8_MIN)
                return ibert_fail(IBERT_ERR_FORMAT,
                                  "tensor '%s': element [%" PRIu64 ", %" PRIu64 "] is -128, outside -127 ... 127",
                                  name, i / cols, i % cols);
    }
    return IBERT_OK;
}

/* An int8 table [rows, cols], e.g. token_embd.weight. */
static ibert_status bind_weight(binder *b, const char *name, uint32_t rows, uint32_t cols, const int8_t **out) {
    ibert_status st = bind(b, name, GGUF_TENSOR_I8, rows, cols, (const void **)out);
    return st != IBERT_OK ? st : check_weights(name, *out, rows, cols);
}

/* prefix.rq_mult, prefix.rq_shift (and prefix.rq_bias for a layer norm), each [n]. */
static ibert_status bind_rescale(binder *b, const char *prefix, uint32_t n, bool with_bias, rescale *rq) {
    char name[NAME_BYTES];
    snprintf(name, sizeof name, "%s.rq_mult", prefix);
    ibert_status st = bind(b, name, GGUF_TENSOR_I32, n, 0, (const void **)&rq->mult);
    if (st != IBERT_OK) return st;
    for (uint32_t i = 0; i < n; i++)
        if (rq->mult[i] == INT32_MIN)
            return ibert_fail(IBERT_ERR_FORMAT, "tensor '%s': element %" PRIu32 " is -2^31, which has no negation",
                              name, i);
    snprintf(name, sizeof name, "%s.rq_shift", prefix);
    st = bind(b, name, GGUF_TENSOR_I32, n, 0, (const void **)&rq->shift);
    if (st != IBERT_OK) return st;
    for (uint32_t i = 0; i < n; i++)
        if (rq->shift[i] < 1 || rq->shift[i] > 62)
            return ibert_fail(IBERT_ERR_FORMAT, "tensor '%s': element %" PRIu32 " is %" PRId32 ", outside 1 ... 62",
                              name, i, rq->shift[i]);
    rq->n = n;
    rq->bias = NULL;
    if (!with_bias) return IBERT_OK;
    snprintf(name, sizeof name, "%s.rq_bias", prefix);
    st = bind(b, name, GGUF_TENSOR_I64, n, 0, (const void **)&rq->bias);
    if (st != IBERT_OK) return st;
    for (uint32_t i = 0; i < n; i++)
        if (rq->bias[i] < -(INT64_C(1) << 61) || rq->bias[i] > (INT64_C(1) << 61))
            return ibert_fail(IBERT_ERR_FORMAT, "tensor '%s': element %" PRIu32 " is %" PRId64 ", outside ±2^61",
                              name, i, rq->bias[i]);
    return IBERT_OK;
}

/* A rescale of shape [1] or [channels] (format version 2: attn_res and ffn_res [1]
 * or [H], ffn_gelu [1] or [F]): prefix.rq_mult decides which, and prefix.rq_shift
 * must have the same shape. */
static ibert_status bind_rescale_1_or(binder *b, const char *prefix, uint32_t channels, rescale *rq) {
    char mult_name[NAME_BYTES], shift_name[NAME_BYTES], shape[128];
    snprintf(mult_name, sizeof mult_name, "%s.rq_mult", prefix);
    snprintf(shift_name, sizeof shift_name, "%s.rq_shift", prefix);
    const gguf_tensor *mult, *shift;
    ibert_status st = gguf_get_tensor(b->file, mult_name, &mult);
    if (st == IBERT_OK) st = gguf_get_tensor(b->file, shift_name, &shift);
    if (st != IBERT_OK) return st;
    if (mult->n_dims != 1 || (mult->dims[0] != 1 && mult->dims[0] != channels)) {
        format_shape(mult, shape, sizeof shape);
        return ibert_fail(IBERT_ERR_FORMAT, "tensor '%s' has shape %s, expected [1] or [%" PRIu32 "]", mult_name,
                          shape, channels);
    }
    if (shift->n_dims != 1 || shift->dims[0] != mult->dims[0]) {
        format_shape(shift, shape, sizeof shape);
        return ibert_fail(IBERT_ERR_FORMAT,
                          "tensor '%s' has shape %s, but '%s' has [%" PRIu64 "]: both tensors of a rescale have one "
                          "shape", shift_name, shape, mult_name, mult->dims[0]);
    }
    return bind_rescale(b, prefix, (uint32_t)mult->dims[0], false, rq);
}

/* prefix.bias [out] and the rescale prefix [out] of a linear layer [out, in]
 * whose weight is bound elsewhere. */
static ibert_status bind_linear_bias(binder *b, const char *prefix, uint32_t out, uint32_t in, linear *lin) {
    char name[NAME_BYTES];
    lin->in = in;
    lin->out = out;
    snprintf(name, sizeof name, "%s.bias", prefix);
    ibert_status st = bind(b, name, GGUF_TENSOR_I32, out, 0, (const void **)&lin->bias);
    if (st != IBERT_OK) return st;
    for (uint32_t i = 0; i < out; i++)
        if (lin->bias[i] < -(INT32_C(1) << 30) || lin->bias[i] > (INT32_C(1) << 30))
            return ibert_fail(IBERT_ERR_FORMAT, "tensor '%s': element %" PRIu32 " is %" PRId32 ", outside ±2^30",
                              name, i, lin->bias[i]);
    return bind_rescale(b, prefix, out, false, &lin->rq);
}

/* prefix.weight [out, in], prefix.bias [out] and the rescale prefix [out]. */
static ibert_status bind_linear(binder *b, const char *prefix, uint32_t out, uint32_t in, linear *lin) {
    char name[NAME_BYTES];
    snprintf(name, sizeof name, "%s.weight", prefix);
    ibert_status st = bind_weight(b, name, out, in, &lin->weight);
    return st != IBERT_OK ? st : bind_linear_bias(b, prefix, out, in, lin);
}

/* §4.6: |m| · 2^14 · D < 2^(30 + s), so the scores rescaled into the exp domain stay below 2^30. */
static ibert_status check_scores_bound(const char *prefix, const rescale *rq, uint32_t head_size) {
    uint64_t m = (uint64_t)(rq->mult[0] < 0 ? -(int64_t)rq->mult[0] : rq->mult[0]);
    uint64_t lhs = m * (UINT64_C(1) << 14) * head_size; /* < 2^31 · 2^14 · 2^9 */
    int bound_bits = 30 + rq->shift[0];
    if (bound_bits < 64 && lhs >= UINT64_C(1) << bound_bits)
        return ibert_fail(IBERT_ERR_FORMAT,
                          "%s: rescale %" PRId32 " * 2^-%" PRId32 " is too large for head size %" PRIu32
                          " (FORMAT.md §4.6 needs |m| * 2^14 * D < 2^(30 + s))",
                          prefix, rq->mult[0], rq->shift[0], head_size);
    return IBERT_OK;
}

static ibert_status bind_layer(binder *b, const model_hparams *hp, uint32_t l, encoder_layer *layer) {
    const uint32_t H = hp->hidden_size, F = hp->intermediate_size;
    char p[PREFIX_BYTES];
    ibert_status st = IBERT_OK;
#define PREFIX(suffix) (snprintf(p, sizeof p, "blk.%" PRIu32 ".%s", l, suffix), p)
    if ((st = bind_linear(b, PREFIX("attn_q"), H, H, &layer->attn_q)) != IBERT_OK ||
        (st = bind_linear(b, PREFIX("attn_k"), H, H, &layer->attn_k)) != IBERT_OK ||
        (st = bind_linear(b, PREFIX("attn_v"), H, H, &layer->attn_v)) != IBERT_OK ||
        (st = bind_rescale(b, PREFIX("attn_scores"), 1, false, &layer->attn_scores)) != IBERT_OK ||
        (st = check_scores_bound(p, &layer->attn_scores, hp->head_size)) != IBERT_OK ||
        (st = bind_rescale(b, PREFIX("attn_ctx"), 1, false, &layer->attn_ctx)) != IBERT_OK ||
        (st = bind_linear(b, PREFIX("attn_out"), H, H, &layer->attn_out)) != IBERT_OK ||
        (st = bind_rescale_1_or(b, PREFIX("attn_res"), H, &layer->attn_res)) != IBERT_OK ||
        (st = bind_rescale(b, PREFIX("attn_norm"), H, true, &layer->attn_norm)) != IBERT_OK ||
        (st = bind_linear(b, PREFIX("ffn_up"), F, H, &layer->ffn_up)) != IBERT_OK ||
        (st = bind_rescale_1_or(b, PREFIX("ffn_gelu"), F, &layer->ffn_gelu)) != IBERT_OK ||
        (st = bind_linear(b, PREFIX("ffn_down"), H, F, &layer->ffn_down)) != IBERT_OK ||
        (st = bind_rescale_1_or(b, PREFIX("ffn_res"), H, &layer->ffn_res)) != IBERT_OK ||
        (st = bind_rescale(b, PREFIX("ffn_norm"), H, true, &layer->ffn_norm)) != IBERT_OK)
        return st;
#undef PREFIX
    return IBERT_OK;
}

/* FORMAT.md §4.10: the transform, and the decoder, whose weight is token_embd.weight
 * unless the file has an mlm_decoder.weight of its own. */
static ibert_status bind_masked_lm(binder *b, struct ibert_model *m) {
    const uint32_t H = m->hp.hidden_size, V = m->hp.vocab_size;
    masked_lm_head *head = &m->mlm;
    ibert_status st;
    if ((st = bind_linear(b, "mlm_dense", H, H, &head->dense)) != IBERT_OK ||
        (st = bind_rescale(b, "mlm_gelu", 1, false, &head->gelu)) != IBERT_OK ||
        (st = bind_rescale(b, "mlm_norm", H, true, &head->norm)) != IBERT_OK)
        return st;
    head->tied = !gguf_has_tensor(b->file, "mlm_decoder.weight");
    if (!head->tied) return bind_linear(b, "mlm_decoder", V, H, &head->decoder);
    head->decoder.weight = m->token_embd;
    return bind_linear_bias(b, "mlm_decoder", V, H, &head->decoder);
}

static ibert_status bind_all(binder *b, struct ibert_model *m) {
    const model_hparams *hp = &m->hp;
    const uint32_t H = hp->hidden_size;
    ibert_status st;
    if ((st = bind_weight(b, "token_embd.weight", hp->vocab_size, H, &m->token_embd)) != IBERT_OK ||
        (st = bind_weight(b, "pos_embd.weight", hp->max_positions, H, &m->pos_embd)) != IBERT_OK ||
        (st = bind_weight(b, "token_types.weight", hp->type_vocab_size, H, &m->token_types)) != IBERT_OK ||
        (st = bind_rescale(b, "token_embd", 1, false, &m->token_embd_rq)) != IBERT_OK ||
        (st = bind_rescale(b, "pos_embd", 1, false, &m->pos_embd_rq)) != IBERT_OK ||
        (st = bind_rescale(b, "token_types", 1, false, &m->token_types_rq)) != IBERT_OK ||
        (st = bind_rescale(b, "embd_norm", H, true, &m->embd_norm)) != IBERT_OK)
        return st;
    m->layers = calloc(hp->num_layers, sizeof *m->layers);
    if (!m->layers) return ibert_fail(IBERT_ERR_OUT_OF_MEMORY, "out of memory for %" PRIu32 " layers", hp->num_layers);
    for (uint32_t l = 0; l < hp->num_layers; l++)
        if ((st = bind_layer(b, hp, l, &m->layers[l])) != IBERT_OK) return st;
    if (hp->task == IBERT_TASK_SENTENCE_EMBEDDING) return bind_rescale(b, "pool_norm", H, true, &m->pool_norm);
    head_kind kind = task_head(hp->task);
    if (kind == HEAD_MASKED_TOKENS) return bind_masked_lm(b, m);
    if (kind == HEAD_FIRST_TOKEN && (st = bind_linear(b, "cls_dense", H, H, &m->cls_dense)) != IBERT_OK) return st;
    if (kind != HEAD_NONE && (st = bind_linear(b, "cls_out", hp->num_labels, H, &m->cls_out)) != IBERT_OK) return st;
    return IBERT_OK;
}

static int compare_pointers(const void *a, const void *b) {
    const gguf_tensor *x = *(const gguf_tensor *const *)a, *y = *(const gguf_tensor *const *)b;
    return (x > y) - (x < y);
}

/* Every tensor of the file must be one that bind_all asked for. */
static ibert_status reject_unknown_tensors(binder *b) {
    qsort(b->bound, b->n_bound, sizeof *b->bound, compare_pointers);
    for (uint64_t i = 0; i < gguf_tensor_count(b->file); i++) {
        const gguf_tensor *t = gguf_tensor_at(b->file, i);
        if (!bsearch(&t, b->bound, b->n_bound, sizeof *b->bound, compare_pointers))
            return ibert_fail(IBERT_ERR_FORMAT, "unknown tensor '%.*s' (not one this model's metadata calls for)",
                              (int)(t->name.len < 100 ? t->name.len : 100), t->name.data);
    }
    return IBERT_OK;
}

ibert_status model_bind_tensors(const gguf_file *file, struct ibert_model *model) {
    binder b = {file, calloc((size_t)gguf_tensor_count(file) + 1, sizeof(const gguf_tensor *)), 0};
    if (!b.bound) return ibert_fail(IBERT_ERR_OUT_OF_MEMORY, "out of memory binding tensors");
    ibert_status st = bind_all(&b, model);
    if (st == IBERT_OK) st = reject_unknown_tensors(&b);
    free(b.bound);
    return st;
}
