/* kernels.h: the compute kernels of the forward pass and the table that picks an
 * implementation of them.
 *
 * Names follow <op>_<types>_<tile>__<isa>: the op, the element types in order
 * (inputs, then output: s8 int8, u8 uint8, s32 int32), the register tile of
 * output rows x columns the kernel computes at once, and the instruction set.
 * The __ref kernels here are portable scalar C and define the results; every
 * other ISA's twin has the same signature and must produce the same integers
 * (models/FORMAT.md §4 states the arithmetic).
 *
 * Matrices are row-major with an explicit row stride in elements (ld*), so a
 * kernel can work on a head's column slice of an n x H matrix. Every kernel
 * trusts its inputs: the loader validated the model, forward validated the ids. */
#ifndef IBERT_KERNELS_H
#define IBERT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "ibert.h"
#include "kernels/fixed_point.h"

/* Residual sums (embeddings and the two per layer) are saturated to 22 bits. */
#define KERNEL_RESIDUAL_BITS 22

/* A rescale as the kernels take it: column j uses mult[j], shift[j] when
 * per_channel, else mult[0], shift[0]. */
typedef struct rq_params {
    const int32_t *mult;
    const int32_t *shift;
    int per_channel;
} rq_params;

/* The two forms of the integer GELU (FORMAT.md §4.4, `ibert.gelu.form`): I-BERT's
 * second-order erf polynomial, and the cubic one of format version 7. */
typedef enum igelu_form { IGELU_ERF2 = 0, IGELU_ERF3 = 1 } igelu_form;

/* The constants of the integer GELU (FORMAT.md §4.4): b and one for both forms,
 * c and shift for erf2 only, d_mult and c1 ... c3 for erf3 only. */
typedef struct igelu_params {
    int32_t b, c, one;
    uint32_t shift;
    igelu_form form;
    int32_t d_mult, c1, c2, c3;
} igelu_params;

/* Fraction bits of erf3's fixed-point values (FORMAT.md §4.4): D, p and L are
 * multiples of 2^-14, and d * d_mult is shifted by 12 into D. */
#define IGELU_ERF3_FRAC 14
#define IGELU_ERF3_D_SHIFT 12

/* erf3's cubic for d = min(|t|, -b) + b in [b, 0]: each product FORMAT.md §4.4
 * bounds (the loader checks them for every d; the kernels keep them in int32 lanes)
 * and L ≈ erf(|x| / sqrt 2) * 2^14. */
typedef struct igelu_erf3_steps {
    int64_t d_product, c3_product, p2_product, p1_product, l;
} igelu_erf3_steps;

static inline igelu_erf3_steps kernel_igelu_erf3_steps(int64_t d, const igelu_params *g) {
    igelu_erf3_steps s;
    s.d_product = d * g->d_mult;
    const int64_t dd = s.d_product >> IGELU_ERF3_D_SHIFT;
    s.c3_product = g->c3 * dd;
    s.p2_product = ((s.c3_product >> IGELU_ERF3_FRAC) + g->c2) * dd;
    s.p1_product = ((s.p2_product >> IGELU_ERF3_FRAC) + g->c1) * dd;
    s.l = (INT64_C(1) << IGELU_ERF3_FRAC) + (s.p1_product >> IGELU_ERF3_FRAC);
    return s;
}

/* erf3's y = sign * L * one >> 14 for the sign of t (-1, 0 or 1). */
static inline int64_t kernel_igelu_erf3_y(int64_t l, int64_t sign, const igelu_params *g) {
    return (sign * l * g->one) >> IGELU_ERF3_FRAC;
}

/* The integer GELU's product g = t * (y + one) of one 20-bit t (FORMAT.md §4.4).
 * It can reach 2^19 * (2^12 + 1) in magnitude, so it is kept in int64. */
static inline int64_t kernel_igelu(int64_t t, const igelu_params *g) {
    int64_t a = t < 0 ? -t : t;
    if (a > -(int64_t)g->b) a = -(int64_t)g->b;
    const int64_t sign = t > 0 ? 1 : t < 0 ? -1 : 0;
    if (g->form == IGELU_ERF3) return t * (kernel_igelu_erf3_y(kernel_igelu_erf3_steps(a + g->b, g).l, sign, g) + g->one);
    const int64_t z = (a + g->b) * (a + g->b) + g->c; /* in [c, 0) */
    const int64_t y = (sign * z) >> g->shift;
    return t * (y + g->one);
}

