/* gemm_s8sxs32_16x4c4__neondot: a low-bit linear layer (kernels.h, gemm_s8sxs32_fn)
 * with SDOT (ARMv8.2 dotprod), reading the file's packed 2/3/4/6-bit rows directly.
 *
 * The packed layout gives 16 consecutive codes of one output column per register
 * after one AND or shift (lowbit_unpack_neon.h). SDOT by element multiplies four
 * 4-byte groups of one register by one 4-byte group of another, so the weights are
 * the indexed operand: lane l of a column's register holds k 4l ... 4l + 3, and the
 * other operand holds those 4 k of 4 rows of a. So a is interleaved first, per 16
 * rows and up to SLAB k, into [16-k block][row quad][l][row][4 k] on the stack;
 * then each accumulator holds 4 rows of one column (lanes = rows), and one block
 * of 16 k is, per 4 columns: 4 loads of 64 bytes (the 4 quads' a), 4 unpacks (a load
 * and an AND or shift for 4-bit; one load serves two blocks), 64 SDOTs.
 *
 * Offset folding: the registers hold u = q + 2^(bits-1) (non-negative, at most 63),
 * so sum u * x - 2^(bits-1) * sum x is the group's sum q * x. The interleave also
 * writes -2^(bits-1) * (each row's sum of x over each group), and a group's
 * accumulators start from it; at the group's end they are multiplied by the
 * column's sub-scale into the totals (MLA) and restart from the next group's.
 * Group size 0 is one group per slab (with the row's one sub-scale).
 *
 * Exact: SDOT multiplies and adds into int32 exactly, and every partial sum is a
 * part of the contract's accumulator in int32 under the loader's bound
 * (k * 2^(bits-1) * 128 * max s + |bias| < 2^31; the offset-folded group sum is the
 * true group sum at the group's end, and inside the group |sum u * x| and
 * |2^(bits-1) * sum x| are each at most 2^bits * 128 * group, within the bound's
 * room as well). Rows past m are zeros, columns past j1 repeat the last column;
 * neither is stored. */
#if !defined(__ARM_FEATURE_DOTPROD)
#error "gemm_s8sxs32_16x4c4__neondot needs the dotprod extension (-march=armv8.2-a+dotprod)"
#endif

#include <arm_neon.h>
#include <string.h>

#include "kernels/kernels.h"
#include "lowbit_unpack_neon.h"

#define QUADS 4            /* row quads per tile */
#define MR (4 * QUADS)
#define NR 4               /* columns per tile */
#define CHUNK 128          /* codes per packed chunk */
#define SLAB 2048          /* k per interleaved copy of a (a multiple of CHUNK): 32 KiB */
#define MIN_GROUP 32

static const int32_t ZEROS[NR]; /* the biases of a layer without */

/* a's rows interleaved for SDOT, and the offset terms of each group. */
typedef struct slab {
    int8_t x[SLAB / 16][QUADS][64];
    int32_t start[SLAB / MIN_GROUP][QUADS][4]; /* -2^(bits-1) * sum of x over group g, per row */
} slab;

/* 4 registers of 4 int32 transposed: out[i] lane j = in[j] lane i. */
static inline void transpose4(const int32x4_t in[4], int32x4_t out[4]) {
    const int32x4_t t0 = vtrn1q_s32(in[0], in[1]), t1 = vtrn2q_s32(in[0], in[1]);
    const int32x4_t t2 = vtrn1q_s32(in[2], in[3]), t3 = vtrn2q_s32(in[2], in[3]);
    out[0] = vreinterpretq_s32_s64(vtrn1q_s64(vreinterpretq_s64_s32(t0), vreinterpretq_s64_s32(t2)));
    out[1] = vreinterpretq_s32_s64(vtrn1q_s64(vreinterpretq_s64_s32(t1), vreinterpretq_s64_s32(t3)));
    out[2] = vreinterpretq_s32_s64(vtrn2q_s64(vreinterpretq_s64_s32(t0), vreinterpretq_s64_s32(t2)));
    out[3] = vreinterpretq_s32_s64(vtrn2q_s64(vreinterpretq_s64_s32(t1), vreinterpretq_s64_s32(t3)));
}

/* 16 bytes of row from k on, zeros past kc. */
static inline int32x4_t row_block(const int8_t *row, size_t k, size_t kc) {
    if (k + 16 <= kc) return vreinterpretq_s32_s8(vld1q_s8(row + k));
    int8_t tail[16] = {0};
    if (k < kc) memcpy(tail, row + k, kc - k);
    return vreinterpretq_s32_s8(vld1q_s8(tail));
}

/* Rows 0 ... mr - 1 of a, k 0 ... kc - 1, into s (zeros past mr and kc up to whole
 * chunks), and the groups' starts for groups of `group` k. Per row quad and block of
 * 16 k: the 4 rows' 16 bytes as 4 x 4 int32 transposed (lane = row, register = 4 k),
 * and -2^(bits-1) * the rows' sums by SDOT with -2^(bits-1) in every byte. */
static void interleave(const int8_t *a, size_t lda, size_t mr, size_t kc, size_t group, int32_t offset, slab *s) {
    const size_t blocks = (kc + CHUNK - 1) / CHUNK * CHUNK / 16, group_blocks = group / 16;
    const int8x16_t minus_offset = vdupq_n_s8((int8_t)-offset);
    for (size_t q = 0; q < QUADS; q++) {
        int32x4_t sum = vdupq_n_s32(0);
        int32_t *start = s->start[0][q];
        for (size_t b = 0, left = group_blocks; b < blocks; b++) {
            int32x4_t in[4], out[4];
            for (size_t r = 0; r < 4; r++)
                in[r] = 4 * q + r < mr ? row_block(a + (4 * q + r) * lda, 16 * b, kc) : vdupq_n_s32(0);
            transpose4(in, out);
            int8_t *dst = s->x[b][q];
            for (size_t l = 0; l < 4; l++) {
                vst1q_s32((int32_t *)(void *)(dst + 16 * l), out[l]);
                sum = vdotq_s32(sum, vreinterpretq_s8_s32(out[l]), minus_offset);
            }
            if (--left == 0) { /* a group ends */
                vst1q_s32(start, sum);
                start += sizeof s->start[0] / sizeof *start;
                sum = vdupq_n_s32(0);
                left = group_blocks;
            }
        }
    }
}

