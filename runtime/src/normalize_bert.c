/* normalize_bert.c: Hugging Face's BertNormalizer, in its order: clean text, space
 * out CJK ideographs, strip accents (NFD, then drop non-spacing marks), lowercase.
 * Works on code points, ping-ponging between two scratch buffers. */
#include "error.h"
#include "tokenizer_internal.h"
#include "unicode.h"
#include "utf8.h"

/* The "Chinese character" ranges of HF's is_chinese_char (note 0x2B920, not 0x2B820). */
static bool is_cjk_ideograph(uint32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

/* clean_text: drop NUL, U+FFFD and controls (but not \t \n \r); white space -> ' '. */
static void clean_text(code_point_list *cps) {
    size_t kept = 0;
    for (size_t i = 0; i < cps->len; i++) {
        uint32_t cp = cps->data[i];
        bool is_tab_or_newline = cp == '\t' || cp == '\n' || cp == '\r';
        if (cp == 0 || cp == 0xFFFD || (!is_tab_or_newline && unicode_is_bert_control(cp))) continue;
        cps->data[kept++] = unicode_is_white_space(cp) ? ' ' : cp;
    }
    cps->len = kept;
}

static ibert_status space_out_cjk(const code_point_list *in, code_point_list *out) {
    out->len = 0;
    ibert_status status = IBERT_OK;
    for (size_t i = 0; i < in->len && status == IBERT_OK; i++) {
        uint32_t cp = in->data[i];
        if (is_cjk_ideograph(cp)) {
            status = code_point_list_push(out, ' ');
            if (status == IBERT_OK) status = code_point_list_push(out, cp);
            if (status == IBERT_OK) status = code_point_list_push(out, ' ');
        } else {
            status = code_point_list_push(out, cp);
        }
    }
    return status;
}

/* NFD: full canonical decomposition, then canonical ordering (a stable sort by
 * combining class of each run of non-starters). */
static ibert_status decompose_nfd(const code_point_list *in, code_point_list *out) {
    out->len = 0;
    for (size_t i = 0; i < in->len; i++) {
        uint32_t parts[UNICODE_MAX_DECOMPOSITION];
        size_t n = unicode_decompose(in->data[i], parts);
        for (size_t k = 0; k < n; k++) {
            ibert_status status = code_point_list_push(out, parts[k]);
            if (status != IBERT_OK) return status;
        }
    }
    for (size_t i = 1; i < out->len; i++) {
        uint32_t cp = out->data[i];
        uint8_t ccc = unicode_combining_class(cp);
        if (ccc == 0) continue;
        size_t j = i;
        while (j > 0) {
            uint8_t before = unicode_combining_class(out->data[j - 1]);
            if (before == 0 || before <= ccc) break;
            out->data[j] = out->data[j - 1];
            j--;
        }
        out->data[j] = cp;
    }
    return IBERT_OK;
}

static void drop_nonspacing_marks(code_point_list *cps) {
    size_t kept = 0;
    for (size_t i = 0; i < cps->len; i++) {
        if (!unicode_is_bert_nonspacing_mark(cps->data[i])) cps->data[kept++] = cps->data[i];
    }
    cps->len = kept;
}

static ibert_status lowercase(const code_point_list *in, code_point_list *out) {
    out->len = 0;
    for (size_t i = 0; i < in->len; i++) {
        uint32_t lower[UNICODE_MAX_LOWERCASE];
        size_t n = unicode_to_lowercase(in->data[i], lower);
        for (size_t k = 0; k < n; k++) {
            ibert_status status = code_point_list_push(out, lower[k]);
            if (status != IBERT_OK) return status;
        }
    }
    return IBERT_OK;
}

static void swap_lists(code_point_list *a, code_point_list *b) {
    code_point_list t = *a;
    *a = *b;
    *b = t;
}

ibert_status normalize_bert(const tokenizer_config *config, const char *text, size_t len,
                            encode_scratch *scratch, byte_list *out) {
    code_point_list *cps = &scratch->cps, *other = &scratch->cps_other;
    cps->len = 0;
    ibert_status status = code_point_list_reserve(cps, len);
    if (status != IBERT_OK) return status;
    for (size_t pos = 0; pos < len;) cps->data[cps->len++] = utf8_decode_next(text, &pos);

    if (config->clean_text) clean_text(cps);
    if (config->handle_chinese_chars) {
        if ((status = space_out_cjk(cps, other)) != IBERT_OK) return status;
        swap_lists(cps, other);
    }
    if (config->strip_accents) {
        if ((status = decompose_nfd(cps, other)) != IBERT_OK) return status;
        swap_lists(cps, other);
        drop_nonspacing_marks(cps);
    }
    if (config->lowercase) {
        if ((status = lowercase(cps, other)) != IBERT_OK) return status;
        swap_lists(cps, other);
    }

    out->len = 0;
    for (size_t i = 0; i < cps->len; i++) {
        char bytes[4];
        size_t n = utf8_encode(cps->data[i], bytes);
        if ((status = byte_list_append(out, bytes, n)) != IBERT_OK) return status;
    }
    return IBERT_OK;
}
