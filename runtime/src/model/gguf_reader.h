/* gguf_reader.h: a defensive reader of the GGUF container (version 3) that
 * pyibert's writer produces. gguf_parse checks the magic, version, counts, every
 * string and array length, tensor types, dimensions, offsets, alignment and size
 * arithmetic against the buffer before anything is used; afterwards lookups are
 * by name and check the type the caller expects. Nothing is copied: views point
 * into the buffer, which must outlive the gguf_file. */
#ifndef IBERT_GGUF_READER_H
#define IBERT_GGUF_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ibert.h"
#include "strview.h"

/* GGUF value types (the subset a model file may use; others are rejected by name). */
typedef enum gguf_value_type {
    GGUF_TYPE_UINT8 = 0,
    GGUF_TYPE_INT8 = 1,
    GGUF_TYPE_UINT16 = 2,
    GGUF_TYPE_INT16 = 3,
    GGUF_TYPE_UINT32 = 4,
    GGUF_TYPE_INT32 = 5,
    GGUF_TYPE_FLOAT32 = 6,
    GGUF_TYPE_BOOL = 7,
    GGUF_TYPE_STRING = 8,
    GGUF_TYPE_ARRAY = 9,
    GGUF_TYPE_UINT64 = 10,
    GGUF_TYPE_INT64 = 11,
    GGUF_TYPE_FLOAT64 = 12
} gguf_value_type;

/* ggml tensor types a model file may hold: integers only. */
typedef enum gguf_tensor_type {
    GGUF_TENSOR_I8 = 24,
    GGUF_TENSOR_I16 = 25,
    GGUF_TENSOR_I32 = 26,
    GGUF_TENSOR_I64 = 27
} gguf_tensor_type;

#define GGUF_MAX_DIMS 4

typedef struct gguf_tensor {
    ibert_strview name;
    gguf_tensor_type type;
    uint32_t n_dims;
    uint64_t dims[GGUF_MAX_DIMS]; /* GGUF order: dims[0] varies fastest (numpy shape reversed) */
    uint64_t n_elements;
    const void *data;             /* aligned to the file's alignment */
    uint64_t n_bytes;
} gguf_tensor;

typedef struct gguf_file gguf_file;

ibert_status gguf_parse(const uint8_t *data, size_t size, gguf_file **out);
void gguf_free(gguf_file *file);

bool gguf_has_key(const gguf_file *file, const char *key);
/* The metadata keys in file order, so a reader can reject the keys it does not know. */
uint64_t gguf_key_count(const gguf_file *file);
ibert_strview gguf_key_at(const gguf_file *file, uint64_t i);
/* Each getter fails with IBERT_ERR_FORMAT naming the key if it is missing or of another type. */
ibert_status gguf_get_u32(const gguf_file *file, const char *key, uint32_t *out);
ibert_status gguf_get_i32(const gguf_file *file, const char *key, int32_t *out);
ibert_status gguf_get_bool(const gguf_file *file, const char *key, bool *out);
ibert_status gguf_get_str(const gguf_file *file, const char *key, ibert_strview *out);
/* An array of strings; *out is malloc'ed (caller frees), its views point into the buffer. */
ibert_status gguf_get_str_array(const gguf_file *file, const char *key, ibert_strview **out, uint64_t *n);
/* An array of uint32 / int32 (the element type must match); *out points into the buffer
 * and may be unaligned, so read it with memcpy. */
ibert_status gguf_get_u32_array(const gguf_file *file, const char *key, const void **out, uint64_t *n);

/* A tensor by name, or IBERT_ERR_FORMAT naming it if absent. */
ibert_status gguf_get_tensor(const gguf_file *file, const char *name, const gguf_tensor **out);
/* A tensor by name, or NULL if absent (no error: absence is an answer for optional tensors). */
const gguf_tensor *gguf_find_tensor(const gguf_file *file, const char *name);
uint64_t gguf_tensor_count(const gguf_file *file);
/* Every tensor's data starts within the alignment's padding of the previous one's end
 * (GGUF packs them); IBERT_ERR_FORMAT naming the tensor before a wider gap. */
ibert_status gguf_check_packed(const gguf_file *file);
/* The tensors in file order. */
const gguf_tensor *gguf_tensor_at(const gguf_file *file, uint64_t i);

/* True if s is valid UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF) and holds no NUL byte: what keys, tensor names and labels must be. */
bool gguf_is_text(ibert_strview s);

#endif
