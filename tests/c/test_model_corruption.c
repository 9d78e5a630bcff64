/* test_model_corruption.c: a valid model file, corrupted in many ways, must be
 * rejected with an error status and a message (DESIGN.md contract 4), never a
 * crash or a read past the buffer (run it under ASan + UBSan).
 *
 * Usage: test_model_corruption [-v] MODEL.ibert    (-v prints every case and its message)
 *
 * The program walks the file's GGUF layout itself (trusting it, since the file
 * loads), so each corruption can aim at one field: a length, a type, a count, a
 * dimension, an offset, a metadata value, a weight. Every corrupted copy is put in
 * a buffer of exactly its size, so ASan catches a read even one byte past the end.
 * Random byte flips may load (they can hit a weight), but must not crash.
 * Prints "N passed, N failed"; exits non-zero on any failure. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ibert.h"

#define MAX_ITEMS 4096
#define MAX_NAME 128
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

enum { T_U32 = 4, T_I32 = 5, T_F32 = 6, T_BOOL = 7, T_STRING = 8, T_ARRAY = 9, T_U64 = 10 };
enum { GGML_I8 = 24, GGML_I16 = 25, GGML_I32 = 26, GGML_I64 = 27 };

typedef struct kv_loc {
    char key[MAX_NAME];
    size_t key_len_at; /* file offset of the key's u64 length */
    size_t type_at;    /* of the value type */
    size_t value_at;   /* of the value (a string's length; an array's element type) */
    uint32_t type;
} kv_loc;

typedef struct tensor_loc {
    char name[MAX_NAME];
    size_t name_len_at, n_dims_at, dims_at, type_at, offset_at;
    uint32_t n_dims, type;
    uint64_t dims[4], offset, n_bytes;
} tensor_loc;

typedef struct layout {
    kv_loc kvs[MAX_ITEMS];
    size_t n_kvs;
    tensor_loc tensors[MAX_ITEMS];
    size_t n_tensors;
    size_t header_end; /* the end of the tensor descriptors */
    size_t data_start;
    size_t data_end;   /* the end of the last tensor's bytes */
} layout;

static const uint8_t *original;
static size_t original_size;
static layout L;
static int passed, failed;
static bool verbose;

/* ---- reading the valid file's layout ---- */

static uint32_t get_u32(size_t at) {
    uint32_t v;
    memcpy(&v, original + at, 4);
    return v;
}

static uint64_t get_u64(size_t at) {
    uint64_t v;
    memcpy(&v, original + at, 8);
    return v;
}

static size_t value_size(uint32_t type) {
    static const size_t sizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return sizes[type];
}

static size_t skip_value(size_t at, uint32_t type) {
    if (type == T_STRING) return at + 8 + (size_t)get_u64(at);
    if (type != T_ARRAY) return at + value_size(type);
    uint32_t elem = get_u32(at);
    uint64_t n = get_u64(at + 4);
    at += 12;
    for (uint64_t i = 0; i < n; i++) at = skip_value(at, elem);
    return at;
}

static void copy_name(char *out, size_t at) {
    size_t len = (size_t)get_u64(at);
    if (len >= MAX_NAME) len = MAX_NAME - 1;
    memcpy(out, original + at + 8, len);
    out[len] = '\0';
}

static void read_layout(void) {
    uint64_t n_tensors = get_u64(8), n_kvs = get_u64(16);
    if (n_tensors > MAX_ITEMS || n_kvs > MAX_ITEMS) {
        fprintf(stderr, "test model too large for this test (%" PRIu64 " tensors)\n", n_tensors);
        exit(2);
    }
    size_t at = 24;
    for (size_t i = 0; i < n_kvs; i++) {
        kv_loc *kv = &L.kvs[L.n_kvs++];
        kv->key_len_at = at;
        copy_name(kv->key, at);
        at += 8 + (size_t)get_u64(at);
        kv->type_at = at;
        kv->type = get_u32(at);
        kv->value_at = at + 4;
        at = skip_value(at + 4, kv->type);
    }
    for (size_t i = 0; i < n_tensors; i++) {
        tensor_loc *t = &L.tensors[L.n_tensors++];
        t->name_len_at = at;
        copy_name(t->name, at);
        at += 8 + (size_t)get_u64(at);
        t->n_dims_at = at;
        t->n_dims = get_u32(at);
        t->dims_at = at + 4;
        at += 4;
        uint64_t n = 1;
        for (uint32_t d = 0; d < t->n_dims; d++, at += 8) n *= t->dims[d] = get_u64(at);
        t->type_at = at;
        t->type = get_u32(at);
        t->offset_at = at + 4;
        t->offset = get_u64(at + 4);
        at += 12;
        t->n_bytes = n * (t->type == GGML_I8 ? 1 : t->type == GGML_I16 ? 2 : t->type == GGML_I32 ? 4 : 8);
    }
    L.header_end = at;
    L.data_start = (at + 31) / 32 * 32;
    for (size_t i = 0; i < L.n_tensors; i++) {
        size_t end = L.data_start + (size_t)(L.tensors[i].offset + L.tensors[i].n_bytes);
        if (end > L.data_end) L.data_end = end;
    }
}

static const kv_loc *find_kv(const char *key) {
    for (size_t i = 0; i < L.n_kvs; i++)
        if (strcmp(L.kvs[i].key, key) == 0) return &L.kvs[i];
    return NULL;
}

