/*
 * task_output.h: what ibert-cli prints for each task head (models/FORMAT.md
 * §4.10), from the forward pass's int32 output, in integer arithmetic.
 */
#ifndef IBERT_CLI_TASK_OUTPUT_H
#define IBERT_CLI_TASK_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "ibert.h"

/* One encoded sequence and its forward-pass output. */
typedef struct task_sequence {
    const char *text_a, *text_b; /* text_b NULL without --pair */
    size_t len_a, len_b;
    const int32_t *ids, *types;
    const ibert_offset *offsets; /* bytes into the text the token came from */
    size_t n;
    const int32_t *out;          /* ibert_model_output_size(model, n) values */
} task_sequence;

/* Prints the result of one sequence for the model's task (see ibert-cli --help). */
void print_task_result(const ibert_model *model, const task_sequence *s);

#endif