/* c[i, j] = bias[j] + sum_k a[i, k] * b[j, k] for i < m, j < n, k < k_len: a times
 * the transpose of b, both int8 and row-major. bias may be NULL (no bias). Used
 * for the linear layers (a = x [m, K], b = W [N, K]) and the attention scores
 * (a = a head's slice of q, b = the same slice of k). Needs k_len <= 65536. */
typedef void (*gemm_s8s8s32_fn)(size_t m, size_t n, size_t k_len, const int8_t *a, size_t lda, const int8_t *b,
                                size_t ldb, const int32_t *bias, int32_t *c, size_t ldc);

/* c[i, j] = sum_k p[i, k] * v[k, j]: attention probabilities (uint8, scale 1/256)
 * times a head's slice of v (int8). Needs k_len <= 65536. */
typedef void (*gemm_u8s8s32_fn)(size_t m, size_t n, size_t k_len, const uint8_t *p, size_t ldp, const int8_t *v,
                                size_t ldv, int32_t *c, size_t ldc);

/* A low-bit linear layer's weights as the model file stores them (FORMAT.md,
 * low-bit linear layers): codes q[n, k] of `bits` bits, offset-binary u = q + 2^(bits-1),
 * each row padded to a multiple of 128 codes and packed chunk by chunk in bit planes
 * (pyibert/qbert/packing.py); sub-scales s[n, g] in 1 ... 63 for groups of
 * group_size consecutive k (one group of all k, s = 1, when group_size is 0). */
typedef struct lowbit_weights {
    unsigned bits;        /* 2, 3, 4 or 6 */
    size_t group_size;    /* 0, 32, 64 or 128 */
    size_t row_bytes;     /* packed_row_bytes(k_len, bits) = ceil(k_len / 128) * 16 * bits */
    const uint8_t *codes; /* [n_rows][row_bytes], the file's bytes */
    const uint8_t *sub;   /* [n_rows][groups] (groups = k_len / group_size, or 1) */
    const int32_t *bias;  /* [n_rows] or NULL (zeros) */
} lowbit_weights;

/* c[i, j - j0] = acc[i, j] = bias[j] + sum_g s[j, g] * sum_{k in g} q[j, k] * a[i, k] for
 * i < m and j0 <= j < j1, a int8 [m, k_len] (row stride lda). k_len is a multiple of the
 * group size and at most 65536; the loader checked that
 * k_len * 2^(bits-1) * 128 * max_g s[j, g] + |bias[j]| < 2^31, so every partial sum fits
 * int32 in any order. */
typedef void (*gemm_s8sxs32_fn)(size_t m, size_t j0, size_t j1, size_t k_len, const int8_t *a, size_t lda,
                                const lowbit_weights *w, int32_t *c, size_t ldc);

/* dst[i, j] = sat_8(rq(src[i, j], rq_j)). */
typedef void (*requant_s32s8_fn)(size_t m, size_t n, const int32_t *src, size_t lds, const rq_params *rq,
                                 int8_t *dst, size_t ldd);

/* dst[i, j] = sat_bits(rq(src[i, j], rq_j)), 2 <= bits <= 32; dst may be src. */
typedef void (*requant_s32s32_fn)(size_t m, size_t n, const int32_t *src, size_t lds, const rq_params *rq,
                                  unsigned bits, int32_t *dst, size_t ldd);

/* The residual sum of FORMAT.md §4.6 steps 4 and 6:
 * out[i, j] = sat_22(rq(acc[i, j], acc_rq_j) + rq(x[i, j], x_rq)), summed in int64. */
typedef void (*residual_s32s8s32_fn)(size_t m, size_t n, const int32_t *acc, size_t lda, const rq_params *acc_rq,
                                     const int8_t *x, size_t ldx, const rq_params *x_rq, int32_t *out, size_t ldo);

