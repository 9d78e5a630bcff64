/* unicode.h: the character properties and mappings the tokenizers need, with the
 * exact semantics of the Hugging Face tokenizers functions they stand in for
 * (runtime/tools/gen_unicode_tables.py says which is which). */
#ifndef IBERT_UNICODE_H
#define IBERT_UNICODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UNICODE_MAX_LOWERCASE 3     /* code points one character lowercases to */
#define UNICODE_MAX_DECOMPOSITION 4 /* code points in one canonical decomposition */

/* White_Space: Rust char::is_whitespace, regex \s. */
bool unicode_is_white_space(uint32_t cp);
/* General category L* / N* (the \p{L} and \p{N} of the GPT-2 split regex). */
bool unicode_is_letter(uint32_t cp);
bool unicode_is_number(uint32_t cp);
/* The regex crate's Unicode \w. */
bool unicode_is_word_char(uint32_t cp);
/* BertNormalizer's control test: Cc, Cf, Co as of Unicode 8.0 (the Rust crate HF uses). */
bool unicode_is_bert_control(uint32_t cp);
/* BertPreTokenizer's punctuation: ASCII punctuation or P* as of Unicode 8.0. */
bool unicode_is_bert_punctuation(uint32_t cp);
/* BertNormalizer's strip-accents test: Mn as of Unicode 8.0. */
bool unicode_is_bert_nonspacing_mark(uint32_t cp);

/* Rust char::to_lowercase: writes 1..UNICODE_MAX_LOWERCASE code points, returns how many. */
size_t unicode_to_lowercase(uint32_t cp, uint32_t out[UNICODE_MAX_LOWERCASE]);
/* The full canonical decomposition of one code point (itself if it has none, Hangul
 * syllables algorithmically): writes 1..UNICODE_MAX_DECOMPOSITION, returns how many. */
size_t unicode_decompose(uint32_t cp, uint32_t out[UNICODE_MAX_DECOMPOSITION]);
/* Canonical_Combining_Class (0 for starters). */
uint8_t unicode_combining_class(uint32_t cp);

#endif
