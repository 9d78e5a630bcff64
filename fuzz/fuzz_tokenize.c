/* fuzz_tokenize.c: libFuzzer harness for ibert_tokenize on arbitrary bytes.
 *
 * The model (and so the tokenizer: WordPiece or byte-level BPE) comes from the
 * file named by the IBERT_FUZZ_MODEL environment variable, loaded once. The first
 * input byte picks the ids buffer capacity (0 ... 255, so truncation is fuzzed
 * too); the rest is the text: any bytes, valid UTF-8 or not, NULs included. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ibert.h"

static ibert_model *model;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    const char *path = getenv("IBERT_FUZZ_MODEL");
    if (!path) {
        fprintf(stderr, "fuzz_tokenize: set IBERT_FUZZ_MODEL to a .ibert file\n");
        exit(2);
    }
    if (ibert_model_load_file(path, &model) != IBERT_OK) {
        fprintf(stderr, "fuzz_tokenize: %s\n", ibert_last_error());
        exit(2);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    size_t capacity = data[0];
    /* Exactly capacity ids (ASan catches a write past them), at least one malloc byte. */
    int32_t *ids = malloc(capacity ? capacity * sizeof *ids : 1);
    if (!ids) return 0;
    size_t n_ids = 0;
    if (ibert_tokenize(model, (const char *)data + 1, size - 1, ids, capacity, &n_ids) == IBERT_OK) {
        /* The contract of ibert.h: a full length of at least [CLS] [SEP], and ids in the vocabulary. */
        size_t written = n_ids < capacity ? n_ids : capacity;
        uint32_t vocab = ibert_model_vocab_size(model);
        if (n_ids < 2) abort();
        for (size_t i = 0; i < written; i++)
            if (ids[i] < 0 || (uint32_t)ids[i] >= vocab) abort();
    }
    free(ids);
    return 0;
}
