/* task.c: the task names of models/FORMAT.md §2 (ibert.task) and the checks that
 * tie a task to its head and its number of labels. */
#include <inttypes.h>
#include <string.h>

#include "error.h"
#include "task.h"

static const char *const task_names[] = {
    [IBERT_TASK_ENCODER] = "encoder",
    [IBERT_TASK_SEQUENCE_CLASSIFICATION] = "sequence-classification",
    [IBERT_TASK_REGRESSION] = "regression",
    [IBERT_TASK_TOKEN_CLASSIFICATION] = "token-classification",
    [IBERT_TASK_QUESTION_ANSWERING] = "question-answering",
    [IBERT_TASK_MULTIPLE_CHOICE] = "multiple-choice",
    [IBERT_TASK_FILL_MASK] = "fill-mask",
    [IBERT_TASK_SENTENCE_EMBEDDING] = "sentence-embedding",
};
#define TASK_COUNT (sizeof task_names / sizeof task_names[0])

const char *ibert_task_name(ibert_task task) {
    return (unsigned)task < TASK_COUNT ? task_names[task] : NULL;
}

ibert_status task_from_name(ibert_strview name, ibert_task *out) {
    for (unsigned t = 0; t < TASK_COUNT; t++) {
        if (name.len != strlen(task_names[t]) || memcmp(name.data, task_names[t], name.len) != 0) continue;
        if (t == IBERT_TASK_FILL_MASK)
            return ibert_fail(IBERT_ERR_UNSUPPORTED,
                              "task 'fill-mask' needs the masked-LM head (transform, decoder), which this runtime "
                              "does not compute");
        if (t == IBERT_TASK_SENTENCE_EMBEDDING)
            return ibert_fail(IBERT_ERR_UNSUPPORTED,
                              "task 'sentence-embedding' needs integer pooling, which this runtime does not compute");
        *out = (ibert_task)t;
        return IBERT_OK;
    }
    return ibert_fail(IBERT_ERR_FORMAT,
                      "ibert.task is '%.*s', not a task (encoder, sequence-classification, regression, "
                      "token-classification, question-answering, multiple-choice, fill-mask, sentence-embedding)",
                      (int)(name.len < 100 ? name.len : 100), name.data);
}

ibert_status task_check_num_labels(ibert_task task, uint32_t num_labels) {
    uint32_t lo = 1, hi = 4096;
    switch (task) {
    case IBERT_TASK_ENCODER: lo = hi = 0; break;
    case IBERT_TASK_SEQUENCE_CLASSIFICATION: lo = 2; break; /* one label is regression */
    case IBERT_TASK_REGRESSION:
    case IBERT_TASK_MULTIPLE_CHOICE: hi = 1; break;
    case IBERT_TASK_QUESTION_ANSWERING: lo = hi = 2; break; /* start, end */
    default: break;
    }
    if (num_labels < lo || num_labels > hi)
        return ibert_fail(IBERT_ERR_FORMAT,
                          "ibert.num_labels is %" PRIu32 " but task '%s' has %" PRIu32 " ... %" PRIu32, num_labels,
                          ibert_task_name(task), lo, hi);
    return IBERT_OK;
}