/* One tile's pass over a slab: tot[j][q] (lanes = rows 4q ... 4q + 3 of column j) +=
 * the slab's part of the accumulator. col[j] is column j's first chunk of the slab,
 * sub[j] its sub-scale of the slab's first group; span = group / 16 blocks (2, 4 or
 * 8), or 0 for group size 0 (one group per slab); groups = the slab's groups that
 * exist (a padded chunk's last ones may not). bits and span are constants where this
 * is inlined, so each group's end is a fixed place in the unrolled chunk. */
static inline __attribute__((always_inline)) void tile(const unsigned bits, const unsigned span, const slab *s,
                                                       size_t chunks, const uint8_t *const col[NR],
                                                       const uint8_t *const sub[NR], size_t groups,
                                                       int32x4_t tot[NR][QUADS]) {
    const size_t chunk_bytes = CHUNK / 8 * bits;
    int32x4_t grp[NR][QUADS];
    for (size_t q = 0; q < QUADS; q++) {
        const int32x4_t start = vld1q_s32(s->start[0][q]);
        for (size_t j = 0; j < NR; j++) grp[j][q] = start;
    }
    size_t g = 0;
    const int8_t *xp = s->x[0][0];
    for (size_t c = 0; c < chunks; c++) {
        const uint8_t *cc[NR];
        for (size_t j = 0; j < NR; j++) cc[j] = col[j] + c * chunk_bytes;
#pragma GCC unroll 8
        for (unsigned t = 0; t < CHUNK / 16; t++) {
            int8x16_t w[NR];
#pragma GCC unroll 4
            for (size_t j = 0; j < NR; j++) w[j] = lowbit_block(cc[j], bits, t);
#pragma GCC unroll 4
            for (size_t q = 0; q < QUADS; q++) {
                const int8x16x4_t x = vld1q_s8_x4(xp);
                xp += 64;
#pragma GCC unroll 4
                for (size_t j = 0; j < NR; j++) {
                    grp[j][q] = vdotq_laneq_s32(grp[j][q], x.val[0], w[j], 0);
                    grp[j][q] = vdotq_laneq_s32(grp[j][q], x.val[1], w[j], 1);
                    grp[j][q] = vdotq_laneq_s32(grp[j][q], x.val[2], w[j], 2);
                    grp[j][q] = vdotq_laneq_s32(grp[j][q], x.val[3], w[j], 3);
                }
            }
            if (span == 0 || (t + 1) % span != 0) continue;
            /* a group ends: scale it into the totals, start the next */
            if (g < groups) {
#pragma GCC unroll 4
                for (size_t j = 0; j < NR; j++) {
                    const int32_t scale = sub[j][g];
                    for (size_t q = 0; q < QUADS; q++) tot[j][q] = vmlaq_n_s32(tot[j][q], grp[j][q], scale);
                }
            }
            g++;
            for (size_t q = 0; q < QUADS; q++) {
                const int32x4_t start = vld1q_s32(s->start[g < SLAB / MIN_GROUP ? g : 0][q]);
                for (size_t j = 0; j < NR; j++) grp[j][q] = start;
            }
        }
    }
    if (span == 0)
        for (size_t j = 0; j < NR; j++)
            for (size_t q = 0; q < QUADS; q++) tot[j][q] = vmlaq_n_s32(tot[j][q], grp[j][q], sub[j][0]);
}

/* 2- and 4-bit tiles in assembly: GCC 12 compiles tile() to register moves between
 * the SDOTs and address arithmetic for every load (4-bit, group size 0: 1.47x the
 * instructions of the int8 layer). A unit is 2 blocks (32 k) of every column: its 4
 * loads of packed bytes (post-indexed), 8 unpacks (AND with the mask or USHR), 8
 * loads of 64 bytes of interleaved a (post-indexed) and 128 SDOTs. One assembly
 * block runs a slab: for group size 0 its one group (tile_whole, span_asm), else every
 * group and its scaling into the totals (groups_asm). Registers:
 * v0-v3 a quad's a, v4-v7 the columns' unpacked codes, v8-v11 their packed bytes,
 * v13 a group's sub-scales, v16 + 4j + q the accumulator of column j and row quad q,
 * and the mask an operand in one of v12, v14, v15. */
#define ASM_SDOTS(acc, w)                                                                                          \
    "sdot " acc ".4s, v0.16b, " w ".4b[0]\n\t"                                                                      \
    "sdot " acc ".4s, v1.16b, " w ".4b[1]\n\t"                                                                      \
    "sdot " acc ".4s, v2.16b, " w ".4b[2]\n\t"                                                                      \
    "sdot " acc ".4s, v3.16b, " w ".4b[3]\n\t"
#define ASM_QUAD(a0, a1, a2, a3)                                                                                   \
    "ld1 {v0.16b-v3.16b}, [%[x]], #64\n\t" ASM_SDOTS(a0, "v4") ASM_SDOTS(a1, "v5") ASM_SDOTS(a2, "v6")              \
        ASM_SDOTS(a3, "v7")
#define ASM_BLOCK                                                                                                  \
    ASM_QUAD("v16", "v20", "v24", "v28") ASM_QUAD("v17", "v21", "v25", "v29") ASM_QUAD("v18", "v22", "v26", "v30") \
        ASM_QUAD("v19", "v23", "v27", "v31")
/* the packed bytes of the 4 columns, the pointers stepping by `step` */
#define ASM_LOAD(step)                                                                                             \
    "ldr q8, [%[c0]], #" step "\n\tldr q9, [%[c1]], #" step "\n\tldr q10, [%[c2]], #" step                        \
    "\n\tldr q11, [%[c3]], #" step "\n\t"
/* v4-v7 = op(v8-v11, arg) */
#define ASM_UNPACK(op, arg)                                                                                        \
    op " v4.16b, v8.16b, " arg "\n\t" op " v5.16b, v9.16b, " arg "\n\t" op " v6.16b, v10.16b, " arg "\n\t" op      \
       " v7.16b, v11.16b, " arg "\n\t"