/* Integer layer norm (FORMAT.md §4.5) of each of the m rows of h values (each
 * within 22 bits), with the per-column rescale mult, shift and bias (all [h]). */
typedef void (*layernorm_s32s8_fn)(size_t m, size_t h, const int32_t *x, size_t ldx, const int32_t *mult,
                                   const int32_t *shift, const int64_t *bias, int8_t *out, size_t ldo);

/* Softmax of FORMAT.md §4.6 step 2 over m query rows of n keys: scores holds the
 * q.k accumulators and is overwritten (used as scratch); on return it holds
 * e_ij = iexp(t_ij - max) at every attended key (what a version-5 layer's
 * softmax_exp16_finish_u8__ref reads; the tests check it for every kernel set).
 * mult, shift is the attn_scores rescale; key_mask[j] != 0 means key j is attended.
 * p receives the uint8 probabilities, 0 for masked keys and for a fully masked row. */
typedef void (*softmax_s32u8_fn)(size_t m, size_t n, int32_t *scores, size_t lds, int32_t mult, int32_t shift,
                                 const uint8_t *key_mask, const iexp_params *e, uint8_t *p, size_t ldp);

/* The finish of a version-5 layer's softmax (softmax_exp16_finish_u8__ref below): P again from the
 * exps the softmax left in the scores, requantized to 16 bits and floored. */
typedef void (*softmax_exp16_finish_fn)(size_t m, size_t n, int32_t *exps, size_t lds, const rq_params *exp16,
                                        const uint8_t *key_mask, uint8_t *p, size_t ldp);

/* u[i, j] = sat_8(rq(igelu(t[i, j]), rq_j) + z_j) for t already within 20 bits
 * (FORMAT.md §4.4, §4.6 step 5; rq is the ffn_gelu rescale, per tensor or per
 * column). zero is NULL (z = 0) or the output zero points (format version 6),
 * indexed as the rescale: zero[j] when rq->per_channel, else zero[0]. */
typedef void (*gelu_s32s8_fn)(size_t m, size_t n, const int32_t *t, size_t ldt, const igelu_params *g,
                              const rq_params *rq, const int32_t *zero, int8_t *u, size_t ldu);

/* The head's tanh (FORMAT.md §4.6): y[j] = itanh(clamp(rq(acc[j], rq_j), -2^30, 2^30)),
 * int8 with scale 1/127. */
typedef void (*tanh_s32s8_fn)(size_t n, const int32_t *acc, const rq_params *rq, const iexp_params *e, int8_t *y);

/* Whether any of the n keys is attended (the finish does nothing when none is: the softmax
 * already wrote the rows' zeros). */
static inline int kernel_any_attended(size_t n, const uint8_t *key_mask) {
    int any = 0;
    for (size_t j = 0; j < n; j++) any |= key_mask[j] != 0;
    return any;
}

void gemm_s8s8s32_1x1__ref(size_t m, size_t n, size_t k_len, const int8_t *a, size_t lda, const int8_t *b,
                           size_t ldb, const int32_t *bias, int32_t *c, size_t ldc);
void gemm_u8s8s32_1x1__ref(size_t m, size_t n, size_t k_len, const uint8_t *p, size_t ldp, const int8_t *v,
                           size_t ldv, int32_t *c, size_t ldc);
void gemm_s8sxs32_1x1__ref(size_t m, size_t j0, size_t j1, size_t k_len, const int8_t *a, size_t lda,
                           const lowbit_weights *w, int32_t *c, size_t ldc);
void requant_s32s8_1x1__ref(size_t m, size_t n, const int32_t *src, size_t lds, const rq_params *rq, int8_t *dst,
                            size_t ldd);
void requant_s32s32_1x1__ref(size_t m, size_t n, const int32_t *src, size_t lds, const rq_params *rq,
                             unsigned bits, int32_t *dst, size_t ldd);
void residual_s32s8s32_1x1__ref(size_t m, size_t n, const int32_t *acc, size_t lda, const rq_params *acc_rq,
                                const int8_t *x, size_t ldx, const rq_params *x_rq, int32_t *out, size_t ldo);
