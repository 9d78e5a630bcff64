/* gguf_reader.c: parsing and validating the GGUF v3 container (models/FORMAT.md §1).
 *
 * Every length read from the file is compared with the bytes that remain before
 * anything is taken, so a truncated or hostile file fails with a message that
 * says which field of which key or tensor is wrong, and never reads past the end.
 * Header fields are decoded byte by byte; tensor data is used in place, which is
 * why the host must be little-endian like the file. */
#include "gguf_reader.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "utf8.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "libibert reads little-endian tensor data in place: a big-endian host is not supported"
#endif

#define GGUF_VERSION 3
#define GGUF_ALIGNMENT 32
#define GGUF_MAX_NAME_BYTES (1u << 20)
/* The smallest possible encodings, used to bound the counts before allocating:
 * a key/value is a key length, a 1-byte key, a type and a 1-byte value; a tensor
 * descriptor is a name length, a 1-byte name, n_dims, one dimension, a type and an offset. */
#define GGUF_MIN_KV_BYTES (8 + 1 + 4 + 1)
#define GGUF_MIN_TENSOR_INFO_BYTES (8 + 1 + 4 + 8 + 4 + 8)

/* printf arguments for "%.*s" of a name, cut at 100 bytes */
#define VIEW_ARGS(v) (int)((v).len < 100 ? (v).len : 100), (v).data

typedef struct gguf_kv {
    ibert_strview key;
    gguf_value_type type;
    gguf_value_type elem_type; /* arrays only */
    uint64_t count;            /* arrays only: number of elements */
    const uint8_t *value;      /* scalars: the value's bytes; arrays: the first element */
    ibert_strview str;         /* strings only */
} gguf_kv;

struct gguf_file {
    gguf_kv *kvs; /* file order */
    uint64_t n_kvs;
    const gguf_kv **kvs_by_name;
    gguf_tensor *tensors; /* file order */
    uint64_t n_tensors;
    const gguf_tensor **tensors_by_name;
    const gguf_tensor **tensors_by_data; /* by data offset: the overlap and packing checks */
};

/* A position in the buffer; every read goes through take(). */
typedef struct reader {
    const uint8_t *base;
    size_t size;
    size_t pos;
} reader;

static size_t remaining(const reader *r) { return r->size - r->pos; }

static const uint8_t *take(reader *r, uint64_t n) {
    if (n > remaining(r)) return NULL;
    const uint8_t *p = r->base + r->pos;
    r->pos += (size_t)n;
    return p;
}

static uint32_t decode_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t decode_u64(const uint8_t *p) { return (uint64_t)decode_u32(p) | (uint64_t)decode_u32(p + 4) << 32; }

static ibert_status truncated(const reader *r, const char *where, const char *field, uint64_t need) {
    return ibert_fail(IBERT_ERR_FORMAT,
                      "%s: %s needs %" PRIu64 " bytes at offset %zu, but only %zu remain (file size %zu)", where,
                      field, need, r->pos, remaining(r), r->size);
}

static ibert_status read_u32(reader *r, const char *where, const char *field, uint32_t *out) {
    const uint8_t *p = take(r, 4);
    if (!p) return truncated(r, where, field, 4);
    *out = decode_u32(p);
    return IBERT_OK;
}

static ibert_status read_u64(reader *r, const char *where, const char *field, uint64_t *out) {
    const uint8_t *p = take(r, 8);
    if (!p) return truncated(r, where, field, 8);
    *out = decode_u64(p);
    return IBERT_OK;
}

/* A GGUF string: u64 length, then that many bytes. */
static ibert_status read_string(reader *r, const char *where, const char *field, ibert_strview *out) {
    uint64_t len = 0;
    ibert_status st = read_u64(r, where, field, &len);
    if (st != IBERT_OK) return st;
    const uint8_t *p = take(r, len);
    if (!p)
        return ibert_fail(IBERT_ERR_FORMAT,
                          "%s: %s length %" PRIu64 " at offset %zu runs past the end of the file (%zu bytes remain)",
                          where, field, len, r->pos - 8, remaining(r));
    out->data = (const char *)p;
    out->len = len;
    return IBERT_OK;
}