#define ASM_AND ASM_UNPACK("and", "%[mask].16b")
#define ASM_USHR(n) ASM_UNPACK("ushr", "#" n)
#define ASM_MASK_V4_7                                                                                              \
    "and v4.16b, v4.16b, %[mask].16b\n\tand v5.16b, v5.16b, %[mask].16b\n\tand v6.16b, v6.16b, %[mask].16b\n\t"     \
    "and v7.16b, v7.16b, %[mask].16b\n\t"
/* 4-bit: a 16-byte run is 2 blocks, low nibbles then high. 2-bit: a run is 4 blocks,
 * fields 0 ... 3: two units (64 k) per loop step, the run loaded once. */
#define ASM_STEP_4BIT ASM_LOAD("16") ASM_AND ASM_BLOCK ASM_USHR("4") ASM_BLOCK
#define ASM_STEP_2BIT                                                                                              \
    ASM_LOAD("16") ASM_AND ASM_BLOCK ASM_USHR("2") ASM_MASK_V4_7 ASM_BLOCK ASM_USHR("4") ASM_MASK_V4_7 ASM_BLOCK    \
        ASM_USHR("6") ASM_BLOCK
#define ASM_START_QUAD(q, a0, a1, a2, a3)                                                                          \
    "mov " a0 ".16b, " q ".16b\n\tmov " a1 ".16b, " q ".16b\n\tmov " a2 ".16b, " q ".16b\n\tmov " a3 ".16b, " q      \
    ".16b\n\t"
#define ASM_LOOP_STORE(step)                                                                                       \
    "1:\n\t" step "subs %[n], %[n], #1\n\t"                                                                         \
    "b.ne 1b\n\t"                                                                                                  \
    "stp q16, q17, [%[out]]\n\tstp q18, q19, [%[out], #32]\n\tstp q20, q21, [%[out], #64]\n\t"                      \
    "stp q22, q23, [%[out], #96]\n\tstp q24, q25, [%[out], #128]\n\tstp q26, q27, [%[out], #160]\n\t"               \
    "stp q28, q29, [%[out], #192]\n\tstp q30, q31, [%[out], #224]\n\t"
/* from the 4 quads' start values at start */
#define ASM_SPAN(step)                                                                                             \
    "ld1 {v0.4s-v3.4s}, [%[start]]\n\t" ASM_START_QUAD("v0", "v16", "v20", "v24", "v28")                           \
        ASM_START_QUAD("v1", "v17", "v21", "v25", "v29") ASM_START_QUAD("v2", "v18", "v22", "v26", "v30")          \
            ASM_START_QUAD("v3", "v19", "v23", "v27", "v31") ASM_LOOP_STORE(step)
/* from the 16 accumulators' values at start ([column][quad][4], as out) */
#define ASM_SPAN_FROM(step)                                                                                        \
    "ldp q16, q17, [%[start]]\n\tldp q18, q19, [%[start], #32]\n\tldp q20, q21, [%[start], #64]\n\t"              \
    "ldp q22, q23, [%[start], #96]\n\tldp q24, q25, [%[start], #128]\n\tldp q26, q27, [%[start], #160]\n\t"       \
    "ldp q28, q29, [%[start], #192]\n\tldp q30, q31, [%[start], #224]\n\t" ASM_LOOP_STORE(step)
#define ASM_ARGS                                                                                                   \
    : [x] "+r"(*xp), [c0] "+r"(c[0]), [c1] "+r"(c[1]), [c2] "+r"(c[2]), [c3] "+r"(c[3]), [n] "+r"(steps)           \
    : [start] "r"(start), [out] "r"(out), [mask] "w"(mask)                                                                \
    : "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v16", "v17", "v18", "v19", "v20", \
      "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31", "cc", "memory"

#if QUADS != 4 || NR != 4
#error "the assembly tiles are 4 columns x 4 row quads"
#endif

/* out[j][q] = start[q] (per_column: start[j][q]) + the sums of `steps` loop steps
 * (4-bit: 32 k, 2-bit: 64 k) from *xp and c[j], which move past them. */
static void span_asm(unsigned bits, size_t steps, const int8_t **xp, const uint8_t *c[NR], const int32_t *start,
                     int per_column, int32_t out[NR][QUADS][4]) {
    const uint8x16_t mask = vdupq_n_u8(bits == 4 ? 15 : 3);
    if (per_column) {
        if (bits == 4)
            __asm__ volatile(ASM_SPAN_FROM(ASM_STEP_4BIT) ASM_ARGS);
        else
            __asm__ volatile(ASM_SPAN_FROM(ASM_STEP_2BIT) ASM_ARGS);
    } else {
        if (bits == 4)
            __asm__ volatile(ASM_SPAN(ASM_STEP_4BIT) ASM_ARGS);
        else
            __asm__ volatile(ASM_SPAN(ASM_STEP_2BIT) ASM_ARGS);
    }
}

/* Group size 0 with sub-scales 1 (what the format has), 2 or 4 bits: a tile's whole
 * slab in one assembly block that also starts the accumulators and stores them into
 * c's rows. Here v16 + 4q + j is the accumulator of row quad q and column j, so lane r
 * of v16 + 4q ... v16 + 4q + 3 is row 4q + r's 4 columns: one LD4/ST4 (single
 * structure) each, no transposes. */
#define ASM_BLOCK_ROWS                                                                                             \
    ASM_QUAD("v16", "v17", "v18", "v19") ASM_QUAD("v20", "v21", "v22", "v23") ASM_QUAD("v24", "v25", "v26", "v27") \
        ASM_QUAD("v28", "v29", "v30", "v31")
/* 4-bit: 64 k per loop step (a slab is whole chunks), fewer loop branches */
#define ASM_STEP_ROWS_4BIT                                                                                         \
    ASM_LOAD("16") ASM_AND ASM_BLOCK_ROWS ASM_USHR("4") ASM_BLOCK_ROWS ASM_LOAD("16") ASM_AND ASM_BLOCK_ROWS       \
        ASM_USHR("4") ASM_BLOCK_ROWS
#define ASM_STEP_ROWS_2BIT                                                                                         \
    ASM_LOAD("16") ASM_AND ASM_BLOCK_ROWS ASM_USHR("2") ASM_MASK_V4_7 ASM_BLOCK_ROWS ASM_USHR("4") ASM_MASK_V4_7    \
        ASM_BLOCK_ROWS ASM_USHR("6") ASM_BLOCK_ROWS
