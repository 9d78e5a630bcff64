/* tokenizer_driver.c: builds a tokenizer with tokenizer_create from plain files and
 * encodes texts read from stdin, for tests/python/test_tokenizer_parity.py.
 *
 *   tokenizer_driver [--pairs] CONFIG TOKENS [MERGES]
 *
 * Every string in the files is hex-encoded UTF-8, so no byte needs escaping.
 *   CONFIG: one "key value" per line: kind (wordpiece|bpe), clean_text,
 *           handle_chinese_chars, strip_accents, lowercase, add_prefix_space (0|1),
 *           continuing_prefix (hex), max_word_chars, cls_id, sep_id, unk_id, pad_id
 *           model_vocab_size, pair_separators, pair_type_id (integers), trim_offsets,
 *           trim_prefix_space (0|1), and any number of "added ID FLAGS HEX" lines.
 *   TOKENS: the token of id i on line i+1; MERGES: "left right" per line.
 * stdin:   records "LENGTH CAPACITY\n" followed by LENGTH bytes of text; CAPACITY is
 *          the ids buffer size, or -1 for "as many as needed" (asked with capacity 0).
 * stdout:  per record "OK N id id ..." (N = full length, then the ids written) or
 *          "ERR STATUS message".
 * stderr:  "encode_seconds S" at the end: the time spent inside tokenizer_encode.
 * With --pairs, tokenizer_encode_pair instead:
 * stdin:   records "LEN_A LEN_B TRUNCATION UNIT MAX_TOKENS\n" followed by the bytes of
 *          text a and text b; LEN_B -1: no text b; TRUNCATION and UNIT the enum values;
 *          MAX_TOKENS -1: as many as the texts can need.
 * stdout:  per record "OK N N_UNTRUNCATED id,type,start,end ..." or "ERR STATUS message". */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tokenizer.h"

static void die(const char *what) {
    fprintf(stderr, "tokenizer_driver: %s\n", what);
    exit(2);
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    die("bad hex digit");
    return 0;
}

/* Decodes hex into a new NUL-terminated buffer (freed with free_views). */
static ibert_strview unhex(const char *hex, size_t len) {
    if (len % 2) die("odd hex length");
    char *bytes = malloc(len / 2 + 1);
    if (!bytes) die("out of memory");
    for (size_t i = 0; i < len / 2; i++) bytes[i] = (char)(hex_digit(hex[2 * i]) * 16 + hex_digit(hex[2 * i + 1]));
    bytes[len / 2] = '\0';
    return (ibert_strview){bytes, len / 2};
}

/* Reads a file of hex lines into views; *n receives the count. */
static ibert_strview *read_hex_lines(const char *path, uint32_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open a list file");
    ibert_strview *views = NULL;
    size_t count = 0, cap = 0;
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t got;
    while ((got = getline(&line, &line_cap, f)) >= 0) {
        size_t len = (size_t)got;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
        if (count == cap) {
            cap = cap ? 2 * cap : 1024;
            views = realloc(views, cap * sizeof *views);
            if (!views) die("out of memory");
        }
        views[count++] = unhex(line, len);
    }
    free(line);
    fclose(f);
    *n = (uint32_t)count;
    return views;
}

static void free_views(ibert_strview *views, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) free((void *)views[i].data);
    free(views);
}

static void read_config(const char *path, tokenizer_config *c, tokenizer_added_token **added) {
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open the config file");
    memset(c, 0, sizeof *c);
    c->unk_id = -1;
    size_t cap = 0;
    char key[64], value[4096];
    while (fscanf(f, "%63s %4095s", key, value) == 2) {
        long number = strtol(value, NULL, 10);
        if (strcmp(key, "kind") == 0) c->kind = strcmp(value, "bpe") == 0 ? TOKENIZER_BYTE_BPE : TOKENIZER_WORDPIECE;
        else if (strcmp(key, "clean_text") == 0) c->clean_text = number != 0;
        else if (strcmp(key, "handle_chinese_chars") == 0) c->handle_chinese_chars = number != 0;
        else if (strcmp(key, "strip_accents") == 0) c->strip_accents = number != 0;
        else if (strcmp(key, "lowercase") == 0) c->lowercase = number != 0;
        else if (strcmp(key, "add_prefix_space") == 0) c->add_prefix_space = number != 0;
        else if (strcmp(key, "continuing_prefix") == 0) c->continuing_prefix = unhex(value, strlen(value));
        else if (strcmp(key, "max_word_chars") == 0) c->max_word_chars = (uint32_t)number;
        else if (strcmp(key, "cls_id") == 0) c->cls_id = (int32_t)number;
        else if (strcmp(key, "sep_id") == 0) c->sep_id = (int32_t)number;
        else if (strcmp(key, "unk_id") == 0) c->unk_id = (int32_t)number;
        else if (strcmp(key, "pad_id") == 0) c->pad_id = (int32_t)number;
        else if (strcmp(key, "model_vocab_size") == 0) c->n_model_tokens = (uint32_t)number;
        else if (strcmp(key, "pair_separators") == 0) c->pair_separators = (uint32_t)number;
        else if (strcmp(key, "pair_type_id") == 0) c->pair_type_id = (uint32_t)number;
        else if (strcmp(key, "trim_offsets") == 0) c->trim_offsets = number != 0;
        else if (strcmp(key, "trim_prefix_space") == 0) c->trim_prefix_space = number != 0;
        else if (strcmp(key, "added") == 0) {
            char hex[4096];
            unsigned flags;
            if (fscanf(f, "%u %4095s", &flags, hex) != 2) die("bad added line");
            if (c->n_added_tokens == cap) {
                cap = cap ? 2 * cap : 16;
                *added = realloc(*added, cap * sizeof **added);
                if (!*added) die("out of memory");
            }
            (*added)[c->n_added_tokens++] = (tokenizer_added_token){(int32_t)number, unhex(hex, strlen(hex)), flags};
        } else {
            die("unknown config key");
        }
    }
    fclose(f);
    c->added_tokens = *added;
}