static const tensor_loc *find_tensor(const char *name) {
    for (size_t i = 0; i < L.n_tensors; i++)
        if (strcmp(L.tensors[i].name, name) == 0) return &L.tensors[i];
    return NULL;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* ---- one corrupted copy ---- */

typedef struct copy {
    uint8_t *bytes;
    size_t size;
} copy;

static copy fresh(size_t size) {
    copy c = {malloc(size ? size : 1), size};
    if (!c.bytes) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    memcpy(c.bytes, original, size < original_size ? size : original_size);
    return c;
}

static void put_u32(copy *c, size_t at, uint32_t v) { memcpy(c->bytes + at, &v, 4); }
static void put_u64(copy *c, size_t at, uint64_t v) { memcpy(c->bytes + at, &v, 8); }

static void tally(bool ok) {
    if (ok) passed++;
    else failed++;
}

/* Loads c and frees it; a rejection must come with a message (containing
 * `expect` if given) and leave the model NULL. `may_load`: random damage. */
static void check_load(copy c, bool may_load, const char *expect, const char *fmt, ...) {
    char what[256];
    va_list args;
    va_start(args, fmt);
    vsnprintf(what, sizeof what, fmt, args);
    va_end(args);

    ibert_model *model = (ibert_model *)&c; /* must be overwritten */
    ibert_status st = ibert_model_load_buffer(c.bytes, c.size, &model);
    const char *message = ibert_last_error();
    bool ok;
    if (st == IBERT_OK) {
        ok = may_load && model != NULL;
        if (!ok) printf("FAIL %s: loaded, expected a rejection\n", what);
        ibert_model_free(model);
    } else if (model != NULL) {
        ok = false;
        printf("FAIL %s: %s but *out_model is not NULL\n", what, ibert_status_name(st));
    } else if (message[0] == '\0') {
        ok = false;
        printf("FAIL %s: %s with an empty message\n", what, ibert_status_name(st));
    } else if (expect && !strstr(message, expect)) {
        ok = false;
        printf("FAIL %s: message \"%s\" does not mention \"%s\"\n", what, message, expect);
    } else {
        ok = true;
    }
    if (ok && verbose) printf("ok %s: %s\n", what, st == IBERT_OK ? "loaded" : message);
    free(c.bytes);
    tally(ok);
}

#define REJECT(c, expect, ...) check_load((c), false, (expect), __VA_ARGS__)

/* ---- the corruptions ---- */

/* Every length through the first EVERY_BYTE bytes; past that (a large vocabulary)
 * every field boundary of the descriptors and a spread, to stay fast. */
#define EVERY_BYTE 8192

static void truncate_at(size_t len) {
    if (len < L.data_end) REJECT(fresh(len), NULL, "truncated to %zu", len);
}

static void truncations(void) {
    for (size_t len = 0; len < L.data_start && len < EVERY_BYTE; len++) truncate_at(len);
    for (size_t i = 0; i < L.n_kvs; i++) {
        const kv_loc *kv = &L.kvs[i];
        const size_t at[] = {kv->key_len_at, kv->type_at, kv->value_at};
        for (size_t k = 0; k < COUNT(at); k++)
            if (at[k] >= EVERY_BYTE) {
                truncate_at(at[k] - 1);
                truncate_at(at[k] + 1);
            }
    }
    for (size_t i = 0; i < L.n_tensors; i++) {
        const tensor_loc *t = &L.tensors[i];
        const size_t at[] = {t->name_len_at, t->n_dims_at, t->dims_at, t->type_at, t->offset_at};
        for (size_t k = 0; k < COUNT(at); k++)
            if (at[k] >= EVERY_BYTE) {
                truncate_at(at[k] - 1);
                truncate_at(at[k] + 1);
            }
    }
    for (size_t k = 0; k < 256; k++) {
        truncate_at(L.header_end * k / 256);
        truncate_at(L.data_start + (L.data_end - L.data_start) * k / 256);
    }
    REJECT(fresh(L.data_end - 1), "run past the end", "truncated by one byte of tensor data");
}

static void header_fields(void) {
    for (size_t i = 0; i < 4; i++) {
        copy c = fresh(original_size);
        c.bytes[i] ^= 0x20;
        REJECT(c, "magic", "magic byte %zu", i);
    }
    const uint32_t versions[] = {0, 1, 2, 4, 5, 0x03000000u, 0x80000003u, UINT32_MAX};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        copy c = fresh(original_size);
        put_u32(&c, 4, versions[i]);
        REJECT(c, "version", "GGUF version %" PRIu32, versions[i]);
    }
    const uint64_t counts[] = {UINT64_MAX, UINT64_C(1) << 63, UINT64_C(1) << 32, (uint64_t)original_size};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        copy c = fresh(original_size);
        put_u64(&c, 8, counts[i]);
        REJECT(c, "tensor count", "tensor count %" PRIu64, counts[i]);
        c = fresh(original_size);
        put_u64(&c, 16, counts[i]);
        REJECT(c, "metadata count", "metadata count %" PRIu64, counts[i]);
    }
    /* a count off by one misreads the rest of the header */
    const int64_t deltas[] = {-1, 1};
    for (size_t i = 0; i < 2; i++) {
        copy c = fresh(original_size);
        put_u64(&c, 8, L.n_tensors + (uint64_t)deltas[i]);
        REJECT(c, NULL, "tensor count %+" PRId64, deltas[i]);
        c = fresh(original_size);
        put_u64(&c, 16, L.n_kvs + (uint64_t)deltas[i]);
        REJECT(c, NULL, "metadata count %+" PRId64, deltas[i]);
    }
}