/* op (ld4 or st4) of row quad q's lanes 0 ... 3 (rows 4q ... 4q + 3) at p, which steps by ldo */
#define ASM_ROWS(op, a0, a3)                                                                                       \
    op " {" a0 ".s-" a3 ".s}[0], [%[p]], %[ldo]\n\t" op " {" a0 ".s-" a3 ".s}[1], [%[p]], %[ldo]\n\t" op " {" a0  \
       ".s-" a3 ".s}[2], [%[p]], %[ldo]\n\t" op " {" a0 ".s-" a3 ".s}[3], [%[p]], %[ldo]\n\t"
#define ASM_ALL_ROWS(op)                                                                                           \
    "mov %[p], %[out]\n\t" ASM_ROWS(op, "v16", "v19") ASM_ROWS(op, "v20", "v23") ASM_ROWS(op, "v24", "v27")        \
        ASM_ROWS(op, "v28", "v31")
/* v16 + 4q + j (+)= the quad's start v0 ... v3 */
#define ASM_ADD_START(dst, src)                                                                                    \
    "add v20.4s, " src "16.4s, v1.4s\n\tadd v21.4s, " src "17.4s, v1.4s\n\tadd v22.4s, " src "18.4s, v1.4s\n\t"    \
    "add v23.4s, " src "19.4s, v1.4s\n\tadd v24.4s, " src "16.4s, v2.4s\n\tadd v25.4s, " src "17.4s, v2.4s\n\t"    \
    "add v26.4s, " src "18.4s, v2.4s\n\tadd v27.4s, " src "19.4s, v2.4s\n\tadd v28.4s, " src "16.4s, v3.4s\n\t"    \
    "add v29.4s, " src "17.4s, v3.4s\n\tadd v30.4s, " src "18.4s, v3.4s\n\tadd v31.4s, " src "19.4s, v3.4s\n\t"    \
    "add v16.4s, v16.4s, v0.4s\n\tadd v17.4s, v17.4s, v0.4s\n\tadd v18.4s, v18.4s, v0.4s\n\t"                      \
    "add v19.4s, v19.4s, v0.4s\n\t"
/* from the 4 biases (LD4R: v16 ... v19 = one each) + the starts */
#define ASM_FROM_BIAS "ld4r {v16.4s-v19.4s}, [%[bias]]\n\tld1 {v0.4s-v3.4s}, [%[start]]\n\t" ASM_ADD_START("", "v")
/* from out's rows + the starts */
#define ASM_FROM_OUT                                                                                               \
    ASM_ALL_ROWS("ld4") "ld1 {v0.4s-v3.4s}, [%[start]]\n\t"                                                        \
    "add v16.4s, v16.4s, v0.4s\n\tadd v17.4s, v17.4s, v0.4s\n\tadd v18.4s, v18.4s, v0.4s\n\t"                      \
    "add v19.4s, v19.4s, v0.4s\n\tadd v20.4s, v20.4s, v1.4s\n\tadd v21.4s, v21.4s, v1.4s\n\t"                      \
    "add v22.4s, v22.4s, v1.4s\n\tadd v23.4s, v23.4s, v1.4s\n\tadd v24.4s, v24.4s, v2.4s\n\t"                      \
    "add v25.4s, v25.4s, v2.4s\n\tadd v26.4s, v26.4s, v2.4s\n\tadd v27.4s, v27.4s, v2.4s\n\t"                      \
    "add v28.4s, v28.4s, v3.4s\n\tadd v29.4s, v29.4s, v3.4s\n\tadd v30.4s, v30.4s, v3.4s\n\t"                      \
    "add v31.4s, v31.4s, v3.4s\n\t"
#define ASM_ROWS_TILE(init, step) init "1:\n\t" step "subs %[n], %[n], #1\n\tb.ne 1b\n\t" ASM_ALL_ROWS("st4")
#define ASM_ROWS_ARGS                                                                                              \
    : [x] "+r"(xp), [c0] "+r"(c[0]), [c1] "+r"(c[1]), [c2] "+r"(c[2]), [c3] "+r"(c[3]), [n] "+r"(steps),          \
      [p] "=&r"(p)                                                                                                 \
    : [bias] "r"(bias), [start] "r"(start), [out] "r"(out), [ldo] "r"(ldo), [mask] "w"(mask)                       \
    : "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v16", "v17", "v18", "v19", "v20", \
      "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31", "cc", "memory"

/* Rows 0 ... 15 of out (row stride ldo int32), columns 0 ... 3, = (bias ? the 4
 * biases : out) + the start values + the slab's sums: `steps` loop steps of 64 k from x
 * and col[j]. */
static inline __attribute__((always_inline)) void tile_rows(unsigned bits, size_t steps, const int8_t *x, const uint8_t *const col[NR],
                      const int32_t *bias, const int32_t *start, int32_t *out, size_t ldo_elements) {
    const uint8x16_t mask = vdupq_n_u8(bits == 4 ? 15 : 3);
    const int8_t *xp = x;
    const uint8_t *c[NR] = {col[0], col[1], col[2], col[3]};
    const size_t ldo = ldo_elements * sizeof *out;
    int32_t *p;
    if (bias) {
        if (bits == 4)
            __asm__ volatile(ASM_ROWS_TILE(ASM_FROM_BIAS, ASM_STEP_ROWS_4BIT) ASM_ROWS_ARGS);
        else
            __asm__ volatile(ASM_ROWS_TILE(ASM_FROM_BIAS, ASM_STEP_ROWS_2BIT) ASM_ROWS_ARGS);
    } else {
        if (bits == 4)
            __asm__ volatile(ASM_ROWS_TILE(ASM_FROM_OUT, ASM_STEP_ROWS_4BIT) ASM_ROWS_ARGS);
        else
            __asm__ volatile(ASM_ROWS_TILE(ASM_FROM_OUT, ASM_STEP_ROWS_2BIT) ASM_ROWS_ARGS);
    }
}

