/* utf8.h: strict UTF-8 validation, and decoding/encoding of text already validated. */
#ifndef IBERT_UTF8_H
#define IBERT_UTF8_H

#include <stddef.h>
#include <stdint.h>

#include "ibert.h"

/* IBERT_OK if text is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF, no truncated sequence); otherwise IBERT_ERR_INVALID_TEXT
 * with a message giving the byte offset of the first bad sequence. */
ibert_status utf8_validate(const char *text, size_t len);
/* The same, with the message naming the text ("text_b is not valid UTF-8: ..."). */
ibert_status utf8_validate_named(const char *text, size_t len, const char *name);

/* Decodes the character at text[*pos] of validated text and advances *pos past it. */
uint32_t utf8_decode_next(const char *text, size_t *pos);

/* Writes cp (a Unicode scalar value) as 1..4 bytes to out, returns how many. */
size_t utf8_encode(uint32_t cp, char out[4]);

/* True for a byte that continues a multi-byte sequence (10xxxxxx). */
static inline int utf8_is_continuation(char byte) { return ((unsigned char)byte & 0xC0u) == 0x80u; }

#endif
