/* gemm_s8sxs32_16x4c8__i8mm: a low-bit linear layer (kernels.h, gemm_s8sxs32_fn) with
 * SMMLA (Armv8.6 int8 matrix multiply, optional from Armv8.2), reading the file's
 * packed 2/3/4/6-bit rows directly.
 *
 * SMMLA multiplies a 2 x 8 int8 block (2 rows of a, 8 k) by the transpose of another
 * (2 columns of w, 8 k) and adds the 2 x 2 int32 result: 32 multiply-accumulates, twice
 * an SDOT's. The rows of a are interleaved per 8 rows as mmla_8x8c8__i8mm.h does for the
 * int8 kernels ([8 k][row pair][16 bytes]). The weights' operand must hold 2 columns'
 * 8 consecutive k. In the packed layout (lowbit_codes.h) byte i of a 16-byte run holds
 * code 16 f + i in bit field f, so bytes 0 ... 7 of a run hold k 16 f ... 16 f + 7 and
 * bytes 8 ... 15 hold k 16 f + 8 ... 16 f + 15: ZIP1 and ZIP2 of 64-bit lanes of two
 * columns' runs give two registers in which each bit field is one SMMLA operand, and
 * the usual AND or shift (and, for 3 and 6 bits, the high plane inserted by BSL) takes
 * it out. So per run of 2 columns: 2 loads, 2 ZIPs, then one or two instructions per
 * 8 k, each feeding the SMMLAs of every row pair.
 *
 * The operands are the stored codes u = q + 2^(bits-1) (0 ... 63, so int8), and the
 * accumulators start at bias + the offset term -2^(bits-1) * sum of x over the row,
 * which SMMLA of the interleaved rows with -2^(bits-1) in every byte computes already
 * in the accumulators' 2 x 2 layout. That holds for group size 0 with sub-scales 1
 * (what the format has for group size 0); grouped layers (and any other sub-scales)
 * go to the SDOT kernel gemm_s8sxs32_16x4c4__neondot (every i8mm CPU has dotprod).
 *
 * Tile: up to 16 rows (8 row pairs; fewer rows, fewer pairs) x 4 columns in 16
 * accumulators: per 8 k 16 SMMLAs, the 8 row pairs' 128 bytes of a, the columns'
 * unpacking (4 bits: 1 AND or USHR per column pair, plus per 32 k 2 loads and 2 ZIPs).
 *
 * Exact: SMMLA forms each product exactly and adds in int32, the result fits int32 (the
 * loader's bound k * 2^(bits-1) * 128 * max s + |bias| < 2^31), so no partial sum needs a
 * bound of its own; x = -128 is as good as any other value. Rows past m and k past k_len
 * are zeros in the copy of a; columns past j1 repeat the last column; neither is stored. */
#if !defined(__ARM_FEATURE_MATMUL_INT8)
#error "gemm_s8sxs32_16x4c8__i8mm needs the i8mm extension (-march=armv8.2-a+i8mm)"
#endif

#include <arm_neon.h>
#include <string.h>

#include "kernels/kernels.h"
#include "mmla_8x8c8__i8mm.h"

#define MR 16
#define NR 4
#define CHUNK 128 /* codes per packed chunk */
#define SLAB 2048 /* k per interleaved copy of a (a multiple of CHUNK): 2 x 16 KiB */

/* a's rows interleaved for SMMLA, 8 rows per half, and each row pair's offset term. */
typedef struct slab {
    int8_t x[2][SLAB / 8][4][16]; /* [half][8 k][row pair][row 2p's 8 k, row 2p + 1's] */
    int32_t start[MR / 2][4];     /* -2^(bits-1) * sum of x: row 2p, 2p, 2p + 1, 2p + 1 */
} slab;

/* Rows 0 ... mr - 1 of a, k 0 ... kc - 1, into s (zeros past mr and kc up to whole
 * chunks), and the row pairs' offset terms. */
