/* unicode.c: lookups in the generated tables (binary search over sorted ranges),
 * with ASCII answered without a search since it is nearly all of typical input. */
#include "unicode.h"

#include "unicode_tables.h"

/* Hangul syllable decomposition constants (Unicode chapter 3.12). */
enum {
    HANGUL_S_BASE = 0xAC00,
    HANGUL_L_BASE = 0x1100,
    HANGUL_V_BASE = 0x1161,
    HANGUL_T_BASE = 0x11A7,
    HANGUL_V_COUNT = 21,
    HANGUL_T_COUNT = 28,
    HANGUL_N_COUNT = HANGUL_V_COUNT * HANGUL_T_COUNT,
    HANGUL_S_COUNT = 19 * HANGUL_N_COUNT
};

static bool in_ranges(uint32_t cp, const unicode_range *ranges, size_t count) {
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < ranges[mid].first) {
            hi = mid;
        } else if (cp > ranges[mid].last) {
            lo = mid + 1;
        } else {
            return true;
        }
    }
    return false;
}

static bool is_ascii_letter(uint32_t cp) { return (cp | 0x20u) >= 'a' && (cp | 0x20u) <= 'z'; }
static bool is_ascii_digit(uint32_t cp) { return cp >= '0' && cp <= '9'; }

bool unicode_is_white_space(uint32_t cp) {
    if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
    return in_ranges(cp, unicode_white_space_ranges, unicode_white_space_count);
}

bool unicode_is_letter(uint32_t cp) {
    if (cp < 0x80) return is_ascii_letter(cp);
    return in_ranges(cp, unicode_letter_ranges, unicode_letter_count);
}

bool unicode_is_number(uint32_t cp) {
    if (cp < 0x80) return is_ascii_digit(cp);
    return in_ranges(cp, unicode_number_ranges, unicode_number_count);
}

bool unicode_is_word_char(uint32_t cp) {
    if (cp < 0x80) return is_ascii_letter(cp) || is_ascii_digit(cp) || cp == '_';
    return in_ranges(cp, unicode_word_ranges, unicode_word_count);
}

bool unicode_is_bert_control(uint32_t cp) {
    return in_ranges(cp, unicode_bert_control_ranges, unicode_bert_control_count);
}

bool unicode_is_bert_punctuation(uint32_t cp) {
    return in_ranges(cp, unicode_bert_punctuation_ranges, unicode_bert_punctuation_count);
}

bool unicode_is_bert_nonspacing_mark(uint32_t cp) {
    if (cp < 0x300) return false;
    return in_ranges(cp, unicode_bert_nonspacing_mark_ranges, unicode_bert_nonspacing_mark_count);
}

size_t unicode_to_lowercase(uint32_t cp, uint32_t out[UNICODE_MAX_LOWERCASE]) {
    out[0] = cp;
    if (cp < 0x80) {
        if (cp >= 'A' && cp <= 'Z') out[0] = cp + 0x20;
        return 1;
    }
    size_t lo = 0, hi = unicode_lowercase_run_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const unicode_case_run *run = &unicode_lowercase_runs[mid];
        if (cp < run->first) {
            hi = mid;
        } else if (cp > run->last) {
            lo = mid + 1;
        } else {
            if ((cp - run->first) % run->stride == 0) out[0] = (uint32_t)((int32_t)cp + run->delta);
            return 1;
        }
    }
    for (size_t i = 0; i < unicode_lowercase_multi_count; i++) {
        const unicode_multi_mapping *m = &unicode_lowercase_multi[i];
        if (m->code_point == cp) {
            for (uint32_t k = 0; k < m->count; k++) out[k] = m->targets[k];
            return m->count;
        }
    }
    return 1;
}

size_t unicode_decompose(uint32_t cp, uint32_t out[UNICODE_MAX_DECOMPOSITION]) {
    out[0] = cp;
    if (cp < 0xC0) return 1;
    if (cp >= HANGUL_S_BASE && cp < HANGUL_S_BASE + HANGUL_S_COUNT) {
        uint32_t index = cp - HANGUL_S_BASE;
        out[0] = HANGUL_L_BASE + index / HANGUL_N_COUNT;
        out[1] = HANGUL_V_BASE + (index % HANGUL_N_COUNT) / HANGUL_T_COUNT;
        uint32_t trailing = index % HANGUL_T_COUNT;
        if (trailing == 0) return 2;
        out[2] = HANGUL_T_BASE + trailing;
        return 3;
    }
    size_t lo = 0, hi = unicode_decomposition_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const unicode_decomposition *d = &unicode_decompositions[mid];
        if (cp < d->code_point) {
            hi = mid;
        } else if (cp > d->code_point) {
            lo = mid + 1;
        } else {
            for (size_t k = 0; k < d->count; k++) out[k] = unicode_decomposition_pool[d->offset + k];
            return d->count;
        }
    }
    return 1;
}

uint8_t unicode_combining_class(uint32_t cp) {
    if (cp < 0x300) return 0;
    size_t lo = 0, hi = unicode_combining_class_run_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const unicode_class_run *run = &unicode_combining_class_runs[mid];
        if (cp < run->first) {
            hi = mid;
        } else if (cp > run->last) {
            lo = mid + 1;
        } else {
            return run->combining_class;
        }
    }
    return 0;
}