void layernorm_s32s8_1x1__ref(size_t m, size_t h, const int32_t *x, size_t ldx, const int32_t *mult,
                              const int32_t *shift, const int64_t *bias, int8_t *out, size_t ldo);
void softmax_s32u8_1x1__ref(size_t m, size_t n, int32_t *scores, size_t lds, int32_t mult, int32_t shift,
                            const uint8_t *key_mask, const iexp_params *e, uint8_t *p, size_t ldp);
/* The softmax of a layer with an attn_exp16 rescale (format version 5: I-BERT's 16-bit exps, P
 * floored), run after the kernel set's softmax on the exps it left in the scores (e_ij of every
 * attended key; rows with no attended key are already 0). Only I-BERT files have it; the NEON,
 * AVX2 and AVX-512 sets have their twins of it. */
void softmax_exp16_finish_u8__ref(size_t m, size_t n, int32_t *exps, size_t lds, const rq_params *exp16,
                                  const uint8_t *key_mask, uint8_t *p, size_t ldp);
void gelu_s32s8_1x1__ref(size_t m, size_t n, const int32_t *t, size_t ldt, const igelu_params *g,
                         const rq_params *rq, const int32_t *zero, int8_t *u, size_t ldu);
void tanh_s32s8_1x1__ref(size_t n, const int32_t *acc, const rq_params *rq, const iexp_params *e, int8_t *y);

#ifdef IBERT_NEON_KERNELS
/* neon/: the elementwise kernels in NEON that AArch64 and ARMv7-A share (every
 * AArch64 CPU has it; 32-bit ARM calls them only when the CPU reports NEON). */
void requant_s32s8_1x8__neon(size_t m, size_t n, const int32_t *src, size_t lds, const rq_params *rq, int8_t *dst,
                             size_t ldd);
void requant_s32s32_1x8__neon(size_t m, size_t n, const int32_t *src, size_t lds, const rq_params *rq,
                              unsigned bits, int32_t *dst, size_t ldd);
void residual_s32s8s32_1x8__neon(size_t m, size_t n, const int32_t *acc, size_t lda, const rq_params *acc_rq,
                                 const int8_t *x, size_t ldx, const rq_params *x_rq, int32_t *out, size_t ldo);
void layernorm_s32s8_1x8__neon(size_t m, size_t h, const int32_t *x, size_t ldx, const int32_t *mult,
                               const int32_t *shift, const int64_t *bias, int8_t *out, size_t ldo);
void softmax_s32u8_1x8__neon(size_t m, size_t n, int32_t *scores, size_t lds, int32_t mult, int32_t shift,
                             const uint8_t *key_mask, const iexp_params *e, uint8_t *p, size_t ldp);
void softmax_exp16_finish_u8_1x8__neon(size_t m, size_t n, int32_t *exps, size_t lds, const rq_params *exp16,
                                       const uint8_t *key_mask, uint8_t *p, size_t ldp);
void gelu_s32s8_1x8__neon(size_t m, size_t n, const int32_t *t, size_t ldt, const igelu_params *g,
                          const rq_params *rq, const int32_t *zero, int8_t *u, size_t ldu);
void tanh_s32s8_1x4__neon(size_t n, const int32_t *acc, const rq_params *rq, const iexp_params *e, int8_t *y);
/* The low-bit linear layers on the file's packed weights (gemm_s8sxs32_fn), without dotprod. */
void gemm_s8sxs32_2x4c16__neon(size_t m, size_t j0, size_t j1, size_t k_len, const int8_t *a, size_t lda,
                               const lowbit_weights *w, int32_t *c, size_t ldc);
#endif

#ifdef IBERT_ARMV7_KERNELS
/* neon/: the GEMMs of 32-bit ARM NEON (ARMv7-A; call them only when the CPU
 * reports NEON, see kernels_select.c). */
void gemm_s8s8s32_4x2c16__neonv7(size_t m, size_t n, size_t k_len, const int8_t *a, size_t lda, const int8_t *b,
                                 size_t ldb, const int32_t *bias, int32_t *c, size_t ldc);
