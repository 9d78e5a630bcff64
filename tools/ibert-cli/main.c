/*
 * ibert-cli: run texts through a .ibert model from the command line, for
 * devices without Python (an Android shell, a minimal Pi image). It uses only
 * the public API in ibert.h. `ibert-cli --help` says how.
 */
#define _POSIX_C_SOURCE 200809L /* getline */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "ibert.h"
#include "options.h"
#include "task_output.h"

enum { EXIT_ERROR = 2 };

/* Everything one text's classification needs, allocated once for all texts. */
typedef struct classifier {
    const ibert_model *model;
    ibert_context *context;
    size_t capacity;        /* ids per text: --seq-len, else the model's maximum */
    bool pad_to_capacity;   /* --seq-len given: every forward pass runs exactly capacity tokens */
    long repeat;
    const char *pair;       /* --pair, or NULL */
    int32_t *ids, *types;
    ibert_offset *offsets;
    int32_t *attention_mask;
    int32_t *logits;
    size_t n_texts_done;    /* texts classified so far, to name a failing one */
} classifier;

/* Prints libibert's message about the call that just failed, after `what` if given. */
static int fail(const char *what) {
    if (what) fprintf(stderr, "ibert-cli: %s: %s\n", what, ibert_last_error());
    else fprintf(stderr, "ibert-cli: %s\n", ibert_last_error());
    return EXIT_ERROR;
}

/* Tokenizes `text` (with the --pair text) and runs it; prints the task's result. */
static int classify(classifier *c, const char *text, size_t text_len) {
    size_t text_number = ++c->n_texts_done;
    char what[64];
    snprintf(what, sizeof what, "text %zu", text_number);

    size_t n_ids, n_tokens;
    size_t pair_len = c->pair ? strlen(c->pair) : 0;
    /* a question-answering context is cut, never the question (as Hugging Face's pipeline) */
    ibert_truncation truncation = ibert_model_task(c->model) == IBERT_TASK_QUESTION_ANSWERING && c->pair
                                      ? IBERT_TRUNCATE_ONLY_SECOND : IBERT_TRUNCATE_LONGEST_FIRST;
    if (ibert_tokenize_pair(c->model, text, text_len, c->pair, pair_len, truncation, IBERT_OFFSETS_BYTES, c->capacity,
                            c->ids, c->types, c->offsets, &n_tokens, &n_ids) != IBERT_OK)
        return fail(what);
    if (n_ids > c->capacity && !c->pad_to_capacity) {
        fprintf(stderr, "ibert-cli: warning: text %zu has %zu tokens; the model takes %zu, so it was cut\n",
                text_number, n_ids, c->capacity);
    }

    const int32_t *attention_mask = NULL;
    if (c->pad_to_capacity) {
        /* Masked positions cannot change the result (FORMAT.md: attention drops
         * keys whose mask is 0 exactly), so any valid id serves there; the
         * closing special token is one the public API names. */
        for (size_t i = 0; i < c->capacity; i++) {
            c->attention_mask[i] = i < n_tokens;
            if (i >= n_tokens) {
                c->ids[i] = c->ids[n_tokens - 1];
                c->types[i] = c->types[n_tokens - 1];
                c->offsets[i] = (ibert_offset){0, 0};
            }
        }
        attention_mask = c->attention_mask;
        n_tokens = c->capacity;
    }

    for (long r = 0; r < c->repeat; r++) {
        if (ibert_forward(c->context, c->ids, c->types, attention_mask, n_tokens, c->logits) != IBERT_OK)
            return fail(what);
    }

    task_sequence s = {text, c->pair, text_len, pair_len, c->ids, c->types, c->offsets, n_tokens, c->logits};
    print_task_result(c->model, &s);
    return 0;
}

/* Classifies each non-blank line of standard input (without its line ending). */
static int classify_stdin(classifier *c) {
    char *line = NULL;
    size_t line_capacity = 0;
    ssize_t length;
    int status = 0;
    while (status == 0 && (length = getline(&line, &line_capacity, stdin)) >= 0) {
        if (length > 0 && line[length - 1] == '\n') length--;
        if (length > 0 && line[length - 1] == '\r') length--;
        if (strspn(line, " \t\r\n\f\v") >= (size_t)length) continue;
        status = classify(c, line, (size_t)length);
    }
    if (status == 0 && ferror(stdin)) {
        fprintf(stderr, "ibert-cli: reading standard input failed\n");
        status = EXIT_ERROR;
    }
    free(line);
    return status;
}

static int run(const cli_options *options) {
    ibert_model *model = NULL;
    /* libibert's load errors name the file already */
    if (ibert_model_load_file(options->model_path, &model) != IBERT_OK) return fail(NULL);

    int status = EXIT_ERROR;
    classifier c = {.model = model, .repeat = options->repeat, .pair = options->pair};
    size_t max_tokens = ibert_model_max_tokens(model);
    if (ibert_model_num_labels(model) == 0) {
        fprintf(stderr, "ibert-cli: %s has no classification head (it outputs hidden states), so it cannot classify\n",
                options->model_path);
        goto done;
    }
    if (options->seq_len > 0 && (size_t)options->seq_len > max_tokens) {
        fprintf(stderr, "ibert-cli: --seq-len %ld is more than the %zu tokens %s takes\n", options->seq_len,
                max_tokens, options->model_path);
        goto done;
    }
    c.pad_to_capacity = options->seq_len > 0;
    c.capacity = c.pad_to_capacity ? (size_t)options->seq_len : max_tokens;
    c.ids = malloc(sizeof *c.ids * c.capacity);
    c.types = malloc(sizeof *c.types * c.capacity);
    c.offsets = malloc(sizeof *c.offsets * c.capacity);
    c.attention_mask = malloc(sizeof *c.attention_mask * c.capacity);
    c.logits = malloc(sizeof *c.logits * ibert_model_output_size(model, c.capacity));
    if (!c.ids || !c.types || !c.offsets || !c.attention_mask || !c.logits) {
        fprintf(stderr, "ibert-cli: out of memory\n");
        goto done;
    }
    if (ibert_context_new_threads(model, (size_t)options->threads, &c.context) != IBERT_OK) {
        status = fail("creating the inference context");
        goto done;
    }

    status = 0;
    for (size_t i = 0; i < options->n_texts && status == 0; i++) {
        status = classify(&c, options->texts[i], strlen(options->texts[i]));
    }
    if (status == 0 && options->read_stdin) status = classify_stdin(&c);
    if (status == 0 && fflush(stdout) != 0) {
        fprintf(stderr, "ibert-cli: writing the results failed\n");
        status = EXIT_ERROR;
    }

done:
    ibert_context_free(c.context);
    free(c.ids);
    free(c.types);
    free(c.offsets);
    free(c.attention_mask);
    free(c.logits);
    ibert_model_free(model);
    return status;
}

int main(int argc, char **argv) {
    cli_options options;
    int status;
    if (!cli_options_parse(argc, argv, &options)) {
        status = EXIT_ERROR;
    } else if (options.help) {
        cli_print_help(stdout);
        status = 0;
    } else {
        status = run(&options);
    }
    cli_options_free(&options);
    return status;
}
