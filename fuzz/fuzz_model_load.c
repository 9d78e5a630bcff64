/* fuzz_model_load.c: libFuzzer harness for ibert_model_load_buffer.
 *
 * Each input is a whole .ibert file. Whatever the bytes, loading must either fail
 * with a status and a message or give a model that is safe to use: every model
 * that loads is then asked for its labels, tokenizes a short text and runs one
 * forward pass over it, so a field the validation let through but the runtime
 * cannot handle shows up here too, not only a crash in the parser. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ibert.h"

/* Enough ids for "[CLS] ... [SEP]" of the text below on any vocabulary. */
enum { MAX_IDS = 32 };
static const char TEXT[] = "a movie, not bad";

static void use_model(const ibert_model *model) {
    for (uint32_t i = 0; i < ibert_model_num_labels(model); i++) (void)ibert_model_label(model, i);

    int32_t ids[MAX_IDS];
    size_t n_ids = 0;
    if (ibert_tokenize(model, TEXT, sizeof TEXT - 1, ids, MAX_IDS, &n_ids) != IBERT_OK) return;
    if (n_ids > MAX_IDS) n_ids = MAX_IDS;
    if (n_ids > ibert_model_max_tokens(model)) n_ids = ibert_model_max_tokens(model);
    if (n_ids == 0) return;

    ibert_context *context = NULL;
    if (ibert_context_new(model, &context) != IBERT_OK) return;
    int32_t *out = malloc(ibert_model_output_size(model, n_ids) * sizeof *out);
    if (out) (void)ibert_forward(context, ids, NULL, NULL, n_ids, out);
    free(out);
    ibert_context_free(context);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* A buffer of exactly size bytes (so ASan sees a read past the end) at malloc's
     * alignment, which meets the loader's 8-byte rule; the model borrows it. */
    void *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    ibert_model *model = NULL;
    if (ibert_model_load_buffer(copy, size, &model) == IBERT_OK) {
        use_model(model);
        ibert_model_free(model);
    }
    free(copy);
    return 0;
}
