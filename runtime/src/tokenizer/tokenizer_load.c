/* tokenizer_load.c: the tokenizer of a model file, from its GGUF keys (specified in
 * models/FORMAT.md, tokenizer section). Everything is validated here or in
 * tokenizer_create; every error names the key. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gguf_reader.h"
#include "tokenizer.h"

#define ADDED_IDS_KEY "ibert.tokenizer.added_token_ids"
#define ADDED_TEXTS_KEY "ibert.tokenizer.added_token_texts"
#define ADDED_FLAGS_KEY "ibert.tokenizer.added_token_flags"

static bool view_equals(ibert_strview view, const char *s) {
    return view.len == strlen(s) && memcmp(view.data, s, (size_t)view.len) == 0;
}

static ibert_status get_token_id(const gguf_file *file, const char *key, int32_t *out) {
    uint32_t value;
    ibert_status status = gguf_get_u32(file, key, &value);
    if (status != IBERT_OK) return status;
    if (value > INT32_MAX) return ibert_fail(IBERT_ERR_FORMAT, "%s = %u is not a token id", key, value);
    *out = (int32_t)value;
    return IBERT_OK;
}

static ibert_status read_kind(const gguf_file *file, tokenizer_kind *kind) {
    ibert_strview model;
    ibert_status status = gguf_get_str(file, "tokenizer.ggml.model", &model);
    if (status != IBERT_OK) return status;
    if (view_equals(model, "bert")) {
        *kind = TOKENIZER_WORDPIECE;
    } else if (view_equals(model, "gpt2")) {
        *kind = TOKENIZER_BYTE_BPE;
    } else {
        return ibert_fail(IBERT_ERR_UNSUPPORTED, "tokenizer.ggml.model = \"%.*s\": supported are \"bert\" and \"gpt2\"",
                          (int)(model.len > 32 ? 32 : model.len), model.data);
    }
    return IBERT_OK;
}

/* An optional key: its value if present, else *value stays the default. */
static ibert_status optional_u32(const gguf_file *file, const char *key, uint32_t *value) {
    return gguf_has_key(file, key) ? gguf_get_u32(file, key, value) : IBERT_OK;
}

static ibert_status optional_bool(const gguf_file *file, const char *key, bool *value) {
    return gguf_has_key(file, key) ? gguf_get_bool(file, key, value) : IBERT_OK;
}

/* Pairs and offsets; the defaults, for files written before these keys, are BERT's and
 * RoBERTa's (models/FORMAT.md). */
static ibert_status read_pair_options(const gguf_file *file, tokenizer_config *c) {
    bool bpe = c->kind == TOKENIZER_BYTE_BPE;
    c->pair_separators = bpe ? 2 : 1;
    c->pair_type_id = bpe ? 0 : 1;
    c->trim_offsets = bpe;
    c->trim_prefix_space = c->add_prefix_space;
    ibert_status status;
    if ((status = optional_u32(file, "ibert.tokenizer.pair_separators", &c->pair_separators)) ||
        (status = optional_u32(file, "ibert.tokenizer.pair_type_id", &c->pair_type_id))) {
        return status;
    }
    if (!bpe) return IBERT_OK;
    if ((status = optional_bool(file, "ibert.tokenizer.trim_offsets", &c->trim_offsets))) return status;
    return optional_bool(file, "ibert.tokenizer.trim_offsets_prefix_space", &c->trim_prefix_space);
}

static ibert_status read_config(const gguf_file *file, tokenizer_config *c) {
    ibert_status status;
    if ((status = read_kind(file, &c->kind)) ||
        (status = get_token_id(file, "tokenizer.ggml.cls_token_id", &c->cls_id)) ||
        (status = get_token_id(file, "tokenizer.ggml.seperator_token_id", &c->sep_id)) ||
        (status = get_token_id(file, "tokenizer.ggml.padding_token_id", &c->pad_id))) {
        return status;
    }
    c->unk_id = -1;
    if (c->kind == TOKENIZER_WORDPIECE || gguf_has_key(file, "tokenizer.ggml.unknown_token_id")) {
        if ((status = get_token_id(file, "tokenizer.ggml.unknown_token_id", &c->unk_id))) return status;
    }
    if (c->kind == TOKENIZER_BYTE_BPE) {
        status = gguf_get_bool(file, "ibert.tokenizer.add_prefix_space", &c->add_prefix_space);
        return status == IBERT_OK ? read_pair_options(file, c) : status;
    }
    if ((status = read_pair_options(file, c)) ||
        (status = gguf_get_bool(file, "ibert.tokenizer.clean_text", &c->clean_text)) ||
        (status = gguf_get_bool(file, "ibert.tokenizer.handle_chinese_chars", &c->handle_chinese_chars)) ||
        (status = gguf_get_bool(file, "ibert.tokenizer.strip_accents", &c->strip_accents)) ||
        (status = gguf_get_bool(file, "ibert.tokenizer.lowercase", &c->lowercase)) ||
        (status = gguf_get_str(file, "ibert.tokenizer.continuing_prefix", &c->continuing_prefix)) ||
        (status = gguf_get_u32(file, "ibert.tokenizer.max_word_chars", &c->max_word_chars))) {
        return status;
    }
    return IBERT_OK;
}