void gemm_u8s8s32_4x8__neonv7(size_t m, size_t n, size_t k_len, const uint8_t *p, size_t ldp, const int8_t *v,
                              size_t ldv, int32_t *c, size_t ldc);
/* The linear GEMM on packed weights and its packer (plain C), named like the
 * AArch64 ones below. */
size_t packw_s8s32_8x2_size(size_t n, size_t k);
void packw_s8s32_8x2(size_t n, size_t k, const int8_t *w, const int32_t *bias, void *dst);
void linear_s8s8s32_4x8c4__neonv7(size_t m, size_t j0, size_t j1, size_t k, const int8_t *a, size_t lda,
                                  const void *packed, int32_t *c, size_t ldc);
#endif

#ifdef IBERT_AARCH64_KERNELS
/* neon/: AArch64 AdvSIMD (every 64-bit ARM CPU) and the dotprod (SDOT, ARMv8.2) and
 * i8mm (SMMLA) extensions; call those only when the CPU reports them, see
 * kernels_select.c. */
void gemm_s8s8s32_4x4c16__neon(size_t m, size_t n, size_t k_len, const int8_t *a, size_t lda, const int8_t *b,
                               size_t ldb, const int32_t *bias, int32_t *c, size_t ldc);
void gemm_s8s8s32_4x16c4__neondot(size_t m, size_t n, size_t k_len, const int8_t *a, size_t lda, const int8_t *b,
                                  size_t ldb, const int32_t *bias, int32_t *c, size_t ldc);
void gemm_u8s8s32_4x16__neon(size_t m, size_t n, size_t k_len, const uint8_t *p, size_t ldp, const int8_t *v,
                             size_t ldv, int32_t *c, size_t ldc);
void gemm_s8s8s32_8x8c8__i8mm(size_t m, size_t n, size_t k_len, const int8_t *a, size_t lda, const int8_t *b,
                              size_t ldb, const int32_t *bias, int32_t *c, size_t ldc);
void gemm_u8s8s32_8x8c8__i8mm(size_t m, size_t n, size_t k_len, const uint8_t *p, size_t ldp, const int8_t *v,
                              size_t ldv, int32_t *c, size_t ldc);
/* The low-bit linear layers on the file's packed weights (gemm_s8sxs32_fn). */
void gemm_s8sxs32_16x4c4__neondot(size_t m, size_t j0, size_t j1, size_t k_len, const int8_t *a, size_t lda,
                                  const lowbit_weights *w, int32_t *c, size_t ldc);
void gemm_s8sxs32_16x4c8__i8mm(size_t m, size_t j0, size_t j1, size_t k_len, const int8_t *a, size_t lda,
                               const lowbit_weights *w, int32_t *c, size_t ldc);
void gemm_u8s8s32_4x16c4__neondot(size_t m, size_t n, size_t k_len, const uint8_t *p, size_t ldp, const int8_t *v,
                                  size_t ldv, int32_t *c, size_t ldc);

/* The linear GEMMs on packed weights (linear_packing.gemm, op "linear") and their packers,
 * named by the layout they write (packw_s8s32_<columns>x<k>: that many columns'
 * consecutive k together; _size is linear_packing.packed_size). */
size_t packw_s8s32_4x16_size(size_t n, size_t k);
void packw_s8s32_4x16(size_t n, size_t k, const int8_t *w, const int32_t *bias, void *dst);
void linear_s8s8s32_4x4c16__neon(size_t m, size_t j0, size_t j1, size_t k, const int8_t *a, size_t lda,
                                 const void *packed, int32_t *c, size_t ldc);
size_t packw_s8s32_8x8_size(size_t n, size_t k);
void packw_s8s32_8x8(size_t n, size_t k, const int8_t *w, const int32_t *bias, void *dst);
void linear_s8s8s32_8x8c8__i8mm(size_t m, size_t j0, size_t j1, size_t k, const int8_t *a, size_t lda,
                                const void *packed, int32_t *c, size_t ldc);
size_t packw_s8s32_16x4_size(size_t n, size_t k);
void packw_s8s32_16x4(size_t n, size_t k, const int8_t *w, const int32_t *bias, void *dst);
void linear_s8s8s32_4x16c4__neondot(size_t m, size_t j0, size_t j1, size_t k, const int8_t *a, size_t lda,
                                    const void *packed, int32_t *c, size_t ldc);
