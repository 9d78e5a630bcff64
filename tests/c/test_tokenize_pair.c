/* test_tokenize_pair.c: ibert_tokenize_pair's contract on a real model file: every bad
 * argument is an error status with a message saying what is wrong (which pointer, which
 * text and byte offset of invalid UTF-8, how many special tokens max_tokens must hold),
 * never a crash (run it under ASan + UBSan); and a pair's ids, token types and offsets.
 * The ids and offsets of every row of the shared data are compared with Hugging Face in
 * tests/python/test_tokenizer_parity.py; this checks the public entry point.
 *
 * Usage: test_tokenize_pair MODEL.ibert   (a WordPiece model: the shipped MiniLM)
 * Prints "N passed, N failed"; exits non-zero on any failure. */
#include <stdio.h>
#include <string.h>

#include "ibert.h"

#define TEST_RNG_SEED 10
#include "test_check.h"

enum { MAX = 64 };

static int32_t ids[MAX], types[MAX];
static ibert_offset offsets[MAX];
static size_t n, n_untruncated;

static ibert_status pair(const ibert_model *model, const char *a, const char *b, ibert_truncation truncation,
                         size_t max_tokens) {
    return ibert_tokenize_pair(model, a, a ? strlen(a) : 0, b, b ? strlen(b) : 0, truncation,
                               IBERT_OFFSETS_CODE_POINTS, max_tokens, ids, types, offsets, &n, &n_untruncated);
}

/* The call failed with `status` and its message contains `needle`. */
static void expect_error(const char *name, ibert_status got, ibert_status status, const char *needle) {
    const char *message = ibert_last_error();
    check(got == status && strstr(message, needle) != NULL, name, "status %s, message \"%s\" (want %s, \"%s\")",
          ibert_status_name(got), message, ibert_status_name(status), needle);
}

static void argument_errors(const ibert_model *model) {
    ibert_status s;
    s = ibert_tokenize_pair(NULL, "a", 1, "b", 1, IBERT_TRUNCATE_LONGEST_FIRST, IBERT_OFFSETS_BYTES, MAX, ids, types,
                            offsets, &n, NULL);
    expect_error("NULL model", s, IBERT_ERR_INVALID_ARGUMENT, "model is NULL");
    s = ibert_tokenize_pair(model, "a", 1, "b", 1, IBERT_TRUNCATE_LONGEST_FIRST, IBERT_OFFSETS_BYTES, MAX, NULL,
                            types, offsets, &n, NULL);
    expect_error("NULL ids", s, IBERT_ERR_INVALID_ARGUMENT, "ids or n_tokens is NULL");
    s = ibert_tokenize_pair(model, "a", 1, "b", 1, IBERT_TRUNCATE_LONGEST_FIRST, IBERT_OFFSETS_BYTES, MAX, ids,
                            types, offsets, NULL, NULL);
    expect_error("NULL n_tokens", s, IBERT_ERR_INVALID_ARGUMENT, "ids or n_tokens is NULL");
    s = ibert_tokenize_pair(model, NULL, 3, "b", 1, IBERT_TRUNCATE_LONGEST_FIRST, IBERT_OFFSETS_BYTES, MAX, ids,
                            types, offsets, &n, NULL);
    expect_error("NULL text_a", s, IBERT_ERR_INVALID_ARGUMENT, "text_a is NULL but len_a is 3");
    s = ibert_tokenize_pair(model, "a", 1, NULL, 2, IBERT_TRUNCATE_LONGEST_FIRST, IBERT_OFFSETS_BYTES, MAX, ids,
                            types, offsets, &n, NULL);
    expect_error("NULL text_b", s, IBERT_ERR_INVALID_ARGUMENT, "text_b is NULL but len_b is 2");
    s = ibert_tokenize_pair(model, "a", 1, "b", 1, (ibert_truncation)3, IBERT_OFFSETS_BYTES, MAX, ids, types, offsets,
                            &n, NULL);
    expect_error("bad truncation", s, IBERT_ERR_INVALID_ARGUMENT, "truncation 3 is not an ibert_truncation");
    s = ibert_tokenize_pair(model, "a", 1, "b", 1, IBERT_TRUNCATE_LONGEST_FIRST, (ibert_offset_unit)-1, MAX, ids,
                            types, offsets, &n, NULL);
    expect_error("bad unit", s, IBERT_ERR_INVALID_ARGUMENT, "unit -1 is not an ibert_offset_unit");

    expect_error("pair in 2", pair(model, "a", "b", IBERT_TRUNCATE_LONGEST_FIRST, 2), IBERT_ERR_INVALID_ARGUMENT,
                 "max_tokens = 2 cannot hold the 3 special tokens of a pair");
    expect_error("text in 1", pair(model, "a", NULL, IBERT_TRUNCATE_LONGEST_FIRST, 1), IBERT_ERR_INVALID_ARGUMENT,
                 "max_tokens = 1 cannot hold the 2 special tokens of a text");
    expect_error("text in 0", pair(model, "a", NULL, IBERT_TRUNCATE_LONGEST_FIRST, 0), IBERT_ERR_INVALID_ARGUMENT,
                 "max_tokens = 0 cannot hold");
    /* "one two three four" is 4 tokens, "x" 1: 3 + 5 = 8 tokens */
    expect_error("only_second, b too short", pair(model, "one two three four", "x", IBERT_TRUNCATE_ONLY_SECOND, 6),
                 IBERT_ERR_INVALID_ARGUMENT, "truncation only_second: text_b has 1 tokens, too few to remove the 2");
    expect_error("only_first, a too short", pair(model, "x", "one two three four", IBERT_TRUNCATE_ONLY_FIRST, 7),
                 IBERT_ERR_INVALID_ARGUMENT, "truncation only_first: text_a has 1 tokens, too few to remove the 1");
    expect_error("only_second without b", pair(model, "one two three four", NULL, IBERT_TRUNCATE_ONLY_SECOND, 4),
                 IBERT_ERR_INVALID_ARGUMENT, "there is no text_b to truncate");
    check(pair(model, "one two three four", NULL, IBERT_TRUNCATE_ONLY_SECOND, 6) == IBERT_OK && n == 6,
          "only_second without b, fitting", "n = %zu: %s", n, ibert_last_error());
}