static void interleave(const int8_t *a, size_t lda, size_t mr, size_t kc, int32_t offset, slab *s) {
    const size_t octets = (kc + CHUNK - 1) / CHUNK * CHUNK / 8, padded = (kc + MMLA_KPAD - 1) / MMLA_KPAD * 2;
    const int8x16_t minus_offset = vdupq_n_s8((int8_t)-offset);
    for (size_t h = 0; 8 * h < mr; h++) {
        mmla_interleave_rows(a + 8 * h * lda, lda, mr - 8 * h < 8 ? mr - 8 * h : 8, kc, s->x[h][0][0]);
        memset(s->x[h][padded], 0, (octets - padded) * sizeof s->x[h][0]);
        for (size_t p = 0; p < 4 && 8 * h + 2 * p < mr; p++) {
            int32x4_t sum = vdupq_n_s32(0);
            for (size_t o = 0; o < octets; o++) sum = vmmlaq_s32(sum, vld1q_s8(s->x[h][o][p]), minus_offset);
            vst1q_s32(s->start[4 * h + p], sum);
        }
    }
}

/* Two columns' 16-byte runs at p0 and p1 as the two SMMLA operand sources: [0] bytes
 * 0 ... 7 of each, [1] bytes 8 ... 15. */
typedef struct pair_run {
    uint8x16_t half[2];
} pair_run;

static inline pair_run load_pair(const uint8_t *p0, const uint8_t *p1) {
    const uint64x2_t r0 = vreinterpretq_u64_u8(vld1q_u8(p0)), r1 = vreinterpretq_u64_u8(vld1q_u8(p1));
    return (pair_run){{vreinterpretq_u8_u64(vzip1q_u64(r0, r1)), vreinterpretq_u8_u64(vzip2q_u64(r0, r1))}};
}

/* v shifted left by s bits (right when s < 0), per byte. */
static inline uint8x16_t shift_u8(uint8x16_t v, int s) {
    return s ? vshlq_u8(v, vdupq_n_s8((int8_t)s)) : v;
}

/* Field f (0 ... 8 / p - 1) of p-bit fields of v, in bits 0 ... p - 1. */
static inline uint8x16_t field(uint8x16_t v, unsigned p, unsigned f) {
    const uint8x16_t shifted = shift_u8(v, -(int)(p * f));
    return p * (f + 1) == 8 ? shifted : vandq_u8(shifted, vdupq_n_u8((uint8_t)((1u << p) - 1)));
}

/* The accumulators of a tile of P row pairs and its 4 columns (2 column pairs). */
#define TILE_ACC(P) int32x4_t acc[P][2]

/* The 16 operands (octets, 8 k each) of a chunk of two columns (rows c0, c1 of codes at
 * the chunk) are built one at a time by octet(); the SMMLAs of each go over all P row
 * pairs. Everything is unrolled (P and bits constant), so the loads and ZIPs of a run
 * are shared by the octets that use them. */
static inline __attribute__((always_inline)) int8x16_t octet(unsigned bits, const pair_run *low,
                                                             const pair_run *high, unsigned o) {
    const unsigned h = o % 2;
    switch (bits) {
    case 2: /* run o / 8, field o % 8 / 2 */
        return vreinterpretq_s8_u8(field(low[o / 8].half[h], 2, o % 8 / 2));
    case 4: /* run o / 4, field o % 4 / 2 */
        return vreinterpretq_s8_u8(field(low[o / 4].half[h], 4, o % 4 / 2));
    case 3: { /* low 2 bits as 2-bit codes; the 1-bit plane's field o / 2 into bit 2 */
        const uint8x16_t u = field(low[o / 8].half[h], 2, o % 8 / 2);
        return vreinterpretq_s8_u8(vbslq_u8(vdupq_n_u8(0x04), shift_u8(high[0].half[h], 2 - (int)(o / 2)), u));
    }
    default: { /* 6: low 4 bits as 4-bit codes; the 2-bit plane's run o / 8, field o % 8 / 2 into bits 4, 5 */
        const uint8x16_t u = field(low[o / 4].half[h], 4, o % 4 / 2);
        const uint8x16_t hi = shift_u8(high[o / 8].half[h], 4 - 2 * (int)(o % 8 / 2));
        return vreinterpretq_s8_u8(vbslq_u8(vdupq_n_u8(0x30), hi, u));
    }
    }
}

