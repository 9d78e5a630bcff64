/* tokenizer.h: the tokenizers inside a model file (WordPiece for BERT, byte-level
 * BPE for RoBERTa), built once at load from the vocabulary the file holds and
 * then read-only, so any number of threads may encode with one tokenizer.
 * The algorithm, key by key, is specified in models/FORMAT.md (tokenizer section). */
#ifndef IBERT_TOKENIZER_H
#define IBERT_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ibert.h"
#include "strview.h"

typedef struct gguf_file gguf_file;

typedef enum tokenizer_kind {
    TOKENIZER_WORDPIECE = 0, /* "bert" in tokenizer.ggml.model */
    TOKENIZER_BYTE_BPE = 1   /* "gpt2" in tokenizer.ggml.model */
} tokenizer_kind;

/* Flags of an added token (Hugging Face AddedToken options). */
enum {
    ADDED_TOKEN_LSTRIP = 1u,      /* the match swallows white space on its left */
    ADDED_TOKEN_RSTRIP = 2u,      /* ... and on its right */
    ADDED_TOKEN_SINGLE_WORD = 4u, /* only matches when not inside a word */
    ADDED_TOKEN_NORMALIZED = 8u,  /* matched in normalized text (text is then the
                                     normalized content), else in the raw input */
    ADDED_TOKEN_ALL_FLAGS = 15u
};

/* A token split out of the text before the model sees it ([CLS], <mask>, ...). */
typedef struct tokenizer_added_token {
    int32_t id;
    ibert_strview text; /* what is matched */
    uint32_t flags;     /* ADDED_TOKEN_* */
} tokenizer_added_token;

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
    /* special tokens: a single sequence is [cls_id] a [sep_id]; a pair is [cls_id] a
       [sep_id] b [sep_id] with pair_separators [sep_id]s between a and b (1: BERT,
       2: RoBERTa; 0: the tokenizer encodes no pairs); [cls_id], a and the separators
       after it have token type 0, b and its closing [sep_id] pair_type_id (0 or 1) */
    uint32_t pair_separators;
    uint32_t pair_type_id;
    /* BPE offsets: RobertaProcessing's trim_offsets and add_prefix_space */
    bool trim_offsets;
    bool trim_prefix_space;
    int32_t cls_id;
    int32_t sep_id;
    int32_t unk_id; /* -1 if the vocabulary has none (WordPiece requires one; BPE then
                       drops bytes that have no token) */
    int32_t pad_id;
    /* ids below n_model_tokens are the model's vocabulary, which WordPiece and BPE
       look up; ids from there on are added tokens the model does not know (reached
       only by splitting added tokens out of the text) */
    uint32_t n_model_tokens;
    /* split out of the input text, in the order the file lists them (may be 0) */
    const tokenizer_added_token *added_tokens;
    uint32_t n_added_tokens;
} tokenizer_config;

typedef struct tokenizer tokenizer;

/* tokens[i] is the text of id i; merges (BPE only) are "left right" in priority
 * order. The bytes the views point to must outlive the tokenizer (the arrays of
 * views themselves need not). Validates everything it is given. */
ibert_status tokenizer_create(const tokenizer_config *config, const ibert_strview *tokens,
                              uint32_t n_tokens, const ibert_strview *merges, uint32_t n_merges,
                              tokenizer **out);
void tokenizer_free(tokenizer *tok);
/* The text of token id (len 0 and data NULL outside the vocabulary), and the kind. */
ibert_strview tokenizer_token_text(const tokenizer *tok, int32_t id);
tokenizer_kind tokenizer_get_kind(const tokenizer *tok);

/* Reads the tokenizer.ggml.* and ibert.tokenizer.* keys of a model file and creates
 * the tokenizer; IBERT_ERR_FORMAT naming the key if one is missing or invalid. The
 * file's buffer must outlive the tokenizer. */
ibert_status tokenizer_from_gguf(const gguf_file *file, tokenizer **out);

/* Same contract as ibert_tokenize in ibert.h. Thread-safe on a shared tokenizer. */
ibert_status tokenizer_encode(const tokenizer *tok, const char *text, size_t text_len, int32_t *ids,
                              size_t capacity, size_t *n_ids);

/* Same contract as ibert_tokenize_pair in ibert.h (arguments already checked for
 * NULL there; text_b NULL: no second text). Thread-safe on a shared tokenizer. */
ibert_status tokenizer_encode_pair(const tokenizer *tok, const char *text_a, size_t len_a, const char *text_b,
                                   size_t len_b, ibert_truncation truncation, ibert_offset_unit unit,
                                   size_t max_tokens, int32_t *ids, int32_t *type_ids, ibert_offset *offsets,
                                   size_t *n_tokens, size_t *n_untruncated);

#endif