bool gguf_is_text(ibert_strview s) {
    return memchr(s.data, 0, (size_t)s.len) == NULL && utf8_validate(s.data, (size_t)s.len) == IBERT_OK;
}

/* A key or tensor name: 1 byte ... 1 MiB of NUL-free UTF-8. */
static ibert_status read_name(reader *r, const char *where, const char *field, ibert_strview *out) {
    size_t at = r->pos;
    uint64_t len = 0;
    ibert_status st = read_u64(r, where, field, &len);
    if (st != IBERT_OK) return st;
    if (len == 0 || len > GGUF_MAX_NAME_BYTES)
        return ibert_fail(IBERT_ERR_FORMAT, "%s: %s length %" PRIu64 " at offset %zu is not in 1 ... %u", where,
                          field, len, at, GGUF_MAX_NAME_BYTES);
    r->pos = at;
    st = read_string(r, where, field, out);
    if (st != IBERT_OK) return st;
    if (!gguf_is_text(*out))
        return ibert_fail(IBERT_ERR_FORMAT, "%s: %s at offset %zu is not valid UTF-8 or contains a NUL byte", where,
                          field, at + 8);
    return IBERT_OK;
}

static const char *value_type_name(uint32_t type) {
    static const char *const names[] = {"u8",  "i8",     "u16",   "i16", "u32", "i32", "f32",
                                        "bool", "string", "array", "u64", "i64", "f64"};
    return type < sizeof names / sizeof names[0] ? names[type] : "unknown";
}

/* Bytes of one value of a fixed-size type, 0 for string and array. */
static size_t value_type_size(gguf_value_type type) {
    switch (type) {
    case GGUF_TYPE_UINT8: case GGUF_TYPE_INT8: case GGUF_TYPE_BOOL: return 1;
    case GGUF_TYPE_UINT16: case GGUF_TYPE_INT16: return 2;
    case GGUF_TYPE_UINT32: case GGUF_TYPE_INT32: case GGUF_TYPE_FLOAT32: return 4;
    case GGUF_TYPE_UINT64: case GGUF_TYPE_INT64: case GGUF_TYPE_FLOAT64: return 8;
    case GGUF_TYPE_STRING: case GGUF_TYPE_ARRAY: return 0;
    }
    return 0;
}

static bool is_value_type(uint32_t type) { return type <= GGUF_TYPE_FLOAT64; }

static ibert_status check_bools(const uint8_t *p, uint64_t n, const char *where) {
    for (uint64_t i = 0; i < n; i++)
        if (p[i] > 1)
            return ibert_fail(IBERT_ERR_FORMAT, "%s: bool value %u is neither 0 nor 1", where, (unsigned)p[i]);
    return IBERT_OK;
}

static ibert_status read_array(reader *r, const char *where, gguf_kv *kv) {
    uint32_t elem = 0;
    uint64_t count;
    ibert_status st = read_u32(r, where, "array element type", &elem);
    if (st == IBERT_OK) st = read_u64(r, where, "array length", &count);
    if (st != IBERT_OK) return st;
    if (!is_value_type(elem) || elem == GGUF_TYPE_ARRAY)
        return ibert_fail(IBERT_ERR_FORMAT, "%s: array element type %" PRIu32 " (%s) is not supported", where, elem,
                          value_type_name(elem));
    kv->elem_type = (gguf_value_type)elem;
    kv->count = count;
    kv->value = r->base + r->pos;
    size_t elem_size = value_type_size(kv->elem_type);
    size_t min_size = elem_size ? elem_size : 8; /* a string takes at least its length field */
    if (count > remaining(r) / min_size)
        return ibert_fail(IBERT_ERR_FORMAT,
                          "%s: array of %" PRIu64 " %s values cannot fit in the %zu bytes that remain at offset %zu",
                          where, count, value_type_name(elem), remaining(r), r->pos);
    if (elem_size) {
        take(r, count * elem_size);
        return elem == GGUF_TYPE_BOOL ? check_bools(kv->value, count, where) : IBERT_OK;
    }
    for (uint64_t i = 0; i < count; i++) {
        ibert_strview s;
        char field[48];
        snprintf(field, sizeof field, "string element %" PRIu64, i);
        /* formatting per element is cheap next to reading it, and only the failing one is seen */
        st = read_string(r, where, field, &s);
        if (st != IBERT_OK) return st;
    }
    return IBERT_OK;
}