#endif

/* A linear layer's weights and bias in the layout one kernel set's GEMM reads
 * fastest, made once when the model is loaded (the file keeps the plain row-major
 * [n, k] weights every runtime can read; each ISA wants its own interleaving). */
typedef struct linear_packing {
    /* Bytes of the packed form of an [n, k] weight and its [n] bias: a multiple of 64. */
    size_t (*packed_size)(size_t n, size_t k);
    /* Writes that form to dst (64-byte aligned, packed_size(n, k) bytes, any contents);
     * bias NULL means zeros. */
    void (*pack)(size_t n, size_t k, const int8_t *w, const int32_t *bias, void *dst);
    /* c[i, j] = bias[j] + sum_k a[i, k] * w[j, k] for i < m and j0 <= j < j1, where j0 is a
     * multiple of column_block and j1 <= n (the n the weights were packed with); c points
     * at column 0 of row 0. A column range lets threads share one matrix product. */
    void (*gemm)(size_t m, size_t j0, size_t j1, size_t k, const int8_t *a, size_t lda, const void *packed,
                 int32_t *c, size_t ldc);
    size_t column_block;
} linear_packing;

#ifdef IBERT_X86_KERNELS
/* x86/: AVX2, and AVX-512 with VNNI (call them only when the CPU reports the
 * features, see kernels_select.c), and their packers of linear weights (plain C,
 * named like the packw_ above; packw_s8s32_16x4_x128 stores the weights + 128, the
 * unsigned operand of VPDPBUSD). */
size_t packw_s8s32_16x4_x128_size(size_t n, size_t k);
void packw_s8s32_16x4_x128(size_t n, size_t k, const int8_t *w, const int32_t *bias, void *dst);
size_t packw_s8s32_8x4_size(size_t n, size_t k);
void packw_s8s32_8x4(size_t n, size_t k, const int8_t *w, const int32_t *bias, void *dst);
void linear_s8s8s32_8x48c4__avx512vnni(size_t m, size_t j0, size_t j1, size_t k, const int8_t *a, size_t lda,
                                       const void *packed, int32_t *c, size_t ldc);
void linear_s8s8s32_4x16c4__avx2(size_t m, size_t j0, size_t j1, size_t k, const int8_t *a, size_t lda,
                                 const void *packed, int32_t *c, size_t ldc);
void gemm_s8s8s32_8x48c4__avx512vnni(size_t m, size_t n, size_t k_len, const int8_t *a, size_t lda, const int8_t *b,
                                     size_t ldb, const int32_t *bias, int32_t *c, size_t ldc);
void gemm_s8s8s32_2x4c16__avx2(size_t m, size_t n, size_t k_len, const int8_t *a, size_t lda, const int8_t *b,
                               size_t ldb, const int32_t *bias, int32_t *c, size_t ldc);
void gemm_u8s8s32_8x16c4__avx512vnni(size_t m, size_t n, size_t k_len, const uint8_t *p, size_t ldp,
                                     const int8_t *v, size_t ldv, int32_t *c, size_t ldc);
void gemm_s8sxs32_8x48c4__avx512vnni(size_t m, size_t j0, size_t j1, size_t k_len, const int8_t *a, size_t lda,
                                     const lowbit_weights *w, int32_t *c, size_t ldc);
void gemm_s8sxs32_2x2c32__avx2(size_t m, size_t j0, size_t j1, size_t k_len, const int8_t *a, size_t lda,
                               const lowbit_weights *w, int32_t *c, size_t ldc);
void gemm_u8s8s32_4x16c2__avx2(size_t m, size_t n, size_t k_len, const uint8_t *p, size_t ldp, const int8_t *v,
                               size_t ldv, int32_t *c, size_t ldc);
void requant_s32s8_1x8__avx2(size_t m, size_t n, const int32_t *src, size_t lds, const rq_params *rq, int8_t *dst,
                             size_t ldd);
void requant_s32s32_1x8__avx2(size_t m, size_t n, const int32_t *src, size_t lds, const rq_params *rq,
                              unsigned bits, int32_t *dst, size_t ldd);
