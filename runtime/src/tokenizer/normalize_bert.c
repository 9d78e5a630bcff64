/* normalize_bert.c: Hugging Face's BertNormalizer, in its order: clean text, space
 * out CJK ideographs, strip accents (NFD, then drop non-spacing marks), lowercase.
 * Works on code points, ping-ponging between two scratch buffers, and keeps for each
 * code point the original bytes it came from (HF's alignments), for token offsets. */
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

/* clean_text: drop NUL, U+FFFD and controls (but not \t \n \r); white space -> ' '.
 * A kept character keeps its alignment (HF's filter). */
static void clean_text(code_point_list *cps, range_list *align) {
    size_t kept = 0;
    for (size_t i = 0; i < cps->len; i++) {
        uint32_t cp = cps->data[i];
        bool is_tab_or_newline = cp == '\t' || cp == '\n' || cp == '\r';
        if (cp == 0 || cp == 0xFFFD || (!is_tab_or_newline && unicode_is_bert_control(cp))) continue;
        align->data[kept] = align->data[i];
        cps->data[kept++] = unicode_is_white_space(cp) ? ' ' : cp;
    }
    cps->len = kept;
    align->len = kept;
}

/* Appends cp aligned to `from`. */
static ibert_status push_aligned(code_point_list *out, range_list *out_align, uint32_t cp, byte_range from) {
    ibert_status status = code_point_list_push(out, cp);
    return status == IBERT_OK ? range_list_push(out_align, from) : status;
}

/* c -> ' ' c ' ', all three aligned to c. */
static ibert_status space_out_cjk(const code_point_list *in, const range_list *in_align, code_point_list *out,
                                  range_list *out_align) {
    out->len = out_align->len = 0;
    ibert_status status = IBERT_OK;
    for (size_t i = 0; i < in->len && status == IBERT_OK; i++) {
        uint32_t cp = in->data[i];
        byte_range from = in_align->data[i];
        if (is_cjk_ideograph(cp)) {
            status = push_aligned(out, out_align, ' ', from);
            if (status == IBERT_OK) status = push_aligned(out, out_align, cp, from);
            if (status == IBERT_OK) status = push_aligned(out, out_align, ' ', from);
        } else {
            status = push_aligned(out, out_align, cp, from);
        }
    }
    return status;
}

/* NFD: full canonical decomposition, then canonical ordering (a stable sort by
 * combining class of each run of non-starters).
 *
 * Alignment as HF's NormalizedString::transform gives it: each output code point
 * carries a change, 0 for the first part of a decomposition and 1 for the others,
 * and the changes move with their code points when the sort reorders them. Then,
 * in output order, a change-0 code point takes the alignment of the next input
 * code point not yet taken, and a change-1 code point that of the last one taken.
 * (So a reordered mark takes the alignment of the position it moved to. A change-1
 * code point always follows a taken one: a decomposition is itself in canonical
 * order, so the sort never moves a later part before its first part.) */
static ibert_status decompose_nfd(const code_point_list *in, const range_list *in_align, code_point_list *out,
                                  range_list *out_align, byte_list *changes) {
    out->len = out_align->len = changes->len = 0;
    for (size_t i = 0; i < in->len; i++) {
        uint32_t parts[UNICODE_MAX_DECOMPOSITION];
        size_t n = unicode_decompose(in->data[i], parts);
        for (size_t k = 0; k < n; k++) {
            char change = k > 0;
            ibert_status status = code_point_list_push(out, parts[k]);
            if (status == IBERT_OK) status = byte_list_append(changes, &change, 1);
            if (status != IBERT_OK) return status;
        }
    }
    for (size_t i = 1; i < out->len; i++) {
        uint32_t cp = out->data[i];
        char change = changes->data[i];
        uint8_t ccc = unicode_combining_class(cp);
        if (ccc == 0) continue;
        size_t j = i;
        while (j > 0) {
            uint8_t before = unicode_combining_class(out->data[j - 1]);
            if (before == 0 || before <= ccc) break;
            out->data[j] = out->data[j - 1];
            changes->data[j] = changes->data[j - 1];
            j--;
        }
        out->data[j] = cp;
        changes->data[j] = change;
    }
    ibert_status status = range_list_reserve(out_align, out->len);
    if (status != IBERT_OK) return status;
    size_t taken = 0;
    for (size_t i = 0; i < out->len; i++) {
        out_align->data[i] = changes->data[i] ? in_align->data[taken > 0 ? taken - 1 : 0] : in_align->data[taken++];
    }
    out_align->len = out->len;
    return IBERT_OK;
}