static ibert_status read_value(reader *r, const char *where, gguf_kv *kv) {
    if (kv->type == GGUF_TYPE_STRING) return read_string(r, where, "string value", &kv->str);
    if (kv->type == GGUF_TYPE_ARRAY) return read_array(r, where, kv);
    size_t n = value_type_size(kv->type);
    kv->value = take(r, n);
    if (!kv->value) return truncated(r, where, "value", n);
    return kv->type == GGUF_TYPE_BOOL ? check_bools(kv->value, 1, where) : IBERT_OK;
}

static ibert_status read_kv(reader *r, uint64_t index, gguf_kv *kv) {
    char where[160];
    snprintf(where, sizeof where, "metadata key %" PRIu64, index);
    ibert_status st = read_name(r, where, "key", &kv->key);
    if (st != IBERT_OK) return st;
    snprintf(where, sizeof where, "metadata key '%.*s'", VIEW_ARGS(kv->key));
    uint32_t type = 0;
    st = read_u32(r, where, "value type", &type);
    if (st != IBERT_OK) return st;
    if (!is_value_type(type))
        return ibert_fail(IBERT_ERR_FORMAT, "%s: value type %" PRIu32 " is not a GGUF type", where, type);
    kv->type = (gguf_value_type)type;
    return read_value(r, where, kv);
}

static size_t tensor_type_size(uint32_t type) {
    switch (type) {
    case GGUF_TENSOR_I8: return 1;
    case GGUF_TENSOR_I16: return 2;
    case GGUF_TENSOR_I32: return 4;
    case GGUF_TENSOR_I64: return 8;
    }
    return 0;
}

/* The descriptor of tensor `index`; its offset is still relative to the data section. */
static ibert_status read_tensor_info(reader *r, uint64_t index, gguf_tensor *t, uint64_t *offset) {
    char where[160];
    snprintf(where, sizeof where, "tensor %" PRIu64, index);
    ibert_status st = read_name(r, where, "name", &t->name);
    if (st != IBERT_OK) return st;
    snprintf(where, sizeof where, "tensor '%.*s'", VIEW_ARGS(t->name));
    st = read_u32(r, where, "number of dimensions", &t->n_dims);
    if (st != IBERT_OK) return st;
    if (t->n_dims < 1 || t->n_dims > GGUF_MAX_DIMS)
        return ibert_fail(IBERT_ERR_FORMAT, "%s: %" PRIu32 " dimensions, expected 1 ... %d", where, t->n_dims,
                          GGUF_MAX_DIMS);
    t->n_elements = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        st = read_u64(r, where, "dimension", &t->dims[d]);
        if (st != IBERT_OK) return st;
        if (t->dims[d] == 0)
            return ibert_fail(IBERT_ERR_FORMAT, "%s: dimension %" PRIu32 " is 0", where, d);
        if (t->n_elements > UINT64_MAX / t->dims[d])
            return ibert_fail(IBERT_ERR_FORMAT, "%s: the number of elements overflows 64 bits", where);
        t->n_elements *= t->dims[d];
    }
    uint32_t type = 0;
    st = read_u32(r, where, "type", &type);
    if (st != IBERT_OK) return st;
    size_t elem_size = tensor_type_size(type);
    if (!elem_size)
        return ibert_fail(IBERT_ERR_FORMAT,
                          "%s: ggml type %" PRIu32 " is not one this runtime reads (I8 = 24, I16 = 25, I32 = 26, "
                          "I64 = 27)", where, type);
    t->type = (gguf_tensor_type)type;
    if (t->n_elements > UINT64_MAX / elem_size)
        return ibert_fail(IBERT_ERR_FORMAT, "%s: the size in bytes overflows 64 bits", where);
    t->n_bytes = t->n_elements * elem_size;
    return read_u64(r, where, "data offset", offset);
}

static int compare_names(ibert_strview a, ibert_strview b) {
    int c = memcmp(a.data, b.data, a.len < b.len ? a.len : b.len);
    if (c) return c;
    return (a.len > b.len) - (a.len < b.len);
}

