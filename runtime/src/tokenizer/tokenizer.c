/* tokenizer.c: creating a tokenizer (validation, vocabulary and merge maps, added
 * tokens) and the encode pipeline, which follows Hugging Face's Tokenizer::encode:
 *
 *   1. split added tokens whose match is on raw text out of the input;
 *   2. normalize each remaining piece (BertNormalizer for WordPiece; none for BPE);
 *   3. split added tokens whose match is on normalized text out of each piece;
 *   4. pre-tokenize and run the model (WordPiece / byte-level BPE) on what is left;
 *   5. wrap in [CLS] ... [SEP] (<s> ... </s>), truncating to the caller's capacity. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "tokenizer_internal.h"
#include "utf8.h"

static ibert_status check_special_id(const char *key, int32_t id, uint32_t n_tokens, bool optional) {
    if (optional && id == -1) return IBERT_OK;
    if (id < 0 || (uint32_t)id >= n_tokens) {
        return ibert_fail(IBERT_ERR_FORMAT, "%s = %d is not a token id (0..%u)", key, id, n_tokens - 1);
    }
    return IBERT_OK;
}

static ibert_status validate_config(const tokenizer_config *c, uint32_t n_tokens, uint32_t n_merges) {
    if (c->kind != TOKENIZER_WORDPIECE && c->kind != TOKENIZER_BYTE_BPE) {
        return ibert_fail(IBERT_ERR_UNSUPPORTED, "tokenizer.ggml.model: unknown tokenizer kind %d", (int)c->kind);
    }
    bool wordpiece = c->kind == TOKENIZER_WORDPIECE;
    if (c->n_model_tokens == 0 || c->n_model_tokens > n_tokens) {
        return ibert_fail(IBERT_ERR_FORMAT, "ibert.tokenizer.model_vocab_size = %u is not in 1..%u (the number of tokens)",
                          c->n_model_tokens, n_tokens);
    }
    ibert_status status;
    if ((status = check_special_id("tokenizer.ggml.cls_token_id", c->cls_id, n_tokens, false)) ||
        (status = check_special_id("tokenizer.ggml.seperator_token_id", c->sep_id, n_tokens, false)) ||
        (status = check_special_id("tokenizer.ggml.padding_token_id", c->pad_id, n_tokens, false)) ||
        (status = check_special_id("tokenizer.ggml.unknown_token_id", c->unk_id, n_tokens, !wordpiece))) {
        return status;
    }
    if (c->pair_separators > 2) {
        return ibert_fail(IBERT_ERR_FORMAT, "ibert.tokenizer.pair_separators = %u (must be 0, 1 or 2)",
                          c->pair_separators);
    }
    if (c->pair_type_id > 1) {
        return ibert_fail(IBERT_ERR_FORMAT, "ibert.tokenizer.pair_type_id = %u (must be 0 or 1)", c->pair_type_id);
    }
    if (!wordpiece) return IBERT_OK;
    if (c->trim_offsets) {
        return ibert_fail(IBERT_ERR_FORMAT, "ibert.tokenizer.trim_offsets: a WordPiece (\"bert\") tokenizer does "
                          "not trim offsets");
    }
    if (n_merges != 0) {
        return ibert_fail(IBERT_ERR_FORMAT, "tokenizer.ggml.merges: a WordPiece (\"bert\") tokenizer has no merges");
    }
    if (c->continuing_prefix.len == 0 || !c->continuing_prefix.data ||
        utf8_validate(c->continuing_prefix.data, (size_t)c->continuing_prefix.len) != IBERT_OK) {
        return ibert_fail(IBERT_ERR_FORMAT, "ibert.tokenizer.continuing_prefix must be a non-empty UTF-8 string");
    }
    if (c->max_word_chars == 0) {
        return ibert_fail(IBERT_ERR_FORMAT, "ibert.tokenizer.max_word_chars must be at least 1");
    }
    return IBERT_OK;
}

ibert_status tokenizer_create(const tokenizer_config *config, const ibert_strview *tokens,
                              uint32_t n_tokens, const ibert_strview *merges, uint32_t n_merges,
                              tokenizer **out) {
    if (!out) return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "tokenizer_create: out is NULL");
    *out = NULL;
    if (!config || !tokens) return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "tokenizer_create: config or tokens is NULL");
    if (n_tokens == 0 || n_tokens > INT32_MAX) {
        return ibert_fail(IBERT_ERR_FORMAT, "tokenizer.ggml.tokens: %u tokens (need 1..%d)", n_tokens, INT32_MAX);
    }
    ibert_status status = validate_config(config, n_tokens, n_merges);
    if (status != IBERT_OK) return status;
    for (uint32_t id = 0; id < n_tokens; id++) {
        if ((tokens[id].len > 0 && !tokens[id].data) || tokens[id].len > SIZE_MAX ||
            utf8_validate(tokens[id].data, (size_t)tokens[id].len) != IBERT_OK) {
            return ibert_fail(IBERT_ERR_FORMAT, "tokenizer.ggml.tokens[%u] is not valid UTF-8", id);
        }
    }

    tokenizer *tok = calloc(1, sizeof *tok);
    if (!tok) return ibert_fail(IBERT_ERR_OUT_OF_MEMORY, "tokenizer: out of memory");
    tok->config = *config;
    tok->config.added_tokens = NULL; /* the added-token sets keep their own copies */
    tok->n_tokens = n_tokens;
    tok->tokens = malloc(n_tokens * sizeof *tok->tokens);
    if (!tok->tokens) {
        tokenizer_free(tok);
        return ibert_fail(IBERT_ERR_OUT_OF_MEMORY, "tokenizer: out of memory for %u tokens", n_tokens);
    }
    memcpy(tok->tokens, tokens, n_tokens * sizeof *tok->tokens);
    for (uint32_t id = 0; id < config->n_model_tokens; id++) {
        if (tokens[id].len > tok->max_token_len) tok->max_token_len = (size_t)tokens[id].len;
    }
    status = vocab_map_build(&tok->vocab, tok->tokens, config->n_model_tokens);
    if (status == IBERT_OK && config->kind == TOKENIZER_BYTE_BPE) status = bpe_build(tok, merges, n_merges);
    if (status == IBERT_OK) status = added_tokens_build(tok, config);
    if (status != IBERT_OK) {
        tokenizer_free(tok);
        return status;
    }
    *out = tok;
    return IBERT_OK;
}

