/* gemm_s8sxs32_16x4c4__neondot: a low-bit linear layer (kernels.h, gemm_s8sxs32_fn)
 * with SDOT (ARMv8.2 dotprod), reading the file's packed 2/3/4/6-bit rows directly.
 *
 * The packed layout (lowbit_codes.h) gives 16 consecutive codes of one output column
 * per register after one AND or shift (2 and 4 bits). SDOT by element multiplies four
 * 4-byte groups of one register by one 4-byte group of another, so the weights are
 * the indexed operand: lane l of a column's register holds k 4l ... 4l + 3, and the
 * other operand holds those 4 k of 4 rows of a. So a is interleaved first, per 16
 * rows and up to SLAB k, into [16-k block][row quad][l][row][4 k] on the stack;
 * then each accumulator holds 4 rows of one column (lanes = rows), and one block
 * of 16 k is, per 4 columns: 4 loads of 64 bytes (the 4 quads' a), 4 unpacks (a load
 * and an AND or shift for 4-bit; one load serves two blocks), 64 SDOTs.
 *
 * The interleave (NEON: a 4 x 4 int32 transpose per row quad and block) also writes
 * each group's offset term -2^(bits-1) * (the row's sum of x over the group), by SDOT.
 * Three ways to run a tile (all assembly), by width and group size:
 * - group size 0 with sub-scales 1 (what the format has), every width: tile_rows.
 *   The registers hold u = q + 2^(bits-1) (2 and 4 bits: an AND or shift per
 *   16 codes; 3 and 6 bits: the high plane's bits inserted by BIT), so sum u * x plus
 *   the offset term is sum q * x; the accumulators start at bias + offset term and are
 *   stored straight into c's rows (ST4).
 * - 4 bits with groups, 2 bits in groups of 64 or 128 (or group size 0 with other
 *   sub-scales): tile_groups, signed codes (EOR, then shifts) and summation by parts,
 *   no restart per group.
 * - 3 and 6 bits with groups, 2 bits in groups of 32 (a group ends inside a 16-byte
 *   run): tile_groups_u, u as in tile_rows, each group from its offset term and its
 *   sum times its sub-scale into the totals (MLA).
 * Fewer than 16 rows run one-quad (4-row) tiles (but tile_groups_u, which has 4 quads).
 *
 * Exact: SDOT, MLA and ADD are exact modulo 2^32 and the result fits int32 (the
 * loader's bound k * 2^(bits-1) * 128 * max s + |bias| < 2^31), so no partial sum needs
 * a bound of its own; x = -128 is as good as any other value. Rows past m are zeros,
 * columns past j1 repeat the last column; neither is stored. */
#if !defined(__ARM_FEATURE_DOTPROD)
#error "gemm_s8sxs32_16x4c4__neondot needs the dotprod extension (-march=armv8.2-a+dotprod)"
#endif

#include <arm_neon.h>
#include <string.h>

#include "kernels/kernels.h"

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
    int8_t tail[16] = {0};
    if (k < kc) memcpy(tail, row + k, kc - k);
    return vreinterpretq_s32_s8(vld1q_s8(tail));
}

static const int8_t ZERO_ROW[SLAB]; /* a's rows past m */

/* Rows 0 ... mr - 1 of a, k 0 ... kc - 1, into s (zeros past mr and kc up to whole
 * chunks), and the groups' starts for groups of `group` k. Per row quad and block of
 * 16 k: the 4 rows' 16 bytes as 4 x 4 int32 transposed (lane = row, register = 4 k),
 * and -2^(bits-1) * the rows' sums by SDOT with -2^(bits-1) in every byte. */
static void interleave(const int8_t *a, size_t lda, size_t mr, size_t kc, size_t group, int32_t offset, slab *s) {
    const size_t blocks = (kc + CHUNK - 1) / CHUNK * CHUNK / 16, whole = kc / 16, group_blocks = group / 16;
    const int8x16_t minus_offset = vdupq_n_s8((int8_t)-offset);
    for (size_t q = 0; q < QUADS; q++) {
        const int8_t *rows[4];
        for (size_t r = 0; r < 4; r++) rows[r] = 4 * q + r < mr ? a + (4 * q + r) * lda : ZERO_ROW;
        int32x4_t sum = vdupq_n_s32(0);
        int32_t *start = s->start[0][q];
        for (size_t b = 0, left = group_blocks; b < blocks; b++) {
            int32x4_t in[4];
            for (size_t r = 0; r < 4; r++)
                in[r] = b < whole ? vreinterpretq_s32_s8(vld1q_s8(rows[r] + 16 * b)) : row_block(rows[r], 16 * b, kc);
            int32x4x4_t out;
            transpose4(in, out.val);
            vst1q_s32_x4((int32_t *)(void *)s->x[b][q], out);
            for (size_t l = 0; l < 4; l++) sum = vdotq_s32(sum, vreinterpretq_s8_s32(out.val[l]), minus_offset);
            if (--left == 0) { /* a group ends */
                vst1q_s32(start, sum);
                start += sizeof s->start[0] / sizeof *start;
                sum = vdupq_n_s32(0);
                left = group_blocks;
            }
        }
    }
}