static void invalid_utf8(const ibert_model *model) {
    static const struct { const char *bytes; size_t offset; } bad[] = {
        {"\x80", 0}, {"ab\xbf", 2}, {"\xc0\xaf", 0}, {"x\xe0\x80\xaf", 1}, {"\xed\xa0\x80", 0},
        {"\xf4\x90\x80\x80", 0}, {"\xff", 0}, {"abc\xe2\x82", 3}, {"ok\xc3", 2}, {"valid \xc3\xa9 then \xc3\x28", 15},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char at[32];
        snprintf(at, sizeof at, "offset %zu", bad[i].offset);
        expect_error("invalid text_a", pair(model, bad[i].bytes, "fine", IBERT_TRUNCATE_LONGEST_FIRST, MAX),
                     IBERT_ERR_INVALID_TEXT, "text_a is not valid UTF-8: ");
        expect_error("invalid text_a offset", pair(model, bad[i].bytes, "fine", IBERT_TRUNCATE_LONGEST_FIRST, MAX),
                     IBERT_ERR_INVALID_TEXT, at);
        expect_error("invalid text_b", pair(model, "fine", bad[i].bytes, IBERT_TRUNCATE_LONGEST_FIRST, MAX),
                     IBERT_ERR_INVALID_TEXT, "text_b is not valid UTF-8: ");
        expect_error("invalid text_b offset", pair(model, "fine", bad[i].bytes, IBERT_TRUNCATE_LONGEST_FIRST, MAX),
                     IBERT_ERR_INVALID_TEXT, at);
    }
}

static void a_pair(const ibert_model *model) {
    /* [CLS] café [SEP] 日 本 [SEP]: offsets in code points of each text, types 0 then 1 */
    ibert_status s = pair(model, "Café", "日本", IBERT_TRUNCATE_LONGEST_FIRST, MAX);
    static const int32_t want_types[] = {0, 0, 0, 1, 1, 1};
    static const ibert_offset want_offsets[] = {{0, 0}, {0, 4}, {0, 0}, {0, 1}, {1, 2}, {0, 0}};
    int ok = s == IBERT_OK && n == 6 && n_untruncated == 6;
    for (size_t i = 0; ok && i < 6; i++) {
        ok = types[i] == want_types[i] && offsets[i].start == want_offsets[i].start &&
             offsets[i].end == want_offsets[i].end;
    }
    check(ok, "pair", "status %s, n = %zu", ibert_status_name(s), n);
    s = ibert_tokenize_pair(model, "Café", 5, "日本", 6, IBERT_TRUNCATE_LONGEST_FIRST, IBERT_OFFSETS_BYTES, MAX, ids,
                            NULL, offsets, &n, NULL);
    check(s == IBERT_OK && n == 6 && offsets[1].end == 5 && offsets[3].end == 3 && offsets[4].start == 3, "bytes",
          "status %s", ibert_status_name(s));
    /* types and offsets are optional; an empty text_b is still a pair */
    s = ibert_tokenize_pair(model, "", 0, "", 0, IBERT_TRUNCATE_LONGEST_FIRST, IBERT_OFFSETS_BYTES, 3, ids, NULL,
                            NULL, &n, NULL);
    check(s == IBERT_OK && n == 3, "empty pair", "status %s, n = %zu", ibert_status_name(s), n);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_tokenize_pair MODEL.ibert\n");
        return 2;
    }
    ibert_model *model;
    if (ibert_model_load_file(argv[1], &model) != IBERT_OK) {
        fprintf(stderr, "cannot load %s: %s\n", argv[1], ibert_last_error());
        return 2;
    }
    argument_errors(model);
    invalid_utf8(model);
    a_pair(model);
    ibert_model_free(model);
    printf("%ld passed, %ld failed\n", passed, failed);
    return failed ? 1 : 0;
}
