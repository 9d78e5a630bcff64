/* model_tensors.c: the tensors of models/FORMAT.md §3 bound into the model, each
 * with its exact type and shape, and every value the arithmetic of §4 depends on
 * scanned once here so the forward pass never has to check. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kernels/fixed_point.h"
#include "kernels/lowbit_codes.h"
#include "task.h"
#include "model_validate.h"

/* A tensor name is a prefix ("blk.255.attn_norm", at most 31 bytes) and a suffix
 * (".rq_shift", at most 15); the sizes let GCC prove snprintf never truncates. */
#define PREFIX_BYTES 32
#define NAME_BYTES (PREFIX_BYTES + 16)

/* The tensors bound so far, to find a file's tensors that the format does not define. */
typedef struct binder {
    const gguf_file *file;
    uint32_t version; /* the file's format version */
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

/* A tensor (or type or shape) that only format version `since` has, in an older file,
 * is refused by name. */
static ibert_status require_version(const binder *b, uint32_t since, const char *name) {
    if (b->version >= since) return IBERT_OK;
    return ibert_fail(IBERT_ERR_FORMAT, "tensor '%s' is new in format version %" PRIu32 ", but the file says version %" PRIu32,
                      name, since, b->version);
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

/* A position or token-type table: int8, or int16 (format version 4), whose
 * values must lie in -32767 ... 32767 as an int8 table's do in -127 ... 127. */
static ibert_status bind_added_table(binder *b, const char *name, uint32_t rows, uint32_t cols, added_table *out) {
    const gguf_tensor *t = gguf_find_tensor(b->file, name);
    out->i8 = NULL;
    out->i16 = NULL;
    if (!t || t->type != GGUF_TENSOR_I16) return bind_weight(b, name, rows, cols, &out->i8);
    char what[NAME_BYTES + 16];
    snprintf(what, sizeof what, "%s of type I16", name);
    ibert_status st = require_version(b, 4, what);
    if (st == IBERT_OK) st = bind(b, name, GGUF_TENSOR_I16, rows, cols, (const void **)&out->i16);
    if (st != IBERT_OK) return st;
    for (uint64_t i = 0; i < (uint64_t)rows * cols; i++)
        if (out->i16[i] == INT16_MIN)
            return ibert_fail(IBERT_ERR_FORMAT,
                              "tensor '%s': element [%" PRIu64 ", %" PRIu64 "] is -32768, outside -32767 ... 32767",
                              name, i / cols, i % cols);
    return IBERT_OK;
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
    rq->zero = NULL;
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

/* The width of a packed low-bit tensor [rows, row_bytes] of k codes per row
 * (FORMAT.md §3.1: ceil(k/128) * 16 * bits == row_bytes), or 0. */
static unsigned lowbit_width(uint32_t k, uint64_t row_bytes) {
    static const unsigned widths[] = {2, 3, 4, 6};
    for (size_t i = 0; i < sizeof widths / sizeof *widths; i++)
        if (lowbit_row_bytes(k, widths[i]) == row_bytes) return widths[i];
    return 0;
}

/* name: I8 [rows, packed row bytes of k codes]; its width into *bits, and every
 * row's padding codes (after k) must be 0. */
static ibert_status bind_packed_codes(binder *b, const char *name, uint32_t rows, uint32_t k, unsigned *bits,
                                      const uint8_t **codes) {
    const gguf_tensor *t = gguf_find_tensor(b->file, name);
    ibert_status st = require_version(b, 3, name);
    if (st != IBERT_OK) return st;
    if (t->n_dims != 2 || (*bits = lowbit_width(k, t->dims[0])) == 0)
        return ibert_fail(IBERT_ERR_FORMAT,
                          "tensor '%s' has %" PRIu64 " bytes per row, which is no width of 2, 3, 4 or 6 bits for %" PRIu32
                          " codes (FORMAT.md §3.1: ceil(K / 128) * 16 * bits)", name, t->dims[0], k);
    if ((st = bind(b, name, GGUF_TENSOR_I8, rows, (uint32_t)t->dims[0], (const void **)codes)) != IBERT_OK) return st;
    const size_t row_bytes = lowbit_row_bytes(k, *bits), padded = row_bytes * 8 / *bits;
    for (uint32_t r = 0; r < rows; r++)
        for (size_t c = k; c < padded; c++)
            if (lowbit_code(*codes + (size_t)r * row_bytes, *bits, c) != 0)
                return ibert_fail(IBERT_ERR_FORMAT, "tensor '%s': row %" PRIu32 " pads its %" PRIu32
                                  " codes with code %d at column %zu, expected 0", name, r, k,
                                  lowbit_code(*codes + (size_t)r * row_bytes, *bits, c), c);
    return IBERT_OK;
}

/* prefix.qweight and prefix.qsub of a low-bit layer (FORMAT.md §3.1) into lin->lowbit. */
static ibert_status bind_lowbit(binder *b, const char *prefix, uint32_t out, uint32_t in, linear *lin) {
    char name[NAME_BYTES];
    lowbit_weights *w = &lin->lowbit;
    snprintf(name, sizeof name, "%s.qweight", prefix);
    ibert_status st = bind_packed_codes(b, name, out, in, &w->bits, &w->codes);
    if (st != IBERT_OK) return st;
    w->row_bytes = lowbit_row_bytes(in, w->bits);
    snprintf(name, sizeof name, "%s.qsub", prefix);
    const gguf_tensor *t = gguf_find_tensor(b->file, name);
    if (!t) return ibert_fail(IBERT_ERR_FORMAT, "tensor '%s' is missing (%s.qweight needs it)", name, prefix);
    const uint64_t groups = t->n_dims == 2 ? t->dims[0] : 0;
    const uint64_t group_size = groups == 1 ? 0 : groups && in % groups == 0 ? in / groups : 1;
    if (group_size != 0 && group_size != 32 && group_size != 64 && group_size != 128)
        return ibert_fail(IBERT_ERR_FORMAT,
                          "tensor '%s': %" PRIu64 " groups of %" PRIu32 " inputs is no group size of 32, 64 or 128 "
                          "(or 1 group: group size 0)", name, groups, in);
    if ((st = bind(b, name, GGUF_TENSOR_I8, out, (uint32_t)groups, (const void **)&w->sub)) != IBERT_OK) return st;
    w->group_size = (size_t)group_size;
    for (uint64_t i = 0; i < (uint64_t)out * groups; i++) {
        const int8_t s = (int8_t)w->sub[i];
        if (s < 1 || s > 63 || (group_size == 0 && s != 1))
            return ibert_fail(IBERT_ERR_FORMAT, "tensor '%s': element [%" PRIu64 ", %" PRIu64 "] is %d, expected %s",
                              name, i / groups, i % groups, s, group_size == 0 ? "1 (group size 0)" : "1 ... 63");
    }
    return IBERT_OK;
}

/* FORMAT.md §3.1: K * 2^(b-1) * 128 * max_g s[n, g] + |bias[n]| < 2^31 for every row n. */
static ibert_status check_lowbit_bound(const char *prefix, const linear *lin) {
    const lowbit_weights *w = &lin->lowbit;
    const size_t groups = w->group_size ? lin->in / w->group_size : 1;
    for (uint32_t n = 0; n < lin->out; n++) {
        uint64_t max_sub = 0;
        for (size_t g = 0; g < groups; g++)
            if (w->sub[n * groups + g] > max_sub) max_sub = w->sub[n * groups + g];
        const int64_t bias = lin->bias[n];
        const uint64_t bound = (uint64_t)lin->in * (UINT64_C(1) << (w->bits - 1)) * 128 * max_sub +
                               (uint64_t)(bias < 0 ? -bias : bias); /* < 2^16 * 2^5 * 2^7 * 2^6 + 2^30 */
        if (bound >= UINT64_C(1) << 31)
            return ibert_fail(IBERT_ERR_FORMAT,
                              "%s: row %" PRIu32 " can overflow its accumulator: K * 2^(bits-1) * 128 * max sub-scale "
                              "+ |bias| = %" PRIu64 " >= 2^31 (FORMAT.md §3.1)", prefix, n, bound);
    }
    return IBERT_OK;
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

/* prefix.weight [out, in] (or, when low_bit_allowed and the file has prefix.qweight,
 * the low-bit tensors of FORMAT.md §3.1), prefix.bias [out] and the rescale prefix [out]. */
static ibert_status bind_linear_of(binder *b, const char *prefix, uint32_t out, uint32_t in, bool low_bit_allowed,
                                   linear *lin) {
    char name[NAME_BYTES];
    snprintf(name, sizeof name, "%s.qweight", prefix);
    const bool low_bit = low_bit_allowed && gguf_find_tensor(b->file, name) != NULL;
    ibert_status st;
    if (low_bit) {
        st = bind_lowbit(b, prefix, out, in, lin);
    } else {
        snprintf(name, sizeof name, "%s.weight", prefix);
        st = bind_weight(b, name, out, in, &lin->weight);
    }
    if (st != IBERT_OK || (st = bind_linear_bias(b, prefix, out, in, lin)) != IBERT_OK || !low_bit) return st;
    lin->lowbit.bias = lin->bias;
    return check_lowbit_bound(prefix, lin);
}

/* An int8 linear layer (the heads'). */
static ibert_status bind_linear(binder *b, const char *prefix, uint32_t out, uint32_t in, linear *lin) {
    return bind_linear_of(b, prefix, out, in, false, lin);
}

/* An encoder linear layer: int8, or low-bit in a version-3 file. */
static ibert_status bind_encoder_linear(binder *b, const char *prefix, uint32_t out, uint32_t in, linear *lin) {
    return bind_linear_of(b, prefix, out, in, true, lin);
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

/* blk.l.attn_exp16 (format version 5, optional): the rescale of I-BERT's softmax
 * exps to 16 bits (§4.6). It must keep the row's largest exp, i-exp's c, at 1 or
 * more, so that every attended row's sum of 16-bit exps is at least 1. */
static ibert_status bind_exp16(binder *b, const char *prefix, int32_t exp_c, rescale *rq) {
    char mult_name[NAME_BYTES], shift_name[NAME_BYTES];
    snprintf(mult_name, sizeof mult_name, "%s.rq_mult", prefix);
    snprintf(shift_name, sizeof shift_name, "%s.rq_shift", prefix);
    rq->n = 0;
    if (!gguf_find_tensor(b->file, mult_name) && !gguf_find_tensor(b->file, shift_name)) return IBERT_OK;
    ibert_status st = require_version(b, 5, prefix);
    if (st == IBERT_OK) st = bind_rescale(b, prefix, 1, false, rq);
    if (st != IBERT_OK) return st;
    if (rq->mult[0] <= 0 || fp_rq(exp_c, rq->mult[0], rq->shift[0]) < 1)
        return ibert_fail(IBERT_ERR_FORMAT,
                          "%s: rescale %" PRId32 " * 2^-%" PRId32 " takes i-exp's largest value %" PRId32
                          " below 1 (FORMAT.md §4.6)", prefix, rq->mult[0], rq->shift[0], exp_c);
    return IBERT_OK;
}

/* blk.l.ffn_gelu.zero_point (format version 6, optional): the GELU output's zero
 * point per channel, shaped as the ffn_gelu rescale, each in -128 ... 127 (§4.6). */
static ibert_status bind_gelu_zero_point(binder *b, const char *prefix, rescale *rq) {
    char name[NAME_BYTES];
    snprintf(name, sizeof name, "%s.zero_point", prefix);
    if (!gguf_find_tensor(b->file, name)) return IBERT_OK;
    ibert_status st = require_version(b, 6, name);
    if (st == IBERT_OK) st = bind(b, name, GGUF_TENSOR_I32, rq->n, 0, (const void **)&rq->zero);
    if (st != IBERT_OK) return st;
    for (uint32_t i = 0; i < rq->n; i++)
        if (rq->zero[i] < -128 || rq->zero[i] > 127)
            return ibert_fail(IBERT_ERR_FORMAT, "tensor '%s': element %" PRIu32 " is %" PRId32 ", outside -128 ... 127",
                              name, i, rq->zero[i]);
    return IBERT_OK;
}

static ibert_status bind_layer(binder *b, const model_hparams *hp, int32_t exp_c, uint32_t l, encoder_layer *layer) {
    const uint32_t H = hp->hidden_size, F = hp->intermediate_size;
    char p[PREFIX_BYTES];
    ibert_status st = IBERT_OK;
#define PREFIX(suffix) (snprintf(p, sizeof p, "blk.%" PRIu32 ".%s", l, suffix), p)
    if ((st = bind_encoder_linear(b, PREFIX("attn_q"), H, H, &layer->attn_q)) != IBERT_OK ||
        (st = bind_encoder_linear(b, PREFIX("attn_k"), H, H, &layer->attn_k)) != IBERT_OK ||
        (st = bind_encoder_linear(b, PREFIX("attn_v"), H, H, &layer->attn_v)) != IBERT_OK ||
        (st = bind_rescale(b, PREFIX("attn_scores"), 1, false, &layer->attn_scores)) != IBERT_OK ||
        (st = check_scores_bound(p, &layer->attn_scores, hp->head_size)) != IBERT_OK ||
        (st = bind_exp16(b, PREFIX("attn_exp16"), exp_c, &layer->attn_exp16)) != IBERT_OK ||
        (st = bind_rescale(b, PREFIX("attn_ctx"), 1, false, &layer->attn_ctx)) != IBERT_OK ||
        (st = bind_encoder_linear(b, PREFIX("attn_out"), H, H, &layer->attn_out)) != IBERT_OK ||
        (st = bind_rescale_1_or(b, PREFIX("attn_res"), H, &layer->attn_res)) != IBERT_OK ||
        (st = bind_rescale(b, PREFIX("attn_norm"), H, true, &layer->attn_norm)) != IBERT_OK ||
        (st = bind_encoder_linear(b, PREFIX("ffn_up"), F, H, &layer->ffn_up)) != IBERT_OK ||
        (st = bind_rescale_1_or(b, PREFIX("ffn_gelu"), F, &layer->ffn_gelu)) != IBERT_OK ||
        (st = bind_gelu_zero_point(b, PREFIX("ffn_gelu"), &layer->ffn_gelu)) != IBERT_OK ||
        (st = bind_encoder_linear(b, PREFIX("ffn_down"), H, F, &layer->ffn_down)) != IBERT_OK ||
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
    head->tied = !gguf_find_tensor(b->file, "mlm_decoder.weight");
    if (!head->tied) return bind_linear(b, "mlm_decoder", V, H, &head->decoder);
    if (!m->token_embd)
        return ibert_fail(IBERT_ERR_FORMAT, "the fill-mask decoder reads token_embd.weight (it has no mlm_decoder.weight), "
                          "but the word embeddings are %u-bit token_embd.qweight: a tied decoder needs 8-bit "
                          "embeddings", m->token_embd_bits);
    head->decoder.weight = m->token_embd;
    return bind_linear_bias(b, "mlm_decoder", V, H, &head->decoder);
}

/* token_embd.weight (int8) or token_embd.qweight (low-bit, version 3), and the
 * token_embd rescale: [1], or [V] (one per row) in a version-3 file. */
static ibert_status bind_word_embeddings(binder *b, struct ibert_model *m) {
    const uint32_t V = m->hp.vocab_size, H = m->hp.hidden_size;
    ibert_status st;
    m->token_embd_bits = 8;
    if (gguf_find_tensor(b->file, "token_embd.qweight")) {
        st = bind_packed_codes(b, "token_embd.qweight", V, H, &m->token_embd_bits, &m->token_embd_codes);
        m->token_embd_row_bytes = lowbit_row_bytes(H, m->token_embd_bits);
    } else {
        st = bind_weight(b, "token_embd.weight", V, H, &m->token_embd);
    }
    if (st != IBERT_OK) return st;
    const gguf_tensor *mult = gguf_find_tensor(b->file, "token_embd.rq_mult");
    if (mult && mult->n_dims == 1 && mult->dims[0] == V && V != 1) {
        if ((st = require_version(b, 3, "token_embd.rq_mult of shape [V]")) != IBERT_OK) return st;
        return bind_rescale(b, "token_embd", V, false, &m->token_embd_rq);
    }
    return bind_rescale(b, "token_embd", 1, false, &m->token_embd_rq);
}

static ibert_status bind_all(binder *b, struct ibert_model *m) {
    const model_hparams *hp = &m->hp;
    const uint32_t H = hp->hidden_size;
    ibert_status st;
    if ((st = bind_word_embeddings(b, m)) != IBERT_OK ||
        (st = bind_added_table(b, "pos_embd.weight", hp->max_positions, H, &m->pos_embd)) != IBERT_OK ||
        (st = bind_added_table(b, "token_types.weight", hp->type_vocab_size, H, &m->token_types)) != IBERT_OK ||
        (st = bind_rescale(b, "pos_embd", 1, false, &m->pos_embd_rq)) != IBERT_OK ||
        (st = bind_rescale(b, "token_types", 1, false, &m->token_types_rq)) != IBERT_OK ||
        (st = bind_rescale(b, "embd_norm", H, true, &m->embd_norm)) != IBERT_OK)
        return st;
    m->layers = calloc(hp->num_layers, sizeof *m->layers);
    if (!m->layers) return ibert_fail(IBERT_ERR_OUT_OF_MEMORY, "out of memory for %" PRIu32 " layers", hp->num_layers);
    for (uint32_t l = 0; l < hp->num_layers; l++)
        if ((st = bind_layer(b, hp, m->exp.poly_c, l, &m->layers[l])) != IBERT_OK) return st;
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
    binder b = {file, model->hp.format_version, calloc((size_t)gguf_tensor_count(file) + 1, sizeof(const gguf_tensor *)),
                0};
    if (!b.bound) return ibert_fail(IBERT_ERR_OUT_OF_MEMORY, "out of memory binding tensors");
    ibert_status st = bind_all(&b, model);
    if (st == IBERT_OK) st = reject_unknown_tensors(&b);
    if (st == IBERT_OK) st = gguf_check_packed(file);
    free(b.bound);
    return st;
}
