/* wordpiece.c: WordPiece as Hugging Face does it: each pre-tokenized word is split
 * greedily into the longest vocabulary entries from the left, every piece after the
 * first looked up with the continuing prefix ("##"); a word with a part that matches
 * nothing, or longer than max_word_chars characters, becomes the unknown token. */
#include <string.h>

#include "tokenizer_internal.h"
#include "utf8.h"

static size_t count_chars(const char *text, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++) n += !utf8_is_continuation(text[i]);
    return n;
}

/* A word of normalized text whose byte i came from align[i]; an unknown word's token
 * spans the whole word, a subword's token its own bytes. */
static ibert_status encode_word(const tokenizer *tok, const char *word, size_t len, const byte_range *align,
                                encode_scratch *scratch) {
    const tokenizer_config *config = &tok->config;
    token_list *tokens = &scratch->tokens;
    byte_range whole_word = range_of(align, 0, len);
    if (count_chars(word, len) > config->max_word_chars) {
        return token_list_push(tokens, config->unk_id, false, whole_word);
    }

    const size_t prefix_len = (size_t)config->continuing_prefix.len;
    const size_t first_token = tokens->len; /* rolled back if the word turns out unknown */
    byte_list *key = &scratch->candidate;
    for (size_t start = 0; start < len;) {
        /* No token is longer than max_token_len bytes, so longer candidates are skipped. */
        size_t overhead = start > 0 ? prefix_len : 0;
        size_t budget = tok->max_token_len > overhead ? tok->max_token_len - overhead : 0;
        size_t end = len - start > budget ? start + budget : len;
        while (end > start && end < len && utf8_is_continuation(word[end])) end--;

        const char *lookup = word + start;
        size_t lookup_offset = 0;
        if (start > 0) {
            key->len = 0;
            ibert_status status = byte_list_append(key, config->continuing_prefix.data, prefix_len);
            if (status == IBERT_OK) status = byte_list_append(key, word + start, end - start);
            if (status != IBERT_OK) return status;
            lookup = key->data;
            lookup_offset = prefix_len;
        }
        int32_t id = -1;
        while (end > start) {
            id = vocab_map_find(&tok->vocab, lookup, lookup_offset + (end - start));
            if (id >= 0) break;
            do end--; while (end > start && utf8_is_continuation(word[end]));
        }
        if (id < 0) {
            tokens->len = first_token;
            return token_list_push(tokens, config->unk_id, false, whole_word);
        }
        ibert_status status = token_list_push(tokens, id, false, range_of(align, start, end));
        if (status != IBERT_OK) return status;
        start = end;
    }
    return IBERT_OK;
}

ibert_status wordpiece_encode_text(const tokenizer *tok, const char *text, size_t len,
                                   const byte_range *align, encode_scratch *scratch) {
    ibert_status status = pretokenize_bert(text, len, &scratch->words);
    for (size_t i = 0; i < scratch->words.len && status == IBERT_OK; i++) {
        const text_span *w = &scratch->words.data[i];
        status = encode_word(tok, text + w->start, w->end - w->start, align + w->start, scratch);
    }
    return status;
}
