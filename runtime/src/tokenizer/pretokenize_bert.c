/* pretokenize_bert.c: Hugging Face's BertPreTokenizer: split on white space (which is
 * dropped), then make every punctuation character a word of its own. */
#include "tokenizer_internal.h"
#include "unicode.h"
#include "utf8.h"

ibert_status pretokenize_bert(const char *text, size_t len, span_list *words) {
    words->len = 0;
    size_t word_start = 0;
    ibert_status status = IBERT_OK;
    for (size_t pos = 0; pos < len && status == IBERT_OK;) {
        size_t char_start = pos;
        uint32_t cp = utf8_decode_next(text, &pos);
        bool space = unicode_is_white_space(cp);
        if (!space && !unicode_is_bert_punctuation(cp)) continue;
        if (word_start < char_start) status = span_list_push(words, word_start, char_start, -1);
        if (!space && status == IBERT_OK) status = span_list_push(words, char_start, pos, -1);
        word_start = pos;
    }
    if (status == IBERT_OK && word_start < len) status = span_list_push(words, word_start, len, -1);
    return status;
}
