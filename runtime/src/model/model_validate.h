/* model_validate.h: the two halves of turning a parsed GGUF file into a model,
 * each checking its part of models/FORMAT.md before anything is used. */
#ifndef IBERT_MODEL_VALIDATE_H
#define IBERT_MODEL_VALIDATE_H

#include "gguf_reader.h"
#include "model.h"

/* FORMAT.md §2 (the tokenizer's keys excepted): architecture and format version,
 * no unknown ibert.* key, hyperparameters, labels, the nonlinearities' constants,
 * the output scale. Fills model->hp, exp, gelu, output_scale and labels. */
ibert_status model_read_metadata(const gguf_file *file, struct ibert_model *model);

/* FORMAT.md §3: every tensor present with its exact type and shape, no other
 * tensor, and the value ranges the arithmetic of §4 relies on. Needs model->hp;
 * fills the tensor pointers and model->layers. */
ibert_status model_bind_tensors(const gguf_file *file, struct ibert_model *model);

#endif
