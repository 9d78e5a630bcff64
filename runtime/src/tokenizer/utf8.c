/* utf8.c: UTF-8 per RFC 3629 / Unicode table 3-7 (well-formed byte sequences). */
#include "utf8.h"

#include "error.h"

ibert_status utf8_validate_named(const char *text, size_t len, const char *name) {
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        unsigned char lead = s[i];
        if (lead < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned char second_min = 0x80, second_max = 0xBF;
        if (lead >= 0xC2 && lead <= 0xDF) {
            need = 1;
        } else if (lead >= 0xE0 && lead <= 0xEF) {
            need = 2;
            if (lead == 0xE0) second_min = 0xA0;      /* overlong below U+0800 */
            else if (lead == 0xED) second_max = 0x9F; /* surrogates U+D800..U+DFFF */
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            need = 3;
            if (lead == 0xF0) second_min = 0x90;      /* overlong below U+10000 */
            else if (lead == 0xF4) second_max = 0x8F; /* above U+10FFFF */
        } else {
            return ibert_fail(IBERT_ERR_INVALID_TEXT,
                              "%s is not valid UTF-8: byte 0x%02X at offset %zu cannot start a "
                              "character", name, lead, i);
        }
        for (size_t k = 1; k <= need; k++) {
            if (i + k >= len) {
                return ibert_fail(IBERT_ERR_INVALID_TEXT,
                                  "%s is not valid UTF-8: the character starting at offset %zu is "
                                  "cut short by the end of the text", name, i);
            }
            unsigned char c = s[i + k];
            unsigned char lo = k == 1 ? second_min : 0x80, hi = k == 1 ? second_max : 0xBF;
            if (c < lo || c > hi) {
                return ibert_fail(IBERT_ERR_INVALID_TEXT,
                                  "%s is not valid UTF-8: the sequence starting at offset %zu "
                                  "(byte 0x%02X) is an overlong form, a surrogate, beyond U+10FFFF "
                                  "or cut short (byte 0x%02X at offset %zu)", name, i, lead, c, i + k);
            }
        }
        i += need + 1;
    }
    return IBERT_OK;
}

ibert_status utf8_validate(const char *text, size_t len) { return utf8_validate_named(text, len, "text"); }

uint32_t utf8_decode_next(const char *text, size_t *pos) {
    const unsigned char *s = (const unsigned char *)text + *pos;
    uint32_t lead = s[0];
    if (lead < 0x80) {
        *pos += 1;
        return lead;
    }
    if (lead < 0xE0) {
        *pos += 2;
        return ((lead & 0x1Fu) << 6) | (s[1] & 0x3Fu);
    }
    if (lead < 0xF0) {
        *pos += 3;
        return ((lead & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
    }
    *pos += 4;
    return ((lead & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) | (s[3] & 0x3Fu);
}

size_t utf8_encode(uint32_t cp, char out[4]) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0u | (cp >> 6));
        out[1] = (char)(0x80u | (cp & 0x3Fu));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0u | (cp >> 12));
        out[1] = (char)(0x80u | ((cp >> 6) & 0x3Fu));
        out[2] = (char)(0x80u | (cp & 0x3Fu));
        return 3;
    }
    out[0] = (char)(0xF0u | (cp >> 18));
    out[1] = (char)(0x80u | ((cp >> 12) & 0x3Fu));
    out[2] = (char)(0x80u | ((cp >> 6) & 0x3Fu));
    out[3] = (char)(0x80u | (cp & 0x3Fu));
    return 4;
}