static void string_lengths(void) {
    const uint64_t bad[] = {0, UINT64_MAX, UINT64_MAX - 7, (UINT64_C(1) << 20) + 1, (uint64_t)original_size};
    for (size_t i = 0; i < L.n_kvs; i++) {
        const kv_loc *kv = &L.kvs[i];
        for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
            copy c = fresh(original_size);
            put_u64(&c, kv->key_len_at, bad[b]);
            REJECT(c, NULL, "key '%s': length %" PRIu64, kv->key, bad[b]);
        }
        if (kv->type == T_STRING) {
            copy c = fresh(original_size);
            put_u64(&c, kv->value_at, original_size - kv->value_at - 7);
            REJECT(c, NULL, "key '%s': string value one byte past the end", kv->key);
            c = fresh(original_size);
            put_u64(&c, kv->value_at, UINT64_MAX);
            REJECT(c, "past the end", "key '%s': string value length 2^64-1", kv->key);
        }
        if (kv->type == T_ARRAY) {
            copy c = fresh(original_size);
            put_u64(&c, kv->value_at + 4, UINT64_MAX / 2);
            REJECT(c, "cannot fit", "key '%s': array count 2^63", kv->key);
            c = fresh(original_size);
            put_u32(&c, kv->value_at, T_ARRAY);
            REJECT(c, "not supported", "key '%s': array of arrays", kv->key);
            c = fresh(original_size);
            put_u32(&c, kv->value_at, 13);
            REJECT(c, NULL, "key '%s': array element type 13", kv->key);
        }
    }
    for (size_t i = 0; i < L.n_tensors; i++) {
        copy c = fresh(original_size);
        put_u64(&c, L.tensors[i].name_len_at, UINT64_MAX);
        REJECT(c, NULL, "tensor '%s': name length 2^64-1", L.tensors[i].name);
        c = fresh(original_size);
        put_u64(&c, L.tensors[i].name_len_at, 0);
        REJECT(c, NULL, "tensor '%s': empty name", L.tensors[i].name);
    }
}

static void names(void) {
    /* a NUL or an invalid UTF-8 byte in a key or tensor name */
    const uint8_t bad[] = {0x00, 0xFF, 0xC0, 0x80};
    for (size_t b = 0; b < sizeof bad; b++) {
        const kv_loc *kv = &L.kvs[b % L.n_kvs];
        copy c = fresh(original_size);
        c.bytes[kv->key_len_at + 8 + 1] = bad[b];
        REJECT(c, "UTF-8", "key '%s': byte 0x%02x in its name", kv->key, bad[b]);
        const tensor_loc *t = &L.tensors[b % L.n_tensors];
        c = fresh(original_size);
        c.bytes[t->name_len_at + 8 + 1] = bad[b];
        REJECT(c, "UTF-8", "tensor '%s': byte 0x%02x in its name", t->name, bad[b]);
    }
    /* duplicates: two names of one length made equal */
    const kv_loc *b = find_kv("ibert.gelu.b");
    if (b && find_kv("ibert.gelu.c")) {
        copy c = fresh(original_size);
        c.bytes[b->key_len_at + 8 + strlen("ibert.gelu.")] = 'c';
        REJECT(c, "more than once", "key ibert.gelu.b renamed to ibert.gelu.c");
    }
    const tensor_loc *q = find_tensor("blk.0.attn_q.bias");
    if (q) {
        copy c = fresh(original_size);
        c.bytes[q->name_len_at + 8 + strlen("blk.0.attn_")] = 'k';
        REJECT(c, "more than once", "tensor blk.0.attn_q.bias renamed to blk.0.attn_k.bias");
    }
}

static const char *const required_u32[] = {
    "ibert.format_version", "ibert.vocab_size",        "ibert.hidden_size",     "ibert.num_layers",
    "ibert.num_heads",      "ibert.intermediate_size", "ibert.max_positions",   "ibert.type_vocab_size",
    "ibert.position_offset", "ibert.num_labels",       "ibert.exp.frac_bits",
};
static const char *const required_i32[] = {
    "ibert.exp.poly_b", "ibert.exp.poly_c", "ibert.gelu.b", "ibert.gelu.one",
    "ibert.output_scale.multiplier", "ibert.output_scale.shift",
};
/* the keys of each GELU form (FORMAT.md §2): erf2's, and erf3's of format version 7 */
static const char *const erf2_i32[] = {"ibert.gelu.c"};
static const char *const erf3_i32[] = {"ibert.gelu.d_mult", "ibert.gelu.c1", "ibert.gelu.c2", "ibert.gelu.c3"};

static void required_key_corruptions(const char *key, uint32_t type) {
    const kv_loc *kv = find_kv(key);
    if (!kv) {
        printf("FAIL the test model has no key %s\n", key);
        failed++;
        return;
    }
    /* same-size type first (the parse succeeds, the getter must object), then others */
    const uint32_t other_types[] = {type == T_U32 ? T_I32 : T_U32, T_F32, T_BOOL, T_STRING, T_ARRAY, T_U64, 13, 0xFFFFFFFFu};
    for (size_t i = 0; i < COUNT(other_types); i++) {
        if (other_types[i] == type) continue;
        copy c = fresh(original_size);
        put_u32(&c, kv->type_at, other_types[i]);
        bool same_size = i == 0 && (type == T_U32 || type == T_I32);
        REJECT(c, same_size ? key : NULL, "key %s: value type %" PRIu32, key, other_types[i]);
    }
    /* renamed out of the ibert. namespace (or general.): it is then missing */
    copy c = fresh(original_size);
    char *name = (char *)c.bytes + kv->key_len_at + 8;
    if (strncmp(key, "ibert.", 6) == 0) name[5] = '_';
    else name[0] = 'G';
    REJECT(c, "missing", "key %s renamed", key);
}