/* The tiles in assembly (fast_tiles): GCC 12 compiled the same loop in intrinsics to
 * register moves between the SDOTs and address arithmetic for every load (4-bit, group
 * size 0: 1.47x the instructions of the int8 layer). One assembly block runs a tile's
 * slab from its start values to its stores into c. A unit is 2 blocks (32 k) of every
 * column: 4 loads of packed bytes (post-indexed), their unpacks, 8 loads of 64 bytes
 * of interleaved a (post-indexed) and 128 SDOTs. Registers: v0-v3 a quad's a, v4-v7
 * the columns' unpacked codes, v8-v11 their packed bytes, v12 a high plane's bytes
 * (3 and 6 bits), v12-v14 sub-scales, v16 + 4q + j the accumulator of row quad q and
 * column j, so that lane r of v16 + 4q ... v16 + 4q + 3 is row 4q + r's 4 columns: one
 * LD4/ST4 (single structure) each, no transposes; mask and flip constants operands in
 * the registers left. */
#if QUADS != 4 || NR != 4
#error "the assembly tiles are 4 columns x 4 row quads"
#endif
#define ASM_SDOTS(acc, w)                                                                                          \
    "sdot " acc ".4s, v0.16b, " w ".4b[0]\n\t"                                                                      \
    "sdot " acc ".4s, v1.16b, " w ".4b[1]\n\t"                                                                      \
    "sdot " acc ".4s, v2.16b, " w ".4b[2]\n\t"                                                                      \
    "sdot " acc ".4s, v3.16b, " w ".4b[3]\n\t"
#define ASM_QUAD(step, a0, a1, a2, a3)                                                                             \
    "ld1 {v0.16b-v3.16b}, [%[x]], " step "\n\t" ASM_SDOTS(a0, "v4") ASM_SDOTS(a1, "v5") ASM_SDOTS(a2, "v6")         \
        ASM_SDOTS(a3, "v7")
/* A block (16 k) of Q = 4 row quads, or of Q = 1 (a tile of 4 rows: the other quads'
 * a skipped). The Q-named macros below come in these two shapes. */
#define ASM_BLOCK_4                                                                                                \
    ASM_QUAD("#64", "v16", "v17", "v18", "v19") ASM_QUAD("#64", "v20", "v21", "v22", "v23")                        \
        ASM_QUAD("#64", "v24", "v25", "v26", "v27") ASM_QUAD("#64", "v28", "v29", "v30", "v31")
#define ASM_BLOCK_1 ASM_QUAD("%[xstep]", "v16", "v17", "v18", "v19")
/* the packed bytes of the 4 columns, the pointers stepping by 16 */
#define ASM_LOAD                                                                                                   \
    "ldr q8, [%[c0]], #16\n\tldr q9, [%[c1]], #16\n\tldr q10, [%[c2]], #16\n\tldr q11, [%[c3]], #16\n\t"
/* v<d>4 ... v<d>7 = op(v<s>8 ... v<s>11, arg) with d, s "" or "+4" written out: the 4 columns */
#define ASM_COLUMNS(op, d0, s0, arg)                                                                               \
    op " v" d0 "4.16b, v" s0 "8.16b, " arg "\n\t" op " v" d0 "5.16b, v" s0 "9.16b, " arg "\n\t" op " v" d0          \
       "6.16b, v" s0 "10.16b, " arg "\n\t" op " v" d0 "7.16b, v" s0 "11.16b, " arg "\n\t"
#define ASM_UNPACK(op, arg) ASM_COLUMNS(op, "", "", arg) /* v4-v7 = op(v8-v11) */
#define ASM_IN_PLACE(op, arg)                                                                                      \
    op " v4.16b, v4.16b, " arg "\n\t" op " v5.16b, v5.16b, " arg "\n\t" op " v6.16b, v6.16b, " arg "\n\t" op       \
       " v7.16b, v7.16b, " arg "\n\t"
#define ASM_FLIP                                                                                                   \
    "eor v8.16b, v8.16b, %[flip].16b\n\teor v9.16b, v9.16b, %[flip].16b\n\t"                                       \
    "eor v10.16b, v10.16b, %[flip].16b\n\teor v11.16b, v11.16b, %[flip].16b\n\t"

/* Group size 0 with sub-scales 1 (what the format has): the codes as stored, u, and
 * the accumulators start at the offset term. 4-bit: a 16-byte run is 2 blocks, low
 * nibbles (AND) then high (USHR); 2-bit: a run is 4 blocks, fields 0 ... 3. A loop
 * step is 64 k (a slab is whole chunks). */
#define ASM_AND ASM_UNPACK("and", "%[mask].16b")
#define ASM_STEP_4BIT(Q) ASM_LOAD ASM_AND ASM_BLOCK_##Q ASM_UNPACK("ushr", "#4") ASM_BLOCK_##Q
#define ASM_STEP_U4(Q) ASM_STEP_4BIT(Q) ASM_STEP_4BIT(Q)
/* `pair` runs after every 2 blocks (32 k): tile_groups_u's group ends */
#define ASM_STEP_U2(Q, pair)                                                                                       \
    ASM_LOAD ASM_AND ASM_BLOCK_##Q ASM_UNPACK("ushr", "#2") ASM_IN_PLACE("and", "%[mask].16b") ASM_BLOCK_##Q pair   \
        ASM_UNPACK("ushr", "#4") ASM_IN_PLACE("and", "%[mask].16b") ASM_BLOCK_##Q ASM_UNPACK("ushr", "#6")          \
            ASM_BLOCK_##Q pair