static int compare_kvs_by_name(const void *a, const void *b) {
    return compare_names((*(const gguf_kv *const *)a)->key, (*(const gguf_kv *const *)b)->key);
}

static int compare_tensors_by_name(const void *a, const void *b) {
    return compare_names((*(const gguf_tensor *const *)a)->name, (*(const gguf_tensor *const *)b)->name);
}

static int compare_tensors_by_data(const void *a, const void *b) {
    const uint8_t *x = (*(const gguf_tensor *const *)a)->data, *y = (*(const gguf_tensor *const *)b)->data;
    return (x > y) - (x < y);
}

static const gguf_kv *find_kv(const gguf_file *file, const char *key) {
    ibert_strview name = {key, strlen(key)};
    size_t lo = 0, hi = (size_t)file->n_kvs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = compare_names(file->kvs_by_name[mid]->key, name);
        if (c == 0) return file->kvs_by_name[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

static ibert_status parse_kvs(reader *r, gguf_file *f) {
    for (uint64_t i = 0; i < f->n_kvs; i++) {
        ibert_status st = read_kv(r, i, &f->kvs[i]);
        if (st != IBERT_OK) return st;
        f->kvs_by_name[i] = &f->kvs[i];
    }
    if (f->n_kvs) qsort(f->kvs_by_name, (size_t)f->n_kvs, sizeof *f->kvs_by_name, compare_kvs_by_name);
    for (uint64_t i = 1; i < f->n_kvs; i++)
        if (compare_names(f->kvs_by_name[i - 1]->key, f->kvs_by_name[i]->key) == 0)
            return ibert_fail(IBERT_ERR_FORMAT, "metadata key '%.*s' occurs more than once",
                              VIEW_ARGS(f->kvs_by_name[i]->key));
    return IBERT_OK;
}

static ibert_status check_alignment_key(const gguf_file *f) {
    if (!find_kv(f, "general.alignment")) return IBERT_OK;
    uint32_t alignment;
    ibert_status st = gguf_get_u32(f, "general.alignment", &alignment);
    if (st != IBERT_OK) return st;
    if (alignment != GGUF_ALIGNMENT)
        return ibert_fail(IBERT_ERR_FORMAT, "general.alignment is %" PRIu32 ", expected %d", alignment,
                          GGUF_ALIGNMENT);
    return IBERT_OK;
}

/* Tensor descriptors, then the padding to the data section, then each tensor's
 * offset and size against the data section; finally names unique, data disjoint. */
static ibert_status parse_tensors(reader *r, gguf_file *f) {
    uint64_t *offsets = calloc((size_t)f->n_tensors ? (size_t)f->n_tensors : 1, sizeof *offsets);
    if (!offsets) return ibert_fail(IBERT_ERR_OUT_OF_MEMORY, "out of memory reading tensor descriptors");
    ibert_status st = IBERT_OK;
    for (uint64_t i = 0; i < f->n_tensors && st == IBERT_OK; i++) {
        st = read_tensor_info(r, i, &f->tensors[i], &offsets[i]);
        f->tensors_by_name[i] = &f->tensors[i];
    }
    size_t pad = (GGUF_ALIGNMENT - r->pos % GGUF_ALIGNMENT) % GGUF_ALIGNMENT;
    if (st == IBERT_OK && !take(r, pad)) st = truncated(r, "data section", "padding", pad);
    size_t data_start = r->pos, data_size = remaining(r);
    for (uint64_t i = 0; i < f->n_tensors && st == IBERT_OK; i++) {
        gguf_tensor *t = &f->tensors[i];
        if (offsets[i] % GGUF_ALIGNMENT)
            st = ibert_fail(IBERT_ERR_FORMAT, "tensor '%.*s': data offset %" PRIu64 " is not aligned to %d",
                            VIEW_ARGS(t->name), offsets[i], GGUF_ALIGNMENT);
        else if (offsets[i] > data_size || t->n_bytes > data_size - offsets[i])
            st = ibert_fail(IBERT_ERR_FORMAT,
                            "tensor '%.*s': %" PRIu64 " bytes at data offset %" PRIu64
                            " run past the end of the data section (%zu bytes)",
                            VIEW_ARGS(t->name), t->n_bytes, offsets[i], data_size);
        else
            t->data = r->base + data_start + offsets[i];
    }
    free(offsets);
    if (st != IBERT_OK || f->n_tensors == 0) return st;

    size_t n = (size_t)f->n_tensors;
    qsort(f->tensors_by_name, n, sizeof *f->tensors_by_name, compare_tensors_by_name);
    for (size_t i = 1; i < n; i++)
        if (compare_names(f->tensors_by_name[i - 1]->name, f->tensors_by_name[i]->name) == 0)
            return ibert_fail(IBERT_ERR_FORMAT, "tensor '%.*s' occurs more than once", VIEW_ARGS(f->tensors_by_name[i]->name));

    const gguf_tensor **by_data = f->tensors_by_data;
    memcpy(by_data, f->tensors_by_name, n * sizeof *by_data);
    qsort(by_data, n, sizeof *by_data, compare_tensors_by_data);
    for (size_t i = 1; i < n && st == IBERT_OK; i++) {
        const gguf_tensor *a = by_data[i - 1], *b = by_data[i];
        if ((uint64_t)((const uint8_t *)b->data - (const uint8_t *)a->data) < a->n_bytes)
            st = ibert_fail(IBERT_ERR_FORMAT, "tensor '%.*s': data at offset %zu overlaps tensor '%.*s'",
                            VIEW_ARGS(b->name), (size_t)((const uint8_t *)b->data - r->base - data_start), VIEW_ARGS(a->name));
    }
    return st;
}

/* GGUF packs the data: each tensor starts at the previous one's end rounded up to the
 * alignment (ggml's gguf.cpp requires it too). A wider gap means a descriptor no
 * longer matches its data, e.g. an I16 table retyped I8 with the shape it had. The
 * model loader calls this last, so a tensor of the wrong type or shape is first
 * refused by name with what the format expects of it. */
ibert_status gguf_check_packed(const gguf_file *f) {
    for (size_t i = 1; i < (size_t)f->n_tensors; i++) {
        const gguf_tensor *a = f->tensors_by_data[i - 1], *b = f->tensors_by_data[i];
        const uint64_t gap = (uint64_t)((const uint8_t *)b->data - (const uint8_t *)a->data) - a->n_bytes;
        if (gap >= GGUF_ALIGNMENT)
            return ibert_fail(IBERT_ERR_FORMAT,
                              "tensor '%.*s': %" PRIu64 " unused bytes lie between its data and tensor '%.*s' (%" PRIu64
                              " bytes), more than the alignment's padding: a tensor's type or shape does not match its data",
                              VIEW_ARGS(a->name), gap, VIEW_ARGS(b->name), a->n_bytes);
    }
    return IBERT_OK;
}

static ibert_status parse_header(reader *r, uint64_t *n_tensors, uint64_t *n_kvs) {
    const uint8_t *magic = take(r, 4);
    if (!magic) return truncated(r, "GGUF header", "magic", 4);
    if (memcmp(magic, "GGUF", 4) != 0)
        return ibert_fail(IBERT_ERR_FORMAT, "not a GGUF file: magic is %02x %02x %02x %02x, expected 'GGUF'",
                          magic[0], magic[1], magic[2], magic[3]);
    uint32_t version = 0;
    ibert_status st = read_u32(r, "GGUF header", "version", &version);
    if (st != IBERT_OK) return st;
    if (version != GGUF_VERSION && (version & 0xFFFF) == 0)
        return ibert_fail(IBERT_ERR_FORMAT, "GGUF version 0x%08" PRIx32 " looks byte-swapped: only little-endian "
                          "files are read", version);
    if (version != GGUF_VERSION)
        return ibert_fail(IBERT_ERR_UNSUPPORTED, "GGUF version %" PRIu32 " is not supported (only %d)", version,
                          GGUF_VERSION);
    st = read_u64(r, "GGUF header", "tensor count", n_tensors);
    if (st == IBERT_OK) st = read_u64(r, "GGUF header", "metadata count", n_kvs);
    if (st != IBERT_OK) return st;
    if (*n_kvs > remaining(r) / GGUF_MIN_KV_BYTES)
        return ibert_fail(IBERT_ERR_FORMAT, "GGUF header: metadata count %" PRIu64 " cannot fit in the %zu bytes "
                          "that follow (each key/value takes at least %d)", *n_kvs, remaining(r), GGUF_MIN_KV_BYTES);
    if (*n_tensors > remaining(r) / GGUF_MIN_TENSOR_INFO_BYTES)
        return ibert_fail(IBERT_ERR_FORMAT, "GGUF header: tensor count %" PRIu64 " cannot fit in the %zu bytes "
                          "that follow (each tensor descriptor takes at least %d)", *n_tensors, remaining(r),
                          GGUF_MIN_TENSOR_INFO_BYTES);
    return IBERT_OK;
}

ibert_status gguf_parse(const uint8_t *data, size_t size, gguf_file **out) {
    if (!out) return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "gguf_parse: out is NULL");
    *out = NULL;
    if (!data) return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "gguf_parse: data is NULL");
    /* tensor data is read in place as int32/int64: aligned offsets need an aligned base */
    if ((uintptr_t)data % 8)
        return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "the model buffer at %p is not 8-byte aligned", (const void *)data);
    reader r = {data, size, 0};
    uint64_t n_tensors, n_kvs;
    ibert_status st = parse_header(&r, &n_tensors, &n_kvs);
    if (st != IBERT_OK) return st;

    gguf_file *f = calloc(1, sizeof *f);
    if (!f) return ibert_fail(IBERT_ERR_OUT_OF_MEMORY, "out of memory reading the GGUF header");
    f->n_kvs = n_kvs;
    f->n_tensors = n_tensors;
    /* the counts are bounded by the buffer size above, so these fit in size_t; +1 avoids calloc(0) */
    f->kvs = calloc((size_t)n_kvs + 1, sizeof *f->kvs);
    f->kvs_by_name = calloc((size_t)n_kvs + 1, sizeof *f->kvs_by_name);
    f->tensors = calloc((size_t)n_tensors + 1, sizeof *f->tensors);
    f->tensors_by_name = calloc((size_t)n_tensors + 1, sizeof *f->tensors_by_name);
    f->tensors_by_data = calloc((size_t)n_tensors + 1, sizeof *f->tensors_by_data);
    if (!f->kvs || !f->kvs_by_name || !f->tensors || !f->tensors_by_name || !f->tensors_by_data)
        st = ibert_fail(IBERT_ERR_OUT_OF_MEMORY, "out of memory for %" PRIu64 " keys and %" PRIu64 " tensors",
                        n_kvs, n_tensors);
    if (st == IBERT_OK) st = parse_kvs(&r, f);
    if (st == IBERT_OK) st = check_alignment_key(f);
    if (st == IBERT_OK) st = parse_tensors(&r, f);
    if (st != IBERT_OK) {
        gguf_free(f);
        return st;
    }
    *out = f;
    return IBERT_OK;
}