void tokenizer_free(tokenizer *tok) {
    if (!tok) return;
    added_tokens_free(tok);
    bpe_free(tok);
    vocab_map_free(&tok->vocab);
    free(tok->tokens);
    free(tok);
}

ibert_status align_text(const char *text, size_t len, encode_scratch *scratch) {
    range_list *align = &scratch->text_align;
    ibert_status status = range_list_reserve(align, len);
    if (status != IBERT_OK) return status;
    for (size_t pos = 0; pos < len;) {
        size_t start = pos;
        utf8_decode_next(text, &pos);
        for (size_t i = start; i < pos; i++) align->data[i] = (byte_range){start, pos};
    }
    align->len = len;
    return IBERT_OK;
}

/* Steps 3 and 4 on one (normalized) piece whose byte i came from align[i]. */
static ibert_status encode_normalized_piece(const tokenizer *tok, const char *text, size_t len,
                                            const byte_range *align, encode_scratch *scratch) {
    ibert_status status = added_tokens_split(&tok->normalized_added, text, len, &scratch->normalized_pieces);
    for (size_t i = 0; i < scratch->normalized_pieces.len && status == IBERT_OK; i++) {
        text_span piece = scratch->normalized_pieces.data[i];
        const char *piece_text = text + piece.start;
        size_t piece_len = piece.end - piece.start;
        if (piece.added_id >= 0) {
            status = token_list_push(&scratch->tokens, piece.added_id, true, range_of(align, piece.start, piece.end));
        } else if (tok->config.kind == TOKENIZER_WORDPIECE) {
            status = wordpiece_encode_text(tok, piece_text, piece_len, align + piece.start, scratch);
        } else {
            status = bpe_encode_text(tok, piece_text, piece_len, align + piece.start, scratch);
        }
    }
    return status;
}

ibert_status tokenizer_encode_text(const tokenizer *tok, const char *text, size_t len, encode_scratch *scratch) {
    scratch->tokens.len = 0;
    ibert_status status = align_text(text, len, scratch);
    if (status == IBERT_OK) status = added_tokens_split(&tok->raw_added, text, len, &scratch->raw_pieces);
    const byte_range *align = scratch->text_align.data;
    for (size_t i = 0; i < scratch->raw_pieces.len && status == IBERT_OK; i++) {
        text_span piece = scratch->raw_pieces.data[i];
        if (piece.added_id >= 0) {
            status = token_list_push(&scratch->tokens, piece.added_id, true, (byte_range){piece.start, piece.end});
        } else if (tok->config.kind == TOKENIZER_WORDPIECE) {
            status = normalize_bert(&tok->config, text + piece.start, piece.end - piece.start, align + piece.start,
                                    scratch);
            if (status == IBERT_OK) {
                status = encode_normalized_piece(tok, scratch->normalized.data, scratch->normalized.len,
                                                 scratch->normalized_align.data, scratch);
            }
        } else {
            status = encode_normalized_piece(tok, text + piece.start, piece.end - piece.start, align + piece.start,
                                             scratch);
        }
    }
    return status;
}

ibert_status tokenizer_encode(const tokenizer *tok, const char *text, size_t text_len, int32_t *ids,
                              size_t capacity, size_t *n_ids) {
    if (!tok || !n_ids || (!text && text_len > 0) || (!ids && capacity > 0)) {
        return ibert_fail(IBERT_ERR_INVALID_ARGUMENT,
                          "tokenize: tokenizer, n_ids, text (unless empty) and ids (unless capacity is 0) "
                          "must not be NULL");
    }
    if (!text) text = "";
    ibert_status status = utf8_validate(text, text_len);
    if (status != IBERT_OK) return status;

    encode_scratch scratch = {0};
    status = tokenizer_encode_text(tok, text, text_len, &scratch);
    if (status == IBERT_OK) {
        const token_list *body = &scratch.tokens;
        size_t total = body->len + 2;
        *n_ids = total;
        /* The sequence is [cls] body [sep]; when it does not fit, keep its first
         * capacity - 1 ids and end with [sep] so the model still sees a closed sequence. */
        size_t kept = total <= capacity ? total : capacity;
        if (kept > 0) {
            for (size_t i = 0; i + 1 < kept; i++) ids[i] = i == 0 ? tok->config.cls_id : body->data[i - 1].id;
            ids[kept - 1] = tok->config.sep_id;
        }
    }
    encode_scratch_free(&scratch);
    return status;
}

ibert_strview tokenizer_token_text(const tokenizer *tok, int32_t id) {
    ibert_strview none = {NULL, 0};
    return id >= 0 && (uint32_t)id < tok->n_tokens ? tok->tokens[id] : none;
}

tokenizer_kind tokenizer_get_kind(const tokenizer *tok) { return tok->config.kind; }