/* 3 and 6 bits: a chunk (128 k) per loop step. 6 bits: block t's low 4 bits are as
 * 4-bit codes (the 4-bit plane's run t / 2 at 16 (t / 2)); its high 2 bits are field
 * t % 4 of the 2-bit plane's run t / 4 (at 64 + 16 (t / 4)), loaded per block into v12
 * (no register is left to keep it), moved to bits 4 ... 5 and inserted by BIT under
 * mask2 (0x30). 3 bits: the low 2 bits as 2-bit codes (run t / 4 at 16 (t / 4)), the
 * high one bit t of the 1-bit plane's run (at 32), moved to bit 2, mask2 0x04. */
#define ASM_LOAD_AT(off)                                                                                           \
    "ldr q8, [%[c0], #" off "]\n\tldr q9, [%[c1], #" off "]\n\tldr q10, [%[c2], #" off "]\n\tldr q11, [%[c3], #" off \
    "]\n\t"
#define ASM_HIGH_COLUMN(w, c, off, shift)                                                                          \
    "ldr q12, [%[" c "], #" off "]\n\t" shift "bit " w ".16b, v12.16b, %[mask2].16b\n\t"
#define ASM_HIGH(off, shift)                                                                                       \
    ASM_HIGH_COLUMN("v4", "c0", off, shift) ASM_HIGH_COLUMN("v5", "c1", off, shift)                                \
        ASM_HIGH_COLUMN("v6", "c2", off, shift) ASM_HIGH_COLUMN("v7", "c3", off, shift)
#define ASM_V12(op, n) op " v12.16b, v12.16b, #" n "\n\t"
#define ASM_NEXT_CHUNK(bytes)                                                                                      \
    "add %[c0], %[c0], #" bytes "\n\tadd %[c1], %[c1], #" bytes "\n\tadd %[c2], %[c2], #" bytes "\n\t"            \
    "add %[c3], %[c3], #" bytes "\n\t"
#define ASM_HALF_6BIT(Q, low, high, pair)                                                                          \
    ASM_LOAD_AT(low) ASM_AND ASM_HIGH(high, ASM_V12("shl", "4")) ASM_BLOCK_##Q ASM_UNPACK("ushr", "#4")            \
        ASM_HIGH(high, ASM_V12("shl", "2")) ASM_BLOCK_##Q pair
#define ASM_STEP_U6(Q, pair)                                                                                       \
    ASM_HALF_6BIT(Q, "0", "64", pair) ASM_LOAD_AT("16") ASM_AND ASM_HIGH("64", "") ASM_BLOCK_##Q                   \
        ASM_UNPACK("ushr", "#4") ASM_HIGH("64", ASM_V12("ushr", "2")) ASM_BLOCK_##Q pair                           \
            ASM_HALF_6BIT(Q, "32", "80", pair) ASM_LOAD_AT("48") ASM_AND ASM_HIGH("80", "") ASM_BLOCK_##Q          \
                ASM_UNPACK("ushr", "#4") ASM_HIGH("80", ASM_V12("ushr", "2")) ASM_BLOCK_##Q pair                   \
                    ASM_NEXT_CHUNK("96")
/* the 4 blocks of a 2-bit run (loaded at low) with the high bits of blocks t0 ... t0 + 3 */
#define ASM_QUARTER_3BIT(Q, low, high0, high1, high2, high3, pair)                                                 \
    ASM_LOAD_AT(low) ASM_AND ASM_HIGH("32", high0) ASM_BLOCK_##Q ASM_UNPACK("ushr", "#2")                          \
        ASM_IN_PLACE("and", "%[mask].16b") ASM_HIGH("32", high1) ASM_BLOCK_##Q pair ASM_UNPACK("ushr", "#4")       \
            ASM_IN_PLACE("and", "%[mask].16b") ASM_HIGH("32", high2) ASM_BLOCK_##Q ASM_UNPACK("ushr", "#6")        \
                ASM_HIGH("32", high3) ASM_BLOCK_##Q pair
#define ASM_STEP_U3(Q, pair)                                                                                       \
    ASM_QUARTER_3BIT(Q, "0", ASM_V12("shl", "2"), ASM_V12("shl", "1"), "", ASM_V12("ushr", "1"), pair)             \
    ASM_QUARTER_3BIT(Q, "16", ASM_V12("ushr", "2"), ASM_V12("ushr", "3"), ASM_V12("ushr", "4"),                    \
                     ASM_V12("ushr", "5"), pair) ASM_NEXT_CHUNK("48")
/* op (ld4 or st4) of row quad q's lanes 0 ... 3 (rows 4q ... 4q + 3) at p, which steps by ldo */
#define ASM_ROWS(op, a0, a3)                                                                                       \
    op " {" a0 ".s-" a3 ".s}[0], [%[p]], %[ldo]\n\t" op " {" a0 ".s-" a3 ".s}[1], [%[p]], %[ldo]\n\t" op " {" a0  \
       ".s-" a3 ".s}[2], [%[p]], %[ldo]\n\t" op " {" a0 ".s-" a3 ".s}[3], [%[p]], %[ldo]\n\t"
#define ASM_ALL_ROWS_4(op)                                                                                         \
    "mov %[p], %[out]\n\t" ASM_ROWS(op, "v16", "v19") ASM_ROWS(op, "v20", "v23") ASM_ROWS(op, "v24", "v27")        \
        ASM_ROWS(op, "v28", "v31")