void residual_s32s8s32_1x8__avx2(size_t m, size_t n, const int32_t *acc, size_t lda, const rq_params *acc_rq,
                                 const int8_t *x, size_t ldx, const rq_params *x_rq, int32_t *out, size_t ldo);
void layernorm_s32s8_1x8__avx2(size_t m, size_t h, const int32_t *x, size_t ldx, const int32_t *mult,
                               const int32_t *shift, const int64_t *bias, int8_t *out, size_t ldo);
void softmax_s32u8_1x8__avx2(size_t m, size_t n, int32_t *scores, size_t lds, int32_t mult, int32_t shift,
                             const uint8_t *key_mask, const iexp_params *e, uint8_t *p, size_t ldp);
void softmax_exp16_finish_u8_1x8__avx2(size_t m, size_t n, int32_t *exps, size_t lds, const rq_params *exp16,
                                       const uint8_t *key_mask, uint8_t *p, size_t ldp);
void gelu_s32s8_1x8__avx2(size_t m, size_t n, const int32_t *t, size_t ldt, const igelu_params *g,
                          const rq_params *rq, const int32_t *zero, int8_t *u, size_t ldu);
void requant_s32s8_1x16__avx512(size_t m, size_t n, const int32_t *src, size_t lds, const rq_params *rq,
                                int8_t *dst, size_t ldd);
void requant_s32s32_1x16__avx512(size_t m, size_t n, const int32_t *src, size_t lds, const rq_params *rq,
                                 unsigned bits, int32_t *dst, size_t ldd);
void residual_s32s8s32_1x16__avx512(size_t m, size_t n, const int32_t *acc, size_t lda, const rq_params *acc_rq,
                                    const int8_t *x, size_t ldx, const rq_params *x_rq, int32_t *out, size_t ldo);
void gelu_s32s8_1x16__avx512(size_t m, size_t n, const int32_t *t, size_t ldt, const igelu_params *g,
                             const rq_params *rq, const int32_t *zero, int8_t *u, size_t ldu);
void layernorm_s32s8_1x16__avx512(size_t m, size_t h, const int32_t *x, size_t ldx, const int32_t *mult,
                                  const int32_t *shift, const int64_t *bias, int8_t *out, size_t ldo);
void softmax_s32u8_1x16__avx512(size_t m, size_t n, int32_t *scores, size_t lds, int32_t mult, int32_t shift,
                                const uint8_t *key_mask, const iexp_params *e, uint8_t *p, size_t ldp);
void softmax_exp16_finish_u8_1x16__avx512(size_t m, size_t n, int32_t *exps, size_t lds, const rq_params *exp16,
                                          const uint8_t *key_mask, uint8_t *p, size_t ldp);
#endif

/* One implementation of every kernel the forward pass calls. */
typedef struct kernel_table {
    const char *name; /* the IBERT_KERNELS value that selects it */
    const linear_packing *linear; /* NULL: the linear layers use gemm_s8s8s32 on the file's weights */
    gemm_s8s8s32_fn gemm_s8s8s32;
    gemm_u8s8s32_fn gemm_u8s8s32;
    gemm_s8sxs32_fn gemm_lowbit; /* the low-bit linear layers, on the file's packed weights */
    requant_s32s8_fn requant_s32s8;
    requant_s32s32_fn requant_s32s32;
    residual_s32s8s32_fn residual_s32s8s32;
    layernorm_s32s8_fn layernorm_s32s8;
    softmax_s32u8_fn softmax_s32u8;
    softmax_exp16_finish_fn softmax_exp16_finish; /* version-5 layers only */
    gelu_s32s8_fn gelu_s32s8;
    tanh_s32s8_fn tanh_s32s8;
} kernel_table;

/* The kernel table named by the environment variable IBERT_KERNELS, or the best
 * one for this CPU when it is unset or empty. A name this build does not have, or
 * one whose instructions this CPU lacks, fails with IBERT_ERR_INVALID_ARGUMENT and
 * a message listing the valid names. */
ibert_status kernels_select(const kernel_table **out);

#endif
