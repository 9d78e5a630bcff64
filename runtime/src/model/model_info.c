/* model_info.c: what a loaded model tells its caller (the ibert_model_* getters
 * of ibert.h) and tokenization through the model's tokenizer. A NULL model gives
 * 0 or NULL rather than a crash. */
#include <stdint.h>

#include "error.h"
#include "task.h"
#include "model.h"

/* The newest models/FORMAT.md version this runtime reads: 2, 3 (task heads,
 * low-bit weights), 4 (int16 position and token-type tables), 5 (I-BERT's
 * 16-bit softmax exps), 6 (GELU output zero points) and 7 (the cubic GELU,
 * ibert.gelu.form) load; version 2
 * files, which have no ibert.task, still load;
 * version 1 rounded softmax probabilities down, model_metadata.c refuses it by name. */
#define IBERT_FORMAT_VERSION 7

uint32_t ibert_format_version(void) { return IBERT_FORMAT_VERSION; }

uint32_t ibert_model_format_version(const ibert_model *model) { return model ? model->hp.format_version : 0; }

uint32_t ibert_model_vocab_size(const ibert_model *model) { return model ? model->hp.vocab_size : 0; }

uint32_t ibert_model_hidden_size(const ibert_model *model) { return model ? model->hp.hidden_size : 0; }

uint32_t ibert_model_num_layers(const ibert_model *model) { return model ? model->hp.num_layers : 0; }

uint32_t ibert_model_max_tokens(const ibert_model *model) { return model ? model->hp.max_tokens : 0; }

uint32_t ibert_model_num_labels(const ibert_model *model) { return model ? model->hp.num_labels : 0; }

const char *ibert_model_label(const ibert_model *model, uint32_t i) {
    return model && i < model->hp.num_labels ? model->labels[i] : NULL;
}

ibert_task ibert_model_task(const ibert_model *model) { return model ? model->hp.task : IBERT_TASK_ENCODER; }

int32_t ibert_model_mask_token(const ibert_model *model) { return model ? model->mask_token_id : -1; }

size_t ibert_fill_mask_count(const ibert_model *model, const int32_t *input_ids, const int32_t *attention_mask,
                             size_t n_tokens) {
    if (!model || !input_ids || model->hp.task != IBERT_TASK_FILL_MASK) return 0;
    size_t k = 0;
    for (size_t i = 0; i < n_tokens; i++)
        k += input_ids[i] == model->mask_token_id && (!attention_mask || attention_mask[i] == 1);
    return k;
}

/* 0 if n_tokens * the row width does not fit in size_t (no real call reaches that). */
size_t ibert_model_output_size(const ibert_model *model, size_t n_tokens) {
    if (!model) return 0;
    if (model->hp.task == IBERT_TASK_SENTENCE_EMBEDDING) return model->hp.hidden_size;
    head_kind kind = task_head(model->hp.task);
    if (kind == HEAD_FIRST_TOKEN) return model->hp.num_labels;
    size_t width = kind == HEAD_EVERY_TOKEN     ? model->hp.num_labels
                   : kind == HEAD_MASKED_TOKENS ? model->hp.vocab_size
                                                : model->hp.hidden_size;
    if (n_tokens > SIZE_MAX / width) return 0;
    return n_tokens * width;
}

ibert_scale ibert_model_output_scale(const ibert_model *model) {
    ibert_scale none = {0, 0};
    return model ? model->output_scale : none;
}

size_t ibert_model_context_bytes(const ibert_model *model) { return model ? model->context_bytes : 0; }

const char *ibert_model_kernels(const ibert_model *model) { return model ? model->kernels->name : NULL; }

size_t ibert_model_packed_bytes(const ibert_model *model) { return model ? model->packed_bytes : 0; }

uint32_t ibert_model_weight_bits(const ibert_model *model, uint32_t index, uint32_t *group_size) {
    if (!model || index / 6 >= model->hp.num_layers) return 0;
    const encoder_layer *layer = &model->layers[index / 6];
    const linear *const in_layer[6] = {&layer->attn_q,   &layer->attn_k, &layer->attn_v,
                                       &layer->attn_out, &layer->ffn_up, &layer->ffn_down};
    const linear *l = in_layer[index % 6];
    if (group_size) *group_size = l->lowbit.codes ? (uint32_t)l->lowbit.group_size : 0;
    return l->lowbit.codes ? l->lowbit.bits : 8;
}

uint32_t ibert_model_embedding_bits(const ibert_model *model) { return model ? model->token_embd_bits : 0; }

const char *ibert_model_gelu_form(const ibert_model *model) {
    if (!model) return "";
    return model->gelu.form == IGELU_ERF3 ? "erf3" : "erf2";
}

ibert_status ibert_tokenize(const ibert_model *model, const char *text, size_t text_len, int32_t *ids,
                            size_t capacity, size_t *n_ids) {
    if (!model) return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "ibert_tokenize: model is NULL");
    if (!n_ids) return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "ibert_tokenize: n_ids is NULL");
    if (!text && text_len > 0)
        return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "ibert_tokenize: text is NULL but text_len is %zu", text_len);
    if (!ids && capacity > 0)
        return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "ibert_tokenize: ids is NULL but capacity is %zu", capacity);
    return tokenizer_encode(model->tok, text ? text : "", text_len, ids, capacity, n_ids);
}

ibert_status ibert_tokenize_pair(const ibert_model *model, const char *text_a, size_t len_a, const char *text_b,
                                 size_t len_b, ibert_truncation truncation, ibert_offset_unit unit, size_t max_tokens,
                                 int32_t *ids, int32_t *type_ids, ibert_offset *offsets, size_t *n_tokens,
                                 size_t *n_untruncated) {
    if (!model) return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "ibert_tokenize_pair: model is NULL");
    if (!ids || !n_tokens) return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "ibert_tokenize_pair: ids or n_tokens is NULL");
    if (!text_a && len_a > 0)
        return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "ibert_tokenize_pair: text_a is NULL but len_a is %zu", len_a);
    if (!text_b && len_b > 0)
        return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "ibert_tokenize_pair: text_b is NULL but len_b is %zu", len_b);
    if ((unsigned)truncation > IBERT_TRUNCATE_ONLY_SECOND)
        return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "ibert_tokenize_pair: truncation %d is not an ibert_truncation",
                          (int)truncation);
    if ((unsigned)unit > IBERT_OFFSETS_CODE_POINTS)
        return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "ibert_tokenize_pair: unit %d is not an ibert_offset_unit",
                          (int)unit);
    return tokenizer_encode_pair(model->tok, text_a, len_a, text_b, len_b, truncation, unit, max_tokens, ids,
                                 type_ids, offsets, n_tokens, n_untruncated);
}

const char *ibert_token_text(const ibert_model *model, int32_t id, size_t *len) {
    if (!model || !len) return NULL;
    ibert_strview text = tokenizer_token_text(model->tok, id);
    *len = text.len;
    return text.data;
}

int ibert_model_byte_level(const ibert_model *model) {
    return model && tokenizer_get_kind(model->tok) == TOKENIZER_BYTE_BPE;
}

int ibert_model_embedding_normalized(const ibert_model *model) {
    return model && model->hp.task == IBERT_TASK_SENTENCE_EMBEDDING && model->normalize;
}