/* 4-bit codes with groups: the accumulators run over the whole slab without
 * restarting, and each group's end adds the running sums G_g times s_g - s_{g+1}
 * (the last group: times s_g) into the totals, which is sum_g s_g * (G_g - G_{g-1})
 * (summation by parts). For that the sums must be of q itself, not of u = q + 8 with
 * the offset term per group: the codes are made signed nibbles by an EOR with 0x88
 * (u XOR 8 is q's two's complement in 4 bits), the high one is then an arithmetic
 * shift right by 4, the low one a shift left by 4 and back. int32 wraps modulo 2^32
 * and the result fits int32, so the running sums and the scale differences need no
 * bound of their own. The totals ([quad][column][4 rows], tot) are in memory; v12
 * holds the group's sub-scales, v13 the next group's, v14 their difference; v15 the
 * 0x88 bytes. */
#define ASM_COLUMNS(op, d, s, arg)                                                                                 \
    op " " d "4.16b, " s "8.16b, " arg "\n\t" op " " d "5.16b, " s "9.16b, " arg "\n\t" op " " d "6.16b, " s        \
       "10.16b, " arg "\n\t" op " " d "7.16b, " s "11.16b, " arg "\n\t"
#define ASM_STEP_SIGNED_4BIT                                                                                       \
    ASM_LOAD("16")                                                                                                 \
    "eor v8.16b, v8.16b, %[flip].16b\n\teor v9.16b, v9.16b, %[flip].16b\n\t"                                       \
    "eor v10.16b, v10.16b, %[flip].16b\n\teor v11.16b, v11.16b, %[flip].16b\n\t" ASM_COLUMNS("shl", "v", "v", "#4") \
        "sshr v4.16b, v4.16b, #4\n\tsshr v5.16b, v5.16b, #4\n\tsshr v6.16b, v6.16b, #4\n\t"                        \
        "sshr v7.16b, v7.16b, #4\n\t" ASM_BLOCK_ROWS ASM_COLUMNS("sshr", "v", "v", "#4") ASM_BLOCK_ROWS
/* the low bytes of v's lanes (the others stay 0) = the 4 columns' sub-scales at s0 ...
 * s3, which step to the next group */
#define ASM_SCALES(v)                                                                                              \
    "ld1 {" v ".b}[0], [%[s0]], #1\n\tld1 {" v ".b}[4], [%[s1]], #1\n\tld1 {" v ".b}[8], [%[s2]], #1\n\t"         \
    "ld1 {" v ".b}[12], [%[s3]], #1\n\t"
/* tot[q][j] += accumulator (q, j) * lane j of m */
#define ASM_TOT_QUAD(a0, a1, a2, a3, m)                                                                            \
    "ld1 {v0.4s-v3.4s}, [%[tot]]\n\t"                                                                               \
    "mla v0.4s, " a0 ".4s, " m ".s[0]\n\tmla v1.4s, " a1 ".4s, " m ".s[1]\n\t"                                     \
    "mla v2.4s, " a2 ".4s, " m ".s[2]\n\tmla v3.4s, " a3 ".4s, " m ".s[3]\n\t"                                     \
    "st1 {v0.4s-v3.4s}, [%[tot]], #64\n\t"
#define ASM_TOT(m)                                                                                                 \
    ASM_TOT_QUAD("v16", "v17", "v18", "v19", m) ASM_TOT_QUAD("v20", "v21", "v22", "v23", m)                        \
        ASM_TOT_QUAD("v24", "v25", "v26", "v27", m) ASM_TOT_QUAD("v28", "v29", "v30", "v31", m)                    \
            "sub %[tot], %[tot], #256\n\t"
/* a group's codes: 32 k unrolled, or a loop of `steps` steps of 64 k */
#define ASM_GROUP_32 ASM_STEP_SIGNED_4BIT
#define ASM_GROUP_LOOP                                                                                             \
    "mov %[n], %[steps]\n\t1:\n\t" ASM_STEP_SIGNED_4BIT ASM_STEP_SIGNED_4BIT "subs %[n], %[n], #1\n\tb.ne 1b\n\t"
#define ASM_ZERO_ACCUMULATORS                                                                                      \
    "movi v16.4s, #0\n\tmovi v17.4s, #0\n\tmovi v18.4s, #0\n\tmovi v19.4s, #0\n\tmovi v20.4s, #0\n\t"              \
    "movi v21.4s, #0\n\tmovi v22.4s, #0\n\tmovi v23.4s, #0\n\tmovi v24.4s, #0\n\tmovi v25.4s, #0\n\t"              \
    "movi v26.4s, #0\n\tmovi v27.4s, #0\n\tmovi v28.4s, #0\n\tmovi v29.4s, #0\n\tmovi v30.4s, #0\n\t"              \
    "movi v31.4s, #0\n\t"
#define ASM_STORE_TOT                                                                                              \
    "st1 {v16.4s-v19.4s}, [%[tot]], #64\n\tst1 {v20.4s-v23.4s}, [%[tot]], #64\n\t"                                \
    "st1 {v24.4s-v27.4s}, [%[tot]], #64\n\tst1 {v28.4s-v31.4s}, [%[tot]]\n\tsub %[tot], %[tot], #192\n\t"
#define ASM_LOAD_TOT                                                                                               \
    "ld1 {v16.4s-v19.4s}, [%[tot]], #64\n\tld1 {v20.4s-v23.4s}, [%[tot]], #64\n\t"                                \
    "ld1 {v24.4s-v27.4s}, [%[tot]], #64\n\tld1 {v28.4s-v31.4s}, [%[tot]]\n\t"
/* the totals from the biases (LD4R) or out's rows; all groups; out's rows from the totals */
#define ASM_GROUPS_TILE(init, group)                                                                               \
    init ASM_STORE_TOT ASM_ZERO_ACCUMULATORS "movi v12.4s, #0\n\tmovi v13.4s, #0\n\t" ASM_SCALES("v12") "subs %[groups], %[groups], #1\n\tb.eq 3f\n\t"     \
    "2:\n\t" group ASM_SCALES("v13") "sub v14.4s, v12.4s, v13.4s\n\tmov v12.16b, v13.16b\n\t"             \
        ASM_TOT("v14") "subs %[groups], %[groups], #1\n\tb.ne 2b\n\t"                                              \
    "3:\n\t" group ASM_TOT("v12") ASM_LOAD_TOT ASM_ALL_ROWS("st4")
