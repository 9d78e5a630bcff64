/* tokenizer_scratch.c: the growable arrays encode uses as per-call scratch. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "tokenizer_internal.h"

void *scratch_grow(void *data, size_t *capacity, size_t needed, size_t elem_size) {
    if (needed <= *capacity) return data;
    size_t new_capacity = *capacity ? *capacity : 16;
    while (new_capacity < needed) {
        if (new_capacity > SIZE_MAX / 2) return NULL;
        new_capacity *= 2;
    }
    if (new_capacity > SIZE_MAX / elem_size) return NULL;
    void *grown = realloc(data, new_capacity * elem_size);
    if (grown) *capacity = new_capacity;
    return grown;
}

static ibert_status out_of_memory(void) {
    return ibert_fail(IBERT_ERR_OUT_OF_MEMORY, "tokenizer: out of memory for encode scratch");
}

/* list_type_reserve (declared in tokenizer_internal.h) for a growable array {data, len, cap} of
 * elem_type, and list_type_append for the lists that are filled one element at a time. */
#define LIST_RESERVE(list_type, elem_type)                                                        \
    ibert_status list_type##_reserve(list_type *list, size_t needed) {                           \
        if (needed <= list->cap) return IBERT_OK; /* also when both are 0 (data may be NULL) */    \
        elem_type *grown = scratch_grow(list->data, &list->cap, needed, sizeof *grown);          \
        if (!grown) return out_of_memory();                                                      \
        list->data = grown;                                                                      \
        return IBERT_OK;                                                                         \
    }
#define LIST_APPEND(list_type, elem_type)                                                         \
    static inline ibert_status list_type##_append(list_type *list, elem_type value) {            \
        ibert_status status = list_type##_reserve(list, list->len + 1);                          \
        if (status == IBERT_OK) list->data[list->len++] = value;                                 \
        return status;                                                                           \
    }
#define LIST_FUNCTIONS(list_type, elem_type) LIST_RESERVE(list_type, elem_type) LIST_APPEND(list_type, elem_type)

LIST_FUNCTIONS(token_list, encoded_token)
LIST_FUNCTIONS(code_point_list, uint32_t)
LIST_FUNCTIONS(span_list, text_span)
LIST_FUNCTIONS(range_list, byte_range)
LIST_RESERVE(size_list, size_t)   /* size lists are filled through their reserved data directly */

ibert_status token_list_push(token_list *list, int32_t id, bool added, byte_range where) {
    return token_list_append(list, (encoded_token){id, added, where.start, where.end});
}

ibert_status code_point_list_push(code_point_list *list, uint32_t cp) { return code_point_list_append(list, cp); }

ibert_status range_list_push(range_list *list, byte_range range) { return range_list_append(list, range); }

ibert_status span_list_push(span_list *list, size_t start, size_t end, int32_t added_id) {
    return span_list_append(list, (text_span){start, end, added_id});
}

ibert_status byte_list_append(byte_list *list, const char *bytes, size_t n) {
    if (n > SIZE_MAX - list->len) return out_of_memory();
    char *grown = scratch_grow(list->data, &list->cap, list->len + n, 1);
    if (!grown) return out_of_memory();
    list->data = grown;
    if (n) memcpy(list->data + list->len, bytes, n);
    list->len += n;
    return IBERT_OK;
}

void encode_scratch_free(encode_scratch *scratch) {
    free(scratch->tokens.data);
    free(scratch->text_align.data);
    free(scratch->raw_pieces.data);
    free(scratch->normalized_pieces.data);
    free(scratch->words.data);
    free(scratch->cps.data);
    free(scratch->cps_other.data);
    free(scratch->cps_align.data);
    free(scratch->cps_align_other.data);
    free(scratch->changes.data);
    free(scratch->normalized.data);
    free(scratch->normalized_align.data);
    free(scratch->standin_bytes.data);
    free(scratch->candidate.data);
    free(scratch->symbols);
    free(scratch->heap);
}
