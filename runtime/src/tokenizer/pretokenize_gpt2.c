/* pretokenize_gpt2.c: the GPT-2 split regex of the ByteLevel pre-tokenizer,
 *
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *
 * matched by hand: at each position the alternatives are tried in that order, as the
 * backtracking engine (Oniguruma) does, and the first that matches gives the word. */
#include "tokenizer_internal.h"
#include "unicode.h"
#include "utf8.h"

typedef bool (*char_class)(uint32_t cp);

static bool is_other(uint32_t cp) {
    return !unicode_is_white_space(cp) && !unicode_is_letter(cp) && !unicode_is_number(cp);
}

/* The code point at pos (or -1 past the end), and where the next one starts. */
static int64_t peek(const char *text, size_t len, size_t pos, size_t *next) {
    if (pos >= len) {
        *next = pos;
        return -1;
    }
    *next = pos;
    return utf8_decode_next(text, next);
}

static bool is_ascii_char(int64_t cp, char c) { return cp == (unsigned char)c; }

/* 's 't 're 've 'm 'll 'd (lowercase only, as in the pattern): the end, or 0. */
static size_t match_contraction(const char *text, size_t len, size_t pos) {
    size_t after_quote, after_first, after_second;
    if (!is_ascii_char(peek(text, len, pos, &after_quote), '\'')) return 0;
    int64_t first = peek(text, len, after_quote, &after_first);
    if (is_ascii_char(first, 's') || is_ascii_char(first, 't') || is_ascii_char(first, 'm') ||
        is_ascii_char(first, 'd')) {
        return after_first;
    }
    int64_t second = peek(text, len, after_first, &after_second);
    if ((is_ascii_char(first, 'r') && is_ascii_char(second, 'e')) ||
        (is_ascii_char(first, 'v') && is_ascii_char(second, 'e')) ||
        (is_ascii_char(first, 'l') && is_ascii_char(second, 'l'))) {
        return after_second;
    }
    return 0;
}

/* " ?X+" for a class X: the end, or 0 if it does not match at pos. */
static size_t match_optional_space_run(const char *text, size_t len, size_t pos, char_class in_class) {
    size_t next;
    int64_t cp = peek(text, len, pos, &next);
    size_t run = pos;
    if (cp == ' ') {
        size_t after;
        int64_t following = peek(text, len, next, &after);
        if (following >= 0 && in_class((uint32_t)following)) run = next;
    }
    size_t end = run;
    for (;;) {
        int64_t c = peek(text, len, end, &next);
        if (c < 0 || !in_class((uint32_t)c)) break;
        end = next;
    }
    return end > run ? end : 0;
}

/* \s+(?!\S) then \s+ on the white space at pos: a run that reaches the end of the
 * text, or else the run less its last character (which then starts the next word,
 * e.g. the space of " word"); a single white space character before a non-space
 * matches only the second alternative. */
static size_t match_space_run(const char *text, size_t len, size_t pos) {
    size_t end = pos, last_start = pos, next;
    for (;;) {
        int64_t c = peek(text, len, end, &next);
        if (c < 0 || !unicode_is_white_space((uint32_t)c)) break;
        last_start = end;
        end = next;
    }
    if (end < len && last_start > pos) return last_start;
    return end;
}

static size_t match_word(const char *text, size_t len, size_t pos) {
    size_t end;
    if ((end = match_contraction(text, len, pos)) != 0) return end;
    if ((end = match_optional_space_run(text, len, pos, unicode_is_letter)) != 0) return end;
    if ((end = match_optional_space_run(text, len, pos, unicode_is_number)) != 0) return end;
    if ((end = match_optional_space_run(text, len, pos, is_other)) != 0) return end;
    return match_space_run(text, len, pos);
}

ibert_status pretokenize_gpt2(const char *text, size_t len, span_list *words) {
    words->len = 0;
    for (size_t pos = 0; pos < len;) {
        size_t end = match_word(text, len, pos);
        ibert_status status = span_list_push(words, pos, end, -1);
        if (status != IBERT_OK) return status;
        pos = end;
    }
    return IBERT_OK;
}