#define ASM_FROM_BIASES                                                                                            \
    "ld4r {v16.4s-v19.4s}, [%[bias]]\n\tld4r {v20.4s-v23.4s}, [%[bias]]\n\tld4r {v24.4s-v27.4s}, [%[bias]]\n\t"   \
    "ld4r {v28.4s-v31.4s}, [%[bias]]\n\t"
#define ASM_GROUPS_TILE_ARGS                                                                                       \
    : [x] "+r"(xp), [c0] "+r"(c[0]), [c1] "+r"(c[1]), [c2] "+r"(c[2]), [c3] "+r"(c[3]), [s0] "+r"(sp[0]),        \
      [s1] "+r"(sp[1]), [s2] "+r"(sp[2]), [s3] "+r"(sp[3]), [groups] "+r"(groups), [tot] "+r"(tp), [n] "=&r"(n),  \
      [p] "=&r"(p)                                                                                                 \
    : [steps] "r"(steps), [bias] "r"(bias), [out] "r"(out), [ldo] "r"(ldo), [flip] "w"(flip)                       \
    : "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v16", "v17", \
      "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31", "cc",      \
      "memory"

/* Rows 0 ... 15 of out (row stride ldo int32), columns 0 ... 3, = (bias ? the 4
 * biases : out) + the slab's `groups` (>= 1) groups of 4-bit codes of `steps` * 64 k
 * each (steps 0: 32 k), from x, col[j] and the sub-scales sub[j]. */
static inline __attribute__((always_inline)) void tile_groups(size_t steps, size_t groups, const int8_t *x,
                                                              const uint8_t *const col[NR],
                                                              const uint8_t *const sub[NR], const int32_t *bias,
                                                              int32_t *out, size_t ldo_elements) {
    const int8x16_t flip = vdupq_n_s8((int8_t)0x88);
    int32_t tot[QUADS][NR][4] __attribute__((aligned(16)));
    int32_t *tp = tot[0][0], *p;
    const int8_t *xp = x;
    const uint8_t *c[NR] = {col[0], col[1], col[2], col[3]}, *sp[NR] = {sub[0], sub[1], sub[2], sub[3]};
    const size_t ldo = ldo_elements * sizeof *out;
    size_t n;
    if (bias && steps == 0)
        __asm__ volatile(ASM_GROUPS_TILE(ASM_FROM_BIASES, ASM_GROUP_32) ASM_GROUPS_TILE_ARGS);
    else if (bias)
        __asm__ volatile(ASM_GROUPS_TILE(ASM_FROM_BIASES, ASM_GROUP_LOOP) ASM_GROUPS_TILE_ARGS);
    else if (steps == 0)
        __asm__ volatile(ASM_GROUPS_TILE(ASM_ALL_ROWS("ld4"), ASM_GROUP_32) ASM_GROUPS_TILE_ARGS);
    else
        __asm__ volatile(ASM_GROUPS_TILE(ASM_ALL_ROWS("ld4"), ASM_GROUP_LOOP) ASM_GROUPS_TILE_ARGS);
}

/* One 16 x 4 tile (tile_rows or tile_groups) of col[j], sub[j] at out. */
static inline __attribute__((always_inline)) void fast_tile(unsigned bits, size_t group_size, const slab *s,
                                                            size_t chunks, size_t groups,
                                                            const uint8_t *const col[NR],
                                                            const uint8_t *const sub[NR], const int32_t *bias,
                                                            int32_t *out, size_t ldo) {
    if (group_size == 0)
        tile_rows(bits, chunks * CHUNK / 64, s->x[0][0], col, bias, s->start[0][0], out, ldo);
    else
        tile_groups(group_size / 64, groups, s->x[0][0], col, sub, bias, out, ldo);
}

/* c's rows 0 ... mr - 1, columns j0 ... j1 - 1 of w (at ct, row stride ldc) after the
 * slab from k0 (chunks chunks, its first `groups` groups; all_groups per row of w) by
 * tile_rows or tile_groups (see fast_path): the first slab from the biases, a later
 * one adding to c. An edge tile (mr < 16 or fewer than 4 columns left) goes through a
 * 16 x 4 copy. */
static __attribute__((noinline)) void fast_tiles(const lowbit_weights *w, const slab *s, size_t chunks, size_t groups,
                                                 size_t all_groups, size_t k0, size_t j0, size_t j1, size_t mr,
                                                 int32_t *ct, size_t ldc) {
    const unsigned bits = w->bits;
    const size_t rb = w->row_bytes, group_size = w->group_size;
    const uint8_t *codes = w->codes + j0 * rb + k0 / CHUNK * (CHUNK / 8 * bits);
    const uint8_t *sub = w->sub + j0 * all_groups + (group_size ? k0 / group_size : 0);
    const int32_t *bias = k0 ? NULL : w->bias ? w->bias + j0 : ZEROS;
    const size_t bias_step = bias && w->bias ? NR : 0;
    size_t jb = j0;
    if (mr == MR)
        for (; jb + NR <= j1; jb += NR, codes += NR * rb, sub += NR * all_groups, bias += bias_step, ct += NR) {
            const uint8_t *const col[NR] = {codes, codes + rb, codes + 2 * rb, codes + 3 * rb};
            const uint8_t *const subs[NR] = {sub, sub + all_groups, sub + 2 * all_groups, sub + 3 * all_groups};
            fast_tile(bits, group_size, s, chunks, groups, col, subs, bias, ct, ldc);
        }
    for (; jb < j1; jb += NR, codes += NR * rb, sub += NR * all_groups, bias += bias_step, ct += NR) {
        const size_t nr = j1 - jb < NR ? j1 - jb : NR, last = nr - 1;
        const size_t j2 = nr > 2 ? 2 : last, j1_ = nr > 1 ? 1 : last;
        const uint8_t *const col[NR] = {codes, codes + j1_ * rb, codes + j2 * rb, codes + last * rb};
        const uint8_t *const subs[NR] = {sub, sub + j1_ * all_groups, sub + j2 * all_groups, sub + last * all_groups};
        int32_t edge[MR][NR] = {{0}}, edge_bias[NR] = {0};
        if (bias) memcpy(edge_bias, bias, nr * sizeof *bias);
        else
            for (size_t r = 0; r < mr; r++) memcpy(edge[r], ct + r * ldc, nr * sizeof *ct);
        fast_tile(bits, group_size, s, chunks, groups, col, subs, bias ? edge_bias : NULL, edge[0], NR);
        for (size_t r = 0; r < mr; r++) memcpy(ct + r * ldc, edge[r], nr * sizeof *ct);
    }
}

