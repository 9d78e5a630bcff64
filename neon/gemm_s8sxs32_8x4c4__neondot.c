/* gemm_s8sxs32_8x4c4__neondot: a low-bit linear layer (kernels.h, gemm_s8sxs32_fn)
 * with SDOT (ARMv8.2 dotprod), reading the file's packed 2/3/4/6-bit rows directly.
 *
 * The packed layout gives 16 consecutive codes of one output column per register
 * after one AND or shift (lowbit_unpack_neon.h). SDOT by element multiplies four
 * 4-byte groups of one register by one 4-byte group of another, so the weights are
 * the indexed operand: lane l of a column's register holds k 4l ... 4l + 3, and the
 * other operand holds those 4 k of 4 rows of a. So a is interleaved first, per 8
 * rows and up to SLAB k, into [16-k block][row quad][l][row][4 k] on the stack;
 * then each accumulator holds 4 rows of one column (lanes = rows), and one block
 * of 16 k is, per 4 columns: 2 loads of 64 bytes (both quads' a), 4 unpacks (a load
 * and an AND or shift for 4-bit; one load serves two blocks), 32 SDOTs.
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
#error "gemm_s8sxs32_8x4c4__neondot needs the dotprod extension (-march=armv8.2-a+dotprod)"
#endif

#include <arm_neon.h>
#include <string.h>

#include "kernels/kernels.h"
#include "lowbit_unpack_neon.h"

#define QUADS 2            /* row quads per tile: 8 rows */
#define MR (4 * QUADS)
#define NR 4               /* columns per tile */
#define CHUNK 128          /* codes per packed chunk */
#define SLAB 2048          /* k per interleaved copy of a (a multiple of CHUNK): 16 KiB */
#define MIN_GROUP 32

/* a's rows interleaved for SDOT, and the offset terms of each group. */
typedef struct slab {
    int8_t x[SLAB / 16][QUADS][64];
    int32_t start[SLAB / MIN_GROUP][QUADS][4]; /* -2^(bits-1) * sum of x over group g, per row */
} slab;

/* Rows 0 ... mr - 1 of a, k 0 ... kc - 1, into s (zeros past mr and kc up to whole
 * chunks), and the groups' starts for groups of `group` k. */
static void interleave(const int8_t *a, size_t lda, size_t mr, size_t kc, size_t group, int32_t offset, slab *s) {
    const size_t padded = (kc + CHUNK - 1) / CHUNK * CHUNK;
    memset(s->x, 0, padded / 16 * sizeof s->x[0]);
    memset(s->start, 0, (padded / group) * sizeof s->start[0]);
    for (size_t r = 0; r < mr; r++) {
        const int8_t *row = a + r * lda;
        int32_t *start = &s->start[0][r / 4][r % 4];
        int32_t sum = 0;
        for (size_t k = 0; k < kc; k++) {
            s->x[k / 16][r / 4][(k % 16) / 4 * 16 + r % 4 * 4 + k % 4] = row[k];
            sum += row[k];
            if ((k + 1) % group == 0 || k + 1 == kc) {
                start[k / group * QUADS * 4] = -offset * sum;
                sum = 0;
            }
        }
    }
}

/* 4 registers of 4 int32 transposed: out[i] lane j = in[j] lane i. */
static inline void transpose4(const int32x4_t in[4], int32x4_t out[4]) {
    const int32x4_t t0 = vtrn1q_s32(in[0], in[1]), t1 = vtrn2q_s32(in[0], in[1]);
    const int32x4_t t2 = vtrn1q_s32(in[2], in[3]), t3 = vtrn2q_s32(in[2], in[3]);
    out[0] = vreinterpretq_s32_s64(vtrn1q_s64(vreinterpretq_s64_s32(t0), vreinterpretq_s64_s32(t2)));
    out[1] = vreinterpretq_s32_s64(vtrn1q_s64(vreinterpretq_s64_s32(t1), vreinterpretq_s64_s32(t3)));
    out[2] = vreinterpretq_s32_s64(vtrn2q_s64(vreinterpretq_s64_s32(t0), vreinterpretq_s64_s32(t2)));
    out[3] = vreinterpretq_s32_s64(vtrn2q_s64(vreinterpretq_s64_s32(t1), vreinterpretq_s64_s32(t3)));
}

