/* tokenizer_pair.c: a text or a pair of texts with token types and offsets, as Hugging
 * Face's Tokenizer::encode_char_offsets (or encode, for bytes) and its post-processing
 * give them: each text is encoded on its own (tokenizer.c), its offsets turned into
 * code points, the pair truncated to max_tokens by the chosen strategy, byte-level
 * BPE offsets trimmed of spaces (RobertaProcessing), and the special tokens put
 * around it. models/FORMAT.md (tokenizer section) specifies each step. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "tokenizer_internal.h"
#include "unicode.h"
#include "utf8.h"

/* One encoded text and where its offsets are written. */
typedef struct sequence {
    const char *name; /* "text_a", "text_b" */
    const char *text;
    size_t len;
    encode_scratch scratch; /* scratch.tokens: its tokens */
    size_t kept;            /* tokens left after truncation */
} sequence;

static ibert_status too_short(const char *strategy, const sequence *target, size_t to_remove, size_t max_tokens) {
    return ibert_fail(IBERT_ERR_INVALID_ARGUMENT,
                      "truncation %s: %s has %zu tokens, too few to remove the %zu that max_tokens = %zu "
                      "needs gone (Hugging Face: \"sequence to truncate too short\")",
                      strategy, target->name, target->scratch.tokens.len, to_remove, max_tokens);
}

/* Sets a->kept and b->kept (b NULL: a single text) so the tokens fit in budget, as HF's
 * truncate_encodings does. */
static ibert_status truncate_to(ibert_truncation truncation, size_t budget, size_t max_tokens, sequence *a,
                                sequence *b) {
    size_t na = a->scratch.tokens.len, nb = b ? b->scratch.tokens.len : 0;
    a->kept = na;
    if (b) b->kept = nb;
    if (budget == 0) { /* HF: everything goes, whatever the strategy */
        a->kept = 0;
        if (b) b->kept = 0;
        return IBERT_OK;
    }
    if (na + nb <= budget) return IBERT_OK;
    size_t to_remove = na + nb - budget;
    if (truncation == IBERT_TRUNCATE_LONGEST_FIRST) {
        if (!b) {
            a->kept = budget;
            return IBERT_OK;
        }
        /* The shorter keeps all it has if the longer can fill the rest; else each gets
         * half (the longer, or b when equal, the odd token). */
        bool a_shorter = na <= nb;
        size_t shorter = a_shorter ? na : nb, longer;
        if (shorter > budget) {
            longer = shorter;
        } else {
            longer = budget - shorter > shorter ? budget - shorter : shorter;
        }
        if (shorter + longer > budget) {
            shorter = budget / 2;
            longer = shorter + budget % 2;
        }
        size_t keep_a = a_shorter ? shorter : longer, keep_b = a_shorter ? longer : shorter;
        a->kept = keep_a < na ? keep_a : na;
        b->kept = keep_b < nb ? keep_b : nb;
        return IBERT_OK;
    }
    const char *strategy = truncation == IBERT_TRUNCATE_ONLY_FIRST ? "only_first" : "only_second";
    sequence *target = truncation == IBERT_TRUNCATE_ONLY_FIRST ? a : b;
    if (!target) {
        return ibert_fail(IBERT_ERR_INVALID_ARGUMENT,
                          "truncation only_second: there is no text_b to truncate, and text_a's %zu tokens do "
                          "not fit in max_tokens = %zu", na, max_tokens);
    }
    if (target->scratch.tokens.len <= to_remove) return too_short(strategy, target, to_remove, max_tokens);
    target->kept = target->scratch.tokens.len - to_remove;
    return IBERT_OK;
}

/* A character HF's offset trimming counts as a space: Ġ (the stand-in of byte 0x20)
 * or white space. */
static bool is_trimmed(uint32_t cp) { return cp == 0x120 || unicode_is_white_space(cp); }

static size_t leading_spaces(const char *s, size_t len) {
    size_t n = 0;
    for (size_t pos = 0; pos < len && is_trimmed(utf8_decode_next(s, &pos));) n++;
    return n;
}

static size_t trailing_spaces(const char *s, size_t len) {
    size_t n = 0;
    while (len > 0) {
        size_t start = len - 1;
        while (start > 0 && utf8_is_continuation(s[start])) start--;
        size_t pos = start;
        if (!is_trimmed(utf8_decode_next(s, &pos))) break;
        n++;
        len = start;
    }
    return n;
}

/* HF's BytesToCharOffsetConverter: byte offsets [start, end) of a text to code points,
 * given code_point_of[b] = index of the code point holding byte b. Offsets that
 * start at the end of the text stay as they are (HF leaves them unconverted). */
static ibert_offset to_code_points(ibert_offset o, const size_t *code_point_of, size_t len) {
    if (o.start >= len) return o;
    size_t start = code_point_of[o.start];
    size_t end = o.end < len ? code_point_of[o.end] : code_point_of[o.end - 1] + 1;
    return (ibert_offset){start, end};
}

/* Offsets of a sequence's kept tokens, in the unit asked for, then trimmed (HF's
 * process_offsets, run on offsets already in that unit: spaces are counted in
 * characters of the token's text, whatever the unit). */