static double seconds_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static char *read_bytes(size_t len) {
    char *bytes = malloc(len ? len : 1);
    if (!bytes || fread(bytes, 1, len, stdin) != len) die("short record");
    return bytes;
}

/* The --pairs records; returns the seconds spent encoding. */
static double encode_pairs(const tokenizer *tok) {
    double seconds = 0;
    size_t len_a;
    long len_b_arg, max_arg;
    int truncation, unit;
    while (scanf("%zu %ld %d %d %ld", &len_a, &len_b_arg, &truncation, &unit, &max_arg) == 5) {
        if (getchar() != '\n') die("bad record header");
        size_t len_b = len_b_arg < 0 ? 0 : (size_t)len_b_arg;
        char *a = read_bytes(len_a), *b = read_bytes(len_b);
        /* no text yields more than 3 tokens a byte (a lowercase mapping has at most 3 code points) */
        size_t max_tokens = max_arg < 0 ? 3 * (len_a + len_b) + 8 : (size_t)max_arg;
        size_t room = max_tokens ? max_tokens : 1, n = 0, n_untruncated = 0;
        int32_t *ids = malloc(room * sizeof *ids), *types = malloc(room * sizeof *types);
        ibert_offset *offsets = malloc(room * sizeof *offsets);
        if (!ids || !types || !offsets) die("out of memory");
        double start = seconds_now();
        ibert_status status = tokenizer_encode_pair(tok, a, len_a, len_b_arg < 0 ? NULL : b, len_b,
                                                    (ibert_truncation)truncation, (ibert_offset_unit)unit, max_tokens,
                                                    ids, types, offsets, &n, &n_untruncated);
        seconds += seconds_now() - start;
        if (status != IBERT_OK) {
            printf("ERR %s %s\n", ibert_status_name(status), ibert_last_error());
        } else {
            printf("OK %zu %zu", n, n_untruncated);
            for (size_t i = 0; i < n; i++) printf(" %d,%d,%zu,%zu", ids[i], types[i], offsets[i].start, offsets[i].end);
            printf("\n");
        }
        free(ids);
        free(types);
        free(offsets);
        free(a);
        free(b);
    }
    return seconds;
}

int main(int argc, char **argv) {
    bool pairs = argc > 1 && strcmp(argv[1], "--pairs") == 0;
    argc -= pairs;
    argv += pairs;
    if (argc < 3 || argc > 4) die("usage: tokenizer_driver [--pairs] CONFIG TOKENS [MERGES]");
    tokenizer_config config;
    tokenizer_added_token *added = NULL;
    read_config(argv[1], &config, &added);
    uint32_t n_tokens, n_merges = 0;
    ibert_strview *tokens = read_hex_lines(argv[2], &n_tokens);
    if (config.n_model_tokens == 0) config.n_model_tokens = n_tokens;
    ibert_strview *merges = argc == 4 ? read_hex_lines(argv[3], &n_merges) : NULL;

    tokenizer *tok;
    ibert_status status = tokenizer_create(&config, tokens, n_tokens, merges, n_merges, &tok);
    if (status != IBERT_OK) {
        printf("ERR %s %s\n", ibert_status_name(status), ibert_last_error());
        tok = NULL;
    }
    double encode_seconds = tok && pairs ? encode_pairs(tok) : 0;
    size_t text_len;
    long capacity_arg;
    while (tok && !pairs && scanf("%zu %ld", &text_len, &capacity_arg) == 2) {
        if (getchar() != '\n') die("bad record header");
        char *text = read_bytes(text_len);
        size_t capacity = capacity_arg < 0 ? 0 : (size_t)capacity_arg, n_ids = 0;
        int32_t *ids = malloc((capacity ? capacity : 1) * sizeof *ids);
        double start = seconds_now();
        status = tokenizer_encode(tok, text, text_len, capacity ? ids : NULL, capacity, &n_ids);
        if (status == IBERT_OK && capacity_arg < 0) {
            capacity = n_ids;
            ids = realloc(ids, capacity * sizeof *ids);
            status = tokenizer_encode(tok, text, text_len, ids, capacity, &n_ids);
        }
        encode_seconds += seconds_now() - start;
        if (status != IBERT_OK) {
            printf("ERR %s %s\n", ibert_status_name(status), ibert_last_error());
        } else {
            printf("OK %zu", n_ids);
            for (size_t i = 0; i < (n_ids < capacity ? n_ids : capacity); i++) printf(" %d", ids[i]);
            printf("\n");
        }
        free(ids);
        free(text);
    }
    fprintf(stderr, "encode_seconds %.6f\n", encode_seconds);
    tokenizer_free(tok);
    free_views(tokens, n_tokens);
    free_views(merges, n_merges);
    for (uint32_t i = 0; i < config.n_added_tokens; i++) free((void *)added[i].text.data);
    free(added);
    free((void *)config.continuing_prefix.data);
    return 0;
}