/* One tile's pass over a slab: tot[j][q] (lanes = rows 4q ... 4q + 3 of column j) +=
 * the slab's part of the accumulator. col[j] is column j's first chunk of the slab,
 * sub[j] its sub-scale of the slab's first group; gblocks = group / 16 (0: group
 * size 0, one group with sub-scale 1); groups = the slab's groups that exist. */
static inline __attribute__((always_inline)) void tile(unsigned bits, size_t gblocks, const slab *s, size_t chunks,
                                                       const uint8_t *const col[NR], const uint8_t *const sub[NR],
                                                       size_t groups, int32x4_t tot[NR][QUADS]) {
    const size_t chunk_bytes = CHUNK / 8 * bits;
    int32x4_t grp[NR][QUADS];
    for (size_t q = 0; q < QUADS; q++) {
        const int32x4_t start = vld1q_s32(s->start[0][q]);
        for (size_t j = 0; j < NR; j++) grp[j][q] = start;
    }
    size_t g = 0;
    for (size_t c = 0; c < chunks; c++) {
        for (unsigned t = 0; t < CHUNK / 16; t++) {
            int8x16_t w[NR];
            for (size_t j = 0; j < NR; j++) w[j] = lowbit_block(col[j] + c * chunk_bytes, bits, t);
            for (size_t q = 0; q < QUADS; q++) {
                const int8x16x4_t x = vld1q_s8_x4(s->x[c * (CHUNK / 16) + t][q]);
                for (size_t j = 0; j < NR; j++) {
                    grp[j][q] = vdotq_laneq_s32(grp[j][q], x.val[0], w[j], 0);
                    grp[j][q] = vdotq_laneq_s32(grp[j][q], x.val[1], w[j], 1);
                    grp[j][q] = vdotq_laneq_s32(grp[j][q], x.val[2], w[j], 2);
                    grp[j][q] = vdotq_laneq_s32(grp[j][q], x.val[3], w[j], 3);
                }
            }
            if (gblocks == 0 || (t + 1) % gblocks != 0) continue;
            /* a group ends: scale it into the totals, start the next */
            if (g < groups) {
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
    if (gblocks == 0)
        for (size_t j = 0; j < NR; j++)
            for (size_t q = 0; q < QUADS; q++) tot[j][q] = vmlaq_n_s32(tot[j][q], grp[j][q], sub[j][0]);
}

/* tile() with bits a constant, so every unpack is immediates. */
static void tile_bits(unsigned bits, size_t gblocks, const slab *s, size_t chunks, const uint8_t *const col[NR],
                      const uint8_t *const sub[NR], size_t groups, int32x4_t tot[NR][QUADS]) {
    switch (bits) {
    case 2: tile(2, gblocks, s, chunks, col, sub, groups, tot); break;
    case 3: tile(3, gblocks, s, chunks, col, sub, groups, tot); break;
    case 4: tile(4, gblocks, s, chunks, col, sub, groups, tot); break;
    default: tile(6, gblocks, s, chunks, col, sub, groups, tot); break;
    }
}

void gemm_s8sxs32_8x4c4__neondot(size_t m, size_t j0, size_t j1, size_t k_len, const int8_t *a, size_t lda,
                                 const lowbit_weights *w, int32_t *c, size_t ldc) {
    slab s __attribute__((aligned(64)));
    const size_t all_groups = w->group_size ? k_len / w->group_size : 1;
    const int32_t offset = 1 << (w->bits - 1);
    for (size_t i0 = 0; i0 < m; i0 += MR) {
        const size_t mr = m - i0 < MR ? m - i0 : MR;
        for (size_t k0 = 0; k0 < k_len; k0 += SLAB) {
            const size_t kc = k_len - k0 < SLAB ? k_len - k0 : SLAB, chunks = (kc + CHUNK - 1) / CHUNK;
            const size_t group = w->group_size ? w->group_size : chunks * CHUNK;
            const size_t groups = w->group_size ? kc / w->group_size : 1;
            interleave(a + i0 * lda + k0, lda, mr, kc, group, offset, &s);
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
                tile_bits(w->bits, w->group_size / 16, &s, chunks, col, sub, groups, tot);
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
