/*
 * ibert.h: the public C API of libibert, integer-only BERT inference.
 *
 * A model file (.ibert, see models/FORMAT.md) is loaded once into an immutable
 * ibert_model that any number of threads may share. Each thread that runs
 * inference owns an ibert_context: it holds the memory arena planned at load,
 * so a forward pass allocates nothing. A context may also split each forward
 * pass over several threads of its own (ibert_context_new_threads); the results
 * are the same integers for any number of threads.
 *
 * Example: classify one text.
 *
 *     ibert_model *model;
 *     if (ibert_model_load_file("model.ibert", &model) != IBERT_OK) {
 *         fprintf(stderr, "%s\n", ibert_last_error());
 *         return 1;
 *     }
 *     ibert_context *ctx;
 *     ibert_context_new(model, &ctx);     // or ibert_context_new_threads(model, 4, &ctx)
 *
 *     int32_t ids[512];
 *     size_t n_ids;                                   // full length before truncation
 *     const char *text = "a gripping, funny film";
 *     ibert_tokenize(model, text, strlen(text), ids, 512, &n_ids);
 *     size_t n = n_ids < 512 ? n_ids : 512;
 *
 *     int32_t logits[16];                             // ibert_model_output_size(model, n) values
 *     ibert_forward(ctx, ids, NULL, NULL, n, logits);
 *     ibert_scale scale = ibert_model_output_scale(model);
 *     // real logit = logits[i] * scale.multiplier / 2^scale.shift
 *
 *     ibert_context_free(ctx);
 *     ibert_model_free(model);
 *
 * Example: a sentence pair with token types and character offsets (as Hugging Face's
 * tokenizer(question, context, truncation="only_second", return_offsets_mapping=True)).
 *
 *     int32_t ids[384], types[384];
 *     ibert_offset offsets[384];                      // [start, end) in the text it came from
 *     size_t n, n_untruncated;
 *     ibert_tokenize_pair(model, question, strlen(question), context, strlen(context),
 *                         IBERT_TRUNCATE_ONLY_SECOND, IBERT_OFFSETS_BYTES, 384,
 *                         ids, types, offsets, &n, &n_untruncated);
 *     ibert_forward(ctx, ids, types, NULL, n, out);
 *
 * Errors: every function that can fail returns an ibert_status; the message that
 * says what went wrong is then in ibert_last_error() (per thread, valid until the
 * next failing call on that thread).
 *
 * Python's cffi reads the declarations between the two IBERT_CDEF markers below,
 * so they use no preprocessor macros.
 */
#ifndef IBERT_H
#define IBERT_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define IBERT_API __declspec(dllexport)
#elif defined(__GNUC__)
#define IBERT_API __attribute__((visibility("default")))
#else
#define IBERT_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* IBERT_CDEF_BEGIN */

typedef enum ibert_status {
    IBERT_OK = 0,
    IBERT_ERR_IO = 1,               /* a file could not be opened, read or mapped */
    IBERT_ERR_FORMAT = 2,           /* the model file is malformed: a field is missing, out of range or inconsistent */
    IBERT_ERR_UNSUPPORTED = 3,      /* a well-formed file this runtime does not support (version, architecture) */
    IBERT_ERR_INVALID_ARGUMENT = 4, /* a caller passed a bad argument (NULL, out-of-range id, wrong length) */
    IBERT_ERR_OUT_OF_MEMORY = 5,
    IBERT_ERR_INVALID_TEXT = 6      /* text is not valid UTF-8 */
} ibert_status;

typedef struct ibert_model ibert_model;

typedef struct ibert_context ibert_context;

/* A dyadic number: multiplier * 2^-shift. */
typedef struct ibert_scale {
    int32_t multiplier;
    int32_t shift;
} ibert_scale;

/* The message of the last failure on the calling thread ("" if none). */
IBERT_API const char *ibert_last_error(void);
IBERT_API const char *ibert_status_name(ibert_status status);
/* The newest model file format version this runtime reads. */
IBERT_API uint32_t ibert_format_version(void);
/* The format version a loaded model's file says (2 ... ibert_format_version()). */
IBERT_API uint32_t ibert_model_format_version(const ibert_model *model);
/* The model's integer GELU (FORMAT.md §4.4): "erf2" (I-BERT's polynomial) or
 * "erf3" (the cubic of format version 7); "" for NULL. */