void gguf_free(gguf_file *file) {
    if (!file) return;
    free(file->kvs);
    free(file->kvs_by_name);
    free(file->tensors);
    free(file->tensors_by_name);
    free(file->tensors_by_data);
    free(file);
}

bool gguf_has_key(const gguf_file *file, const char *key) { return find_kv(file, key) != NULL; }

uint64_t gguf_key_count(const gguf_file *file) { return file->n_kvs; }

ibert_strview gguf_key_at(const gguf_file *file, uint64_t i) { return file->kvs[i].key; }

/* The key, if present with the given type (and element type for arrays). */
static ibert_status find_typed(const gguf_file *file, const char *key, gguf_value_type type,
                               gguf_value_type elem_type, const gguf_kv **out) {
    const gguf_kv *kv = find_kv(file, key);
    if (!kv) return ibert_fail(IBERT_ERR_FORMAT, "metadata key '%s' is missing", key);
    if (kv->type != type)
        return ibert_fail(IBERT_ERR_FORMAT, "metadata key '%s' has type %s, expected %s", key,
                          value_type_name(kv->type), value_type_name(type));
    if (type == GGUF_TYPE_ARRAY && kv->elem_type != elem_type)
        return ibert_fail(IBERT_ERR_FORMAT, "metadata key '%s' is an array of %s, expected an array of %s", key,
                          value_type_name(kv->elem_type), value_type_name(elem_type));
    *out = kv;
    return IBERT_OK;
}

