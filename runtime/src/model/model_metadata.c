/* model_metadata.c: the metadata keys of models/FORMAT.md §2, each with its type
 * and range, read into the model. The tokenizer's keys are tokenizer_load.c's. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "task.h"
#include "model_validate.h"

/* The ibert.* keys format version 2 defines, outside the tokenizer's ibert.tokenizer.* */
static const char *const known_keys[] = {
    "ibert.format_version",   "ibert.source_architecture",     "ibert.vocab_size",
    "ibert.hidden_size",      "ibert.num_layers",              "ibert.num_heads",
    "ibert.intermediate_size", "ibert.max_positions",          "ibert.type_vocab_size",
    "ibert.position_offset",  "ibert.num_labels",              "ibert.labels",
    "ibert.exp.frac_bits",    "ibert.exp.poly_b",              "ibert.exp.poly_c",
    "ibert.gelu.b",           "ibert.gelu.c",                  "ibert.gelu.shift",
    "ibert.gelu.one",         "ibert.output_scale.multiplier", "ibert.output_scale.shift",
    "ibert.calibration.source", "ibert.calibration.count",
};

/* The ibert.* keys later format versions add: an older file with one of them is
 * refused by name (it would compute something a reader of its version does not). */
typedef struct new_key {
    const char *name;
    uint32_t since;
} new_key;

static const new_key new_keys[] = {
    {"ibert.task", 3},     {"ibert.pooling.mode", 3}, {"ibert.pooling.normalize", 3}, {"ibert.gelu.form", 7},
    {"ibert.gelu.d_mult", 7}, {"ibert.gelu.c1", 7},   {"ibert.gelu.c2", 7},           {"ibert.gelu.c3", 7},
};

static bool key_is(ibert_strview key, const char *name) {
    return key.len == strlen(name) && memcmp(key.data, name, key.len) == 0;
}

static bool has_prefix(ibert_strview s, const char *prefix) {
    size_t n = strlen(prefix);
    return s.len >= n && memcmp(s.data, prefix, n) == 0;
}

static bool is_known_key(ibert_strview key) {
    if (has_prefix(key, "ibert.tokenizer.")) return true;
    for (size_t i = 0; i < sizeof known_keys / sizeof known_keys[0]; i++)
        if (key_is(key, known_keys[i])) return true;
    for (size_t i = 0; i < sizeof new_keys / sizeof new_keys[0]; i++)
        if (key_is(key, new_keys[i].name)) return true;
    return false;
}

static ibert_status reject_unknown_keys(const gguf_file *file, uint32_t version) {
    for (uint64_t i = 0; i < gguf_key_count(file); i++) {
        ibert_strview key = gguf_key_at(file, i);
        for (size_t k = 0; k < sizeof new_keys / sizeof new_keys[0]; k++)
            if (version < new_keys[k].since && key_is(key, new_keys[k].name))
                return ibert_fail(IBERT_ERR_FORMAT,
                                  "metadata key '%s' is new in format version %" PRIu32 ", but the file is version %" PRIu32,
                                  new_keys[k].name, new_keys[k].since, version);
        if (has_prefix(key, "ibert.") && !is_known_key(key))
            return ibert_fail(IBERT_ERR_FORMAT,
                              "unknown metadata key '%.*s' (format version %" PRIu32 " does not define it)",
                              (int)(key.len < 100 ? key.len : 100), key.data, ibert_format_version());
    }
    return IBERT_OK;
}

static ibert_status u32_in(const gguf_file *file, const char *key, uint32_t lo, uint32_t hi, uint32_t *out) {
    ibert_status st = gguf_get_u32(file, key, out);
    if (st != IBERT_OK) return st;
    if (*out < lo || *out > hi)
        return ibert_fail(IBERT_ERR_FORMAT, "%s = %" PRIu32 " is outside %" PRIu32 " ... %" PRIu32, key, *out, lo, hi);
    return IBERT_OK;
}

static ibert_status i32_in(const gguf_file *file, const char *key, int64_t lo, int64_t hi, int32_t *out) {
    ibert_status st = gguf_get_i32(file, key, out);
    if (st != IBERT_OK) return st;
    if (*out < lo || *out > hi)
        return ibert_fail(IBERT_ERR_FORMAT, "%s = %" PRId32 " is outside %" PRId64 " ... %" PRId64, key, *out, lo, hi);
    return IBERT_OK;
}

/* Informative keys: nothing here reads them, but if present they have their type
 * (and strings are text, since tools print them). */