/* Every group of a slab in one assembly block: each group starts the accumulators at
 * its start values, runs its steps, then loads its 4 sub-scales into the 32-bit lanes
 * of v13 and adds accumulator x sub-scale (MLA by element) into the totals in memory
 * ([column][quad][4], tot). */
#define ASM_SCALE_COLUMN(j, a0, a1, a2, a3)                                                                        \
    "ld1 {v0.4s-v3.4s}, [%[tot]]\n\t"                                                                               \
    "mla v0.4s, " a0 ".4s, v13.s[" j "]\n\tmla v1.4s, " a1 ".4s, v13.s[" j "]\n\t"                                 \
    "mla v2.4s, " a2 ".4s, v13.s[" j "]\n\tmla v3.4s, " a3 ".4s, v13.s[" j "]\n\t"                                 \
    "st1 {v0.4s-v3.4s}, [%[tot]], #64\n\t"
#define ASM_GROUPS(step)                                                                                           \
    "2:\n\t"                                                                                                       \
    "ld1 {v0.4s-v3.4s}, [%[start]], #64\n\t" ASM_START_QUAD("v0", "v16", "v20", "v24", "v28")                      \
        ASM_START_QUAD("v1", "v17", "v21", "v25", "v29") ASM_START_QUAD("v2", "v18", "v22", "v26", "v30")          \
            ASM_START_QUAD("v3", "v19", "v23", "v27", "v31") "mov %[n], %[steps]\n\t"                              \
            "1:\n\t" step "subs %[n], %[n], #1\n\t"                                                                \
            "b.ne 1b\n\t"                                                                                          \
            "movi v13.4s, #0\n\t"                                                                                  \
            "ld1 {v13.b}[0], [%[s0]], #1\n\tld1 {v13.b}[4], [%[s1]], #1\n\t"                                       \
            "ld1 {v13.b}[8], [%[s2]], #1\n\tld1 {v13.b}[12], [%[s3]], #1\n\t" ASM_SCALE_COLUMN(                  \
                "0", "v16", "v17", "v18", "v19") ASM_SCALE_COLUMN("1", "v20", "v21", "v22", "v23")                 \
                ASM_SCALE_COLUMN("2", "v24", "v25", "v26", "v27") ASM_SCALE_COLUMN("3", "v28", "v29", "v30", "v31") \
                    "sub %[tot], %[tot], #256\n\t"                                                                 \
                    "subs %[groups], %[groups], #1\n\t"                                                            \
                    "b.ne 2b\n\t"
#define ASM_GROUPS_ARGS                                                                                            \
    : [x] "+r"(xp), [c0] "+r"(c[0]), [c1] "+r"(c[1]), [c2] "+r"(c[2]), [c3] "+r"(c[3]), [s0] "+r"(sp[0]),        \
      [s1] "+r"(sp[1]), [s2] "+r"(sp[2]), [s3] "+r"(sp[3]), [start] "+r"(start), [groups] "+r"(groups),          \
      [tot] "+r"(tp), [n] "=&r"(n)                                                                                 \
    : [steps] "r"(steps), [mask] "w"(mask)                                                                                \
    : "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v13", "v16", "v17", "v18", "v19", \
      "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31", "cc", "memory"

/* tot += the slab's `groups` (>= 1) groups of `steps` loop steps each, 2 or 4 bits. */
static void groups_asm(unsigned bits, size_t steps, size_t groups, const slab *s, const uint8_t *const col[NR],
                       const uint8_t *const sub[NR], int32x4_t tot[NR][QUADS]) {
    const uint8x16_t mask = vdupq_n_u8(bits == 4 ? 15 : 3);
    const int8_t *xp = s->x[0][0];
    const uint8_t *c[NR] = {col[0], col[1], col[2], col[3]}, *sp[NR] = {sub[0], sub[1], sub[2], sub[3]};
    const int32_t *start = s->start[0][0];
    int32_t *tp = (int32_t *)(void *)tot;
    size_t n;
    if (bits == 4)
        __asm__ volatile(ASM_GROUPS(ASM_STEP_4BIT) ASM_GROUPS_ARGS);
    else
        __asm__ volatile(ASM_GROUPS(ASM_STEP_2BIT) ASM_GROUPS_ARGS);
}

/* tile() for 2 bits (groups of 64, 128 or one group) and 4 bits (any groups). */
static void tile_asm(unsigned bits, size_t group_size, const slab *s, size_t chunks, const uint8_t *const col[NR],
                     const uint8_t *const sub[NR], size_t groups, int32x4_t tot[NR][QUADS]) {
    const size_t k_per_step = bits == 4 ? 32 : 64;
    const size_t span_steps = group_size ? group_size / k_per_step : chunks * CHUNK / k_per_step;
    const size_t spans = chunks * CHUNK / k_per_step / span_steps;
    const int8_t *xp = s->x[0][0];
    const uint8_t *c[NR] = {col[0], col[1], col[2], col[3]};
    int32_t out[NR][QUADS][4] __attribute__((aligned(16)));
    if (group_size == 0 && sub[0][0] == 1 && sub[1][0] == 1 && sub[2][0] == 1 && sub[3][0] == 1) {
        /* one group with sub-scale 1 (what the format has for group size 0): the
         * accumulators start at the totals plus the offset term and end as the totals */
        for (size_t j = 0; j < NR; j++)
            for (size_t q = 0; q < QUADS; q++) vst1q_s32(out[j][q], vaddq_s32(tot[j][q], vld1q_s32(s->start[0][q])));
        span_asm(bits, span_steps, &xp, c, out[0][0], 1, out);
        for (size_t j = 0; j < NR; j++)
            for (size_t q = 0; q < QUADS; q++) tot[j][q] = vld1q_s32(out[j][q]);
        return;
    }
    if (group_size != 0) {
        groups_asm(bits, span_steps, spans < groups ? spans : groups, s, col, sub, tot);
        return;
    }
    for (size_t g = 0; g < spans && g < groups; g++) {
        span_asm(bits, span_steps, &xp, c, s->start[g][0], 0, out);
        for (size_t j = 0; j < NR; j++)
            for (size_t q = 0; q < QUADS; q++) tot[j][q] = vmlaq_n_s32(tot[j][q], vld1q_s32(out[j][q]), sub[j][g]);
    }
}

