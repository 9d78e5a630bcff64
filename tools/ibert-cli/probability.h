/*
 * probability.h: the softmax probability of the top label, computed from the
 * int32 logits and their dyadic scale in 64-bit integer arithmetic, so that
 * ibert-cli executes no floating point after loading the model either.
 */
#ifndef IBERT_CLI_PROBABILITY_H
#define IBERT_CLI_PROBABILITY_H

#include <stddef.h>
#include <stdint.h>

#include "ibert.h"

/* Index of the largest logit (the first one on ties, as numpy's argmax). n >= 1. */
size_t top_label(const int32_t *logits, size_t n);

/* softmax(logits * scale)[top], in units of 1/10000, rounded to nearest:
 * 0 ... 10000. n <= 4096 (FORMAT.md's bound on labels); scale.multiplier > 0
 * and 0 <= scale.shift <= 62 (the loader validates both). */
uint32_t top_probability_per_10000(const int32_t *logits, size_t n, size_t top, ibert_scale scale);

/* softmax(logits * scale)[j] the same way, top being the largest logit's index;
 * n up to 2^22 (a vocabulary, for fill-mask). */
uint32_t probability_per_10000(const int32_t *logits, size_t n, size_t top, size_t j, ibert_scale scale);

#endif