static ibert_status check_informative(const gguf_file *file) {
    static const char *const strings[] = {"general.name", "ibert.source_architecture", "ibert.calibration.source"};
    ibert_status st;
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        ibert_strview s;
        if (!gguf_has_key(file, strings[i])) continue;
        if ((st = gguf_get_str(file, strings[i], &s)) != IBERT_OK) return st;
        if (!gguf_is_text(s))
            return ibert_fail(IBERT_ERR_FORMAT, "%s is not valid UTF-8 or contains a NUL byte", strings[i]);
    }
    uint32_t count;
    if (gguf_has_key(file, "ibert.calibration.count") &&
        (st = gguf_get_u32(file, "ibert.calibration.count", &count)) != IBERT_OK)
        return st;
    return IBERT_OK;
}

static ibert_status check_identity(const gguf_file *file, uint32_t *out_version) {
    ibert_strview arch;
    ibert_status st = gguf_get_str(file, "general.architecture", &arch);
    if (st != IBERT_OK) return st;
    if (!gguf_is_text(arch))
        return ibert_fail(IBERT_ERR_FORMAT, "general.architecture is not valid UTF-8 or contains a NUL byte");
    if (arch.len != 5 || memcmp(arch.data, "ibert", 5) != 0)
        return ibert_fail(IBERT_ERR_UNSUPPORTED, "general.architecture is '%.*s', expected 'ibert'",
                          (int)(arch.len < 100 ? arch.len : 100), arch.data);
    uint32_t version;
    st = gguf_get_u32(file, "ibert.format_version", &version);
    *out_version = version;
    if (st != IBERT_OK) return st;
    if (version == 0) return ibert_fail(IBERT_ERR_FORMAT, "ibert.format_version is 0, not a format version");
    if (version == 1)
        return ibert_fail(IBERT_ERR_UNSUPPORTED,
                          "model file format version 1 is no longer supported (softmax rounding changed in version "
                          "2): re-convert the checkpoint with this pyibert");
    if (version > ibert_format_version())
        return ibert_fail(IBERT_ERR_UNSUPPORTED,
                          "model format version %" PRIu32 " is newer than this runtime reads (%" PRIu32 ")", version,
                          ibert_format_version());
    return IBERT_OK;
}

static ibert_status read_hparams(const gguf_file *file, model_hparams *hp) {
    ibert_status st;
    if ((st = u32_in(file, "ibert.vocab_size", 1, 1u << 22, &hp->vocab_size)) != IBERT_OK ||
        (st = u32_in(file, "ibert.hidden_size", 1, 8192, &hp->hidden_size)) != IBERT_OK ||
        (st = u32_in(file, "ibert.num_layers", 1, 256, &hp->num_layers)) != IBERT_OK ||
        (st = u32_in(file, "ibert.num_heads", 1, hp->hidden_size, &hp->num_heads)) != IBERT_OK ||
        (st = u32_in(file, "ibert.intermediate_size", 1, 65536, &hp->intermediate_size)) != IBERT_OK ||
        (st = u32_in(file, "ibert.max_positions", 1, 8192, &hp->max_positions)) != IBERT_OK ||
        (st = u32_in(file, "ibert.type_vocab_size", 1, 16, &hp->type_vocab_size)) != IBERT_OK ||
        (st = u32_in(file, "ibert.position_offset", 0, hp->max_positions - 1, &hp->position_offset)) != IBERT_OK ||
        (st = u32_in(file, "ibert.num_labels", 0, 4096, &hp->num_labels)) != IBERT_OK)
        return st;
    if (hp->hidden_size % hp->num_heads)
        return ibert_fail(IBERT_ERR_FORMAT, "ibert.hidden_size %" PRIu32 " is not divisible by ibert.num_heads %" PRIu32,
                          hp->hidden_size, hp->num_heads);
    hp->head_size = hp->hidden_size / hp->num_heads;
    if (hp->head_size > 256)
        return ibert_fail(IBERT_ERR_FORMAT, "head size %" PRIu32 " (hidden_size / num_heads) is above 256",
                          hp->head_size);
    hp->max_tokens = hp->max_positions - hp->position_offset;
    return IBERT_OK;
}

/* ibert.task (version 3; required there), else what a version-2 file implies, and
 * the number of labels the task allows. */