static void set_u32(const char *key, uint32_t value, const char *expect) {
    const kv_loc *kv = find_kv(key);
    copy c = fresh(original_size);
    put_u32(&c, kv->value_at, value);
    REJECT(c, expect, "%s = %" PRIu32, key, value);
}

static void set_i32(const char *key, int64_t value, const char *expect) {
    const kv_loc *kv = find_kv(key);
    copy c = fresh(original_size);
    put_u32(&c, kv->value_at, (uint32_t)value);
    REJECT(c, expect, "%s = %" PRId64, key, value);
}

static uint32_t value_u32(const char *key) { return get_u32(find_kv(key)->value_at); }

/* erf3's constants (FORMAT.md §4.4): each outside its range, a cubic whose products
 * leave int32 for some d, an unknown form, and a key of the other form. */
static void erf3_corruptions(void) {
    set_i32("ibert.gelu.d_mult", 0, "ibert.gelu.d_mult");
    set_i32("ibert.gelu.d_mult", INT64_C(1) << 17, "ibert.gelu.d_mult");
    set_i32("ibert.gelu.c1", -(INT64_C(1) << 15), "ibert.gelu.c1");
    set_i32("ibert.gelu.c2", INT64_C(1) << 15, "ibert.gelu.c2");
    set_i32("ibert.gelu.c3", INT64_C(1) << 15, "ibert.gelu.c3");
    set_i32("ibert.gelu.c3", (INT64_C(1) << 15) - 1, "leave 32 bits");
    set_i32("ibert.gelu.d_mult", (INT64_C(1) << 17) - 1, "leave 32 bits");
    const kv_loc *form = find_kv("ibert.gelu.form");
    copy c = fresh(original_size);
    c.bytes[form->value_at + 8 + 3] = '4';
    REJECT(c, "expected 'erf2' or 'erf3'", "ibert.gelu.form = erf4");
    /* ibert.gelu.b renamed to ibert.gelu.c: erf2's key in an erf3 file (b itself then missing) */
    const kv_loc *b = find_kv("ibert.gelu.b");
    c = fresh(original_size);
    c.bytes[b->key_len_at + 8 + strlen("ibert.gelu.")] = 'c';
    REJECT(c, "does not belong to ibert.gelu.form 'erf3'", "ibert.gelu.b renamed to ibert.gelu.c");
}

