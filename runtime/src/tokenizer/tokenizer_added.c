/* tokenizer_added.c: splitting added tokens ([CLS], <mask>, ...) out of text before the
 * model sees it, exactly as Hugging Face's AddedVocabulary::find_matches does: scan for
 * non-overlapping leftmost-longest matches; drop a single_word match that touches a word
 * character; lstrip/rstrip widen the match over adjacent white space. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "tokenizer_internal.h"
#include "unicode.h"
#include "utf8.h"

/* qsort needs the original position to order equal keys deterministically. */
typedef struct sortable_token {
    tokenizer_added_token token;
    uint32_t order;
} sortable_token;

static int compare_for_matching(const void *a, const void *b) {
    const sortable_token *x = a, *y = b;
    unsigned char fx = (unsigned char)x->token.text.data[0], fy = (unsigned char)y->token.text.data[0];
    if (fx != fy) return fx < fy ? -1 : 1;
    if (x->token.text.len != y->token.text.len) return x->token.text.len > y->token.text.len ? -1 : 1;
    return x->order < y->order ? -1 : (x->order > y->order ? 1 : 0);
}

static ibert_status build_set(added_token_set *set, const tokenizer_config *config, bool normalized) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < config->n_added_tokens; i++) {
        if (((config->added_tokens[i].flags & ADDED_TOKEN_NORMALIZED) != 0) == normalized) n++;
    }
    memset(set, 0, sizeof *set);
    if (n == 0) return IBERT_OK;
    sortable_token *sorted = malloc(n * sizeof *sorted);
    set->tokens = malloc(n * sizeof *set->tokens);
    if (!sorted || !set->tokens) {
        free(sorted);
        free(set->tokens);
        set->tokens = NULL;
        return ibert_fail(IBERT_ERR_OUT_OF_MEMORY, "tokenizer: out of memory for added tokens");
    }
    uint32_t k = 0;
    for (uint32_t i = 0; i < config->n_added_tokens; i++) {
        if (((config->added_tokens[i].flags & ADDED_TOKEN_NORMALIZED) != 0) == normalized) {
            sorted[k] = (sortable_token){config->added_tokens[i], i};
            k++;
        }
    }
    qsort(sorted, n, sizeof *sorted, compare_for_matching);
    for (uint32_t i = 0; i < n; i++) set->tokens[i] = sorted[i].token;
    free(sorted);
    set->n_tokens = n;
    uint32_t t = 0;
    for (uint32_t b = 0; b <= 256; b++) {
        while (t < n && (unsigned char)set->tokens[t].text.data[0] < b) t++;
        set->bucket_start[b] = t;
    }
    return IBERT_OK;
}

ibert_status added_tokens_build(tokenizer *tok, const tokenizer_config *config) {
    if (config->n_added_tokens > 0 && !config->added_tokens) {
        return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "tokenizer: added_tokens is NULL");
    }
    for (uint32_t i = 0; i < config->n_added_tokens; i++) {
        const tokenizer_added_token *t = &config->added_tokens[i];
        if (t->id < 0 || (uint32_t)t->id >= tok->n_tokens) {
            return ibert_fail(IBERT_ERR_FORMAT, "ibert.tokenizer.added_token_ids[%u] = %d is not a token id (0..%u)",
                              i, t->id, tok->n_tokens - 1);
        }
        if (t->text.len == 0 || !t->text.data) {
            return ibert_fail(IBERT_ERR_FORMAT, "ibert.tokenizer.added_token_texts[%u] is empty", i);
        }
        if (t->text.len > SIZE_MAX || utf8_validate(t->text.data, (size_t)t->text.len) != IBERT_OK) {
            return ibert_fail(IBERT_ERR_FORMAT, "ibert.tokenizer.added_token_texts[%u] is not valid UTF-8", i);
        }
        if (t->flags & ~(uint32_t)ADDED_TOKEN_ALL_FLAGS) {
            return ibert_fail(IBERT_ERR_FORMAT, "ibert.tokenizer.added_token_flags[%u] = %u has unknown bits (known: 0..%u)",
                              i, t->flags, (unsigned)ADDED_TOKEN_ALL_FLAGS);
        }
    }
    ibert_status status = build_set(&tok->raw_added, config, false);
    if (status == IBERT_OK) status = build_set(&tok->normalized_added, config, true);
    return status;
}

