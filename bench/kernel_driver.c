/* kernel_driver.c: runs one op of the forward pass, with the shapes of the model it
 * is given at sequence length L, R times through the kernel table the model chose
 * when it loaded (IBERT_KERNELS forces one), so bench/arm_instructions.py can count
 * the instructions one inference spends in that op: it runs the driver under armcount
 * with R = K and R = K + N and divides the difference by N, which cancels the
 * loading and the setup below.
 *
 *   kernel_driver MODEL OP L R
 *
 * One repetition of OP is everything one forward pass of L tokens does with it
 * (forward.c), layer by layer, with each layer's queries as forward computes them
 * (layer_query_rows: every token, but only the first in the last layer of a model
 * with a classification head):
 *   linear     the six linear layers of every encoder layer (q, k, v, attention
 *              output, FFN up, FFN down; k and v on all L rows, the others on the
 *              query rows) on the model's weights, in the packed form the loader
 *              made when the kernel set has a packed linear path
 *   qk         q.k^T of every head (gemm_s8s8s32, queries x L x head_size)
 *   pv         P.V of every head (gemm_u8s8s32, queries x head_size x L)
 *   softmax    every head's softmax over queries x L scores, each on a fresh copy
 *              of the scores (the softmax overwrites them)
 *   scores_copy  those copies alone, which the script subtracts from softmax
 *   gelu       i-GELU of every layer's queries x F FFN activations
 *   layernorm  the embedding layer norm (L rows) and the two of every layer
 *   requant    q, k, v and every head's context to int8, the FFN up output to 20 bits
 *   residual   the two residual sums of every layer
 * The classification head, the embedding sums and forward's argument checks are
 * not an op here: the script reports them as the rest of a whole inference.
 *
 * The rescale and i-exp/i-GELU constants are the model's; the activations are
 * deterministic pseudo-random integers of the ranges the contracts allow (the
 * SIMD kernels' instruction counts do not depend on the values; the scalar
 * reference ones only a little). Prints the kernel set's name; exits 2 on errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "error.h"
#include "model.h"

/* Every buffer one repetition needs, sized for L tokens. */
typedef struct buffers {
    size_t l, h, f, d, heads;
    int8_t *x;        /* [L, max(F, 3H)] linear inputs; q, k, v are its first three [L, H] blocks */
    int8_t *y;        /* [L, F] int8 outputs */
    uint8_t *probs;   /* [L, L] */
    uint8_t *mask;    /* [L] all keys attended */
    int32_t *acc;     /* [L, F] accumulators (inputs of requant, residual) */
    int32_t *wide;    /* [L, F] 20-bit GELU inputs, 22-bit layer-norm inputs */
    int32_t *out;     /* [L, F] int32 outputs */
    int32_t *scores0; /* [L, L] one head's q.k accumulators */
    int32_t *scores;  /* [L, L] softmax's scratch copy of scores0 */
} buffers;

/* splitmix64: deterministic, so every run counts the same instructions. */
static uint64_t rng_state = 0x2545f4914f6cdd1du;
static uint64_t rand_u64(void) {
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}
/* A uniform integer of `bits` bits, signed: [-2^(bits-1), 2^(bits-1) - 1]. */
static int32_t rand_signed(unsigned bits) {
    return (int32_t)(int64_t)(rand_u64() % (UINT64_C(1) << bits)) - (int32_t)(INT64_C(1) << (bits - 1));
}