static void metadata(void) {
    for (size_t i = 0; i < COUNT(required_u32); i++) required_key_corruptions(required_u32[i], T_U32);
    for (size_t i = 0; i < COUNT(required_i32); i++) required_key_corruptions(required_i32[i], T_I32);
    required_key_corruptions("general.architecture", T_STRING);
    const bool erf3 = find_kv("ibert.gelu.form") != NULL;
    if (erf3) {
        required_key_corruptions("ibert.gelu.form", T_STRING);
        for (size_t i = 0; i < COUNT(erf3_i32); i++) required_key_corruptions(erf3_i32[i], T_I32);
    } else {
        required_key_corruptions("ibert.gelu.shift", T_U32);
        for (size_t i = 0; i < COUNT(erf2_i32); i++) required_key_corruptions(erf2_i32[i], T_I32);
    }
    if (value_u32("ibert.num_labels") > 0) required_key_corruptions("ibert.labels", T_ARRAY);

    /* every u32 hyperparameter at 0 (where 0 is invalid), far too large, and just too large */
    const struct { const char *key; uint32_t max; } ranges[] = {
        {"ibert.vocab_size", 1u << 22}, {"ibert.hidden_size", 8192}, {"ibert.num_layers", 256},
        {"ibert.intermediate_size", 65536}, {"ibert.max_positions", 8192}, {"ibert.type_vocab_size", 16},
        {"ibert.num_heads", value_u32("ibert.hidden_size")}, {"ibert.exp.frac_bits", 20},
    };
    for (size_t i = 0; i < COUNT(ranges); i++) {
        set_u32(ranges[i].key, 0, ranges[i].key);
        set_u32(ranges[i].key, ranges[i].max + 1, ranges[i].key);
        set_u32(ranges[i].key, UINT32_MAX, ranges[i].key);
    }
    set_u32("ibert.hidden_size", 0, "ibert.hidden_size = 0 is outside 1 ... 8192");
    set_u32("ibert.num_labels", 4097, "ibert.num_labels");
    if (!erf3) {
        set_u32("ibert.gelu.shift", 31, "ibert.gelu.shift");
        set_u32("ibert.gelu.shift", 0, "ibert.gelu.c");
    }
    set_u32("ibert.position_offset", value_u32("ibert.max_positions"), "ibert.position_offset");
    uint32_t hidden = value_u32("ibert.hidden_size");
    for (uint32_t heads = 2; heads < hidden; heads++)
        if (hidden % heads) {
            set_u32("ibert.num_heads", heads, "not divisible");
            break;
        }
    set_u32("ibert.vocab_size", value_u32("ibert.vocab_size") + 1, NULL);
    set_u32("ibert.num_layers", value_u32("ibert.num_layers") + 1, "missing");
    if (value_u32("ibert.num_layers") > 1) set_u32("ibert.num_layers", value_u32("ibert.num_layers") - 1, "unknown tensor");
    uint32_t labels = value_u32("ibert.num_labels");
    set_u32("ibert.num_labels", labels + 1, NULL);
    /* a version-3 file's task allows no C = 0 with a head (task() below), a version-2 file's labels do not */
    if (labels > 0) set_u32("ibert.num_labels", 0, find_kv("ibert.task") ? "but task" : "ibert.labels");
    set_u32("ibert.format_version", 8, "newer");
    /* the cubic GELU is new in version 7 (§4.4) */
    if (erf3) set_u32("ibert.format_version", 6, "'ibert.gelu.form' is new in format version 7");
    /* int16 tables are new in version 4 (FORMAT.md §3), I-BERT's 16-bit softmax exps in version 5 (§4.6) */
    const tensor_loc *positions = find_tensor("pos_embd.weight");
    if (positions->type == GGML_I16) set_u32("ibert.format_version", 3, "'pos_embd.weight of type I16' is new in format version 4");
    if (find_tensor("blk.0.attn_exp16.rq_mult"))
        set_u32("ibert.format_version", 4, "'blk.0.attn_exp16' is new in format version 5");
    /* GELU output zero points are new in version 6 (§4.6 step 5) */
    if (find_tensor("blk.0.ffn_gelu.zero_point"))
        set_u32("ibert.format_version", 5,
                erf3 ? "'ibert.gelu.form' is new in format version 7" : "'blk.0.ffn_gelu.zero_point' is new in format version 6");
    set_u32("ibert.format_version", 1, "format version 1 is no longer supported (softmax rounding changed");
    set_u32("ibert.format_version", 0, "format_version");

    uint32_t k = value_u32("ibert.exp.frac_bits");
    int64_t one = INT64_C(1) << k, b = (int32_t)value_u32("ibert.exp.poly_b");
    set_i32("ibert.exp.poly_b", 2 * one - 1, "ibert.exp.poly_b");
    set_i32("ibert.exp.poly_b", (INT64_C(1) << 20) + 1, "ibert.exp.poly_b");
    set_i32("ibert.exp.poly_c", 0, "ibert.exp.poly_c");
    set_i32("ibert.exp.poly_c", (INT64_C(1) << 30) + 1, "ibert.exp.poly_c");
    set_i32("ibert.exp.poly_c", one * (b - one), "positive");
    set_i32("ibert.gelu.b", 0, "ibert.gelu.b");
    set_i32("ibert.gelu.b", -(INT64_C(1) << 15) - 1, "ibert.gelu.b");
    if (erf3) {
        erf3_corruptions();
    } else {
        set_i32("ibert.gelu.c", 0, "ibert.gelu.c");
        int64_t gelu_b = (int32_t)value_u32("ibert.gelu.b");
        if (gelu_b * gelu_b <= INT64_C(1) << 30) set_i32("ibert.gelu.c", -gelu_b * gelu_b, "b^2 + c");
        set_i32("ibert.gelu.c", -(INT64_C(1) << 30) - 1, "ibert.gelu.c");
    }
    set_i32("ibert.gelu.one", 0, "ibert.gelu.one");
    set_i32("ibert.gelu.one", -(INT64_C(1) << 11) - 1, "ibert.gelu.one");
    set_i32("ibert.output_scale.shift", -1, "ibert.output_scale.shift");
    set_i32("ibert.output_scale.shift", 63, "ibert.output_scale.shift");
    set_i32("ibert.output_scale.multiplier", 0, "ibert.output_scale.multiplier");
    set_i32("ibert.output_scale.multiplier", INT32_MIN, "ibert.output_scale.multiplier");

    /* the architecture, then an unknown ibert.* key made from a known one */
    const kv_loc *arch = find_kv("general.architecture");
    copy c = fresh(original_size);
    c.bytes[arch->value_at + 8 + 4] = 'y';
    REJECT(c, "general.architecture", "architecture 'ibery'");
    const kv_loc *count = find_kv("ibert.calibration.count");
    if (count) {
        c = fresh(original_size);
        c.bytes[count->type_at - 1] = '~';
        REJECT(c, "unknown metadata key", "key ibert.calibration.count renamed to ibert.calibration.coun~");
    }
    /* ibert.hidden_size renamed to general.alignment (both 17 bytes): an alignment other than 32 */
    const kv_loc *hidden_kv = find_kv("ibert.hidden_size");
    c = fresh(original_size);
    memcpy(c.bytes + hidden_kv->key_len_at + 8, "general.alignment", 17);
    REJECT(c, value_u32("ibert.hidden_size") != 32 ? "general.alignment" : "missing", "general.alignment = H");
    /* informative keys are optional, but typed and text when present */
    const kv_loc *name_kv = find_kv("general.name");
    if (name_kv && get_u64(name_kv->value_at) > 0) {
        c = fresh(original_size);
        c.bytes[name_kv->value_at + 8] = 0xFF;
        REJECT(c, "general.name", "general.name starts with byte 0xff");
    }
    if (count) {
        c = fresh(original_size);
        put_u32(&c, count->type_at, T_I32);
        REJECT(c, "ibert.calibration.count", "ibert.calibration.count of type i32");
    }
    const kv_loc *label_kv = find_kv("ibert.labels");
    if (label_kv && get_u64(label_kv->value_at + 12) > 0) {
        c = fresh(original_size);
        c.bytes[label_kv->value_at + 12 + 8] = 0xFF;
        REJECT(c, "ibert.labels[0]", "label 0 starts with byte 0xff");
    }
}

/* The task of a version-3 file (FORMAT.md §4.10): required, a known name, one this
 * runtime computes, consistent with C; a version-2 file must not have it. */