static ibert_status read_task(const gguf_file *file, model_hparams *hp) {
    ibert_status st;
    if (hp->format_version < 3) {
        hp->task = hp->num_labels > 0 ? IBERT_TASK_SEQUENCE_CLASSIFICATION : IBERT_TASK_ENCODER;
        return IBERT_OK;
    }
    ibert_strview name;
    if ((st = gguf_get_str(file, "ibert.task", &name)) != IBERT_OK ||
        (st = task_from_name(name, &hp->task)) != IBERT_OK)
        return st;
    return task_check_num_labels(hp->task, hp->num_labels);
}

/* C labels, copied as NUL-terminated strings; absent when C = 0. */
static ibert_status read_labels(const gguf_file *file, struct ibert_model *model) {
    uint32_t n_labels = model->hp.num_labels;
    if (n_labels == 0) {
        if (gguf_has_key(file, "ibert.labels"))
            return ibert_fail(IBERT_ERR_FORMAT, "ibert.labels is present but ibert.num_labels is 0");
        return IBERT_OK;
    }
    ibert_strview *views;
    uint64_t n;
    ibert_status st = gguf_get_str_array(file, "ibert.labels", &views, &n);
    if (st != IBERT_OK) return st;
    if (n != n_labels) {
        free(views);
        return ibert_fail(IBERT_ERR_FORMAT, "ibert.labels has %" PRIu64 " names, ibert.num_labels is %" PRIu32, n,
                          n_labels);
    }
    model->labels = calloc(n_labels, sizeof *model->labels);
    if (!model->labels) st = ibert_fail(IBERT_ERR_OUT_OF_MEMORY, "out of memory for %" PRIu32 " labels", n_labels);
    for (uint32_t i = 0; i < n_labels && st == IBERT_OK; i++) {
        if (!gguf_is_text(views[i])) {
            st = ibert_fail(IBERT_ERR_FORMAT, "ibert.labels[%" PRIu32 "] is not valid UTF-8 or contains a NUL byte", i);
            break;
        }
        /* views[i].len <= the buffer's size, so + 1 cannot wrap */
        model->labels[i] = malloc((size_t)views[i].len + 1);
        if (!model->labels[i]) {
            st = ibert_fail(IBERT_ERR_OUT_OF_MEMORY, "out of memory for label %" PRIu32, i);
            break;
        }
        memcpy(model->labels[i], views[i].data, (size_t)views[i].len);
        model->labels[i][views[i].len] = '\0';
    }
    free(views);
    return st;
}

/* §4.3: b and c make i-exp's polynomial r(r + b) + c positive on (-2^K, 0] and below 2^31. */
static ibert_status read_exp(const gguf_file *file, exp_constants *exp) {
    ibert_status st;
    if ((st = u32_in(file, "ibert.exp.frac_bits", 1, 20, &exp->frac_bits)) != IBERT_OK) return st;
    int64_t one = INT64_C(1) << exp->frac_bits;
    if ((st = i32_in(file, "ibert.exp.poly_b", 2 * one, INT64_C(1) << 20, &exp->poly_b)) != IBERT_OK ||
        (st = i32_in(file, "ibert.exp.poly_c", 1, INT64_C(1) << 30, &exp->poly_c)) != IBERT_OK)
        return st;
    if (exp->poly_c <= one * (exp->poly_b - one))
        return ibert_fail(IBERT_ERR_FORMAT,
                          "ibert.exp.poly_c = %" PRId32 " must exceed 2^K * (b - 2^K) = %" PRId64
                          " so that i-exp stays positive", exp->poly_c, one * (exp->poly_b - one));
    return IBERT_OK;
}

/* ibert.gelu.form (format version 7; older files are erf2). */
static ibert_status read_gelu_form(const gguf_file *file, uint32_t version, igelu_form *form) {
    *form = IGELU_ERF2;
    if (version < 7) return IBERT_OK;
    ibert_strview name;
    ibert_status st = gguf_get_str(file, "ibert.gelu.form", &name);
    if (st != IBERT_OK) return st;
    if (key_is(name, "erf2")) return IBERT_OK;
    if (key_is(name, "erf3")) {
        *form = IGELU_ERF3;
        return IBERT_OK;
    }
    return ibert_fail(IBERT_ERR_FORMAT, "ibert.gelu.form is '%.*s', expected 'erf2' or 'erf3'",
                      (int)(name.len < 100 ? name.len : 100), gguf_is_text(name) ? name.data : "?");
}