static void drop_nonspacing_marks(code_point_list *cps, range_list *align) {
    size_t kept = 0;
    for (size_t i = 0; i < cps->len; i++) {
        if (unicode_is_bert_nonspacing_mark(cps->data[i])) continue;
        align->data[kept] = align->data[i];
        cps->data[kept++] = cps->data[i];
    }
    cps->len = kept;
    align->len = kept;
}

/* Every code point of a character's lowercase mapping is aligned to the character. */
static ibert_status lowercase(const code_point_list *in, const range_list *in_align, code_point_list *out,
                              range_list *out_align) {
    out->len = out_align->len = 0;
    for (size_t i = 0; i < in->len; i++) {
        uint32_t lower[UNICODE_MAX_LOWERCASE];
        size_t n = unicode_to_lowercase(in->data[i], lower);
        for (size_t k = 0; k < n; k++) {
            ibert_status status = push_aligned(out, out_align, lower[k], in_align->data[i]);
            if (status != IBERT_OK) return status;
        }
    }
    return IBERT_OK;
}

/* Makes the "other" buffers the current ones. */
static void swap_buffers(encode_scratch *s) {
    code_point_list cps = s->cps;
    s->cps = s->cps_other;
    s->cps_other = cps;
    range_list align = s->cps_align;
    s->cps_align = s->cps_align_other;
    s->cps_align_other = align;
}

ibert_status normalize_bert(const tokenizer_config *config, const char *text, size_t len,
                            const byte_range *align, encode_scratch *scratch) {
    code_point_list *cps = &scratch->cps;
    range_list *cps_align = &scratch->cps_align;
    cps->len = cps_align->len = 0;
    ibert_status status = code_point_list_reserve(cps, len);
    if (status == IBERT_OK) status = range_list_reserve(cps_align, len);
    if (status != IBERT_OK) return status;
    for (size_t pos = 0; pos < len;) {
        cps_align->data[cps_align->len++] = align[pos];
        cps->data[cps->len++] = utf8_decode_next(text, &pos);
    }

    if (config->clean_text) clean_text(&scratch->cps, &scratch->cps_align);
    if (config->handle_chinese_chars) {
        status = space_out_cjk(&scratch->cps, &scratch->cps_align, &scratch->cps_other, &scratch->cps_align_other);
        if (status != IBERT_OK) return status;
        swap_buffers(scratch);
    }
    if (config->strip_accents) {
        status = decompose_nfd(&scratch->cps, &scratch->cps_align, &scratch->cps_other, &scratch->cps_align_other,
                               &scratch->changes);
        if (status != IBERT_OK) return status;
        swap_buffers(scratch);
        drop_nonspacing_marks(&scratch->cps, &scratch->cps_align);
    }
    if (config->lowercase) {
        status = lowercase(&scratch->cps, &scratch->cps_align, &scratch->cps_other, &scratch->cps_align_other);
        if (status != IBERT_OK) return status;
        swap_buffers(scratch);
    }

    byte_list *out = &scratch->normalized;
    range_list *out_align = &scratch->normalized_align;
    out->len = out_align->len = 0;
    for (size_t i = 0; i < scratch->cps.len; i++) {
        char bytes[4];
        size_t n = utf8_encode(scratch->cps.data[i], bytes);
        if ((status = byte_list_append(out, bytes, n)) != IBERT_OK) return status;
        for (size_t k = 0; k < n; k++) {
            if ((status = range_list_push(out_align, scratch->cps_align.data[i])) != IBERT_OK) return status;
        }
    }
    return IBERT_OK;
}