static void task(void) {
    const kv_loc *task_kv = find_kv("ibert.task");
    if (!task_kv) {
        set_u32("ibert.format_version", 3, "ibert.task"); /* a version-2 file read as 3 lacks it */
        return;
    }
    required_key_corruptions("ibert.task", T_STRING);
    set_u32("ibert.format_version", 2, "metadata key 'ibert.task' is new in format version 3");
    size_t len = (size_t)get_u64(task_kv->value_at), at = task_kv->value_at + 8;
    copy c = fresh(original_size);
    c.bytes[at + len - 1] = '~';
    REJECT(c, "not a task", "ibert.task with its last byte changed");
    /* another task, named as long as "question-answering": a sentence embedding has
     * no classifier, so the file's C = 2 is refused before its missing pooling keys */
    if (len == 18 && memcmp(original + at, "question-answering", len) == 0) {
        c = fresh(original_size);
        memcpy(c.bytes + at, "sentence-embedding", len);
        REJECT(c, "task 'sentence-embedding' has 0 ... 0", "ibert.task = sentence-embedding");
    }
    /* a number of labels the task does not allow (C = 0 with a head: metadata() above): the tasks
     * whose C is fixed, regression and multiple choice at 1, question answering at 2 */
    const bool fixed = (len == 10 && memcmp(original + at, "regression", len) == 0) ||
                       (len == 15 && memcmp(original + at, "multiple-choice", len) == 0) ||
                       (len == 18 && memcmp(original + at, "question-answering", len) == 0);
    if (fixed) set_u32("ibert.num_labels", 3, "but task");
}

static void tensor_descriptors(void) {
    for (size_t i = 0; i < L.n_tensors; i++) {
        const tensor_loc *t = &L.tensors[i];
        const char *name = t->name;
        copy c = fresh(original_size);
        put_u64(&c, t->dims_at, t->dims[0] + 1);
        REJECT(c, name, "tensor '%s': dims[0] + 1", name);
        c = fresh(original_size);
        put_u64(&c, t->dims_at, 0);
        REJECT(c, "dimension 0 is 0", "tensor '%s': dims[0] = 0", name);
        if (t->n_dims == 2 && t->dims[0] != t->dims[1]) {
            c = fresh(original_size);
            put_u64(&c, t->dims_at, t->dims[1]);
            put_u64(&c, t->dims_at + 8, t->dims[0]);
            REJECT(c, "shape", "tensor '%s': dims swapped", name);
        }
        /* absurd sizes: a dimension past the file, element counts and byte sizes that overflow */
        const uint64_t huge[] = {UINT64_C(1) << 32, UINT64_C(1) << 62, UINT64_MAX};
        for (size_t h = 0; h < COUNT(huge); h++) {
            c = fresh(original_size);
            put_u64(&c, t->dims_at, huge[h]);
            REJECT(c, NULL, "tensor '%s': dims[0] = %" PRIu64, name, huge[h]);
        }
        if (t->n_dims == 2) {
            c = fresh(original_size);
            put_u64(&c, t->dims_at, UINT64_C(1) << 32);
            put_u64(&c, t->dims_at + 8, UINT64_C(1) << 32);
            REJECT(c, "overflows 64 bits", "tensor '%s': 2^32 x 2^32 elements", name);
        }
        const uint32_t n_dims[] = {0, 5, 1000};
        for (size_t d = 0; d < COUNT(n_dims); d++) {
            c = fresh(original_size);
            put_u32(&c, t->n_dims_at, n_dims[d]);
            REJECT(c, "dimensions", "tensor '%s': n_dims = %" PRIu32, name, n_dims[d]);
        }
        /* every other type, integer or not */
        const uint32_t types[] = {GGML_I8, GGML_I16, GGML_I32, GGML_I64, 0, 1, 2, 28, 1000};
        for (size_t k = 0; k < COUNT(types); k++) {
            if (types[k] == t->type) continue;
            c = fresh(original_size);
            put_u32(&c, t->type_at, types[k]);
            REJECT(c, name, "tensor '%s': type %" PRIu32, name, types[k]);
        }
        const uint64_t offsets[] = {t->offset + 1, t->offset + 16, UINT64_MAX, UINT64_MAX - 31,
                                    (original_size - L.data_start + 31) / 32 * 32};
        for (size_t o = 0; o < COUNT(offsets); o++) {
            c = fresh(original_size);
            put_u64(&c, t->offset_at, offsets[o]);
            REJECT(c, name, "tensor '%s': offset %" PRIu64, name, offsets[o]);
        }
        /* on top of its neighbour (or past the end, if it does not fit there) */
        const tensor_loc *other = &L.tensors[i + 1 < L.n_tensors ? i + 1 : i - 1];
        bool fits = other->offset + t->n_bytes <= original_size - L.data_start;
        c = fresh(original_size);
        put_u64(&c, t->offset_at, other->offset);
        REJECT(c, fits ? "overlaps" : "past the end", "tensor '%s': offset of '%s'", name, other->name);
    }
    const tensor_loc *t = &L.tensors[L.n_tensors / 2];
    copy c = fresh(original_size);
    put_u64(&c, t->offset_at, t->offset + 1);
    char expect[MAX_NAME + 64];
    snprintf(expect, sizeof expect, "tensor '%s': data offset %" PRIu64 " is not aligned to 32", t->name, t->offset + 1);
    REJECT(c, expect, "tensor '%s': misaligned offset, exact message", t->name);
    /* a required tensor renamed away */
    c = fresh(original_size);
    c.bytes[t->name_len_at + 8] = 'X';
    snprintf(expect, sizeof expect, "tensor '%s' is missing", t->name);
    REJECT(c, expect, "tensor '%s' renamed", t->name);
}

/* The rescales that may be [1] or per channel (format version 2: attn_res, ffn_res,
 * ffn_gelu): any other length, and rq_mult and rq_shift of different shapes, are
 * rejected. A length of 1 or 2 still fits the tensor's 32-byte aligned slot. */
