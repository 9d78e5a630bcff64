/* task.h: the tasks of models/FORMAT.md (ibert.task): their names, the head each
 * one runs, and what each requires of the file. No forward pass here (heads.h). */
#ifndef IBERT_TASK_H
#define IBERT_TASK_H

#include <stdint.h>

#include "ibert.h"
#include "strview.h"

/* Which rows a task's head reads, which decides the tensors it has and how much
 * of the last layer the forward pass computes. */
typedef enum head_kind {
    HEAD_NONE,        /* encoder: the final hidden states are the output */
    HEAD_FIRST_TOKEN, /* pooler (cls_dense, tanh) then cls_out, on token 0 alone */
    HEAD_EVERY_TOKEN  /* cls_out on every token's final hidden state, no pooler */
} head_kind;

/* Inline: arena.c, built into the kernel tests without the loader, uses it too. */
static inline head_kind task_head(ibert_task task) {
    switch (task) {
    case IBERT_TASK_SEQUENCE_CLASSIFICATION:
    case IBERT_TASK_REGRESSION:
    case IBERT_TASK_MULTIPLE_CHOICE: return HEAD_FIRST_TOKEN;
    case IBERT_TASK_TOKEN_CLASSIFICATION:
    case IBERT_TASK_QUESTION_ANSWERING: return HEAD_EVERY_TOKEN;
    default: return HEAD_NONE;
    }
}

/* The task named `name` (the file's ibert.task) if this runtime computes it;
 * IBERT_ERR_UNSUPPORTED naming what a known task needs, IBERT_ERR_FORMAT for a
 * name that is no task. */
ibert_status task_from_name(ibert_strview name, ibert_task *out);

/* The number of labels C the task allows (FORMAT.md §2), else IBERT_ERR_FORMAT. */
ibert_status task_check_num_labels(ibert_task task, uint32_t num_labels);

#endif