IBERT_API const char *ibert_model_gelu_form(const ibert_model *model);

/* Load and validate a model file (memory-mapped, read only). Loading also chooses
 * the kernel set every context of the model runs: the one the environment
 * variable IBERT_KERNELS names (IBERT_ERR_INVALID_ARGUMENT, listing the valid
 * names, if this build or CPU lacks it), else the best this CPU supports; a set
 * with its own weight layout packs the linear weights here. */
IBERT_API ibert_status ibert_model_load_file(const char *path, ibert_model **out_model);
/* Load from a buffer the caller keeps alive and unchanged until ibert_model_free.
 * The buffer must be 8-byte aligned. */
IBERT_API ibert_status ibert_model_load_buffer(const void *data, size_t size, ibert_model **out_model);
IBERT_API void ibert_model_free(ibert_model *model);

/* What a model file's head computes (models/FORMAT.md, ibert.task). */
typedef enum ibert_task {
    IBERT_TASK_ENCODER = 0,                 /* no head: the final hidden states */
    IBERT_TASK_SEQUENCE_CLASSIFICATION = 1, /* C logits of a text or pair (pooler, classifier) */
    IBERT_TASK_REGRESSION = 2,              /* one score of a text or pair (pooler, classifier) */
    IBERT_TASK_TOKEN_CLASSIFICATION = 3,    /* C logits per token */
    IBERT_TASK_QUESTION_ANSWERING = 4,      /* start and end logits per token */
    IBERT_TASK_MULTIPLE_CHOICE = 5,         /* one score per (prompt, choice) sequence */
    IBERT_TASK_FILL_MASK = 6,               /* vocabulary logits at the mask token's positions */
    IBERT_TASK_SENTENCE_EMBEDDING = 7       /* one pooled embedding of hidden_size values */
} ibert_task;

/* The model's task; IBERT_TASK_ENCODER for a NULL model. */
IBERT_API ibert_task ibert_model_task(const ibert_model *model);
/* The task's name as the file spells it ("encoder", "sequence-classification",
 * "regression", "token-classification", "question-answering", "multiple-choice",
 * "fill-mask", "sentence-embedding"); NULL for a value that is no ibert_task. */
IBERT_API const char *ibert_task_name(ibert_task task);

IBERT_API uint32_t ibert_model_vocab_size(const ibert_model *model);
IBERT_API uint32_t ibert_model_hidden_size(const ibert_model *model);
IBERT_API uint32_t ibert_model_num_layers(const ibert_model *model);
/* The longest token sequence (special tokens included) forward accepts. */
IBERT_API uint32_t ibert_model_max_tokens(const ibert_model *model);
/* C, the head's output width: labels (sequence or token classification), 1
 * (regression, multiple choice), 2 (question answering: start, end); 0 for an
 * encoder without a head. */
IBERT_API uint32_t ibert_model_num_labels(const ibert_model *model);
/* The name of label i, or NULL if i is out of range. */
IBERT_API const char *ibert_model_label(const ibert_model *model, uint32_t i);
/* 1 if the model is a sentence embedding that it L2-normalizes (output of unit
 * length at scale 2^-15), else 0. */
IBERT_API int ibert_model_embedding_normalized(const ibert_model *model);
/* Number of int32 values forward writes for n tokens: num_labels with a head on
 * the first token (sequence classification, regression, multiple choice),
 * n * num_labels with a head on every token (token classification: [n, C];
 * question answering: [n, 2], start and end logit of each token), for fill-mask
 * the most it can write, n * vocab_size (every token a mask: ibert_fill_mask_count
 * says how many rows a given input gets), hidden_size for a sentence embedding
 * (with normalization: scale 2^-15, unit length), else n * hidden_size (the final
 * hidden states). */