ibert_status gguf_get_u32(const gguf_file *file, const char *key, uint32_t *out) {
    const gguf_kv *kv = NULL;
    ibert_status st = find_typed(file, key, GGUF_TYPE_UINT32, 0, &kv);
    if (st == IBERT_OK) *out = decode_u32(kv->value);
    return st;
}

ibert_status gguf_get_i32(const gguf_file *file, const char *key, int32_t *out) {
    const gguf_kv *kv = NULL;
    ibert_status st = find_typed(file, key, GGUF_TYPE_INT32, 0, &kv);
    if (st == IBERT_OK) {
        uint32_t u = decode_u32(kv->value);
        memcpy(out, &u, sizeof u);
    }
    return st;
}

ibert_status gguf_get_bool(const gguf_file *file, const char *key, bool *out) {
    const gguf_kv *kv = NULL;
    ibert_status st = find_typed(file, key, GGUF_TYPE_BOOL, 0, &kv);
    if (st == IBERT_OK) *out = kv->value[0] != 0;
    return st;
}

ibert_status gguf_get_str(const gguf_file *file, const char *key, ibert_strview *out) {
    const gguf_kv *kv = NULL;
    ibert_status st = find_typed(file, key, GGUF_TYPE_STRING, 0, &kv);
    if (st == IBERT_OK) *out = kv->str;
    return st;
}