/* The keys of the other form must be absent: a file says one arithmetic. */
static ibert_status reject_other_form_keys(const gguf_file *file, const igelu_params *gelu) {
    /* each form's own keys, NULL-terminated */
    static const char *const erf2_only[] = {"ibert.gelu.c", "ibert.gelu.shift", NULL};
    static const char *const erf3_only[] = {"ibert.gelu.d_mult", "ibert.gelu.c1", "ibert.gelu.c2", "ibert.gelu.c3", NULL};
    const int erf3 = gelu->form == IGELU_ERF3;
    for (const char *const *key = erf3 ? erf2_only : erf3_only; *key; key++)
        if (gguf_has_key(file, *key))
            return ibert_fail(IBERT_ERR_FORMAT, "metadata key '%s' does not belong to ibert.gelu.form '%s'", *key,
                              erf3 ? "erf3" : "erf2");
    return IBERT_OK;
}

/* §4.4, erf2: the bounds that keep I-BERT's polynomial and product within 31 bits. */
static ibert_status read_gelu_erf2(const gguf_file *file, igelu_params *gelu) {
    ibert_status st;
    if ((st = i32_in(file, "ibert.gelu.c", -(INT64_C(1) << 30), -1, &gelu->c)) != IBERT_OK ||
        (st = u32_in(file, "ibert.gelu.shift", 0, 30, &gelu->shift)) != IBERT_OK)
        return st;
    if ((int64_t)gelu->b * gelu->b + gelu->c >= 0)
        return ibert_fail(IBERT_ERR_FORMAT,
                          "ibert.gelu.b = %" PRId32 " and ibert.gelu.c = %" PRId32
                          " give b^2 + c >= 0, so i-GELU's polynomial is not negative", gelu->b, gelu->c);
    if ((-(int64_t)gelu->c) >> gelu->shift > (INT64_C(1) << 11))
        return ibert_fail(IBERT_ERR_FORMAT,
                          "ibert.gelu.c = %" PRId32 " shifted right by ibert.gelu.shift = %" PRIu32
                          " exceeds 2^11 in magnitude", gelu->c, gelu->shift);
    return IBERT_OK;
}

static bool fits_i32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

/* §4.4, erf3: every product of the cubic within int32 and |y + one| <= 2^12 + 1,
 * checked for each of the -b + 1 values of d (at most 2^15 + 1) as the kernels
 * compute them, so that every kernel may use 32-bit lanes. */
static ibert_status read_gelu_erf3(const gguf_file *file, igelu_params *gelu) {
    ibert_status st;
    if ((st = i32_in(file, "ibert.gelu.d_mult", 1, (INT64_C(1) << 17) - 1, &gelu->d_mult)) != IBERT_OK ||
        (st = i32_in(file, "ibert.gelu.c1", -(INT64_C(1) << 15) + 1, (INT64_C(1) << 15) - 1, &gelu->c1)) != IBERT_OK ||
        (st = i32_in(file, "ibert.gelu.c2", -(INT64_C(1) << 15) + 1, (INT64_C(1) << 15) - 1, &gelu->c2)) != IBERT_OK ||
        (st = i32_in(file, "ibert.gelu.c3", -(INT64_C(1) << 15) + 1, (INT64_C(1) << 15) - 1, &gelu->c3)) != IBERT_OK)
        return st;
    const int64_t limit = (INT64_C(1) << 12) + 1;
    for (int64_t d = gelu->b; d <= 0; d++) {
        const igelu_erf3_steps s = kernel_igelu_erf3_steps(d, gelu);
        const int64_t w_pos = kernel_igelu_erf3_y(s.l, 1, gelu) + gelu->one;
        const int64_t w_neg = kernel_igelu_erf3_y(s.l, -1, gelu) + gelu->one;
        if (!fits_i32(s.d_product) || !fits_i32(s.c3_product) || !fits_i32(s.p2_product) || !fits_i32(s.p1_product) ||
            !fits_i32(s.l * gelu->one) || w_pos < -limit || w_pos > limit || w_neg < -limit || w_neg > limit)
            return ibert_fail(IBERT_ERR_FORMAT,
                              "ibert.gelu.d_mult = %" PRId32 ", c1 = %" PRId32 ", c2 = %" PRId32 ", c3 = %" PRId32
                              " with b = %" PRId32 " and one = %" PRId32 " leave 32 bits (or |y + one| > 2^12 + 1) at d = %" PRId64,
                              gelu->d_mult, gelu->c1, gelu->c2, gelu->c3, gelu->b, gelu->one, d);
    }
    return IBERT_OK;
}