IBERT_API size_t ibert_model_output_size(const ibert_model *model, size_t n_tokens);
/* Fill-mask: the mask token's id ([MASK], <mask>); -1 for another task. */
IBERT_API int32_t ibert_model_mask_token(const ibert_model *model);
/* Fill-mask: how many positions of the input forward predicts, k: those whose id
 * is the mask token and whose attention_mask (NULL: all 1) is 1. forward then
 * writes k * vocab_size int32 logits, row r for the r-th such position in order
 * (and nothing when k = 0); the rest of the vocabulary's rows are never computed.
 * 0 for another task or NULL arguments. */
IBERT_API size_t ibert_fill_mask_count(const ibert_model *model, const int32_t *input_ids,
                                       const int32_t *attention_mask, size_t n_tokens);
/* The scale of forward's output integers. */
IBERT_API ibert_scale ibert_model_output_scale(const ibert_model *model);
/* The bytes of arena a one-thread context holds (planned at load for max_tokens).
 * Every further thread of a context adds its own attention scratch, about
 * 5 * max_tokens^2 bytes. */
IBERT_API size_t ibert_model_context_bytes(const ibert_model *model);
/* The name of the kernel set the model runs (chosen at load: IBERT_KERNELS, else
 * the best this CPU supports), e.g. "ref" or "dotprod"; NULL for a NULL model. */
IBERT_API const char *ibert_model_kernels(const ibert_model *model);
/* The bytes the model allocated at load for its linear weights in the kernel
 * set's packed layout (0 when the set reads the file's weights as they are). */
IBERT_API size_t ibert_model_packed_bytes(const ibert_model *model);
/* The weight width of encoder linear layer `index` (layer * 6 + 0 ... 5 for attn_q,
 * attn_k, attn_v, attn_out, ffn_up, ffn_down): 8 for int8, else 2, 3, 4 or 6 (format
 * version 3); *group_size receives its group size (0: one per row) if not NULL.
 * 0 for a NULL model or an index past the last layer. */
IBERT_API uint32_t ibert_model_weight_bits(const ibert_model *model, uint32_t index, uint32_t *group_size);
/* The width of the word embeddings: 8 (int8), or 2, 3, 4 or 6; 0 for a NULL model. */
IBERT_API uint32_t ibert_model_embedding_bits(const ibert_model *model);

/* Tokenize UTF-8 text into ids with the special tokens added ([CLS] ... [SEP] or
 * <s> ... </s>). Writes at most capacity ids; *n_ids receives the full length, so
 * *n_ids > capacity means the text was truncated: the written ids are then the
 * first capacity - 1 ids followed by the closing special token. */
IBERT_API ibert_status ibert_tokenize(const ibert_model *model, const char *text, size_t text_len,
                                      int32_t *ids, size_t capacity, size_t *n_ids);

/* How ibert_tokenize_pair shortens what does not fit in max_tokens: Hugging Face's
 * truncation strategies, which cut tokens off the end of a text. */
typedef enum ibert_truncation {
    IBERT_TRUNCATE_LONGEST_FIRST = 0, /* from the longer text (both, to halves, if need be) */
    IBERT_TRUNCATE_ONLY_FIRST = 1,    /* from text_a only */
    IBERT_TRUNCATE_ONLY_SECOND = 2    /* from text_b only (a question-answering context) */
} ibert_truncation;

/* The unit of offsets: UTF-8 bytes (what HF's Rust Tokenizer::encode gives), or code
 * points, i.e. characters of a Python str (what HF's Python binding gives). */
typedef enum ibert_offset_unit {
    IBERT_OFFSETS_BYTES = 0,
    IBERT_OFFSETS_CODE_POINTS = 1
} ibert_offset_unit;

/* Where a token is in the text it came from: [start, end). Special tokens: (0, 0). */
typedef struct ibert_offset {
    size_t start;
    size_t end;
} ibert_offset;