/* Rows 0 ... 2P - 1 of out (row stride ldo int32), columns 0 ... 3, = (bias ? the 4
 * biases : out) + the offset terms + the chunks of codes of columns col[0 ... 3] times
 * the interleaved rows x (halves x[0], x[1]). */
static inline __attribute__((always_inline)) void tile(unsigned bits, size_t P, size_t chunks, const slab *s,
                                                       const uint8_t *const col[NR], const int32_t *bias,
                                                       int32_t *out, size_t ldo) {
    const unsigned low_bits = bits == 3 ? 2 : bits == 6 ? 4 : bits, low_runs = low_bits, high_runs = bits - low_bits;
    const size_t chunk_bytes = CHUNK / 8 * bits;
    TILE_ACC(P);
    if (bias) {
        const int64x2_t b = vreinterpretq_s64_s32(vld1q_s32(bias));
        const int32x4_t b01 = vreinterpretq_s32_s64(vzip1q_s64(b, b)), b23 = vreinterpretq_s32_s64(vzip2q_s64(b, b));
        for (size_t p = 0; p < P; p++) {
            const int32x4_t start = vld1q_s32(s->start[p]);
            acc[p][0] = vaddq_s32(start, b01);
            acc[p][1] = vaddq_s32(start, b23);
        }
    } else {
        for (size_t p = 0; p < P; p++) {
            const int64x2_t r0 = vreinterpretq_s64_s32(vld1q_s32(out + 2 * p * ldo));
            const int64x2_t r1 = vreinterpretq_s64_s32(vld1q_s32(out + (2 * p + 1) * ldo));
            const int32x4_t start = vld1q_s32(s->start[p]);
            acc[p][0] = vaddq_s32(start, vreinterpretq_s32_s64(vzip1q_s64(r0, r1)));
            acc[p][1] = vaddq_s32(start, vreinterpretq_s32_s64(vzip2q_s64(r0, r1)));
        }
    }
    const int8_t *x0 = s->x[0][0][0], *x1 = s->x[1][0][0];
    for (size_t ch = 0; ch < chunks; ch++) {
        const uint8_t *c[NR];
        for (size_t j = 0; j < NR; j++) c[j] = col[j] + ch * chunk_bytes;
        pair_run low[2][4], high[2][2];
        for (size_t q = 0; q < 2; q++) {
            for (unsigned r = 0; r < low_runs; r++) low[q][r] = load_pair(c[2 * q] + 16 * r, c[2 * q + 1] + 16 * r);
            for (unsigned r = 0; r < high_runs; r++)
                high[q][r] = load_pair(c[2 * q] + 16 * (low_runs + r), c[2 * q + 1] + 16 * (low_runs + r));
        }
        for (unsigned o = 0; o < CHUNK / 8; o++) {
            const int8x16_t w0 = octet(bits, low[0], high[0], o), w1 = octet(bits, low[1], high[1], o);
            for (size_t p = 0; p < P; p++) {
                const int8x16_t xv = vld1q_s8(p < 4 ? x0 + 64 * o + 16 * p : x1 + 64 * o + 16 * (p - 4));
                acc[p][0] = vmmlaq_s32(acc[p][0], xv, w0);
                acc[p][1] = vmmlaq_s32(acc[p][1], xv, w1);
            }
        }
        x0 += CHUNK / 8 * 64;
        x1 += CHUNK / 8 * 64;
    }
    for (size_t p = 0; p < P; p++) {
        const int64x2_t a0 = vreinterpretq_s64_s32(acc[p][0]), a1 = vreinterpretq_s64_s32(acc[p][1]);
        vst1q_s32(out + 2 * p * ldo, vreinterpretq_s32_s64(vzip1q_s64(a0, a1)));
        vst1q_s32(out + (2 * p + 1) * ldo, vreinterpretq_s32_s64(vzip2q_s64(a0, a1)));
    }
}