static void rescale_shapes(void) {
    static const char *const kinds[] = {".attn_res.rq_mult", ".ffn_res.rq_mult", ".ffn_gelu.rq_mult"};
    for (size_t i = 0; i < L.n_tensors; i++) {
        const tensor_loc *mult = &L.tensors[i];
        bool one_or_channels = false;
        for (size_t k = 0; k < COUNT(kinds); k++) one_or_channels |= ends_with(mult->name, kinds[k]);
        if (!one_or_channels) continue;
        char shift_name[MAX_NAME];
        snprintf(shift_name, sizeof shift_name, "%.*s.rq_shift", (int)(strlen(mult->name) - strlen(".rq_mult")),
                 mult->name);
        const tensor_loc *shift = find_tensor(shift_name);
        copy c = fresh(original_size);
        put_u64(&c, mult->dims_at, 2);
        REJECT(c, "expected [1] or [", "tensor '%s': [2]", mult->name);
        c = fresh(original_size);
        put_u64(&c, mult->dims_at, 2);
        put_u64(&c, shift->dims_at, 2);
        REJECT(c, "expected [1] or [", "tensors '%s' and its shift: [2]", mult->name);
        /* per tensor: a shift of [2]; per channel: a multiplier or a shift of [1] */
        c = fresh(original_size);
        put_u64(&c, shift->dims_at, mult->dims[0] == 1 ? 2 : 1);
        REJECT(c, "both tensors of a rescale have one shape", "tensor '%s' of another shape than '%s'", shift_name,
               mult->name);
        if (mult->dims[0] > 1) {
            c = fresh(original_size);
            put_u64(&c, mult->dims_at, 1);
            REJECT(c, "both tensors of a rescale have one shape", "tensor '%s': [1] with a per-channel shift",
                   mult->name);
        }
    }
}

/* An element of a tensor's data. */
static void poke(copy *c, const tensor_loc *t, uint64_t index, int64_t value) {
    uint8_t *p = c->bytes + L.data_start + t->offset;
    switch (t->type) {
    case GGML_I8: p[index] = (uint8_t)(int8_t)value; break;
    case GGML_I16: { int16_t v = (int16_t)value; memcpy(p + 2 * index, &v, 2); break; }
    case GGML_I32: { int32_t v = (int32_t)value; memcpy(p + 4 * index, &v, 4); break; }
    default: memcpy(p + 8 * index, &value, 8); break;
    }
}

static void values(void) {
    for (size_t i = 0; i < L.n_tensors; i++) {
        const tensor_loc *t = &L.tensors[i];
        uint64_t n = t->n_bytes / (t->type == GGML_I8 ? 1 : t->type == GGML_I16 ? 2 : t->type == GGML_I32 ? 4 : 8);
        const uint64_t where[] = {0, n / 2, n - 1};
        for (size_t w = 0; w < COUNT(where); w++) {
            copy c = fresh(original_size);
            if (t->type == GGML_I8 || t->type == GGML_I16) {
                /* the message names the element (GGUF's dims[0] is the row length) */
                const int64_t lowest = t->type == GGML_I8 ? INT8_MIN : INT16_MIN;
                char expect[64];
                snprintf(expect, sizeof expect, "element [%" PRIu64 ", %" PRIu64 "] is %" PRId64, where[w] / t->dims[0],
                         where[w] % t->dims[0], lowest);
                poke(&c, t, where[w], lowest);
                REJECT(c, expect, "tensor '%s'[%" PRIu64 "] = %" PRId64, t->name, where[w], lowest);
            } else if (ends_with(t->name, ".rq_shift")) {
                poke(&c, t, where[w], 0);
                REJECT(c, "outside 1 ... 62", "tensor '%s'[%" PRIu64 "] = 0", t->name, where[w]);
                c = fresh(original_size);
                poke(&c, t, where[w], 63);
                REJECT(c, "outside 1 ... 62", "tensor '%s'[%" PRIu64 "] = 63", t->name, where[w]);
            } else if (ends_with(t->name, ".rq_mult")) {
                poke(&c, t, where[w], INT32_MIN);
                REJECT(c, t->name, "tensor '%s'[%" PRIu64 "] = -2^31", t->name, where[w]);
            } else if (ends_with(t->name, ".zero_point")) {
                poke(&c, t, where[w], 128);
                REJECT(c, "outside -128 ... 127", "tensor '%s'[%" PRIu64 "] = 128", t->name, where[w]);
                c = fresh(original_size);
                poke(&c, t, where[w], -129);
                REJECT(c, "outside -128 ... 127", "tensor '%s'[%" PRIu64 "] = -129", t->name, where[w]);
            } else if (ends_with(t->name, ".rq_bias")) {
                poke(&c, t, where[w], (INT64_C(1) << 61) + 1);
                REJECT(c, "2^61", "tensor '%s'[%" PRIu64 "] = 2^61 + 1", t->name, where[w]);
            } else if (ends_with(t->name, ".bias")) {
                poke(&c, t, where[w], (INT64_C(1) << 30) + 1);
                REJECT(c, "2^30", "tensor '%s'[%" PRIu64 "] = 2^30 + 1", t->name, where[w]);
                c = fresh(original_size);
                poke(&c, t, where[w], -(INT64_C(1) << 30) - 1);
                REJECT(c, "2^30", "tensor '%s'[%" PRIu64 "] = -2^30 - 1", t->name, where[w]);
            } else {
                free(c.bytes);
            }
        }
    }
    /* attention scores whose rescale would leave 30 bits */
    const tensor_loc *mult = find_tensor("blk.0.attn_scores.rq_mult"), *shift = find_tensor("blk.0.attn_scores.rq_shift");
    copy c = fresh(original_size);
    poke(&c, mult, 0, INT32_MAX);
    poke(&c, shift, 0, 1);
    REJECT(c, "blk.0.attn_scores", "attn_scores rescale 2^31 * 2^-1");
    /* a 16-bit exp rescale must keep i-exp's largest value c at 1 or more, with a positive multiplier */
    const tensor_loc *exp16_mult = find_tensor("blk.0.attn_exp16.rq_mult"), *exp16_shift = find_tensor("blk.0.attn_exp16.rq_shift");
    if (!exp16_mult) return;
    const int64_t mults[] = {0, -1};
    for (size_t i = 0; i < COUNT(mults); i++) {
        c = fresh(original_size);
        poke(&c, exp16_mult, 0, mults[i]);
        REJECT(c, "below 1", "attn_exp16 multiplier %" PRId64, mults[i]);
    }
    c = fresh(original_size);
    poke(&c, exp16_mult, 0, 1);
    poke(&c, exp16_shift, 0, 62);
    REJECT(c, "below 1", "attn_exp16 rescale 1 * 2^-62");
}