/* Tokenize a text, or a pair of texts, as Hugging Face's tokenizer(text_a, text_b,
 * truncation=..., max_length=max_tokens, return_offsets_mapping=True) does: ids,
 * token types and offsets identical to it (models/FORMAT.md, tokenizer section).
 *   single (text_b NULL):  [CLS] a [SEP]              <s> a </s>
 *   pair:                  [CLS] a [SEP] b [SEP]      <s> a </s></s> b </s>
 *   token types:           0 ... 0, then 1 for b and its [SEP] (RoBERTa: all 0)
 * An empty text_b (non-NULL, length 0) is a pair with an empty second text.
 * When the tokens do not fit in max_tokens, the truncation strategy removes tokens
 * from the end of a text (the special tokens stay). Offsets are into the text the
 * token came from (text_a or text_b), in the given unit; a byte-level BPE's
 * offsets are trimmed of the spaces a token starts or ends with, as HF's
 * RobertaProcessing(trim_offsets=True) does.
 * ids, and type_ids and offsets unless NULL, must hold max_tokens entries; *n_tokens
 * receives the number written, *n_untruncated (unless NULL) the length before
 * truncation. Errors: IBERT_ERR_INVALID_ARGUMENT for NULL pointers, a max_tokens
 * that cannot hold the special tokens (2, a pair 3 or 4), or a strategy that cannot
 * fit (only_first/only_second when that text is too short, as HF, or only_second
 * without text_b); IBERT_ERR_INVALID_TEXT naming text_a or text_b and the byte
 * offset of invalid UTF-8; IBERT_ERR_UNSUPPORTED for a pair when the model's
 * tokenizer defines no pair encoding. */
IBERT_API ibert_status ibert_tokenize_pair(const ibert_model *model, const char *text_a, size_t len_a,
                                           const char *text_b, size_t len_b, ibert_truncation truncation,
                                           ibert_offset_unit unit, size_t max_tokens, int32_t *ids,
                                           int32_t *type_ids, ibert_offset *offsets, size_t *n_tokens,
                                           size_t *n_untruncated);

/* The text of token id as the vocabulary holds it (WordPiece: "##ing" for a word's
 * continuation; byte-level BPE: GPT-2's stand-in characters, U+0120 for a space),
 * UTF-8 and not NUL-terminated: *len receives its bytes. NULL for an id outside
 * the tokenizer's tokens or NULL arguments. */
IBERT_API const char *ibert_token_text(const ibert_model *model, int32_t id, size_t *len);
/* 1 if the model's tokenizer is byte-level BPE (RoBERTa), 0 if WordPiece (BERT). */
IBERT_API int ibert_model_byte_level(const ibert_model *model);

/* The most threads one context may use. */
enum { IBERT_MAX_THREADS = 64 };

/* A context whose forward passes run on the calling thread alone. Same as
 * ibert_context_new_threads(model, 1, out_context). */
IBERT_API ibert_status ibert_context_new(const ibert_model *model, ibert_context **out_context);
/* A context whose forward passes are split over n_threads threads
 * (1 ... IBERT_MAX_THREADS): the thread that calls ibert_forward, plus
 * n_threads - 1 workers that start here and, between the jobs of a pass and
 * between passes, spin for up to ~0.1 ms and then sleep, until
 * ibert_context_free stops them. The output integers do not depend on n_threads.
 * More threads than the CPU has cores only slow a pass down. One thread at a time
 * may call ibert_forward on a context, as with any context. A process forked
 * after the context was made has no copy of its workers: there the context runs
 * each pass on the calling thread alone (same results). */
IBERT_API ibert_status ibert_context_new_threads(const ibert_model *model, size_t n_threads,
                                                 ibert_context **out_context);
/* The number of threads the context's forward passes use. */
IBERT_API size_t ibert_context_threads(const ibert_context *context);
IBERT_API void ibert_context_free(ibert_context *context);

/* Run the encoder on one sequence of n_tokens ids (1 <= n_tokens <= max_tokens).
 * token_type_ids and attention_mask may be NULL (all 0 and all 1); a key whose
 * mask is 0 is ignored by attention. Writes ibert_model_output_size(model, n_tokens)
 * int32 values to out; a per-token head (token classification, question answering)
 * writes 0 for the masked tokens at the end (padding), which it does not compute;
 * fill-mask writes ibert_fill_mask_count(...) * vocab_size, the logits of the
 * masked positions only. Integer arithmetic only. */
IBERT_API ibert_status ibert_forward(ibert_context *context, const int32_t *input_ids,
                                     const int32_t *token_type_ids, const int32_t *attention_mask,
                                     size_t n_tokens, int32_t *out);

/* IBERT_CDEF_END */

#ifdef __cplusplus
}
#endif

#endif /* IBERT_H */
