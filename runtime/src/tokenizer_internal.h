/* tokenizer_internal.h: the tokenizer's data and the per-call scratch shared by the
 * files that implement it (tokenizer.c drives; the others are one stage each). */
#ifndef IBERT_TOKENIZER_INTERNAL_H
#define IBERT_TOKENIZER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tokenizer.h"

/* ---- growable arrays: encode allocates its scratch per call, so a shared tokenizer
 *      needs no locking ---- */

/* Returns data grown to hold at least `needed` elements (updating *capacity), or NULL
 * on allocation failure (data is then untouched and still owned by the caller). */
void *scratch_grow(void *data, size_t *capacity, size_t needed, size_t elem_size);

/* A byte range of some text; added_id >= 0 marks an added token, -1 plain text. */
typedef struct text_span {
    size_t start;
    size_t end;
    int32_t added_id;
} text_span;

typedef struct id_list { int32_t *data; size_t len, cap; } id_list;
typedef struct code_point_list { uint32_t *data; size_t len, cap; } code_point_list;
typedef struct byte_list { char *data; size_t len, cap; } byte_list;
typedef struct span_list { text_span *data; size_t len, cap; } span_list;

ibert_status id_list_push(id_list *list, int32_t id);
ibert_status code_point_list_push(code_point_list *list, uint32_t cp);
ibert_status byte_list_append(byte_list *list, const char *bytes, size_t n);
ibert_status span_list_push(span_list *list, size_t start, size_t end, int32_t added_id);
/* Makes room for `needed` elements (contents kept, len unchanged). */
ibert_status code_point_list_reserve(code_point_list *list, size_t needed);

/* BPE working state of one word: a doubly linked list of symbols over an array, and a
 * binary min-heap of candidate merges. */
typedef struct bpe_symbol {
    int32_t id;
    int32_t prev; /* index, -1 at the start */
    int32_t next; /* index, -1 at the end */
    bool removed; /* merged into its left neighbour */
} bpe_symbol;

typedef struct bpe_candidate {
    uint32_t rank;
    uint32_t pos; /* index of the left symbol */
    int32_t merged_id;
} bpe_candidate;

typedef struct encode_scratch {
    id_list ids;                /* the sequence without [CLS]/[SEP] */
    span_list raw_pieces;       /* input split by the raw-text added tokens */
    span_list normalized_pieces;/* a normalized piece split by the normalized added tokens */
    span_list words;            /* pre-tokenized words of one piece */
    code_point_list cps;        /* BERT normalization buffers */
    code_point_list cps_other;
    byte_list normalized;       /* normalized piece (BERT) / piece with prefix space (BPE) */
    byte_list candidate;        /* WordPiece lookup key: continuing prefix + subword */
    bpe_symbol *symbols;
    size_t symbols_cap;
    bpe_candidate *heap;
    size_t heap_cap;
} encode_scratch;

void encode_scratch_free(encode_scratch *scratch);

/* ---- vocabulary: token text -> id (open addressing, built at load) ---- */
typedef struct vocab_slot {
    uint32_t id_plus_one; /* 0: empty */
    uint32_t hash;        /* low bits of the hash, compared before the bytes */
} vocab_slot;

typedef struct vocab_map {
    vocab_slot *slots;
    size_t mask; /* slot count - 1 (a power of two) */
    const ibert_strview *tokens;
} vocab_map;

/* Fails with IBERT_ERR_FORMAT naming both ids if two tokens are equal. */
ibert_status vocab_map_build(vocab_map *map, const ibert_strview *tokens, uint32_t n_tokens);
int32_t vocab_map_find(const vocab_map *map, const char *text, size_t len); /* -1 if absent */
void vocab_map_free(vocab_map *map);

/* ---- BPE merges: (left id, right id) -> (rank, merged id) ---- */
typedef struct merge_slot {
    uint64_t pair;     /* left << 32 | right */
    uint32_t rank;
    int32_t merged_id; /* -1: empty slot */
} merge_slot;

typedef struct merge_map {
    merge_slot *slots;
    size_t mask;
} merge_map;

/* ---- added tokens, grouped by first byte for leftmost-longest matching ---- */
typedef struct added_token_set {
    tokenizer_added_token *tokens; /* sorted by first byte, then longest first */
    uint32_t n_tokens;
    uint32_t bucket_start[257];    /* tokens starting with byte b: [bucket_start[b], bucket_start[b+1]) */
} added_token_set;

struct tokenizer {
    tokenizer_config config; /* added_tokens points into the sets below */
    ibert_strview *tokens;
    uint32_t n_tokens;
    vocab_map vocab;          /* the model's tokens (ids below config.n_model_tokens) */
    size_t max_token_len;     /* bytes of the model's longest token: bounds WordPiece's search */
    merge_map merges;         /* BPE only */
    int32_t byte_ids[256];    /* BPE: id of the token for each byte's unicode stand-in, -1 if none */
    added_token_set raw_added;        /* matched in the input text */
    added_token_set normalized_added; /* matched in normalized pieces */
};

/* tokenizer_added.c */
ibert_status added_tokens_build(tokenizer *tok, const tokenizer_config *config);
void added_tokens_free(tokenizer *tok);
/* Splits text into plain and added-token spans the way HF's AddedVocabulary does
 * (non-overlapping leftmost-longest matches, then single_word/lstrip/rstrip). */
ibert_status added_tokens_split(const added_token_set *set, const char *text, size_t len,
                                span_list *out);

/* normalize_bert.c: BertNormalizer; text is valid UTF-8, *out receives the result. */
ibert_status normalize_bert(const tokenizer_config *config, const char *text, size_t len,
                            encode_scratch *scratch, byte_list *out);

/* pretokenize_bert.c: BertPreTokenizer (white space removed, punctuation isolated). */
ibert_status pretokenize_bert(const char *text, size_t len, span_list *words);

/* pretokenize_gpt2.c: the GPT-2 split regex. */
ibert_status pretokenize_gpt2(const char *text, size_t len, span_list *words);

/* wordpiece.c: pre-tokenizes normalized text and appends the WordPiece ids. */
ibert_status wordpiece_encode_text(const tokenizer *tok, const char *text, size_t len,
                                   encode_scratch *scratch);

/* bpe.c */
ibert_status bpe_build(tokenizer *tok, const ibert_strview *merges, uint32_t n_merges);
void bpe_free(tokenizer *tok);
/* ByteLevel pre-tokenization (prefix space, split regex) and BPE of each word. */
ibert_status bpe_encode_text(const tokenizer *tok, const char *text, size_t len,
                             encode_scratch *scratch);

#endif