#define ASM_ALL_ROWS_1(op) "mov %[p], %[out]\n\t" ASM_ROWS(op, "v16", "v19")
/* v<d0> ... v<d0 + 3> = v<s0> ... v<s0 + 3> + v (4 consecutive accumulators) */
#define ASM_ADD4(d0, d1, d2, d3, s0, s1, s2, s3, v)                                                                \
    "add v" d0 ".4s, v" s0 ".4s, " v ".4s\n\tadd v" d1 ".4s, v" s1 ".4s, " v ".4s\n\tadd v" d2 ".4s, v" s2        \
    ".4s, " v ".4s\n\tadd v" d3 ".4s, v" s3 ".4s, " v ".4s\n\t"
#define ASM_LOAD_START "ld1 {v0.4s-v3.4s}, [%[start]]\n\t"
/* from the 4 biases (LD4R: v16 ... v19 = one each) + the starts, or from out's rows + the starts */
#define ASM_FROM_BIAS_1                                                                                            \
    "ld4r {v16.4s-v19.4s}, [%[bias]]\n\tld1 {v0.4s}, [%[start]]\n\t"                                               \
        ASM_ADD4("16", "17", "18", "19", "16", "17", "18", "19", "v0")
#define ASM_FROM_OUT_1                                                                                             \
    ASM_ALL_ROWS_1("ld4") "ld1 {v0.4s}, [%[start]]\n\t" ASM_ADD4("16", "17", "18", "19", "16", "17", "18", "19", "v0")
#define ASM_FROM_BIAS_4                                                                                            \
    "ld4r {v16.4s-v19.4s}, [%[bias]]\n\t" ASM_LOAD_START                                                          \
        ASM_ADD4("20", "21", "22", "23", "16", "17", "18", "19", "v1")                                             \
            ASM_ADD4("24", "25", "26", "27", "16", "17", "18", "19", "v2")                                         \
                ASM_ADD4("28", "29", "30", "31", "16", "17", "18", "19", "v3")                                     \
                    ASM_ADD4("16", "17", "18", "19", "16", "17", "18", "19", "v0")
#define ASM_FROM_OUT_4                                                                                             \
    ASM_ALL_ROWS_4("ld4") ASM_LOAD_START ASM_ADD4("16", "17", "18", "19", "16", "17", "18", "19", "v0")              \
        ASM_ADD4("20", "21", "22", "23", "20", "21", "22", "23", "v1")                                             \
            ASM_ADD4("24", "25", "26", "27", "24", "25", "26", "27", "v2")                                         \
                ASM_ADD4("28", "29", "30", "31", "28", "29", "30", "31", "v3")
#define ASM_ROWS_TILE(Q, init, step)                                                                               \
    init "1:\n\t" step "subs %[n], %[n], #1\n\tb.ne 1b\n\t" ASM_ALL_ROWS_##Q("st4")
#define ASM_ROWS_ARGS                                                                                              \
    : [x] "+r"(xp), [c0] "+r"(c[0]), [c1] "+r"(c[1]), [c2] "+r"(c[2]), [c3] "+r"(c[3]), [n] "+r"(steps),          \
      [p] "=&r"(p)                                                                                                 \
    : [bias] "r"(bias), [start] "r"(start), [out] "r"(out), [ldo] "r"(ldo), [xstep] "r"(xstep), [mask] "w"(mask),  \
      [mask2] "w"(mask2)                                                                                           \
    : "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v16", "v17", "v18", "v19", \
      "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31", "cc", "memory"