static ibert_status sequence_offsets(const tokenizer *tok, const sequence *seq, ibert_offset_unit unit,
                                     ibert_offset *out) {
    const encoded_token *tokens = seq->scratch.tokens.data;
    size_t *code_point_of = NULL;
    if (unit == IBERT_OFFSETS_CODE_POINTS && seq->len > 0) {
        code_point_of = malloc(seq->len * sizeof *code_point_of);
        if (!code_point_of) return ibert_fail(IBERT_ERR_OUT_OF_MEMORY, "tokenizer: out of memory for offsets");
        size_t index = 0;
        for (size_t b = 0; b < seq->len; b++) {
            if (b > 0 && !utf8_is_continuation(seq->text[b])) index++;
            code_point_of[b] = index;
        }
    }
    for (size_t i = 0; i < seq->kept; i++) {
        ibert_offset o = {tokens[i].start, tokens[i].end};
        if (code_point_of) o = to_code_points(o, code_point_of, seq->len);
        if (tok->config.trim_offsets) {
            /* the token's text: an added token's is what it matched, a model token's its entry */
            const char *text = tokens[i].added ? seq->text + tokens[i].start : tok->tokens[tokens[i].id].data;
            size_t len = tokens[i].added ? tokens[i].end - tokens[i].start : (size_t)tok->tokens[tokens[i].id].len;
            size_t lead = leading_spaces(text, len), trail = trailing_spaces(text, len);
            /* a single leading space of a text's first token is the one add_prefix_space added */
            bool first = i == 0 || o.start == 0;
            if (first && tok->config.trim_prefix_space && lead == 1) lead = 0;
            if (lead > 0) o.start = o.start + lead < o.end ? o.start + lead : o.end;
            if (trail > 0 && o.end >= trail) o.end = o.end - trail > o.start ? o.end - trail : o.start;
        }
        out[i] = o;
    }
    free(code_point_of);
    return IBERT_OK;
}

/* Writes the kept tokens of seq at out position *at with token type `type`. */
static ibert_status write_sequence(const tokenizer *tok, const sequence *seq, int32_t type, ibert_offset_unit unit,
                                   int32_t *ids, int32_t *type_ids, ibert_offset *offsets, size_t *at) {
    for (size_t i = 0; i < seq->kept; i++) {
        ids[*at + i] = seq->scratch.tokens.data[i].id;
        if (type_ids) type_ids[*at + i] = type;
    }
    ibert_status status = offsets ? sequence_offsets(tok, seq, unit, offsets + *at) : IBERT_OK;
    *at += seq->kept;
    return status;
}

static void write_special(int32_t id, int32_t type, int32_t *ids, int32_t *type_ids, ibert_offset *offsets,
                          size_t *at) {
    ids[*at] = id;
    if (type_ids) type_ids[*at] = type;
    if (offsets) offsets[*at] = (ibert_offset){0, 0};
    (*at)++;
}

static ibert_status encode_sequence(const tokenizer *tok, sequence *seq) {
    ibert_status status = utf8_validate_named(seq->text, seq->len, seq->name);
    return status == IBERT_OK ? tokenizer_encode_text(tok, seq->text, seq->len, &seq->scratch) : status;
}

ibert_status tokenizer_encode_pair(const tokenizer *tok, const char *text_a, size_t len_a, const char *text_b,
                                   size_t len_b, ibert_truncation truncation, ibert_offset_unit unit,
                                   size_t max_tokens, int32_t *ids, int32_t *type_ids, ibert_offset *offsets,
                                   size_t *n_tokens, size_t *n_untruncated) {
    const tokenizer_config *c = &tok->config;
    bool pair = text_b != NULL;
    if (pair && c->pair_separators == 0) {
        return ibert_fail(IBERT_ERR_UNSUPPORTED, "tokenize_pair: this model's tokenizer has no pair encoding "
                          "(its post-processor defines none); pass text_b = NULL");
    }
    size_t n_special = pair ? 2 + c->pair_separators : 2;
    if (max_tokens < n_special) {
        return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "tokenize_pair: max_tokens = %zu cannot hold the %zu "
                          "special tokens of a %s", max_tokens, n_special, pair ? "pair" : "text");
    }
    sequence a = {.name = "text_a", .text = text_a ? text_a : "", .len = len_a};
    sequence b = {.name = "text_b", .text = text_b, .len = len_b};
    ibert_status status = encode_sequence(tok, &a);
    if (status == IBERT_OK && pair) status = encode_sequence(tok, &b);
    if (status == IBERT_OK) status = truncate_to(truncation, max_tokens - n_special, max_tokens, &a, pair ? &b : NULL);
    if (status == IBERT_OK) {
        size_t at = 0;
        int32_t b_type = (int32_t)c->pair_type_id;
        write_special(c->cls_id, 0, ids, type_ids, offsets, &at);
        status = write_sequence(tok, &a, 0, unit, ids, type_ids, offsets, &at);
        for (uint32_t k = 0; pair && k < c->pair_separators; k++) write_special(c->sep_id, 0, ids, type_ids, offsets, &at);
        if (status == IBERT_OK && pair) status = write_sequence(tok, &b, b_type, unit, ids, type_ids, offsets, &at);
        write_special(c->sep_id, pair ? b_type : 0, ids, type_ids, offsets, &at);
        *n_tokens = at;
        if (n_untruncated) *n_untruncated = a.scratch.tokens.len + (pair ? b.scratch.tokens.len : 0) + n_special;
    }
    encode_scratch_free(&a.scratch);
    encode_scratch_free(&b.scratch);
    return status;
}