/* §4.4: the integer GELU's form and constants. */
static ibert_status read_gelu(const gguf_file *file, uint32_t version, igelu_params *gelu) {
    ibert_status st;
    *gelu = (igelu_params){0};
    if ((st = read_gelu_form(file, version, &gelu->form)) != IBERT_OK ||
        (st = reject_other_form_keys(file, gelu)) != IBERT_OK ||
        (st = i32_in(file, "ibert.gelu.b", -(INT64_C(1) << 15), -1, &gelu->b)) != IBERT_OK ||
        (st = i32_in(file, "ibert.gelu.one", -(INT64_C(1) << 11), -1, &gelu->one)) != IBERT_OK)
        return st;
    return gelu->form == IGELU_ERF3 ? read_gelu_erf3(file, gelu) : read_gelu_erf2(file, gelu);
}

/* ibert.pooling.*: how a sentence-embedding file pools (FORMAT.md §2, version 3);
 * any other task has none of these keys. */
static ibert_status read_pooling(const gguf_file *file, struct ibert_model *model) {
    static const char *const pooling_keys[] = {"ibert.pooling.mode", "ibert.pooling.normalize"};
    if (model->hp.task != IBERT_TASK_SENTENCE_EMBEDDING) {
        for (size_t i = 0; i < sizeof pooling_keys / sizeof pooling_keys[0]; i++)
            if (gguf_has_key(file, pooling_keys[i]))
                return ibert_fail(IBERT_ERR_FORMAT, "%s is present but ibert.task is '%s', not sentence-embedding",
                                  pooling_keys[i], ibert_task_name(model->hp.task));
        return IBERT_OK;
    }
    ibert_strview mode;
    ibert_status st;
    if ((st = gguf_get_str(file, "ibert.pooling.mode", &mode)) != IBERT_OK ||
        (st = gguf_get_bool(file, "ibert.pooling.normalize", &model->normalize)) != IBERT_OK)
        return st;
    if (key_is(mode, "mean"))
        model->pool_mode = POOL_MEAN;
    else if (key_is(mode, "cls"))
        model->pool_mode = POOL_CLS;
    else if (key_is(mode, "max"))
        model->pool_mode = POOL_MAX;
    else
        return ibert_fail(IBERT_ERR_FORMAT, "ibert.pooling.mode is '%.*s', expected mean, cls or max",
                          (int)(mode.len < 100 ? mode.len : 100), mode.data);
    return IBERT_OK;
}

static ibert_status read_output_scale(const gguf_file *file, ibert_scale *scale) {
    ibert_status st = i32_in(file, "ibert.output_scale.multiplier", 1, INT32_MAX, &scale->multiplier);
    return st != IBERT_OK ? st : i32_in(file, "ibert.output_scale.shift", 0, 62, &scale->shift);
}

/* Fill-mask's mask token (tokenizer.ggml.mask_token_id, required for that task);
 * -1 for every other task. */
static ibert_status read_mask_token(const gguf_file *file, struct ibert_model *model) {
    model->mask_token_id = -1;
    if (model->hp.task != IBERT_TASK_FILL_MASK) return IBERT_OK;
    uint32_t mask;
    ibert_status st = u32_in(file, "tokenizer.ggml.mask_token_id", 0, model->hp.vocab_size - 1, &mask);
    if (st == IBERT_OK) model->mask_token_id = (int32_t)mask;
    return st;
}

ibert_status model_read_metadata(const gguf_file *file, struct ibert_model *model) {
    ibert_status st;
    /* identity first: a newer or foreign file says so rather than failing on a key it renamed */
    if ((st = check_identity(file, &model->hp.format_version)) != IBERT_OK ||
        (st = reject_unknown_keys(file, model->hp.format_version)) != IBERT_OK ||
        (st = check_informative(file)) != IBERT_OK || (st = read_hparams(file, &model->hp)) != IBERT_OK ||
        (st = read_task(file, &model->hp)) != IBERT_OK || (st = read_mask_token(file, model)) != IBERT_OK ||
        (st = read_pooling(file, model)) != IBERT_OK ||
        (st = read_labels(file, model)) != IBERT_OK || (st = read_exp(file, &model->exp)) != IBERT_OK ||
        (st = read_gelu(file, model->hp.format_version, &model->gelu)) != IBERT_OK || (st = read_output_scale(file, &model->output_scale)) != IBERT_OK)
        return st;
    return IBERT_OK;
}