#define ASM_ROWS_TILES(Q, step)                                                                                    \
    if (bias)                                                                                                      \
        __asm__ volatile(ASM_ROWS_TILE(Q, ASM_FROM_BIAS_##Q, step) ASM_ROWS_ARGS);                                 \
    else                                                                                                           \
        __asm__ volatile(ASM_ROWS_TILE(Q, ASM_FROM_OUT_##Q, step) ASM_ROWS_ARGS);

/* Rows 0 ... 4 * quads - 1 (quads 4 or 1) of out (row stride ldo int32), columns 0 ...
 * 3, = (bias ? the 4 biases : out) + the start values + the slab's sums: `steps` loop
 * steps of 64 k (3 and 6 bits: 128 k) from x (the quad's first block in s->x) and col[j]. */
static inline __attribute__((always_inline)) void tile_rows(unsigned bits, size_t quads, size_t steps,
                                                            const int8_t *x, const uint8_t *const col[NR],
                                                            const int32_t *bias, const int32_t *start, int32_t *out,
                                                            size_t ldo_elements) {
    const uint8x16_t mask = vdupq_n_u8(bits <= 3 ? 3 : 15), mask2 = vdupq_n_u8(bits == 3 ? 0x04 : 0x30);
    const int8_t *xp = x;
    const uint8_t *c[NR] = {col[0], col[1], col[2], col[3]};
    const size_t ldo = ldo_elements * sizeof *out, xstep = QUADS * 64;
    int32_t *p;
    if (quads == QUADS && bits == 4) {
        ASM_ROWS_TILES(4, ASM_STEP_U4(4))
    } else if (quads == QUADS && bits == 2) {
        ASM_ROWS_TILES(4, ASM_STEP_U2(4, ""))
    } else if (quads == QUADS && bits == 3) {
        ASM_ROWS_TILES(4, ASM_STEP_U3(4, ""))
    } else if (quads == QUADS) {
        ASM_ROWS_TILES(4, ASM_STEP_U6(4, ""))
    } else if (bits == 4) {
        ASM_ROWS_TILES(1, ASM_STEP_U4(1))
    } else if (bits == 2) {
        ASM_ROWS_TILES(1, ASM_STEP_U2(1, ""))
    } else if (bits == 3) {
        ASM_ROWS_TILES(1, ASM_STEP_U3(1, ""))
    } else {
        ASM_ROWS_TILES(1, ASM_STEP_U6(1, ""))
    }
}

/* Groups (or sub-scales other than 1): the accumulators run over the whole slab
 * without restarting, and each group's end adds the running sums G_g times
 * s_g - s_{g+1} (the last group: times s_g) into the totals, which is
 * sum_g s_g * (G_g - G_{g-1}) (summation by parts). For that the sums must be of q
 * itself, not of u = q + 2^(bits-1) with an offset term per group: an EOR with 0x88
 * (0xAA) makes every 4-bit (2-bit) field q's two's complement (u XOR 2^(bits-1)), and
 * a field is then sign-extended by a shift left to the top of the byte and an
 * arithmetic shift right (the top field: the shift right alone). int32 wraps modulo
 * 2^32 and the result fits int32, so the running sums and the scale differences need
 * no bound of their own. The totals ([quad][column][4 rows], tot) are in memory; v12
 * holds the group's sub-scales, v13 the next group's, v14 their difference; flip the
 * 0x88 or 0xAA bytes. */
#define ASM_STEP_S4_32(Q)                                                                                          \
    ASM_LOAD ASM_FLIP ASM_UNPACK("shl", "#4") ASM_IN_PLACE("sshr", "#4") ASM_BLOCK_##Q ASM_UNPACK("sshr", "#4")     \
        ASM_BLOCK_##Q
#define ASM_STEP_S4(Q) ASM_STEP_S4_32(Q) ASM_STEP_S4_32(Q)
#define ASM_STEP_S2(Q)                                                                                             \
    ASM_LOAD ASM_FLIP ASM_UNPACK("shl", "#6") ASM_IN_PLACE("sshr", "#6") ASM_BLOCK_##Q ASM_UNPACK("shl", "#4")     \
        ASM_IN_PLACE("sshr", "#6") ASM_BLOCK_##Q ASM_UNPACK("shl", "#2") ASM_IN_PLACE("sshr", "#6") ASM_BLOCK_##Q  \
            ASM_UNPACK("sshr", "#6") ASM_BLOCK_##Q
/* a group's codes: 32 k of 4-bit codes unrolled, or `steps` loop steps of 64 k */
#define ASM_GROUP_LOOP(step) "mov %[n], %[steps]\n\t1:\n\t" step "subs %[n], %[n], #1\n\tb.ne 1b\n\t"
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
#define ASM_TOT_1(m) ASM_TOT_QUAD("v16", "v17", "v18", "v19", m) "sub %[tot], %[tot], #64\n\t"
#define ASM_TOT_4(m)                                                                                               \
    ASM_TOT_QUAD("v16", "v17", "v18", "v19", m) ASM_TOT_QUAD("v20", "v21", "v22", "v23", m)                        \
        ASM_TOT_QUAD("v24", "v25", "v26", "v27", m) ASM_TOT_QUAD("v28", "v29", "v30", "v31", m)                    \
            "sub %[tot], %[tot], #256\n\t"
#define ASM_ZERO_1 "movi v16.4s, #0\n\tmovi v17.4s, #0\n\tmovi v18.4s, #0\n\tmovi v19.4s, #0\n\t"
#define ASM_ZERO_4                                                                                                 \
    "movi v16.4s, #0\n\tmovi v17.4s, #0\n\tmovi v18.4s, #0\n\tmovi v19.4s, #0\n\tmovi v20.4s, #0\n\t"              \
    "movi v21.4s, #0\n\tmovi v22.4s, #0\n\tmovi v23.4s, #0\n\tmovi v24.4s, #0\n\tmovi v25.4s, #0\n\t"              \
    "movi v26.4s, #0\n\tmovi v27.4s, #0\n\tmovi v28.4s, #0\n\tmovi v29.4s, #0\n\tmovi v30.4s, #0\n\t"              \
    "movi v31.4s, #0\n\t"
#define ASM_STORE_TOT_1 "st1 {v16.4s-v19.4s}, [%[tot]]\n\t"
#define ASM_STORE_TOT_4                                                                                            \
    "st1 {v16.4s-v19.4s}, [%[tot]], #64\n\tst1 {v20.4s-v23.4s}, [%[tot]], #64\n\t"                                \
    "st1 {v24.4s-v27.4s}, [%[tot]], #64\n\tst1 {v28.4s-v31.4s}, [%[tot]]\n\tsub %[tot], %[tot], #192\n\t"
#define ASM_LOAD_TOT_1 "ld1 {v16.4s-v19.4s}, [%[tot]]\n\t"
#define ASM_LOAD_TOT_4                                                                                             \
    "ld1 {v16.4s-v19.4s}, [%[tot]], #64\n\tld1 {v20.4s-v23.4s}, [%[tot]], #64\n\t"                                \
    "ld1 {v24.4s-v27.4s}, [%[tot]], #64\n\tld1 {v28.4s-v31.4s}, [%[tot]]\n\t"
#define ASM_FROM_BIASES_1 "ld4r {v16.4s-v19.4s}, [%[bias]]\n\t"
#define ASM_FROM_BIASES_4                                                                                          \
    "ld4r {v16.4s-v19.4s}, [%[bias]]\n\tld4r {v20.4s-v23.4s}, [%[bias]]\n\tld4r {v24.4s-v27.4s}, [%[bias]]\n\t"   \
    "ld4r {v28.4s-v31.4s}, [%[bias]]\n\t"
/* the totals from the biases or out's rows; all groups; out's rows from the totals */
#define ASM_GROUPS_TILE(Q, init, group)                                                                            \
    init ASM_STORE_TOT_##Q ASM_ZERO_##Q "movi v12.4s, #0\n\tmovi v13.4s, #0\n\t" ASM_SCALES("v12")           \
    "subs %[groups], %[groups], #1\n\tb.eq 3f\n\t"                                                                 \
    "2:\n\t" group ASM_SCALES("v13") "sub v14.4s, v12.4s, v13.4s\n\tmov v12.16b, v13.16b\n\t" ASM_TOT_##Q("v14")       \
    "subs %[groups], %[groups], #1\n\tb.ne 2b\n\t"                                                                 \
    "3:\n\t" group ASM_TOT_##Q("v12") ASM_LOAD_TOT_##Q ASM_ALL_ROWS_##Q("st4")
#define ASM_GROUPS_TILE_ARGS                                                                                       \
    : [x] "+r"(xp), [c0] "+r"(c[0]), [c1] "+r"(c[1]), [c2] "+r"(c[2]), [c3] "+r"(c[3]), [s0] "+r"(sp[0]),        \
      [s1] "+r"(sp[1]), [s2] "+r"(sp[2]), [s3] "+r"(sp[3]), [groups] "+r"(groups), [tot] "+r"(tp), [n] "=&r"(n),  \
      [p] "=&r"(p)                                                                                                 \
    : [steps] "r"(steps), [bias] "r"(bias), [out] "r"(out), [ldo] "r"(ldo), [xstep] "r"(xstep), [flip] "w"(flip)   \
    : "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v16", "v17", \
      "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31", "cc",      \
      "memory"
#define ASM_GROUPS_TILES(Q, group)                                                                                 \
    if (bias)                                                                                                      \
        __asm__ volatile(ASM_GROUPS_TILE(Q, ASM_FROM_BIASES_##Q, group) ASM_GROUPS_TILE_ARGS);                     \
    else                                                                                                           \
        __asm__ volatile(ASM_GROUPS_TILE(Q, ASM_ALL_ROWS_##Q("ld4"), group) ASM_GROUPS_TILE_ARGS);

/* Rows 0 ... 4 * quads - 1 (quads 4 or 1) of out (row stride ldo int32), columns 0 ...
 * 3, = (bias ? the 4 biases : out) + the slab's `groups` (>= 1) groups of `group` k from
 * x (the quad's first block in s->x), col[j] and the sub-scales sub[j]. */
static inline __attribute__((always_inline)) void tile_groups(unsigned bits, size_t quads, size_t group,
                                                              size_t groups, const int8_t *x,
                                                              const uint8_t *const col[NR],
                                                              const uint8_t *const sub[NR], const int32_t *bias,
                                                              int32_t *out, size_t ldo_elements) {
    const int8x16_t flip = vdupq_n_s8((int8_t)(bits == 4 ? 0x88 : 0xAA));
    const size_t steps = group / 64, ldo = ldo_elements * sizeof *out, xstep = QUADS * 64;
    int32_t tot[QUADS][NR][4] __attribute__((aligned(16)));
    int32_t *tp = tot[0][0], *p;
    const int8_t *xp = x;
    const uint8_t *c[NR] = {col[0], col[1], col[2], col[3]}, *sp[NR] = {sub[0], sub[1], sub[2], sub[3]};
    size_t n;
    if (quads == QUADS && bits == 2) {
        ASM_GROUPS_TILES(4, ASM_GROUP_LOOP(ASM_STEP_S2(4)))
    } else if (quads == QUADS && group == 32) {
        ASM_GROUPS_TILES(4, ASM_STEP_S4_32(4))
    } else if (quads == QUADS) {
        ASM_GROUPS_TILES(4, ASM_GROUP_LOOP(ASM_STEP_S4(4)))
    } else if (bits == 2) {
        ASM_GROUPS_TILES(1, ASM_GROUP_LOOP(ASM_STEP_S2(1)))
    } else if (group == 32) {
        ASM_GROUPS_TILES(1, ASM_STEP_S4_32(1))
    } else {
        ASM_GROUPS_TILES(1, ASM_GROUP_LOOP(ASM_STEP_S4(1)))
    }
}

/* 3 and 6 bits with groups: the codes as tile_rows unpacks them (u, BIT: no register
 * is left for a signed conversion), the accumulators restart from each group's start
 * (offset term) at its end, after adding accumulator x sub-scale (lane j of the
 * group's 4 in `scales`, laid out here: the assembly has no room for 4 pointers) into
 * the totals.
 * A loop step is a chunk; a group ends after every `pairs` pairs of blocks, and the
 * slab's last group ends the loop (the padded chunk's groups past it do not exist). */
#define ASM_MOV4(d0, d1, d2, d3, v)                                                                                \
    "mov " d0 ".16b, " v ".16b\n\tmov " d1 ".16b, " v ".16b\n\tmov " d2 ".16b, " v ".16b\n\tmov " d3 ".16b, " v     \
    ".16b\n\t"
#define ASM_RESTART                                                                                                \
    "ld1 {v0.4s-v3.4s}, [%[start]], #64\n\t" ASM_MOV4("v16", "v17", "v18", "v19", "v0")                            \
        ASM_MOV4("v20", "v21", "v22", "v23", "v1") ASM_MOV4("v24", "v25", "v26", "v27", "v2")                      \
            ASM_MOV4("v28", "v29", "v30", "v31", "v3")
#define ASM_PAIR_END                                                                                               \
    "subs %[left], %[left], #1\n\tb.ne 2f\n\tld1 {v13.4s}, [%[scales]], #16\n\t" ASM_TOT_4("v13")                  \
    "subs %[groups], %[groups], #1\n\tb.eq 9f\n\t" ASM_RESTART "mov %[left], %[pairs]\n\t2:\n\t"
#define ASM_GROUPS_U_TILE(init, step)                                                                              \
    init ASM_STORE_TOT_4 "mov %[left], %[pairs]\n\t" ASM_RESTART "1:\n\t" step "b 1b\n\t"                          \
    "9:\n\t" ASM_LOAD_TOT_4 ASM_ALL_ROWS_4("st4")
#define ASM_GROUPS_U_ARGS                                                                                          \
    : [x] "+r"(xp), [c0] "+r"(c[0]), [c1] "+r"(c[1]), [c2] "+r"(c[2]), [c3] "+r"(c[3]), [scales] "+r"(sp),       \
      [groups] "+r"(groups), [tot] "+r"(tp), [start] "+r"(start), [left] "=&r"(left), [p] "=&r"(p)                 \
    : [pairs] "r"(pairs), [bias] "r"(bias), [out] "r"(out), [ldo] "r"(ldo), [mask] "w"(mask), [mask2] "w"(mask2)   \
    : "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v16", "v17", "v18", \
      "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31", "cc", "memory"
#define ASM_GROUPS_U_TILES(step)                                                                                   \
    if (bias)                                                                                                      \
        __asm__ volatile(ASM_GROUPS_U_TILE(ASM_FROM_BIASES_4, step) ASM_GROUPS_U_ARGS);                            \
    else                                                                                                           \
        __asm__ volatile(ASM_GROUPS_U_TILE(ASM_ALL_ROWS_4("ld4"), step) ASM_GROUPS_U_ARGS);

/* Rows 0 ... 15 of out (row stride ldo int32), columns 0 ... 3, = (bias ? the 4 biases
 * : out) + the slab's `groups` (>= 1) groups of `group` k of 3- or 6-bit codes from x,
 * col[j], the sub-scales sub[j] and the groups' start values at start. */
static inline __attribute__((always_inline)) void tile_groups_u(unsigned bits, size_t group, size_t groups,
                                                                const int8_t *x, const uint8_t *const col[NR],
                                                                const uint8_t *const sub[NR], const int32_t *bias,
                                                                const int32_t *start, int32_t *out,
                                                                size_t ldo_elements) {
    const uint8x16_t mask = vdupq_n_u8(bits <= 3 ? 3 : 15), mask2 = vdupq_n_u8(bits == 3 ? 0x04 : 0x30);
    const size_t pairs = group / 32, ldo = ldo_elements * sizeof *out;
    int32_t tot[QUADS][NR][4] __attribute__((aligned(16))), scales[SLAB / MIN_GROUP][NR] __attribute__((aligned(16)));
    for (size_t g = 0; g < groups; g++)
        for (size_t j = 0; j < NR; j++) scales[g][j] = sub[j][g];
    int32_t *tp = tot[0][0], *p;
    const int32_t *sp = scales[0];
    const int8_t *xp = x;
    const uint8_t *c[NR] = {col[0], col[1], col[2], col[3]};
    size_t left;
    if (bits == 2) {
        ASM_GROUPS_U_TILES(ASM_STEP_U2(4, ASM_PAIR_END))
    } else if (bits == 3) {
        ASM_GROUPS_U_TILES(ASM_STEP_U3(4, ASM_PAIR_END))
    } else {
        ASM_GROUPS_U_TILES(ASM_STEP_U6(4, ASM_PAIR_END))
    }
}

/* Whether groups of `group` k of bits-bit codes take tile_groups_u (else tile_groups). */
static inline int unsigned_groups(unsigned bits, size_t group) {
    return bits == 3 || bits == 6 || (bits == 2 && group == 32);
}

/* dst[0 ... nr - 1] = src[0 ... nr - 1], nr <= 4 */
static inline void copy_row(int32_t *dst, const int32_t *src, size_t nr) {
    if (nr == NR) vst1q_s32(dst, vld1q_s32(src));
    else
        for (size_t j = 0; j < nr; j++) dst[j] = src[j];
}

/* One tile of `quads` row quads (4 or 1) from quad q, 4 columns col[j], sub[j], at
 * out: tile_rows when `unit` (group size 0 and sub-scales 1), else tile_groups with
 * groups of `group` k. */
static inline __attribute__((always_inline)) void fast_tile(unsigned bits, int unit, size_t quads, size_t q,
                                                            size_t group, size_t groups, const slab *s,
                                                            const uint8_t *const col[NR],
                                                            const uint8_t *const sub[NR], const int32_t *bias,
                                                            int32_t *out, size_t ldo) {
    if (unit)
        tile_rows(bits, quads, group / (bits == 3 || bits == 6 ? 128 : 64), s->x[0][q], col, bias, s->start[0][q],
                  out, ldo);
    else if (unsigned_groups(bits, group)) /* 4 quads */
        tile_groups_u(bits, group, groups, s->x[0][0], col, sub, bias, s->start[0][0], out, ldo);
    else
        tile_groups(bits, quads, group, groups, s->x[0][q], col, sub, bias, out, ldo);
}

/* c's rows 0 ... mr - 1, columns j0 ... j1 - 1 of w (at ct, row stride ldc) after the
 * slab from k0 (its `groups` groups of `group` k; all_groups per row of w) by
 * fast_tile: the first slab from the biases, a later one adding to c. 16 rows are
 * tiles of 4 quads; fewer, tiles of one quad each (a 4-quad tile's unpacks serve 16
 * rows, but its SDOTs cost the same for rows that are not there). An edge tile
 * (fewer rows or columns than the tile) goes through a copy. */
static __attribute__((noinline)) void fast_tiles(const lowbit_weights *w, const slab *s, int unit, size_t group,
                                                 size_t groups, size_t all_groups, size_t k0, size_t j0, size_t j1,
                                                 size_t mr, int32_t *ct, size_t ldc) {
    const unsigned bits = w->bits;
    const int four_quads = !unit && unsigned_groups(bits, group); /* tile_groups_u has no one-quad shape */
    const size_t rb = w->row_bytes, quads = mr == MR || four_quads ? QUADS : 1;
    const uint8_t *codes = w->codes + k0 / CHUNK * (CHUNK / 8 * bits);
    const uint8_t *sub = w->sub + (w->group_size ? k0 / w->group_size : 0);
    for (size_t q = 0; 4 * q < mr; q += quads) {
        const size_t rows = mr - 4 * q < 4 * quads ? mr - 4 * q : 4 * quads;
        int32_t *cq = ct + 4 * q * ldc;
        size_t jb = j0;
        if (rows == 4 * quads) {
            const uint8_t *cj = codes + jb * rb, *sj = sub + jb * all_groups;
            const int32_t *bias = k0 ? NULL : w->bias ? w->bias + jb : ZEROS;
            for (; jb + NR <= j1; jb += NR, cj += NR * rb, sj += NR * all_groups) {
                const uint8_t *const col[NR] = {cj, cj + rb, cj + 2 * rb, cj + 3 * rb};
                const uint8_t *const subs[NR] = {sj, sj + all_groups, sj + 2 * all_groups, sj + 3 * all_groups};
                fast_tile(bits, unit, quads, q, group, groups, s, col, subs, bias, cq + (jb - j0), ldc);
                if (bias && w->bias) bias += NR;
            }
        }
        for (; jb < j1; jb += NR) { /* through a copy; columns past j1 repeat the last one */
            const size_t nr = j1 - jb < NR ? j1 - jb : NR, last = jb + nr - 1;
            const size_t n[NR] = {jb, nr > 1 ? jb + 1 : last, nr > 2 ? jb + 2 : last, last};
            const uint8_t *const col[NR] = {codes + n[0] * rb, codes + n[1] * rb, codes + n[2] * rb,
                                            codes + n[3] * rb};
            const uint8_t *const subs[NR] = {sub + n[0] * all_groups, sub + n[1] * all_groups,
                                             sub + n[2] * all_groups, sub + n[3] * all_groups};
            /* rows past `rows` of the copy are never stored: left as they are */
            int32_t edge[MR][NR], edge_bias[NR] = {0}, *out = cq + (jb - j0);
            if (k0 == 0 && w->bias) memcpy(edge_bias, w->bias + jb, nr * sizeof *edge_bias);
            if (k0)
                for (size_t r = 0; r < rows; r++) copy_row(edge[r], out + r * ldc, nr);
            fast_tile(bits, unit, quads, q, group, groups, s, col, subs, k0 ? NULL : edge_bias, edge[0], NR);
            for (size_t r = 0; r < rows; r++) copy_row(out + r * ldc, edge[r], nr);
        }
    }
}

void gemm_s8sxs32_16x4c4__neondot(size_t m, size_t j0, size_t j1, size_t k_len, const int8_t *a, size_t lda,
                                 const lowbit_weights *w, int32_t *c, size_t ldc) {
    slab s __attribute__((aligned(64)));
    const size_t all_groups = w->group_size ? k_len / w->group_size : 1;
    const int32_t offset = 1 << (w->bits - 1);
    /* group size 0 with sub-scales 1 (what the format has): tile_rows */
    int unit = w->group_size == 0;
    for (size_t j = j0; j < j1 && unit; j++) unit = w->sub[j] == 1;
    for (size_t i0 = 0; i0 < m; i0 += MR) {
        const size_t mr = m - i0 < MR ? m - i0 : MR;
        for (size_t k0 = 0; k0 < k_len; k0 += SLAB) {
            const size_t kc = k_len - k0 < SLAB ? k_len - k0 : SLAB, chunks = (kc + CHUNK - 1) / CHUNK;
            const size_t group = w->group_size ? w->group_size : chunks * CHUNK;
            const size_t groups = w->group_size ? kc / w->group_size : 1;
            interleave(a + i0 * lda + k0, lda, mr, kc, group, offset, &s);
            fast_tiles(w, &s, unit, group, groups, all_groups, k0, j0, j1, mr, c + i0 * ldc, ldc);
        }
    }
}