static void *alloc_filled(size_t count, size_t size, unsigned bits) {
    void *p = aligned_alloc(ARENA_ALIGNMENT, (count * size + ARENA_ALIGNMENT - 1) / ARENA_ALIGNMENT * ARENA_ALIGNMENT);
    if (!p) {
        fprintf(stderr, "kernel_driver: out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < count; i++) {
        int32_t v = bits ? rand_signed(bits) : 0;
        if (size == 1) ((int8_t *)p)[i] = (int8_t)v;
        else ((int32_t *)p)[i] = v;
    }
    return p;
}

static void buffers_init(buffers *b, const ibert_model *m, size_t l, const kernel_table *kt) {
    b->l = l;
    b->h = m->hp.hidden_size;
    b->f = m->hp.intermediate_size;
    b->d = m->hp.head_size;
    b->heads = m->hp.num_heads;
    size_t wide = l * (b->f > b->h ? b->f : b->h);
    /* x holds the widest linear input, and q, k, v side by side */
    b->x = alloc_filled(wide > 3 * l * b->h ? wide : 3 * l * b->h, 1, 8);
    b->y = alloc_filled(wide, 1, 0);
    b->probs = alloc_filled(l * l, 1, 8);
    b->mask = alloc_filled(l, 1, 0);
    memset(b->mask, 1, l);
    /* linear accumulators of the widest layer stay within about 2^23 */
    b->acc = alloc_filled(wide, 4, 24);
    /* 20 bits fit both contracts: GELU's 20-bit and layer norm's 22-bit inputs */
    b->wide = alloc_filled(wide, 4, 20);
    b->out = alloc_filled(wide, 4, 0);
    b->scores0 = alloc_filled(l * l, 4, 0);
    b->scores = alloc_filled(l * l, 4, 0);
    /* the scores softmax sees are q.k products of int8 activations */
    kt->gemm_s8s8s32(l, l, b->d, b->x, b->h, b->x + l * b->h, b->h, NULL, b->scores0, l);
}

static void buffers_free(buffers *b) {
    free(b->x);
    free(b->y);
    free(b->probs);
    free(b->mask);
    free(b->acc);
    free(b->wide);
    free(b->out);
    free(b->scores0);
    free(b->scores);
}

static rq_params rq_of(const rescale *r) {
    rq_params p = {r->mult, r->shift, r->n > 1};
    return p;
}

/* The query rows of a layer (forward.c's). */
static size_t queries(const ibert_model *m, const buffers *b, uint32_t layer) {
    return layer_query_rows(m, layer, b->l);
}

/* As forward's linear_columns: the packed weights the loader made when the kernel
 * set has a packed linear path, else the file's. */
static void linear_rows(const kernel_table *kt, const linear *l, size_t rows, const buffers *b) {
    if (kt->linear) kt->linear->gemm(rows, 0, l->out, l->in, b->x, l->in, l->packed, b->acc, l->out);
    else kt->gemm_s8s8s32(rows, l->out, l->in, b->x, l->in, l->weight, l->in, l->bias, b->acc, l->out);
}

static void run_linear(const kernel_table *kt, const ibert_model *m, const buffers *b) {
    for (uint32_t layer = 0; layer < m->hp.num_layers; layer++) {
        const encoder_layer *e = &m->layers[layer];
        size_t rows = queries(m, b, layer);
        linear_rows(kt, &e->attn_q, rows, b);
        linear_rows(kt, &e->attn_k, b->l, b);
        linear_rows(kt, &e->attn_v, b->l, b);
        linear_rows(kt, &e->attn_out, rows, b);
        linear_rows(kt, &e->ffn_up, rows, b);
        linear_rows(kt, &e->ffn_down, rows, b);
    }
}

static void run_qk(const kernel_table *kt, const ibert_model *m, const buffers *b) {
    const int8_t *q = b->x, *k = q + b->l * b->h;
    for (uint32_t layer = 0; layer < m->hp.num_layers; layer++)
        for (size_t head = 0; head < b->heads; head++)
            kt->gemm_s8s8s32(queries(m, b, layer), b->l, b->d, q + head * b->d, b->h, k + head * b->d, b->h, NULL,
                             b->scores, b->l);
}

static void run_pv(const kernel_table *kt, const ibert_model *m, const buffers *b) {
    const int8_t *v = b->x + 2 * b->l * b->h;
    for (uint32_t layer = 0; layer < m->hp.num_layers; layer++)
        for (size_t head = 0; head < b->heads; head++)
            kt->gemm_u8s8s32(queries(m, b, layer), b->d, b->l, b->probs, b->l, v + head * b->d, b->h, b->acc, b->d);
}

static void run_softmax(const kernel_table *kt, const ibert_model *m, const buffers *b) {
    iexp_params e = {m->exp.frac_bits, m->exp.poly_b, m->exp.poly_c};
    for (uint32_t layer = 0; layer < m->hp.num_layers; layer++) {
        const rescale *s = &m->layers[layer].attn_scores;
        for (size_t head = 0; head < b->heads; head++) {
            size_t rows = queries(m, b, layer);
            memcpy(b->scores, b->scores0, rows * b->l * sizeof *b->scores);
            kt->softmax_s32u8(rows, b->l, b->scores, b->l, s->mult[0], s->shift[0], b->mask, &e, b->probs, b->l);
        }
    }
}

static void run_scores_copy(const kernel_table *kt, const ibert_model *m, const buffers *b) {
    (void)kt;
    for (uint32_t layer = 0; layer < m->hp.num_layers; layer++) {
        for (size_t head = 0; head < b->heads; head++) {
            memcpy(b->scores, b->scores0, queries(m, b, layer) * b->l * sizeof *b->scores);
            /* as if something read the copy, so the compiler keeps every one of them */
            __asm__ __volatile__("" : : "r"(b->scores) : "memory");
        }
    }
}

static void run_gelu(const kernel_table *kt, const ibert_model *m, const buffers *b) {
    for (uint32_t layer = 0; layer < m->hp.num_layers; layer++) {
        rq_params rq = rq_of(&m->layers[layer].ffn_gelu);
        kt->gelu_s32s8(queries(m, b, layer), b->f, b->wide, b->f, &m->gelu, &rq, m->layers[layer].ffn_gelu.zero, b->y,
                       b->f);
    }
}

static void run_layernorm(const kernel_table *kt, const ibert_model *m, const buffers *b) {
    const rescale *n = &m->embd_norm;
    kt->layernorm_s32s8(b->l, b->h, b->wide, b->h, n->mult, n->shift, n->bias, b->y, b->h);
    for (uint32_t layer = 0; layer < m->hp.num_layers; layer++) {
        const encoder_layer *e = &m->layers[layer];
        size_t rows = queries(m, b, layer);
        kt->layernorm_s32s8(rows, b->h, b->wide, b->h, e->attn_norm.mult, e->attn_norm.shift, e->attn_norm.bias, b->y,
                            b->h);
        kt->layernorm_s32s8(rows, b->h, b->wide, b->h, e->ffn_norm.mult, e->ffn_norm.shift, e->ffn_norm.bias, b->y,
                            b->h);
    }
}

static void run_requant(const kernel_table *kt, const ibert_model *m, const buffers *b) {
    for (uint32_t layer = 0; layer < m->hp.num_layers; layer++) {
        const encoder_layer *e = &m->layers[layer];
        size_t rows = queries(m, b, layer);
        const linear *qkv[3] = {&e->attn_q, &e->attn_k, &e->attn_v};
        for (size_t i = 0; i < 3; i++) {
            rq_params rq = rq_of(&qkv[i]->rq);
            kt->requant_s32s8(i == 0 ? rows : b->l, b->h, b->acc, b->h, &rq, b->y, b->h);
        }
        rq_params ctx_rq = rq_of(&e->attn_ctx);
        for (size_t head = 0; head < b->heads; head++)
            kt->requant_s32s8(rows, b->d, b->acc, b->d, &ctx_rq, b->y + head * b->d, b->h);
        rq_params up_rq = rq_of(&e->ffn_up.rq);
        kt->requant_s32s32(rows, b->f, b->acc, b->f, &up_rq, 20, b->out, b->f);
    }
}

static void run_residual(const kernel_table *kt, const ibert_model *m, const buffers *b) {
    for (uint32_t layer = 0; layer < m->hp.num_layers; layer++) {
        const encoder_layer *e = &m->layers[layer];
        size_t rows = queries(m, b, layer);
        rq_params out_rq = rq_of(&e->attn_out.rq), res_rq = rq_of(&e->attn_res);
        kt->residual_s32s8s32(rows, b->h, b->acc, b->h, &out_rq, b->x, b->h, &res_rq, b->out, b->h);
        rq_params down_rq = rq_of(&e->ffn_down.rq), ffn_res_rq = rq_of(&e->ffn_res);
        kt->residual_s32s8s32(rows, b->h, b->acc, b->h, &down_rq, b->x, b->h, &ffn_res_rq, b->out, b->h);
    }
}

typedef void (*op_fn)(const kernel_table *kt, const ibert_model *m, const buffers *b);

static const struct {
    const char *name;
    op_fn run;
} OPS[] = {
    {"linear", run_linear},       {"qk", run_qk},         {"pv", run_pv},
    {"softmax", run_softmax},     {"scores_copy", run_scores_copy},
    {"gelu", run_gelu},           {"layernorm", run_layernorm},
    {"requant", run_requant},     {"residual", run_residual},
};
#define N_OPS (sizeof OPS / sizeof OPS[0])

static int usage(void) {
    fputs("usage: kernel_driver MODEL OP L R\n"
          "  OP: linear, qk, pv, softmax, scores_copy, gelu, layernorm, requant, residual\n"
          "  runs OP as one forward pass of L tokens does, R times (IBERT_KERNELS picks the kernel set)\n",
          stderr);
    return 2;
}

/* A decimal count in [1, max], the whole string; 0 if it is not one. */
static size_t parse_count(const char *text, size_t max) {
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    return (end == text || *end || text[0] == '-' || v < 1 || v > max) ? 0 : (size_t)v;
}

int main(int argc, char **argv) {
    if (argc != 5) return usage();
    size_t op = N_OPS;
    for (size_t i = 0; i < N_OPS; i++)
        if (strcmp(argv[2], OPS[i].name) == 0) op = i;
    if (op == N_OPS) return usage();

    ibert_model *m;
    if (ibert_model_load_file(argv[1], &m) != IBERT_OK) {
        fprintf(stderr, "kernel_driver: %s\n", ibert_last_error());
        return 2;
    }
    const kernel_table *kt = m->kernels;
    size_t l = parse_count(argv[3], m->hp.max_tokens), repeats = parse_count(argv[4], 1000000);
    if (!l || !repeats) {
        fprintf(stderr, "kernel_driver: L must be 1 ... %u and R 1 ... 1000000\n", (unsigned)m->hp.max_tokens);
        ibert_model_free(m);
        return 2;
    }
    buffers b;
    buffers_init(&b, m, l, kt);

    for (size_t r = 0; r < repeats; r++) OPS[op].run(kt, m, &b);
    printf("%s\n", kt->name);
    buffers_free(&b);
    ibert_model_free(m);
    return 0;
}
