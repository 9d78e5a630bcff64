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

/* Where a byte of a (normalized) text came from: the byte range [start, end) of the
 * original text (HF NormalizedString's alignment). Every byte of a character has its
 * character's range. */
typedef struct byte_range {
    size_t start;
    size_t end;
} byte_range;

/* One token of a sequence: its id and where it is in the original text (bytes).
 * added: it was split out as an added token (its text is then text[start, end)). */
typedef struct encoded_token {
    int32_t id;
    bool added;
    size_t start;
    size_t end;
} encoded_token;

typedef struct token_list { encoded_token *data; size_t len, cap; } token_list;
typedef struct code_point_list { uint32_t *data; size_t len, cap; } code_point_list;
typedef struct byte_list { char *data; size_t len, cap; } byte_list;
typedef struct span_list { text_span *data; size_t len, cap; } span_list;
typedef struct range_list { byte_range *data; size_t len, cap; } range_list;
typedef struct size_list { size_t *data; size_t len, cap; } size_list;

ibert_status token_list_push(token_list *list, int32_t id, bool added, byte_range where);
ibert_status code_point_list_push(code_point_list *list, uint32_t cp);
ibert_status byte_list_append(byte_list *list, const char *bytes, size_t n);
ibert_status span_list_push(span_list *list, size_t start, size_t end, int32_t added_id);
ibert_status range_list_push(range_list *list, byte_range range);
/* Make room for `needed` elements (contents kept, len unchanged). */
ibert_status token_list_reserve(token_list *list, size_t needed);
ibert_status code_point_list_reserve(code_point_list *list, size_t needed);
ibert_status span_list_reserve(span_list *list, size_t needed);
ibert_status range_list_reserve(range_list *list, size_t needed);
ibert_status size_list_reserve(size_list *list, size_t needed);

/* The original range of bytes [start, end) of a text whose byte i came from align[i]:
 * from the start of the first byte's range to the end of the last's, as HF's
 * NormalizedString::convert_offsets (not a min/max: NFD may reorder). end > start. */
static inline byte_range range_of(const byte_range *align, size_t start, size_t end) {
    return (byte_range){align[start].start, align[end - 1].end};
}

/* BPE working state of one word: a doubly linked list of symbols over an array, and a
 * binary min-heap of candidate merges. */
typedef struct bpe_symbol {
    int32_t id;
    int32_t prev; /* index, -1 at the start */
    int32_t next; /* index, -1 at the end */
    uint32_t len; /* bytes of the byte stand-in characters it covers (HF's Symbol::len) */
    bool removed; /* merged into its left neighbour */
} bpe_symbol;

typedef struct bpe_candidate {
    uint32_t rank;
    uint32_t pos; /* index of the left symbol */
    int32_t merged_id;
} bpe_candidate;

typedef struct encode_scratch {
    token_list tokens;          /* the sequence without [CLS]/[SEP] */
    range_list text_align;      /* each input byte's character (identity alignment) */
    span_list raw_pieces;       /* input split by the raw-text added tokens */
    span_list normalized_pieces;/* a normalized piece split by the normalized added tokens */
    span_list words;            /* pre-tokenized words of one piece */
    code_point_list cps;        /* BERT normalization buffers, and each code point's */
    code_point_list cps_other;  /* alignment; changes: HF's per-character change (NFD) */
    range_list cps_align;
    range_list cps_align_other;
    byte_list changes;
    byte_list normalized;       /* normalized piece (BERT) / piece with prefix space (BPE) */
    range_list normalized_align;/* ... and where each of its bytes came from */
    byte_list candidate;        /* WordPiece lookup key: continuing prefix + subword */
    size_list standin_bytes;    /* BPE: the word byte each byte of its stand-in text is for */
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

/* Fills scratch->text_align: each byte of the (valid UTF-8) text aligned to its character. */
ibert_status align_text(const char *text, size_t len, encode_scratch *scratch);

/* normalize_bert.c: BertNormalizer; text is valid UTF-8 whose byte i came from align[i].
 * scratch->normalized receives the result, scratch->normalized_align its alignment. */
ibert_status normalize_bert(const tokenizer_config *config, const char *text, size_t len,
                            const byte_range *align, encode_scratch *scratch);

/* pretokenize_bert.c: BertPreTokenizer (white space removed, punctuation isolated). */
ibert_status pretokenize_bert(const char *text, size_t len, span_list *words);

/* pretokenize_gpt2.c: the GPT-2 split regex. */
ibert_status pretokenize_gpt2(const char *text, size_t len, span_list *words);

/* wordpiece.c: pre-tokenizes normalized text (byte i from align[i]) and appends the
 * WordPiece tokens. */
ibert_status wordpiece_encode_text(const tokenizer *tok, const char *text, size_t len,
                                   const byte_range *align, encode_scratch *scratch);

/* bpe.c */
ibert_status bpe_build(tokenizer *tok, const ibert_strview *merges, uint32_t n_merges);
void bpe_free(tokenizer *tok);
/* ByteLevel pre-tokenization (prefix space, split regex) and BPE of each word of text
 * (byte i from align[i]); appends the tokens. */
ibert_status bpe_encode_text(const tokenizer *tok, const char *text, size_t len,
                             const byte_range *align, encode_scratch *scratch);

/* tokenizer.c: steps 1-4 of encoding (models/FORMAT.md §5): the tokens of a valid UTF-8
 * text, without special tokens, into scratch->tokens. */
ibert_status tokenizer_encode_text(const tokenizer *tok, const char *text, size_t len,
                                   encode_scratch *scratch);

#endif
