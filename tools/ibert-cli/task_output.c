/*
 * task_output.c: ibert-cli's text output per task. Values are printed from
 * their integers and the output scale in 64-bit fixed point, like the
 * classifier's probability (probability.c), so nothing here is floating point.
 */
#include "task_output.h"

#include <inttypes.h>
#include <stdio.h>

#include "probability.h"

/* value * scale with 4 decimals. |value| < 2^31, multiplier < 2^31: the product
 * fits int64; a shift above 48 is reduced first so the fraction * 10000 does too. */
static void print_scaled(int32_t value, ibert_scale scale) {
    uint64_t q = (uint64_t)(value < 0 ? -(int64_t)value : value) * (uint64_t)scale.multiplier;
    int shift = scale.shift;
    if (shift > 48) {
        q >>= shift - 48;
        shift = 48;
    }
    uint64_t whole = q >> shift, fraction = ((q - (whole << shift)) * 10000 + (UINT64_C(1) << shift >> 1)) >> shift;
    if (fraction == 10000) {
        whole++;
        fraction = 0;
    }
    printf("%s%" PRIu64 ".%04" PRIu64, value < 0 && (whole || fraction) ? "-" : "", whole, fraction);
}

static void print_text(const char *text, size_t start, size_t end) { fwrite(text + start, 1, end - start, stdout); }

/* Which text token i came from: 1 for the second of a pair, else 0. */
static int text_of(const task_sequence *s, size_t i, size_t first_of_b) { return s->text_b && i >= first_of_b; }

/* The index of the first token of text_b: after the first run of special tokens that
 * follows text_a's tokens (offsets (0, 0) mark special tokens). */
static size_t first_token_of_b(const task_sequence *s) {
    size_t i = 1;
    while (i < s->n && !(s->offsets[i].start == 0 && s->offsets[i].end == 0)) i++;
    while (i < s->n && s->offsets[i].start == 0 && s->offsets[i].end == 0) i++;
    return s->text_b ? i : s->n;
}

void print_task_result(const ibert_model *model, const task_sequence *s) {
    ibert_scale scale = ibert_model_output_scale(model);
    size_t c = ibert_model_num_labels(model);
    switch (ibert_model_task(model)) {
    case IBERT_TASK_REGRESSION:
    case IBERT_TASK_MULTIPLE_CHOICE:
        printf("score\t");
        print_scaled(s->out[0], scale);
        break;
    case IBERT_TASK_TOKEN_CLASSIFICATION: {
        /* one tab-separated label/start-end/token triple per token, specials left out */
        size_t b = first_token_of_b(s);
        int printed = 0;
        for (size_t i = 0; i < s->n; i++) {
            if (s->offsets[i].start == s->offsets[i].end) continue;
            const char *text = text_of(s, i, b) ? s->text_b : s->text_a;
            printf("%s%s %zu-%zu ", printed++ ? "\t" : "", ibert_model_label(model, (uint32_t)top_label(s->out + i * c, c)),
                   s->offsets[i].start, s->offsets[i].end);
            print_text(text, s->offsets[i].start, s->offsets[i].end);
        }
        break;
    }
    case IBERT_TASK_QUESTION_ANSWERING: {
        /* the span of the second text (the context) with the largest start + end logit,
         * start <= end < start + 30 tokens, as the pipeline's default max_answer_len */
        size_t b = first_token_of_b(s), best_start = 0, best_end = 0;
        int64_t best = INT64_MIN;
        for (size_t i = b; i < s->n; i++) {
            if (s->offsets[i].start == s->offsets[i].end) continue;
            for (size_t j = i; j < s->n && j < i + 30; j++) {
                if (s->offsets[j].start == s->offsets[j].end) break;
                int64_t score = (int64_t)s->out[2 * i] + s->out[2 * j + 1];
                if (score > best) best = score, best_start = i, best_end = j;
            }
        }
        if (best == INT64_MIN) {
            printf("answer\t-\t");
            break;
        }
        size_t start = s->offsets[best_start].start, end = s->offsets[best_end].end;
        printf("answer\t%zu-%zu\t", start, end);
        print_text(s->text_b ? s->text_b : s->text_a, start, end);
        break;
    }
    default: { /* sequence classification: the label and its softmax probability */
        size_t top = top_label(s->out, c);
        uint32_t score = top_probability_per_10000(s->out, c, top, scale);
        printf("%s\t%u.%04u", ibert_model_label(model, (uint32_t)top), score / 10000, score % 10000);
        break;
    }
    }
    putchar('\t');
    print_text(s->text_a, 0, s->len_a);
    if (s->text_b) {
        printf("\t");
        print_text(s->text_b, 0, s->len_b);
    }
    putchar('\n');
}