ibert_status gguf_get_str_array(const gguf_file *file, const char *key, ibert_strview **out, uint64_t *n) {
    const gguf_kv *kv = NULL;
    ibert_status st = find_typed(file, key, GGUF_TYPE_ARRAY, GGUF_TYPE_STRING, &kv);
    if (st != IBERT_OK) return st;
    /* parse validated every length, and count <= buffer size / 8 fits in size_t */
    ibert_strview *views = calloc((size_t)kv->count + 1, sizeof *views);
    if (!views) return ibert_fail(IBERT_ERR_OUT_OF_MEMORY, "out of memory for the %" PRIu64 " strings of '%s'",
                                  kv->count, key);
    const uint8_t *p = kv->value;
    for (uint64_t i = 0; i < kv->count; i++) {
        views[i].len = decode_u64(p);
        views[i].data = (const char *)p + 8;
        p += 8 + views[i].len;
    }
    *out = views;
    *n = kv->count;
    return IBERT_OK;
}

ibert_status gguf_get_u32_array(const gguf_file *file, const char *key, const void **out, uint64_t *n) {
    const gguf_kv *kv = find_kv(file, key);
    /* u32 and i32 elements have the same bytes; the caller knows which it reads */
    gguf_value_type elem = kv && kv->type == GGUF_TYPE_ARRAY && kv->elem_type == GGUF_TYPE_INT32 ? GGUF_TYPE_INT32
                                                                                                  : GGUF_TYPE_UINT32;
    ibert_status st = find_typed(file, key, GGUF_TYPE_ARRAY, elem, &kv);
    if (st != IBERT_OK) return st;
    *out = kv->value;
    *n = kv->count;
    return IBERT_OK;
}

/* The tensor called name, or NULL. */
const gguf_tensor *gguf_find_tensor(const gguf_file *file, const char *name) {
    ibert_strview key = {name, strlen(name)};
    size_t lo = 0, hi = (size_t)file->n_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = compare_names(file->tensors_by_name[mid]->name, key);
        if (c == 0) return file->tensors_by_name[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

ibert_status gguf_get_tensor(const gguf_file *file, const char *name, const gguf_tensor **out) {
    *out = gguf_find_tensor(file, name);
    return *out ? IBERT_OK : ibert_fail(IBERT_ERR_FORMAT, "tensor '%s' is missing", name);
}

uint64_t gguf_tensor_count(const gguf_file *file) { return file->n_tensors; }

const gguf_tensor *gguf_tensor_at(const gguf_file *file, uint64_t i) { return &file->tensors[i]; }