/* xorshift64*: the same flips on every run and platform */
static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint64_t next_random(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Du;
}

static void random_flips(void) {
    for (int trial = 0; trial < 3000; trial++) {
        copy c = fresh(original_size);
        /* two trials in three aim at the header, where a flip is most likely to matter */
        size_t span = trial % 3 ? L.header_end : original_size;
        int n_flips = 1 + (int)(next_random() % 4);
        for (int f = 0; f < n_flips; f++) c.bytes[next_random() % span] ^= (uint8_t)(1u << (next_random() % 8));
        check_load(c, true, NULL, "random flips, trial %d", trial);
    }
}

static void api_checks(const char *path) {
    ibert_model *model = NULL;
    ibert_status st = ibert_model_load_file("/nonexistent/model.ibert", &model);
    bool ok = st == IBERT_ERR_IO && model == NULL && strstr(ibert_last_error(), "/nonexistent/model.ibert") &&
              strstr(ibert_last_error(), "No such file");
    if (!ok) printf("FAIL load_file of a missing path: %s \"%s\"\n", ibert_status_name(st), ibert_last_error());
    tally(ok);

    uint8_t *shifted = malloc(original_size + 8);
    memcpy(shifted + 1, original, original_size);
    st = ibert_model_load_buffer(shifted + 1, original_size, &model);
    ok = st == IBERT_ERR_INVALID_ARGUMENT && model == NULL && strstr(ibert_last_error(), "aligned");
    if (!ok) printf("FAIL load_buffer of a misaligned buffer: %s\n", ibert_status_name(st));
    tally(ok);
    free(shifted);

    ok = ibert_model_vocab_size(NULL) == 0 && ibert_model_label(NULL, 0) == NULL &&
         ibert_model_output_size(NULL, 3) == 0 && ibert_model_context_bytes(NULL) == 0 &&
         ibert_model_kernels(NULL) == NULL && ibert_model_packed_bytes(NULL) == 0;
    if (!ok) printf("FAIL getters of a NULL model\n");
    tally(ok);

    st = ibert_model_load_file(path, &model);
    ok = st == IBERT_OK && ibert_model_vocab_size(model) == value_u32("ibert.vocab_size") &&
         ibert_model_hidden_size(model) == value_u32("ibert.hidden_size") &&
         ibert_model_num_layers(model) == value_u32("ibert.num_layers") &&
         ibert_model_num_labels(model) == value_u32("ibert.num_labels") &&
         ibert_model_max_tokens(model) == value_u32("ibert.max_positions") - value_u32("ibert.position_offset") &&
         ibert_model_label(model, ibert_model_num_labels(model)) == NULL && ibert_model_context_bytes(model) > 0 &&
         ibert_model_output_scale(model).multiplier == (int32_t)value_u32("ibert.output_scale.multiplier") &&
         ibert_model_kernels(model) != NULL;
    if (!ok) printf("FAIL the valid model's getters disagree with its metadata\n");
    tally(ok);
    ibert_model_free(model);
}

static uint8_t *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *data = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n > 0 && fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)n)) != NULL) {
            *size = fread(data, 1, (size_t)n, f);
            if (*size != (size_t)n) {
                free(data);
                data = NULL;
            }
        }
    }
    fclose(f);
    return data;
}

int main(int argc, char **argv) {
    verbose = argc == 3 && strcmp(argv[1], "-v") == 0;
    if (argc != 2 + verbose) {
        fprintf(stderr, "usage: %s [-v] MODEL.ibert\n", argv[0]);
        return 2;
    }
    const char *path = argv[1 + verbose];
    ibert_model *model;
    if (ibert_model_load_file(path, &model) != IBERT_OK) {
        fprintf(stderr, "the valid model does not load: %s\n", ibert_last_error());
        return 2;
    }
    ibert_model_free(model);
    uint8_t *data = read_file(path, &original_size);
    if (!data) {
        fprintf(stderr, "cannot read %s\n", path);
        return 2;
    }
    original = data;
    read_layout();

    api_checks(path);
    truncations();
    header_fields();
    string_lengths();
    names();
    metadata();
    task();
    tensor_descriptors();
    rescale_shapes();
    values();
    random_flips();

    printf("%d passed, %d failed\n", passed, failed);
    free(data);
    return failed ? 1 : 0;
}