/* The three parallel added-token arrays: all present (same length) or all absent. */
static ibert_status read_added_tokens(const gguf_file *file, tokenizer_added_token **out, uint32_t *n_out) {
    *out = NULL;
    *n_out = 0;
    bool has_ids = gguf_has_key(file, ADDED_IDS_KEY), has_texts = gguf_has_key(file, ADDED_TEXTS_KEY);
    bool has_flags = gguf_has_key(file, ADDED_FLAGS_KEY);
    if (!has_ids && !has_texts && !has_flags) return IBERT_OK;
    if (!has_ids || !has_texts || !has_flags) {
        return ibert_fail(IBERT_ERR_FORMAT, "%s, %s and %s must all be present or all absent",
                          ADDED_IDS_KEY, ADDED_TEXTS_KEY, ADDED_FLAGS_KEY);
    }
    const void *ids, *flags;
    ibert_strview *texts = NULL;
    uint64_t n_ids, n_texts, n_flags;
    ibert_status status = gguf_get_u32_array(file, ADDED_IDS_KEY, &ids, &n_ids);
    if (status == IBERT_OK) status = gguf_get_u32_array(file, ADDED_FLAGS_KEY, &flags, &n_flags);
    if (status == IBERT_OK) status = gguf_get_str_array(file, ADDED_TEXTS_KEY, &texts, &n_texts);
    if (status != IBERT_OK) {
        free(texts);
        return status;
    }
    if (n_ids != n_texts || n_ids != n_flags || n_ids > UINT32_MAX) {
        free(texts);
        return ibert_fail(IBERT_ERR_FORMAT, "%s, %s and %s have different lengths (%llu, %llu, %llu)",
                          ADDED_IDS_KEY, ADDED_TEXTS_KEY, ADDED_FLAGS_KEY, (unsigned long long)n_ids,
                          (unsigned long long)n_texts, (unsigned long long)n_flags);
    }
    tokenizer_added_token *added = n_ids ? malloc((size_t)n_ids * sizeof *added) : NULL;
    if (n_ids && !added) {
        free(texts);
        return ibert_fail(IBERT_ERR_OUT_OF_MEMORY, "tokenizer: out of memory for added tokens");
    }
    for (uint64_t i = 0; i < n_ids; i++) {
        uint32_t id, flag;
        memcpy(&id, (const char *)ids + i * 4, 4); /* the arrays may be unaligned */
        memcpy(&flag, (const char *)flags + i * 4, 4);
        /* ids above INT32_MAX become negative and are rejected by tokenizer_create */
        added[i] = (tokenizer_added_token){id > INT32_MAX ? -1 : (int32_t)id, texts[i], flag};
    }
    free(texts);
    *out = added;
    *n_out = (uint32_t)n_ids;
    return IBERT_OK;
}

ibert_status tokenizer_from_gguf(const gguf_file *file, tokenizer **out) {
    if (!file || !out) return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "tokenizer_from_gguf: NULL argument");
    *out = NULL;
    tokenizer_config config = {0};
    ibert_status status = read_config(file, &config);
    if (status != IBERT_OK) return status;

    ibert_strview *tokens = NULL, *merges = NULL;
    uint64_t n_tokens = 0, n_merges = 0;
    tokenizer_added_token *added = NULL;
    status = gguf_get_str_array(file, "tokenizer.ggml.tokens", &tokens, &n_tokens);
    if (status == IBERT_OK && n_tokens > INT32_MAX) {
        status = ibert_fail(IBERT_ERR_FORMAT, "tokenizer.ggml.tokens: %llu tokens is too many",
                            (unsigned long long)n_tokens);
    }
    if (status == IBERT_OK && config.kind == TOKENIZER_BYTE_BPE) {
        status = gguf_get_str_array(file, "tokenizer.ggml.merges", &merges, &n_merges);
        if (status == IBERT_OK && n_merges > UINT32_MAX) {
            status = ibert_fail(IBERT_ERR_FORMAT, "tokenizer.ggml.merges: %llu merges is too many",
                                (unsigned long long)n_merges);
        }
    }
    config.n_model_tokens = (uint32_t)n_tokens;
    if (status == IBERT_OK && gguf_has_key(file, "ibert.tokenizer.model_vocab_size")) {
        status = gguf_get_u32(file, "ibert.tokenizer.model_vocab_size", &config.n_model_tokens);
    }
    if (status == IBERT_OK) status = read_added_tokens(file, &added, &config.n_added_tokens);
    if (status == IBERT_OK) {
        config.added_tokens = added;
        status = tokenizer_create(&config, tokens, (uint32_t)n_tokens, merges, (uint32_t)n_merges, out);
    }
    free(added);
    free(tokens);
    free(merges);
    return status;
}