void added_tokens_free(tokenizer *tok) {
    free(tok->raw_added.tokens);
    free(tok->normalized_added.tokens);
    tok->raw_added.tokens = NULL;
    tok->normalized_added.tokens = NULL;
}

/* The leftmost-longest match at or after `from`; false if none. */
static bool find_match(const added_token_set *set, const char *text, size_t len, size_t from,
                       size_t *match_start, const tokenizer_added_token **match) {
    for (size_t pos = from; pos < len; pos++) {
        unsigned char b = (unsigned char)text[pos];
        for (uint32_t i = set->bucket_start[b]; i < set->bucket_start[b + 1]; i++) {
            const tokenizer_added_token *t = &set->tokens[i];
            if (t->text.len <= len - pos && memcmp(text + pos, t->text.data, (size_t)t->text.len) == 0) {
                *match_start = pos;
                *match = t;
                return true;
            }
        }
    }
    return false;
}

/* The start of the character that ends at `end` (end > 0). */
static size_t previous_char_start(const char *text, size_t end) {
    size_t pos = end - 1;
    while (pos > 0 && utf8_is_continuation(text[pos])) pos--;
    return pos;
}

static bool ends_with_word_char(const char *text, size_t end) {
    if (end == 0) return false;
    size_t pos = previous_char_start(text, end);
    return unicode_is_word_char(utf8_decode_next(text, &pos));
}

static bool starts_with_word_char(const char *text, size_t len, size_t start) {
    return start < len && unicode_is_word_char(utf8_decode_next(text, &start));
}

/* Where the white space that ends at `end` begins (HF: regex \s*$ on text[..end]). */
static size_t trailing_space_start(const char *text, size_t end) {
    while (end > 0) {
        size_t pos = previous_char_start(text, end);
        size_t next = pos;
        if (!unicode_is_white_space(utf8_decode_next(text, &next))) break;
        end = pos;
    }
    return end;
}

/* Where the white space that starts at `start` ends (HF: regex ^\s* on text[start..]). */
static size_t leading_space_end(const char *text, size_t len, size_t start) {
    while (start < len) {
        size_t next = start;
        if (!unicode_is_white_space(utf8_decode_next(text, &next))) break;
        start = next;
    }
    return start;
}

ibert_status added_tokens_split(const added_token_set *set, const char *text, size_t len,
                                span_list *out) {
    out->len = 0;
    size_t piece_start = 0; /* start of the text not yet assigned to a span */
    size_t search_from = 0; /* matching resumes after the previous match, not after its strip */
    size_t match_start;
    const tokenizer_added_token *match;
    ibert_status status;
    while (set->n_tokens > 0 && find_match(set, text, len, search_from, &match_start, &match)) {
        size_t start = match_start, stop = match_start + (size_t)match->text.len;
        search_from = stop;
        if ((match->flags & ADDED_TOKEN_SINGLE_WORD) &&
            (ends_with_word_char(text, start) || starts_with_word_char(text, len, stop))) {
            continue;
        }
        if (match->flags & ADDED_TOKEN_LSTRIP) {
            size_t space_start = trailing_space_start(text, start);
            start = space_start > piece_start ? space_start : piece_start;
        }
        if (match->flags & ADDED_TOKEN_RSTRIP) stop = leading_space_end(text, len, stop);
        if (piece_start < start && (status = span_list_push(out, piece_start, start, -1)) != IBERT_OK) {
            return status;
        }
        if ((status = span_list_push(out, start, stop, match->id)) != IBERT_OK) return status;
        piece_start = stop;
    }
    if (piece_start < len) return span_list_push(out, piece_start, len, -1);
    return IBERT_OK;
}