/* tile() with bits and P constants (the switch leaves one unrolled copy per case). */
#define TILE_P(bits, P) tile(bits, P, chunks, s, col, bias, out, ldo)
#define TILE_BITS(bits)                                                                                            \
    switch (pairs) {                                                                                               \
    case 1: TILE_P(bits, 1); break;                                                                                \
    case 2: TILE_P(bits, 2); break;                                                                                \
    case 3: TILE_P(bits, 3); break;                                                                                \
    case 4: TILE_P(bits, 4); break;                                                                                \
    case 5: TILE_P(bits, 5); break;                                                                                \
    case 6: TILE_P(bits, 6); break;                                                                                \
    case 7: TILE_P(bits, 7); break;                                                                                \
    default: TILE_P(bits, 8); break;                                                                               \
    }

static __attribute__((noinline)) void run_tile(unsigned bits, size_t pairs, size_t chunks, const slab *s,
                                               const uint8_t *const col[NR], const int32_t *bias, int32_t *out,
                                               size_t ldo) {
    switch (bits) {
    case 2: TILE_BITS(2) break;
    case 3: TILE_BITS(3) break;
    case 4: TILE_BITS(4) break;
    default: TILE_BITS(6) break;
    }
}

/* c's rows 0 ... mr - 1, columns j0 ... j1 - 1 of w (at ct, row stride ldc) after the
 * slab from k0 (chunks of codes): the first slab from the biases, a later one adding
 * to c. A tile with fewer rows or columns than it computes goes through a copy. */
static void tiles(const lowbit_weights *w, const slab *s, size_t chunks, size_t k0, size_t j0, size_t j1,
                  size_t mr, int32_t *ct, size_t ldc) {
    static const int32_t zeros[NR];
    const size_t rb = w->row_bytes, pairs = (mr + 1) / 2;
    const uint8_t *codes = w->codes + k0 / CHUNK * (CHUNK / 8 * w->bits);
    for (size_t jb = j0; jb < j1; jb += NR) {
        const size_t nr = j1 - jb < NR ? j1 - jb : NR, last = jb + nr - 1;
        const uint8_t *const col[NR] = {codes + jb * rb, codes + (nr > 1 ? jb + 1 : last) * rb,
                                        codes + (nr > 2 ? jb + 2 : last) * rb, codes + last * rb};
        int32_t *out = ct + (jb - j0);
        const int32_t *bias = k0 ? NULL : w->bias ? w->bias + jb : zeros;
        if (nr == NR && mr == 2 * pairs) {
            run_tile(w->bits, pairs, chunks, s, col, bias, out, ldc);
            continue;
        }
        int32_t edge[MR][NR] = {{0}}, edge_bias[NR] = {0};
        if (bias) memcpy(edge_bias, bias, nr * sizeof *edge_bias);
        for (size_t r = 0; r < mr; r++) memcpy(edge[r], out + r * ldc, k0 ? nr * sizeof **edge : 0);
        run_tile(w->bits, pairs, chunks, s, col, bias ? edge_bias : NULL, edge[0], NR);
        for (size_t r = 0; r < mr; r++) memcpy(out + r * ldc, edge[r], nr * sizeof **edge);
    }
}

void gemm_s8sxs32_16x4c8__i8mm(size_t m, size_t j0, size_t j1, size_t k_len, const int8_t *a, size_t lda,
                               const lowbit_weights *w, int32_t *c, size_t ldc) {
    int unit = w->group_size == 0;
    for (size_t j = j0; j < j1 && unit; j++) unit = w->sub[j] == 1;
    if (!unit) { /* groups: SDOT (see the header) */
        gemm_s8sxs32_16x4c4__neondot(m, j0, j1, k_len, a, lda, w, c, ldc);
        return;
    }
    slab s __attribute__((aligned(64)));
    const int32_t offset = 1 << (w->bits - 1);
    for (size_t i0 = 0; i0 < m; i0 += MR) {
        const size_t mr = m - i0 < MR ? m - i0 : MR;
        for (size_t k0 = 0; k0 < k_len; k0 += SLAB) {
            const size_t kc = k_len - k0 < SLAB ? k_len - k0 : SLAB;
            interleave(a + i0 * lda + k0, lda, mr, kc, offset, &s);
            tiles(w, &s, (kc + CHUNK - 1) / CHUNK, k0, j0, j1, mr, c + i0 * ldc, ldc);
        }
    }
}