/* tile() with bits and span constants, so every unpack is immediates and every
 * group's end a fixed place: one function each (inlined into one switch, GCC 12
 * allocates registers for all of them at once and spills). */
typedef void (*tile_fn)(const slab *s, size_t chunks, const uint8_t *const col[NR], const uint8_t *const sub[NR],
                        size_t groups, int32x4_t tot[NR][QUADS]);
#define TILE_FN(bits, span)                                                                                        \
    static __attribute__((noinline)) void tile_##bits##_##span(const slab *s, size_t chunks,                       \
                                                               const uint8_t *const col[NR],                       \
                                                               const uint8_t *const sub[NR], size_t groups,        \
                                                               int32x4_t tot[NR][QUADS]) {                         \
        tile(bits, span, s, chunks, col, sub, groups, tot);                                                        \
    }
#define TILE_FNS(bits) TILE_FN(bits, 0) TILE_FN(bits, 2) TILE_FN(bits, 4) TILE_FN(bits, 8)
TILE_FNS(2)
TILE_FNS(3)
TILE_FNS(6)
#undef TILE_FNS
#undef TILE_FN

/* [bits 2, 3, 6][span 0, 2, 4, 8] */
static const tile_fn TILES[3][4] = {{tile_2_0, tile_2_2, tile_2_4, tile_2_8},
                                    {tile_3_0, tile_3_2, tile_3_4, tile_3_8},
                                    {tile_6_0, tile_6_2, tile_6_4, tile_6_8}};

static void run_tile(unsigned bits, size_t group_size, const slab *s, size_t chunks, const uint8_t *const col[NR],
                     const uint8_t *const sub[NR], size_t groups, int32x4_t tot[NR][QUADS]) {
    if (bits == 4 || (bits == 2 && group_size != 32)) {
        tile_asm(bits, group_size, s, chunks, col, sub, groups, tot);
        return;
    }
    const size_t span = group_size == 0 ? 0 : group_size == 32 ? 1 : group_size == 64 ? 2 : 3;
    TILES[bits == 2 ? 0 : bits == 3 ? 1 : 2][span](s, chunks, col, sub, groups, tot);
}

void gemm_s8sxs32_16x4c4__neondot(size_t m, size_t j0, size_t j1, size_t k_len, const int8_t *a, size_t lda,
                                 const lowbit_weights *w, int32_t *c, size_t ldc) {
    slab s __attribute__((aligned(64)));
    const size_t all_groups = w->group_size ? k_len / w->group_size : 1;
    const int32_t offset = 1 << (w->bits - 1);
    /* fast_tiles: group size 0 with sub-scales 1 (what the format has), 2 or 4 bits; 4 bits with groups */
    int fast = w->bits == 4 || (w->bits == 2 && w->group_size == 0);
    for (size_t j = j0; j < j1 && fast && w->group_size == 0; j++) fast = w->sub[j] == 1;
    for (size_t i0 = 0; i0 < m; i0 += MR) {
        const size_t mr = m - i0 < MR ? m - i0 : MR;
        for (size_t k0 = 0; k0 < k_len; k0 += SLAB) {
            const size_t kc = k_len - k0 < SLAB ? k_len - k0 : SLAB, chunks = (kc + CHUNK - 1) / CHUNK;
            const size_t group = w->group_size ? w->group_size : chunks * CHUNK;
            const size_t groups = w->group_size ? kc / w->group_size : 1;
            interleave(a + i0 * lda + k0, lda, mr, kc, group, offset, &s);
            if (fast) {
                fast_tiles(w, &s, chunks, groups, all_groups, k0, j0, j1, mr, c + i0 * ldc, ldc);
                continue;
            }
            for (size_t jb = j0; jb < j1; jb += NR) {
                const size_t nr = j1 - jb < NR ? j1 - jb : NR;
                const uint8_t *col[NR], *sub[NR];
                int32x4_t tot[NR][QUADS];
                for (size_t j = 0; j < NR; j++) {
                    const size_t n = jb + (j < nr ? j : nr - 1);
                    col[j] = w->codes + n * w->row_bytes + k0 / CHUNK * (CHUNK / 8 * w->bits);
                    sub[j] = w->sub + n * all_groups + (w->group_size ? k0 / w->group_size : 0);
                }
                int32_t *ct = c + i0 * ldc + (jb - j0);
                if (k0 == 0) {
                    for (size_t j = 0; j < NR; j++) {
                        const int32x4_t b = vdupq_n_s32(w->bias && j < nr ? w->bias[jb + j] : 0);
                        for (size_t q = 0; q < QUADS; q++) tot[j][q] = b;
                    }
                } else { /* a later slab adds to what c holds */
                    for (size_t q = 0; q < QUADS; q++) {
                        int32_t rows[4][NR] = {{0}};
                        int32x4_t in[4], out[4];
                        for (size_t r = 0; r < 4 && 4 * q + r < mr; r++)
                            memcpy(rows[r], ct + (4 * q + r) * ldc, nr * sizeof *ct);
                        for (size_t r = 0; r < 4; r++) in[r] = vld1q_s32(rows[r]);
                        transpose4(in, out);
                        for (size_t j = 0; j < NR; j++) tot[j][q] = out[j];
                    }
                }
                run_tile(w->bits, w->group_size, &s, chunks, col, sub, groups, tot);
                for (size_t q = 0; q < QUADS && 4 * q < mr; q++) {
                    int32x4_t in[4], out[4];
                    for (size_t j = 0; j < NR; j++) in[j] = tot[j][q];
                    transpose4(in, out); /* out[r]: row 4q + r, lanes = columns */
                    for (size_t r = 0; r < 4 && 4 * q + r < mr; r++) {
                        int32_t *dst = ct + (4 * q + r) * ldc;
                        if (nr == NR) {
                            vst1q_s32(dst, out[r]);
                        } else {
                            int32_t lanes[NR];
                            vst1q_s32(lanes, out[r]);
                            memcpy(dst, lanes, nr * sizeof *dst);
                        }
                    }
                }
            }
        }
    }
}
