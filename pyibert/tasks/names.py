"""The tasks a .ibert file's head serves (models/FORMAT.md §2, `ibert.task`) and the head each runs.

Shared by the converter (which writes the name), the golden model (which computes the head) and
Model (which checks that a method fits the file).
"""
from __future__ import annotations

ENCODER = "encoder"
SEQUENCE_CLASSIFICATION = "sequence-classification"
REGRESSION = "regression"
TOKEN_CLASSIFICATION = "token-classification"
QUESTION_ANSWERING = "question-answering"
MULTIPLE_CHOICE = "multiple-choice"
FILL_MASK = "fill-mask"
SENTENCE_EMBEDDING = "sentence-embedding"

# In the order of ibert.h's ibert_task enum.
TASKS = (ENCODER, SEQUENCE_CLASSIFICATION, REGRESSION, TOKEN_CLASSIFICATION, QUESTION_ANSWERING,
         MULTIPLE_CHOICE, FILL_MASK, SENTENCE_EMBEDDING)

# Heads: the pooler (cls_dense, tanh) and cls_out on token 0, or cls_out on every token.
FIRST_TOKEN_TASKS = (SEQUENCE_CLASSIFICATION, REGRESSION, MULTIPLE_CHOICE)
EVERY_TOKEN_TASKS = (TOKEN_CLASSIFICATION, QUESTION_ANSWERING)

# The number of labels C each task allows (inclusive bounds; FORMAT.md §2).
NUM_LABELS = {
    ENCODER: (0, 0),
    SEQUENCE_CLASSIFICATION: (2, 4096),
    REGRESSION: (1, 1),
    MULTIPLE_CHOICE: (1, 1),
    TOKEN_CLASSIFICATION: (1, 4096),
    QUESTION_ANSWERING: (2, 2),
}


def task_of_version_2(num_labels: int) -> str:
    """A version-2 file has no ibert.task: a head means a sequence classifier."""
    return SEQUENCE_CLASSIFICATION if num_labels > 0 else ENCODER
