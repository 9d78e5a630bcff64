/* model.h: the loaded, validated, immutable model. Every pointer points into the
 * mapped file and every value has passed the checks of models/FORMAT.md, so the
 * forward pass uses them without further checks. */
#ifndef IBERT_MODEL_H
#define IBERT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ibert.h"
#include "gguf_reader.h"
#include "kernels/kernels.h"
#include "tokenizer.h"

/* A position or token-type table (FORMAT.md §3): int8, or from format version 4
 * int16; exactly one of the two pointers is set. */
typedef struct added_table {
    const int8_t *i8;
    const int16_t *i16;
} added_table;

/* A rescale (FORMAT.md §4.1): per channel (n == channels) or per tensor (n == 1). */
typedef struct rescale {
    const int32_t *mult;
    const int32_t *shift;
    const int64_t *bias; /* layer-norm rescales only, else NULL */
    const int32_t *zero; /* ffn_gelu's output zero points (format version 6), [n], else NULL */
    uint32_t n;
} rescale;

/* A linear layer: out[n] = bias[n] + sum_k x[k] * weight[n * in + k], then a rescale;
 * or a low-bit one (format version 3, FORMAT.md §3.1): weight NULL and lowbit.codes
 * set, read in place from the file by kernel_table.gemm_lowbit. */
typedef struct linear {
    const int8_t *weight; /* [out, in] row-major, or NULL for a low-bit layer */
    lowbit_weights lowbit; /* codes NULL for an int8 layer */
    const int32_t *bias;  /* [out] */
    const void *packed;   /* weight and bias in the kernel set's layout (model_pack.c), or NULL */
    uint32_t in, out;
    rescale rq;           /* [out] */
} linear;

typedef struct encoder_layer {
    linear attn_q, attn_k, attn_v;
    rescale attn_scores, attn_ctx; /* [1] */
    rescale attn_exp16;            /* [1], or n == 0: I-BERT's 16-bit softmax exps (format version 5) */
    linear attn_out;
    rescale attn_res;              /* [1] or [H] */
    rescale attn_norm;             /* [H], with bias */
    linear ffn_up;
    rescale ffn_gelu;              /* [1] or [F] */
    linear ffn_down;
    rescale ffn_res;               /* [1] or [H] */
    rescale ffn_norm;              /* [H], with bias */
} encoder_layer;

/* The masked-LM head of a fill-mask model (FORMAT.md §4.11). */
typedef struct masked_lm_head {
    linear dense;    /* [H, H], into the 20-bit i-GELU input */
    rescale gelu;    /* [1] i-GELU product -> 22-bit layer-norm input */
    rescale norm;    /* [H], with bias */
    linear decoder;  /* [V, H] -> logits; its weight is token_embd when tied */
    int tied;
} masked_lm_head;

typedef struct exp_constants {
    uint32_t frac_bits; /* K */
    int32_t poly_b, poly_c;
} exp_constants;

/* How a sentence-embedding file pools the token rows (FORMAT.md §4.10). */
typedef enum pooling_mode { POOL_MEAN, POOL_CLS, POOL_MAX } pooling_mode;

typedef struct model_hparams {
    uint32_t vocab_size, hidden_size, num_layers, num_heads, head_size;
    uint32_t intermediate_size, max_positions, type_vocab_size, position_offset;
    uint32_t num_labels;
    ibert_task task;     /* ibert.task; a version-2 file's: sequence-classification if C > 0, else encoder */
    uint32_t format_version;
    uint32_t max_tokens; /* max_positions - position_offset */
} model_hparams;

struct ibert_model {
    /* the bytes: either an mmap of a file (owned) or a caller's buffer (borrowed) */
    const uint8_t *data;
    size_t size;
    int mapped;

    gguf_file *gguf;
    model_hparams hp;
    exp_constants exp;
    igelu_params gelu;   /* the integer GELU's form and constants (§4.4) */
    ibert_scale output_scale;

    const int8_t *token_embd;           /* [V,H]; NULL when low-bit */
    added_table pos_embd, token_types; /* [P,H], [T,H] */
    const uint8_t *token_embd_codes; /* low-bit word embeddings (FORMAT.md §3.1): [V][row bytes], or NULL */
    unsigned token_embd_bits;
    size_t token_embd_row_bytes;
    rescale token_embd_rq;             /* [1] or [V] (one per row, version 3) */
    rescale pos_embd_rq, token_types_rq; /* [1] each */
    rescale embd_norm;

    encoder_layer *layers; /* num_layers */

    linear cls_dense;          /* only for a head on the first token (task_head) */
    linear cls_out;            /* only when num_labels > 0 */
    masked_lm_head mlm;        /* only for IBERT_TASK_FILL_MASK */
    int32_t mask_token_id;     /* IBERT_TASK_FILL_MASK, else -1 */
    /* only for IBERT_TASK_SENTENCE_EMBEDDING: the 16-bit layer norm of the pool, [H] with bias */
    pooling_mode pool_mode;
    bool normalize;
    rescale pool_norm;
    char **labels;             /* num_labels NUL-terminated copies */

    tokenizer *tok;
    size_t context_bytes; /* arena bytes a context needs for max_tokens */

    const kernel_table *kernels; /* chosen at load; every context of the model runs them */
    void *packed;                /* the one allocation every linear's packed form lives in, or NULL */
    size_t packed_bytes;
};

/* Packs every linear layer for model->kernels->linear (nothing when it is NULL):
 * sets packed, packed_bytes and each linear's packed pointer. Needs the tensors
 * bound. ibert_model_free frees the allocation. */
ibert_status model_pack_linears(struct ibert_model *model);

#endif
