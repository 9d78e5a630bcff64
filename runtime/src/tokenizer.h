/* tokenizer.h: the tokenizers inside a model file (WordPiece for BERT, byte-level
 * BPE for RoBERTa), built once at load from the vocabulary the file holds and
 * then read-only, so any number of threads may encode with one tokenizer. */
#ifndef IBERT_TOKENIZER_H
#define IBERT_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ibert.h"
#include "strview.h"

typedef enum tokenizer_kind {
    TOKENIZER_WORDPIECE = 0, /* "bert" in tokenizer.ggml.model */
    TOKENIZER_BYTE_BPE = 1   /* "gpt2" in tokenizer.ggml.model */
} tokenizer_kind;

typedef struct tokenizer_config {
    tokenizer_kind kind;
    /* WordPiece: BertNormalizer and BertPreTokenizer options */
    bool clean_text;
    bool handle_chinese_chars;
    bool strip_accents;
    bool lowercase;
    ibert_strview continuing_prefix; /* "##" */
    uint32_t max_word_chars;          /* longer words become unk_id (100) */
    /* byte-level BPE */
    bool add_prefix_space;
    /* special tokens: a single sequence is [cls_id] tokens... [sep_id] */
    int32_t cls_id;
    int32_t sep_id;
    int32_t unk_id; /* -1 if the vocabulary has none */
    int32_t pad_id;
} tokenizer_config;

typedef struct tokenizer tokenizer;

/* tokens[i] is the text of id i; merges (BPE only) are "left right" in priority
 * order. The views must outlive the tokenizer. Validates everything it is given. */
ibert_status tokenizer_create(const tokenizer_config *config, const ibert_strview *tokens,
                              uint32_t n_tokens, const ibert_strview *merges, uint32_t n_merges,
                              tokenizer **out);
void tokenizer_free(tokenizer *tok);

/* Same contract as ibert_tokenize in ibert.h. */
ibert_status tokenizer_encode(const tokenizer *tok, const char *text, size_t text_len, int32_t *ids,
                              size_t capacity, size_t *n_ids);

#endif
