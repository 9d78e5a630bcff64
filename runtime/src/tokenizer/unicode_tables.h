/* unicode_tables.h: the tables generated into unicode_tables.c by
 * runtime/tools/gen_unicode_tables.py. Only unicode.c reads them. */
#ifndef IBERT_UNICODE_TABLES_H
#define IBERT_UNICODE_TABLES_H

#include <stddef.h>
#include <stdint.h>

/* An inclusive range of code points; each table is sorted and its ranges disjoint. */
typedef struct unicode_range {
    uint32_t first;
    uint32_t last;
} unicode_range;

/* Code points first, first + stride, ... last each map to code point + delta. */
typedef struct unicode_case_run {
    uint32_t first;
    uint32_t last;
    uint32_t stride;
    int32_t delta;
} unicode_case_run;

/* A code point whose mapping is several code points (U+0130 lowercases to two). */
typedef struct unicode_multi_mapping {
    uint32_t code_point;
    uint32_t count;
    uint32_t targets[3];
} unicode_multi_mapping;

/* The full canonical decomposition of code_point: pool[offset .. offset + count). */
typedef struct unicode_decomposition {
    uint32_t code_point;
    uint16_t offset;
    uint16_t count;
} unicode_decomposition;

/* Code points first..last have canonical combining class combining_class (never 0). */
typedef struct unicode_class_run {
    uint32_t first;
    uint32_t last;
    uint8_t combining_class;
} unicode_class_run;

extern const unicode_range unicode_white_space_ranges[];
extern const size_t unicode_white_space_count;
extern const unicode_range unicode_letter_ranges[];
extern const size_t unicode_letter_count;
extern const unicode_range unicode_number_ranges[];
extern const size_t unicode_number_count;
extern const unicode_range unicode_word_ranges[];
extern const size_t unicode_word_count;
extern const unicode_range unicode_bert_control_ranges[];
extern const size_t unicode_bert_control_count;
extern const unicode_range unicode_bert_punctuation_ranges[];
extern const size_t unicode_bert_punctuation_count;
extern const unicode_range unicode_bert_nonspacing_mark_ranges[];
extern const size_t unicode_bert_nonspacing_mark_count;

extern const unicode_case_run unicode_lowercase_runs[];
extern const size_t unicode_lowercase_run_count;
extern const unicode_multi_mapping unicode_lowercase_multi[];
extern const size_t unicode_lowercase_multi_count;

extern const unicode_decomposition unicode_decompositions[];
extern const size_t unicode_decomposition_count;
extern const uint32_t unicode_decomposition_pool[];
extern const unicode_class_run unicode_combining_class_runs[];
extern const size_t unicode_combining_class_run_count;

#endif
