/* gemm_s8sxs32_2x4c16__neon: a low-bit linear layer (kernels.h, gemm_s8sxs32_fn)
 * with NEON, reading the file's packed 2/3/4/6-bit rows directly
 * (lowbit_unpack_neon.h): baseline AArch64 AdvSIMD (Cortex-A72: no dotprod) and
 * ARMv7-A NEON (Pi OS 32-bit) from one source, as the elementwise kernels.
 *
 * The codes stay offset-binary, u = q + 2^(bits-1) in 0 ... 2^bits - 1 (a non-negative
 * int8), so unpacking a 16-code block is one AND or shift (lowbit_block) with no
 * per-lane offset; the offset comes off once per row and group from the sum of the
 * activations, which every column shares. For each row and column SMULL/SMLAL and
 * SMLAL2 add the 16 products x * u of a block into 8 int16 lanes, 2 per lane:
 * 2 instructions per 16 multiply-accumulates where int8 needs 3 (SMULL, SMLAL2,
 * SADALP). The int16 lanes are widened into int32 every segment of blocks: a chunk
 * (8 blocks), or 2 blocks for 6 bits, so a lane holds at most 2 * 8 * 128 * 15 =
 * 30720 or 2 * 2 * 128 * 63 = 32256 in magnitude (< 2^15; fewer bits, less); the
 * AArch64 group-size-0 tiles take longer segments (2 bits: 4 chunks, 3 bits: 2;
 * 6 bits: 4 blocks of codes centred as 32 - u, see chunks_8x4).
 *
 * - one group per row (group size 0): SADALP widens each segment, and
 *   c = bias + s * (sum x * u - 2^(bits-1) * sum x), 4 columns at once. Tiles of
 *   8 rows x 4 columns in assembly on AArch64 (chunks_8x4); on ARMv7 1 x 4 for 2
 *   and 4 bits (16 q registers: the tile that spills least), 3 x 4 in intrinsics
 *   for 3 and 6 (12 int16 and 12 int32 accumulators, 4 unpacked columns, a row of
 *   x); 1 x 4 when one row is left (m = 1: a classifier's last layer; in assembly
 *   on AArch64 for 2 and 4 bits, chunks_1x4).
 * - groups of 32/64/128 on AArch64, 2 to 4 bits, when more than 2 rows are left:
 *   tiles of 8 x 4 in assembly with codes centred per lane (groups_8x4). Else
 *   (segments of one group, or 2 blocks of one for 6 bits) tiles of 2 rows x 4
 *   columns; SMLAL/SMLAL2 by the column's sub-scale (an int16 lane of the 4
 *   columns') add each segment into int32, and MLS takes off the sub-scale times
 *   2^(bits-1) times the segment's sum of x (SADDLP/SADALP per row, shared by the
 *   columns).
 * (The name is the function's in kernels.h; the tiles have outgrown "2x4".)
 *
 * Exact: the int16 lanes are bounded as above; the int32 lanes hold parts of the
 * contract's sum modulo 2^32 (NEON's lanes wrap), and their total, the contract's
 * accumulator less the bias, is in int32 under the loader's bound, so it is exact.
 * One call runs a row of whole tiles, each storing its 4 columns per row with one
 * vector store (an edge tile goes through a copy). The last chunk's rows of x are
 * copied into a zeroed buffer when k is not a whole number of chunks (the packed
 * rows are padded with q = 0 to whole chunks); rows past m repeat the first and
 * columns past j1 the last column, neither stored.
 *
 * Instructions (bench/lowbit_instructions.py --cpus cortex-a72, one encoder layer's
 * six linear layers at 128 tokens, as a multiple of the int8 layer's), group size
 * 0: 2-bit 0.86x, 3-bit 0.97x, 4-bit 0.90x, 6-bit 1.10x; groups of 32: 2-bit 1.12x,
 * 3-bit 1.20x, 4-bit 1.11x (an ADDP and SMLAL per group); m = 1 (--rows 1) 4-bit
 * 1.14x, 2-bit 1.21x (codes unpacked for one row; int8 needs 3.6 instructions per
 * 16 multiply-accumulates there, 4 bits at least 2 + 1.5 for the codes). */
#if !defined(__ARM_NEON)
#error "gemm_s8sxs32_2x4c16__neon needs NEON (-mfpu=neon on 32-bit ARM)"
#endif

#include <arm_neon.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "kernels/kernels.h"
#include "lowbit_unpack_neon.h"

#define MR 8 /* rows of the largest tile (AArch64, group size 0) */
#define NR 4
#define CHUNK 128
#define BLOCKS (CHUNK / 16) /* 16-code blocks per chunk */
#define ALWAYS_INLINE inline __attribute__((always_inline))

/* Blocks of unsigned products x * u an int16 lane takes (2 per block). */
static ALWAYS_INLINE unsigned unsigned_blocks(unsigned bits) { return 32767u / (2u * 128u * ((1u << bits) - 1)); }

/* part + the products of the low/high halves, the first of a segment setting it
 * (AArch64: SMLAL2; GCC 12 makes worse code of the ARMv7 form there). */
static ALWAYS_INLINE int16x8_t mla_block(bool first, int16x8_t part, int8x16_t a, int8x16_t w) {
    part = first ? vmull_s8(vget_low_s8(a), vget_low_s8(w)) : vmlal_s8(part, vget_low_s8(a), vget_low_s8(w));
#if defined(__aarch64__)
    return vmlal_high_s8(part, a, w);
#else
    return vmlal_s8(part, vget_high_s8(a), vget_high_s8(w));
#endif
}

/* A group-size-0 tile of `rows` rows: tot[r][c] (4 int32 lanes) = sum over k of
 * x * u, the int16 lanes widened by SADALP every `seg` blocks (a chunk, or 2 blocks
 * for 6 bits). */
static ALWAYS_INLINE void tile_g0(const unsigned rows, const unsigned bits, size_t chunks,
                                  const int8_t *const x[MR], const int8_t *const tail[MR],
                                  const uint8_t *const col[NR], int32x4_t tot[MR][NR]) {
    const size_t chunk_bytes = CHUNK / 8 * bits;
    const unsigned seg = unsigned_blocks(bits) < BLOCKS ? unsigned_blocks(bits) : BLOCKS;
    int16x8_t part[MR][NR];
    for (unsigned r = 0; r < rows; r++)
        for (unsigned c = 0; c < NR; c++) tot[r][c] = vdupq_n_s32(0);
    for (size_t ch = 0; ch < chunks; ch++) {
        const int8_t *xr[MR];
        for (unsigned r = 0; r < rows; r++) xr[r] = ch + 1 == chunks ? tail[r] : x[r] + ch * CHUNK;
#pragma GCC unroll 8
        for (unsigned t = 0; t < BLOCKS; t++) {
            int8x16_t w[NR];
#pragma GCC unroll 4
            for (unsigned c = 0; c < NR; c++) w[c] = lowbit_block(col[c] + ch * chunk_bytes, bits, t);
#pragma GCC unroll 3
            for (unsigned r = 0; r < rows; r++) {
                const int8x16_t a = vld1q_s8(xr[r] + 16 * t);
#pragma GCC unroll 4
                for (unsigned c = 0; c < NR; c++) part[r][c] = mla_block(t % seg == 0, part[r][c], a, w[c]);
            }
            if ((t + 1) % seg == 0)
                for (unsigned r = 0; r < rows; r++)
                    for (unsigned c = 0; c < NR; c++) tot[r][c] = vpadalq_s16(tot[r][c], part[r][c]);
        }
    }
}

#if defined(__aarch64__)
/* AArch64, group size 0: tiles of 8 rows x 4 columns in assembly, run as 2 passes
 * of 8 rows x 2 columns over k (chunks_8x4): a column's codes, unpacked once per
 * block, serve 8 rows, and a row's 2 blocks of x (one LDP) 2 columns. (GCC 12
 * spills the int32 sums of such tiles in intrinsics.) Registers: v0-v15 the int16
 * lanes of c[r, c] (v(2r + c)), v16/v17 column 0's codes of 2 blocks, v18/v19 column
 * 1's, v24/v25 x, v26/v27 the int32 sums in SADALP (they stay in memory, tot, 2 at a
 * time by LDP/STP), the rest per width below. */
#define MUL16(p, a, w) "smull v" p ".8h, v" a ".8b, v" w ".8b\n\tsmlal2 v" p ".8h, v" a ".16b, v" w ".16b\n\t"
#define MLA16(p, a, w) "smlal v" p ".8h, v" a ".8b, v" w ".8b\n\tsmlal2 v" p ".8h, v" a ".16b, v" w ".16b\n\t"

/* 3 bits: a chunk is per column 2 runs of the 2-bit plane (blocks 0-3, 4-7) and a
 * run of the 1-bit plane (bit t of byte i: code 16t + i). u = low field | high
 * bit << 2: the high bit is shifted to bit 2 with bits 3-7 cleared (AND 7, v31),
 * then BIT takes bits 0-1 from the run shifted by the field (BIT mask 3, v30).
 * v20/v21 the columns' 1-bit runs, v22/v23 their current 2-bit runs, v26 a shifted
 * run. An int16 lane takes 2 chunks (2 * 16 * 128 * 7 = 28672). Per pass and 2
 * chunks (256 blocks of 16 multiply-accumulates): 512 multiply-adds, 124 for the
 * codes, 64 loads of x, 32 for the sums, ~14 for the loop: 2.91 instructions per 16
 * multiply-accumulates (int8: 3.19). */
#define HI3_0(u, h) "shl v" u ".16b, v" h ".16b, #2\n\tand v" u ".16b, v" u ".16b, v31.16b\n\t"
#define HI3_1(u, h) "shl v" u ".16b, v" h ".16b, #1\n\tand v" u ".16b, v" u ".16b, v31.16b\n\t"
#define HI3_2(u, h) "and v" u ".16b, v" h ".16b, v31.16b\n\t"
#define HI3_SHR(u, h, n) "ushr v" u ".16b, v" h ".16b, #" n "\n\tand v" u ".16b, v" u ".16b, v31.16b\n\t"
#define HI3_3(u, h) HI3_SHR(u, h, "1")
#define HI3_4(u, h) HI3_SHR(u, h, "2")
#define HI3_5(u, h) HI3_SHR(u, h, "3")
#define HI3_6(u, h) HI3_SHR(u, h, "4")
#define HI3_7(u, h) "ushr v" u ".16b, v" h ".16b, #5\n\t" /* bits 3-7 are zero already */
#define LO3_0(u, lo) "bit v" u ".16b, v" lo ".16b, v30.16b\n\t"
#define LO3_SHR(u, lo, n) "ushr v26.16b, v" lo ".16b, #" n "\n\tbit v" u ".16b, v26.16b, v30.16b\n\t"
#define LO3_1(u, lo) LO3_SHR(u, lo, "2")
#define LO3_2(u, lo) LO3_SHR(u, lo, "4")
#define LO3_3(u, lo) LO3_SHR(u, lo, "6")
#define LO3_4 LO3_0
#define LO3_5 LO3_1
#define LO3_6 LO3_2
#define LO3_7 LO3_3
/* block 0 loads the 1-bit run (32 bytes on) and the first 2-bit run, block 4 the
 * second (then on to the next chunk) */
#define LOAD3_0(h, lo, wp) "ldr q" h ", [%[" wp "], #32]\n\tldr q" lo ", [%[" wp "]], #16\n\t"
#define LOAD3_4(h, lo, wp) "ldr q" lo ", [%[" wp "]], #32\n\t"
#define LOAD3_1(h, lo, wp) ""
#define LOAD3_2 LOAD3_1
#define LOAD3_3 LOAD3_1
#define LOAD3_5 LOAD3_1
#define LOAD3_6 LOAD3_1
#define LOAD3_7 LOAD3_1
#define CODES3(t, u, h, lo, wp) LOAD3_##t(h, lo, wp) HI3_##t(u, h) LO3_##t(u, lo)
/* row <row>'s next 2 blocks times the 2 columns' codes into parts p0, p1; OP is
 * MUL16 for a segment's first block (sets the parts) */
#define ROW8(OP, row, p0, p1)                                                                                      \
    "ldp q24, q25, [%[" row "]], #32\n\t" OP(p0, "24", "16") OP(p1, "24", "18") MLA16(p0, "25", "17")             \
        MLA16(p1, "25", "19")
#define ROWS8(OP)                                                                                                  \
    ROW8(OP, "x0", "0", "1") ROW8(OP, "x1", "2", "3") ROW8(OP, "x2", "4", "5") ROW8(OP, "x3", "6", "7")            \
    ROW8(OP, "x4", "8", "9") ROW8(OP, "x5", "10", "11") ROW8(OP, "x6", "12", "13") ROW8(OP, "x7", "14", "15")
#define CODES3_PAIR(b, b1)                                                                                         \
    CODES3(b, "16", "20", "22", "w0") CODES3(b1, "17", "20", "22", "w0") CODES3(b, "18", "21", "23", "w1")         \
    CODES3(b1, "19", "21", "23", "w1")
#define PAIR3(b, b1, OP) CODES3_PAIR(b, b1) ROWS8(OP)
#define CHUNK3(OP) PAIR3(0, 1, OP) PAIR3(2, 3, MLA16) PAIR3(4, 5, MLA16) PAIR3(6, 7, MLA16)
/* tot[r][0], tot[r][1] (at byte 64r: rows of 4 columns) += the parts v<p0>, v<p1> */
#define SUMS8(off, p0, p1)                                                                                         \
    "ldp q26, q27, [%[tot], #" off "]\n\t"                                                                          \
    "sadalp v26.4s, v" p0 ".8h\n\tsadalp v27.4s, v" p1 ".8h\n\t"                                                    \
    "stp q26, q27, [%[tot], #" off "]\n\t"
/* the same for a pass's first sums: SADDLP sets them */
#define SUMS8_FIRST(off, p0, p1)                                                                                   \
    "saddlp v26.4s, v" p0 ".8h\n\tsaddlp v27.4s, v" p1 ".8h\n\tstp q26, q27, [%[tot], #" off "]\n\t"
#define EVERY_SUMS8(S)                                                                                             \
    S("0", "0", "1") S("64", "2", "3") S("128", "4", "5") S("192", "6", "7") S("256", "8", "9") S("320", "10", "11") \
    S("384", "12", "13") S("448", "14", "15")
#define ALL_SUMS8 EVERY_SUMS8(SUMS8)
/* the last chunk: the rows of x from tails */
#define TAILS8                                                                                                     \
    "ldp %[x0], %[x1], [%[tails]]\n\tldp %[x2], %[x3], [%[tails], #16]\n\t"                                         \
    "ldp %[x4], %[x5], [%[tails], #32]\n\tldp %[x6], %[x7], [%[tails], #48]\n"

/* 6 bits, tiles of 8 rows x 4 columns as 2 passes of 8 x 2 like 3 bits. Unsigned
 * products x * u (up to 63 * 128) would fill an int16 lane in 2 blocks; the codes
 * are centred instead as w = 32 - u = -q in -31 ... 32 (one SUB a block), whose
 * products are in -4096 ... 4064, so a lane takes 4 blocks (8 of them: -32768 ...
 * 32512) and the sums are -(sum x * q). A chunk is per column 4 runs of the 4-bit
 * plane (low nibbles block 2p, high 2p + 1) and 2 runs of the 2-bit plane (blocks
 * 0-3, 4-7): u = nibble | field << 4 by SLI, whose field needs bits 2-3 clear
 * (AND 0x33, v28); v29 = 32. v16/v17 column 0's codes of 2 blocks (even, odd),
 * v18/v19 column 1's, v20/v21 their 2-bit runs, v22/v23 their 4-bit runs (the
 * even block's codes are made in place), v24/v25 x, v26 a field. Per chunk: 256
 * multiply-adds, 76 for the codes, 32 loads of x, 64 for the sums. */
#define FIELD6_0(h) "and v26.16b, v" h ".16b, v28.16b\n\t"
#define FIELD6_1(h) "ushr v26.16b, v" h ".16b, #2\n\tand v26.16b, v26.16b, v28.16b\n\t"
#define FIELD6_2(h) "and v26.16b, v" h ".16b, v28.16b\n\tushr v26.16b, v26.16b, #4\n\t"
#define FIELD6_3(h) "ushr v26.16b, v" h ".16b, #6\n\t"
/* pair p loads its 4-bit run, pairs 0 and 2 first the 2-bit run (64 and 80 bytes
 * into the chunk), pair 3 steps to the next chunk */
#define LOAD6_0(h, lo, wp) "ldr q" h ", [%[" wp "], #64]\n\tldr q" lo ", [%[" wp "]], #16\n\t"
#define LOAD6_1(h, lo, wp) "ldr q" lo ", [%[" wp "]], #16\n\t"
#define LOAD6_2(h, lo, wp) "ldr q" h ", [%[" wp "], #48]\n\tldr q" lo ", [%[" wp "]], #16\n\t"
#define LOAD6_3(h, lo, wp) "ldr q" lo ", [%[" wp "]], #48\n\t"
/* the odd block's w into v<odd>, the even block's into v<lo> (fields fe, fo) */
#define CODES6(LOAD, FE, FO, odd, h, lo, wp)                                                                       \
    LOAD(h, lo, wp) "ushr v" odd ".16b, v" lo ".16b, #4\n\t" FO(h) "sli v" odd ".16b, v26.16b, #4\n\t" FE(h)        \
    "sli v" lo ".16b, v26.16b, #4\n\t"                                                                               \
    "sub v" odd ".16b, v29.16b, v" odd ".16b\n\tsub v" lo ".16b, v29.16b, v" lo ".16b\n\t"
#define ROW6(OP, row, p0, p1)                                                                                      \
    "ldp q24, q25, [%[" row "]], #32\n\t" OP(p0, "24", "22") OP(p1, "24", "23") MLA16(p0, "25", "17")             \
        MLA16(p1, "25", "19")
#define PAIR6(p, FE, FO, OP)                                                                                       \
    CODES6(LOAD6_##p, FE, FO, "17", "20", "22", "w0") CODES6(LOAD6_##p, FE, FO, "19", "21", "23", "w1")            \
    ROW6(OP, "x0", "0", "1") ROW6(OP, "x1", "2", "3") ROW6(OP, "x2", "4", "5") ROW6(OP, "x3", "6", "7")            \
    ROW6(OP, "x4", "8", "9") ROW6(OP, "x5", "10", "11") ROW6(OP, "x6", "12", "13") ROW6(OP, "x7", "14", "15")
#define CHUNK6(SUMS)                                                                                               \
    PAIR6(0, FIELD6_0, FIELD6_1, MUL16) PAIR6(1, FIELD6_2, FIELD6_3, MLA16) EVERY_SUMS8(SUMS)                      \
    PAIR6(2, FIELD6_0, FIELD6_1, MUL16) PAIR6(3, FIELD6_2, FIELD6_3, MLA16) ALL_SUMS8


/* 2 bits in 8 x 2 passes: a column's run is 4 blocks (fields of bits 0-1, 2-3, 4-5,
 * 6-7), v30 the mask 3, v20/v21 the columns' runs; an int16 lane takes 4 chunks
 * (2 * 32 * 128 * 3 = 24576). */
#define FIELD2_0(u, run) "and v" u ".16b, v" run ".16b, v30.16b\n\t"
#define FIELD2_SHR(u, run, n) "ushr v" u ".16b, v" run ".16b, #" n "\n\tand v" u ".16b, v" u ".16b, v30.16b\n\t"
#define FIELD2_3(u, run) "ushr v" u ".16b, v" run ".16b, #6\n\t"
#define CODES2_LOW                                                                                                 \
    "ldr q20, [%[w0]], #16\n\tldr q21, [%[w1]], #16\n\t" FIELD2_0("16", "20") FIELD2_SHR("17", "20", "2")          \
    FIELD2_0("18", "21") FIELD2_SHR("19", "21", "2")
#define CODES2_HIGH FIELD2_SHR("16", "20", "4") FIELD2_3("17", "20") FIELD2_SHR("18", "21", "4") FIELD2_3("19", "21")
#define PAIR2_LOW(OP) CODES2_LOW ROWS8(OP)
#define PAIR2_HIGH CODES2_HIGH ROWS8(MLA16)
#define CHUNK2(OP) PAIR2_LOW(OP) PAIR2_HIGH PAIR2_LOW(MLA16) PAIR2_HIGH
/* 4 bits in 8 x 2 passes: a column's run is 2 blocks (low nibbles, high), v30 the
 * mask 0x0f; an int16 lane takes a chunk (2 * 8 * 128 * 15 = 30720). */
#define CODES4                                                                                                     \
    "ldr q17, [%[w0]], #16\n\tldr q19, [%[w1]], #16\n\t"                                                            \
    "and v16.16b, v17.16b, v30.16b\n\tushr v17.16b, v17.16b, #4\n\t"                                                \
    "and v18.16b, v19.16b, v30.16b\n\tushr v19.16b, v19.16b, #4\n\t"
#define PAIR4(OP) CODES4 ROWS8(OP)
#define CHUNK4(SUMS) PAIR4(MUL16) PAIR4(MLA16) PAIR4(MLA16) PAIR4(MLA16) EVERY_SUMS8(SUMS)

/* The asm of an 8 x 2 pass's operands: rows x0 ... x7 (the last chunk's from
 * tails), columns w0 and w1, n chunks, the int32 sums at tot. */
#define OPERANDS8                                                                                                     \
    : [x0] "+r"(x0), [x1] "+r"(x1), [x2] "+r"(x2), [x3] "+r"(x3), [x4] "+r"(x4), [x5] "+r"(x5), [x6] "+r"(x6),        \
      [x7] "+r"(x7), [w0] "+r"(w0), [w1] "+r"(w1), [n] "+r"(left), [s] "=&r"(seg_left), [set] "+r"(set)              \
    : [tot] "r"(sums), [tails] "r"(tail)                                                                              \
    : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14",  \
      "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29",        \
      "v30", "v31"
/* An 8 x 2 pass whose int16 lanes take `seg` (2 or more) chunks: each segment's
 * first chunk is FIRST (SMULL sets the parts), its others NEXT; then SADDLP sets
 * tot from the parts (the first segment: %[set] = 0) or SADALP adds them. */
#define SEGMENT_LOOP8(masks, seg_less_1, FIRST, NEXT)                                                                \
    __asm__ volatile(masks                                                                                            \
    "1:\n\t"                                                                                                          \
    "cmp %[n], #1\n\t"                                                                                                \
    "b.ne 2f\n\t" TAILS8                                                                                              \
    "2:\n\t" FIRST                                                                                                    \
    "subs %[n], %[n], #1\n\t"                                                                                         \
    "b.eq 5f\n\t"                                                                                                     \
    "mov %[s], #" seg_less_1 "\n"                                                                                     \
    "3:\n\t"                                                                                                          \
    "cmp %[n], #1\n\t"                                                                                                \
    "b.ne 4f\n\t" TAILS8                                                                                              \
    "4:\n\t" NEXT                                                                                                     \
    "subs %[n], %[n], #1\n\t"                                                                                         \
    "b.eq 5f\n\t"                                                                                                     \
    "subs %[s], %[s], #1\n\t"                                                                                         \
    "b.ne 3b\n"                                                                                                       \
    "5:\n\t"                                                                                                          \
    "cbz %[set], 6f\n\t" ALL_SUMS8                                                                                      \
    "b 7f\n"                                                                                                          \
    "6:\n\t" EVERY_SUMS8(SUMS8_FIRST)                                                                                 \
    "mov %[set], #1\n"                                                                                                \
    "7:\n\t"                                                                                                          \
    "cbnz %[n], 1b\n\t" OPERANDS8)
/* An 8 x 2 pass whose chunks add their own sums: the first is FIRST (which sets
 * them), the others NEXT. */
#define CHUNK_LOOP8(masks, FIRST, NEXT)                                                                               \
    __asm__ volatile(masks                                                                                            \
    "cmp %[n], #1\n\t"                                                                                                \
    "b.ne 1f\n\t" TAILS8                                                                                              \
    "1:\n\t" FIRST                                                                                                    \
    "subs %[n], %[n], #1\n\t"                                                                                         \
    "b.eq 4f\n"                                                                                                       \
    "2:\n\t"                                                                                                          \
    "cmp %[n], #1\n\t"                                                                                                \
    "b.ne 3f\n\t" TAILS8                                                                                              \
    "3:\n\t" NEXT                                                                                                     \
    "subs %[n], %[n], #1\n\t"                                                                                         \
    "b.ne 2b\n"                                                                                                       \
    "4:\n\t" OPERANDS8)

/* tot[r][c] = the lanes of c[r, c] of a tile of 8 rows x[0 ... 7] (the last chunk's
 * from tail[0 ... 7]) and columns col[0 ... 3], in 2 passes of 8 x 2; for 6 bits
 * their negation (codes centred as 32 - u). */
static ALWAYS_INLINE void chunks_8x4(const unsigned bits, size_t chunks, const int8_t *const x[8],
                                     const int8_t *const tail[8], const uint8_t *const col[NR],
                                     int32x4_t tot[8][NR]) {
    for (unsigned half = 0; half < 2; half++) {
        const int8_t *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3], *x4 = x[4], *x5 = x[5], *x6 = x[6], *x7 = x[7];
        const uint8_t *w0 = col[2 * half], *w1 = col[2 * half + 1];
        int32x4_t *sums = &tot[0][2 * half];
        size_t left = chunks, seg_left, set = 0; /* set: tot holds sums (the first SADDLPs are done) */
        switch (bits) {
        case 2: SEGMENT_LOOP8("movi v30.16b, #3\n", "3", CHUNK2(MUL16), CHUNK2(MLA16)); break;
        case 3: SEGMENT_LOOP8("movi v30.16b, #3\n\tmovi v31.16b, #7\n", "1", CHUNK3(MUL16), CHUNK3(MLA16)); break;
        case 4: CHUNK_LOOP8("movi v30.16b, #0x0f\n\t", CHUNK4(SUMS8_FIRST), CHUNK4(SUMS8)); break;
        default:
            CHUNK_LOOP8("movi v28.16b, #0x33\n\tmovi v29.16b, #32\n\t", CHUNK6(SUMS8_FIRST), CHUNK6(SUMS8));
            break;
        }
    }
}
/* Groups of 32 (2 blocks) on AArch64, 2, 3 and 4 bits: tiles of 8 x 4 in 2 passes
 * of 8 x 2 over the groups (groups_8x4), the codes unpacked as in chunks_8x4 and
 * centred per lane (SUB of 2^(bits-1), v29), so nothing comes off per row. After a
 * group, 2 levels of ADDP sum a pair of rows' parts (v8-v11) into 8 int16 lanes, rows
 * r, r + 1 x columns 0, 0, 1, 1, each 16 products (at most 16 * 8 * 128 = 16384 in
 * magnitude), and SMLAL/SMLAL2 by the group's sub-scales (v13 = s0, s0, s1, s1 twice,
 * the 2 bytes in v12 times 0x00010001, v14) add them to the rows' int32 sums v0-v7
 * (lanes: column 0, 0, 1, 1). Per group and pass (32 blocks of 16
 * multiply-accumulates): 64 multiply-adds, 16 loads of x, 20 to add the group, 4 for
 * its sub-scales, 10 (4 bits) to 24 (3 bits) for the codes. */
#define CENTRE(u) "sub v" u ".16b, v" u ".16b, v29.16b\n\t"
#define GROUP_ROWS(r0, r1, a0, a1)                                                                                 \
    "ldp q24, q25, [%[" r0 "]], #32\n\t" MUL16("8", "24", "16") MUL16("9", "24", "18") MLA16("8", "25", "17")      \
    MLA16("9", "25", "19") "ldp q24, q25, [%[" r1 "]], #32\n\t" MUL16("10", "24", "16") MUL16("11", "24", "18")   \
    MLA16("10", "25", "17") MLA16("11", "25", "19")                                                               \
    "addp v8.8h, v8.8h, v9.8h\n\taddp v10.8h, v10.8h, v11.8h\n\taddp v8.8h, v8.8h, v10.8h\n\t"                      \
    "smlal v" a0 ".4s, v8.4h, v13.4h\n\tsmlal2 v" a1 ".4s, v8.8h, v13.8h\n\t"
/* a group's sub-scales into v13 (groups of 64 and 128: at their first 32 codes) */
#define SUBS8                                                                                                      \
    "ld1 {v12.b}[0], [%[s0]], #1\n\tld1 {v12.b}[4], [%[s1]], #1\n\t"                                                \
    "mul v13.2s, v12.2s, v14.2s\n\tdup v13.2d, v13.d[0]\n\t"
#define GROUP_BODY(CODES, SUBS)                                                                                    \
    CODES CENTRE("16") CENTRE("17") CENTRE("18") CENTRE("19") SUBS GROUP_ROWS("x0", "x1", "0", "1")               \
    GROUP_ROWS("x2", "x3", "2", "3") GROUP_ROWS("x4", "x5", "4", "5") GROUP_ROWS("x6", "x7", "6", "7")
/* An 8 x 2 pass over n runs of 32 codes, a chunk's 4 runs' codes C0 ... C3 and
 * sub-scales S0 ... S3 (SUBS8 where a group starts; the last chunk: n <= 4, x from
 * tails), the rows' sums stored at tot + 64r. */
#define GROUP_LOOP8(masks, centre, C0, C1, C2, C3, S0, S1, S2, S3)                                                                    \
    __asm__ volatile(masks "movi v29.16b, #" centre "\n\tmovi v14.8h, #1\n\tmovi v12.2d, #0\n\t"                       \
    "movi v0.2d, #0\n\tmovi v1.2d, #0\n\tmovi v2.2d, #0\n\tmovi v3.2d, #0\n\t"                                         \
    "movi v4.2d, #0\n\tmovi v5.2d, #0\n\tmovi v6.2d, #0\n\tmovi v7.2d, #0\n"                                           \
    "1:\n\t"                                                                                                          \
    "cmp %[n], #4\n\t"                                                                                                \
    "b.hi 2f\n\t" TAILS8                                                                                              \
    "2:\n\t" GROUP_BODY(C0, S0)                                                                                           \
    "subs %[n], %[n], #1\n\t"                                                                                         \
    "b.eq 3f\n\t" GROUP_BODY(C1, S1)                                                                                      \
    "subs %[n], %[n], #1\n\t"                                                                                         \
    "b.eq 3f\n\t" GROUP_BODY(C2, S2)                                                                                      \
    "subs %[n], %[n], #1\n\t"                                                                                         \
    "b.eq 3f\n\t" GROUP_BODY(C3, S3)                                                                                      \
    "subs %[n], %[n], #1\n\t"                                                                                         \
    "b.ne 1b\n"                                                                                                       \
    "3:\n\t"                                                                                                          \
    "str q0, [%[tot]]\n\tstr q1, [%[tot], #64]\n\tstr q2, [%[tot], #128]\n\tstr q3, [%[tot], #192]\n\t"               \
    "str q4, [%[tot], #256]\n\tstr q5, [%[tot], #320]\n\tstr q6, [%[tot], #384]\n\tstr q7, [%[tot], #448]\n\t"        \
    : [x0] "+r"(x0), [x1] "+r"(x1), [x2] "+r"(x2), [x3] "+r"(x3), [x4] "+r"(x4), [x5] "+r"(x5), [x6] "+r"(x6),        \
      [x7] "+r"(x7), [w0] "+r"(w0), [w1] "+r"(w1), [s0] "+r"(s0), [s1] "+r"(s1), [n] "+r"(left)                       \
    : [tot] "r"(sums), [tails] "r"(tail)                                                                              \
    : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14",  \
      "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v29", "v30", "v31")

/* tot[r][half] = the int32 lanes (columns 2 half, 2 half, 2 half + 1, 2 half + 1) of
 * c[r, ...] less the bias, of a tile of 8 rows and 4 columns with groups of `span`
 * blocks (2, 4 or 8), over runs = k / 32. */
static ALWAYS_INLINE void groups_8x4(const unsigned bits, const unsigned span, size_t runs, const int8_t *const x[8],
                                     const int8_t *const tail[8], const uint8_t *const col[NR],
                                     const uint8_t *const sub[NR], int32x4_t tot[8][NR]) {
#define LOOP(masks, centre, C0, C1, C2, C3)                                                                        \
    switch (span) {                                                                                                \
    case 2: GROUP_LOOP8(masks, centre, C0, C1, C2, C3, SUBS8, SUBS8, SUBS8, SUBS8); break;                         \
    case 4: GROUP_LOOP8(masks, centre, C0, C1, C2, C3, SUBS8, "", SUBS8, ""); break;                               \
    default: GROUP_LOOP8(masks, centre, C0, C1, C2, C3, SUBS8, "", "", ""); break;                                 \
    }
    for (unsigned half = 0; half < 2; half++) {
        const int8_t *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3], *x4 = x[4], *x5 = x[5], *x6 = x[6], *x7 = x[7];
        const uint8_t *w0 = col[2 * half], *w1 = col[2 * half + 1], *s0 = sub[2 * half], *s1 = sub[2 * half + 1];
        int32x4_t *sums = &tot[0][half];
        size_t left = runs;
        switch (bits) {
        case 2: LOOP("movi v30.16b, #3\n\t", "2", CODES2_LOW, CODES2_HIGH, CODES2_LOW, CODES2_HIGH); break;
        case 3:
            LOOP("movi v30.16b, #3\n\tmovi v31.16b, #7\n\t", "4", CODES3_PAIR(0, 1), CODES3_PAIR(2, 3),
                 CODES3_PAIR(4, 5), CODES3_PAIR(6, 7));
            break;
        default: LOOP("movi v30.16b, #0x0f\n\t", "8", CODES4, CODES4, CODES4, CODES4); break;
        }
    }
#undef LOOP
}
/* One row (m = 1, a classifier's last layer), 2 and 4 bits: tiles of 1 x 4 in
 * assembly (chunks_1x4), where nothing shares a column's codes: v0-v3 the int16
 * lanes of the 4 columns, v4-v7 their int32 sums (SADALP every chunk), v(16 + 2c),
 * v(17 + 2c) column c's codes of 2 blocks, v24-v27 the columns' 2-bit runs, v28/v29
 * 2 blocks of x, v30 the mask. Per 4-bit chunk: 64 multiply-adds, 48 for the codes,
 * 4 loads of x, 4 SADALPs (int8: 3 per 16 multiply-accumulates and the loads). */
#define ROW1(OP)                                                                                                   \
    "ldp q28, q29, [%[x0]], #32\n\t" OP("0", "28", "16") OP("1", "28", "18") OP("2", "28", "20")                   \
    OP("3", "28", "22") MLA16("0", "29", "17") MLA16("1", "29", "19") MLA16("2", "29", "21") MLA16("3", "29", "23")
#define CODES4_1(u0, u1, wp)                                                                                       \
    "ldr q" u1 ", [%[" wp "]], #16\n\tand v" u0 ".16b, v" u1 ".16b, v30.16b\n\tushr v" u1 ".16b, v" u1 ".16b, #4\n\t"
#define PAIR4_1(OP)                                                                                                \
    CODES4_1("16", "17", "w0") CODES4_1("18", "19", "w1") CODES4_1("20", "21", "w2") CODES4_1("22", "23", "w3")    \
    ROW1(OP)
#define CHUNK4_1 PAIR4_1(MUL16) PAIR4_1(MLA16) PAIR4_1(MLA16) PAIR4_1(MLA16)
#define CODES2_1_LOW(u0, u1, run, wp) "ldr q" run ", [%[" wp "]], #16\n\t" FIELD2_0(u0, run) FIELD2_SHR(u1, run, "2")
#define CODES2_1_HIGH(u0, u1, run) FIELD2_SHR(u0, run, "4") FIELD2_3(u1, run)
#define PAIR2_1_LOW(OP)                                                                                            \
    CODES2_1_LOW("16", "17", "24", "w0") CODES2_1_LOW("18", "19", "25", "w1") CODES2_1_LOW("20", "21", "26", "w2") \
    CODES2_1_LOW("22", "23", "27", "w3") ROW1(OP)
#define PAIR2_1_HIGH                                                                                               \
    CODES2_1_HIGH("16", "17", "24") CODES2_1_HIGH("18", "19", "25") CODES2_1_HIGH("20", "21", "26")               \
    CODES2_1_HIGH("22", "23", "27") ROW1(MLA16)
#define CHUNK2_1 PAIR2_1_LOW(MUL16) PAIR2_1_HIGH PAIR2_1_LOW(MLA16) PAIR2_1_HIGH
#define CHUNK_LOOP1(mask, BODY)                                                                                       \
    __asm__ volatile("movi v30.16b, #" mask "\n\t"                                                                    \
    "movi v4.2d, #0\n\tmovi v5.2d, #0\n\tmovi v6.2d, #0\n\tmovi v7.2d, #0\n"                                           \
    "1:\n\t"                                                                                                          \
    "cmp %[n], #1\n\t"                                                                                                \
    "b.ne 2f\n\t"                                                                                                     \
    "mov %[x0], %[t0]\n"                                                                                              \
    "2:\n\t" BODY                                                                                                     \
    "sadalp v4.4s, v0.8h\n\tsadalp v5.4s, v1.8h\n\tsadalp v6.4s, v2.8h\n\tsadalp v7.4s, v3.8h\n\t"                   \
    "subs %[n], %[n], #1\n\t"                                                                                         \
    "b.ne 1b\n\t"                                                                                                     \
    "stp q4, q5, [%[tot]]\n\tstp q6, q7, [%[tot], #32]\n\t"                                                           \
    : [x0] "+r"(x0), [w0] "+r"(w0), [w1] "+r"(w1), [w2] "+r"(w2), [w3] "+r"(w3), [n] "+r"(left)                      \
    : [tot] "r"(tot), [t0] "r"(tail)                                                                                  \
    : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v16", "v17", "v18", "v19", "v20", "v21",      \
      "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30")

/* tot[c] = the lanes of c[0, c] of one row x (the last chunk's from tail), 2 or 4
 * bits, columns col[0 ... 3]. */
static ALWAYS_INLINE void chunks_1x4(const unsigned bits, size_t chunks, const int8_t *x, const int8_t *tail,
                                     const uint8_t *const col[NR], int32x4_t tot[NR]) {
    const int8_t *x0 = x;
    const uint8_t *w0 = col[0], *w1 = col[1], *w2 = col[2], *w3 = col[3];
    size_t left = chunks;
    if (bits == 2)
        CHUNK_LOOP1("3", CHUNK2_1);
    else
        CHUNK_LOOP1("0x0f", CHUNK4_1);
}
#undef ROW1
#undef CODES4_1
#undef PAIR4_1
#undef CHUNK4_1
#undef CODES2_1_LOW
#undef CODES2_1_HIGH
#undef PAIR2_1_LOW
#undef PAIR2_1_HIGH
#undef CHUNK2_1
#undef CHUNK_LOOP1
#undef MUL16
#undef MLA16
#undef HI3_0
#undef HI3_1
#undef HI3_2
#undef HI3_SHR
#undef HI3_3
#undef HI3_4
#undef HI3_5
#undef HI3_6
#undef HI3_7
#undef LO3_0
#undef LO3_SHR
#undef LO3_1
#undef LO3_2
#undef LO3_3
#undef LO3_4
#undef LO3_5
#undef LO3_6
#undef LO3_7
#undef LOAD3_0
#undef LOAD3_1
#undef LOAD3_2
#undef LOAD3_3
#undef LOAD3_4
#undef LOAD3_5
#undef LOAD3_6
#undef LOAD3_7
#undef CODES3
#undef ROW8
#undef ROWS8
#undef PAIR3
#undef CHUNK3
#undef SUMS8
#undef ALL_SUMS8
#undef SUMS8_FIRST
#undef EVERY_SUMS8
#undef TAILS8
#undef SEGMENT_LOOP8
#undef CHUNK_LOOP8
#undef OPERANDS8
#undef FIELD2_0
#undef FIELD2_SHR
#undef FIELD2_3
#undef PAIR2_LOW
#undef PAIR2_HIGH
#undef CHUNK2
#undef PAIR4
#undef CODES4
#undef CODES2_LOW
#undef CODES2_HIGH
#undef CODES3_PAIR
#undef CENTRE
#undef GROUP_ROWS
#undef GROUP_BODY
#undef SUBS8
#undef GROUP_LOOP8
#undef CHUNK4
#undef FIELD6_0
#undef FIELD6_1
#undef FIELD6_2
#undef FIELD6_3
#undef LOAD6_0
#undef LOAD6_1
#undef LOAD6_2
#undef LOAD6_3
#undef CODES6
#undef ROW6
#undef PAIR6
#undef CHUNK6
#endif

/* The int16 lanes 0, 1, 2, 3 = sub[c][g] of the 4 columns. */
static ALWAYS_INLINE int16x4_t column_subs(const uint8_t *const sub[NR], size_t g) {
    uint8x8_t v = vdup_n_u8(0);
    v = vld1_lane_u8(sub[0] + g, v, 0);
    v = vld1_lane_u8(sub[1] + g, v, 2);
    v = vld1_lane_u8(sub[2] + g, v, 4);
    v = vld1_lane_u8(sub[3] + g, v, 6);
    return vreinterpret_s16_u8(v);
}

/* v * 2^(bits-1) (an immediate shift, as clang wants it). */
static ALWAYS_INLINE int32x4_t times_offset(int32x4_t v, unsigned bits) {
    switch (bits) {
    case 2: return vshlq_n_s32(v, 1);
    case 3: return vshlq_n_s32(v, 2);
    case 4: return vshlq_n_s32(v, 3);
    default: return vshlq_n_s32(v, 5);
    }
}

/* tot += part * lane c of s, widened, less xs * lane c of s32 (s widened). */
static ALWAYS_INLINE int32x4_t mla_sub(int32x4_t tot, int16x8_t part, int32x4_t xs, int16x4_t s, int32x4_t s32,
                                       unsigned c) {
    switch (c) {
    case 0:
        tot = vmlal_lane_s16(vmlal_lane_s16(tot, vget_low_s16(part), s, 0), vget_high_s16(part), s, 0);
        return vmlsq_lane_s32(tot, xs, vget_low_s32(s32), 0);
    case 1:
        tot = vmlal_lane_s16(vmlal_lane_s16(tot, vget_low_s16(part), s, 1), vget_high_s16(part), s, 1);
        return vmlsq_lane_s32(tot, xs, vget_low_s32(s32), 1);
    case 2:
        tot = vmlal_lane_s16(vmlal_lane_s16(tot, vget_low_s16(part), s, 2), vget_high_s16(part), s, 2);
        return vmlsq_lane_s32(tot, xs, vget_high_s32(s32), 0);
    default:
        tot = vmlal_lane_s16(vmlal_lane_s16(tot, vget_low_s16(part), s, 3), vget_high_s16(part), s, 3);
        return vmlsq_lane_s32(tot, xs, vget_high_s32(s32), 1);
    }
}

/* A grouped tile of 2 rows, groups of `span` blocks: tot[r][c] = the contract's
 * sum less the bias, in 4 int32 lanes. Its k loop has tile_g0's shape; one inlined
 * helper for both made GCC 12 spill more (+2% to +5% instructions at 4/32, 3/32
 * and 6/0). */
static ALWAYS_INLINE void tile_grouped(const unsigned bits, const unsigned span, size_t chunks,
                                       const int8_t *const x[MR], const int8_t *const tail[MR],
                                       const uint8_t *const col[NR], const uint8_t *const sub[NR], size_t groups,
                                       int32x4_t tot[MR][NR]) {
    enum { ROWS = 2 };
    const size_t chunk_bytes = CHUNK / 8 * bits;
    const unsigned seg = bits == 6 ? 2 : span;
    int16x8_t part[ROWS][NR], xsum[ROWS];
    for (unsigned r = 0; r < ROWS; r++)
        for (unsigned c = 0; c < NR; c++) tot[r][c] = vdupq_n_s32(0);
    for (size_t ch = 0; ch < chunks; ch++) {
        const int8_t *xr[ROWS];
        for (unsigned r = 0; r < ROWS; r++) xr[r] = ch + 1 == chunks ? tail[r] : x[r] + ch * CHUNK;
#pragma GCC unroll 8
        for (unsigned t = 0; t < BLOCKS; t++) {
            const bool first = t % seg == 0;
            int8x16_t w[NR];
#pragma GCC unroll 4
            for (unsigned c = 0; c < NR; c++) w[c] = lowbit_block(col[c] + ch * chunk_bytes, bits, t);
#pragma GCC unroll 2
            for (unsigned r = 0; r < ROWS; r++) {
                const int8x16_t a = vld1q_s8(xr[r] + 16 * t);
                xsum[r] = first ? vpaddlq_s8(a) : vpadalq_s8(xsum[r], a);
#pragma GCC unroll 4
                for (unsigned c = 0; c < NR; c++) part[r][c] = mla_block(first, part[r][c], a, w[c]);
            }
            if ((t + 1) % seg != 0) continue;
            const size_t g = (ch * BLOCKS + t) / span;
            if (g >= groups) break; /* the zero padding of the last chunk */
            const int16x4_t s = column_subs(sub, g);
            const int32x4_t s32 = vmovl_s16(s);
            for (unsigned r = 0; r < ROWS; r++) {
                const int32x4_t xs = times_offset(vpaddlq_s16(xsum[r]), bits);
#pragma GCC unroll 4
                for (unsigned c = 0; c < NR; c++) tot[r][c] = mla_sub(tot[r][c], part[r][c], xs, s, s32, c);
            }
        }
    }
}

/* The 4 columns' sums of the lanes of tot[0 ... 3]. */
static ALWAYS_INLINE int32x4_t column_sums(const int32x4_t tot[NR]) {
#if defined(__aarch64__)
    return vpaddq_s32(vpaddq_s32(tot[0], tot[1]), vpaddq_s32(tot[2], tot[3]));
#else
    const int32x2_t s01 = vpadd_s32(vadd_s32(vget_low_s32(tot[0]), vget_high_s32(tot[0])),
                                    vadd_s32(vget_low_s32(tot[1]), vget_high_s32(tot[1])));
    const int32x2_t s23 = vpadd_s32(vadd_s32(vget_low_s32(tot[2]), vget_high_s32(tot[2])),
                                    vadd_s32(vget_low_s32(tot[3]), vget_high_s32(tot[3])));
    return vcombine_s32(s01, s23);
#endif
}

/* What a row of tiles needs: rows of x, 2^(bits-1) * sum x of each row (group size
 * 0), and for the first tile its columns' codes and sub-scales, and the 4 columns'
 * biases and (group size 0) sub-scales 4 in a row; the next tile's are col_step,
 * sub_step and bias_step (NR, or 0 for no biases) further. */
typedef struct tile_args {
    size_t chunks, groups;
    const int8_t *x[MR], *tail[MR];
    int32_t offsets[MR];
    const uint8_t *col[NR], *sub[NR];
    const int32_t *bias4;
    const uint8_t *sub4;
    size_t col_step, sub_step, bias_step;
    int32_t edge_bias[NR]; /* an edge tile's bias4 and sub4 */
    uint8_t edge_sub[NR];
} tile_args;

/* t's next tile of 4 columns. */
static ALWAYS_INLINE void next_tile(tile_args *t) {
    for (unsigned c = 0; c < NR; c++) {
        t->col[c] += t->col_step;
        t->sub[c] += t->sub_step;
    }
    t->bias4 += t->bias_step;
    t->sub4 += NR;
}

/* out[r][0 ... 3] (row stride ldo) of a group-size-0 tile of `rows` rows:
 * bias + s * (sum x * u - 2^(bits-1) * sum x). */
static ALWAYS_INLINE void store_g0(const unsigned rows, const tile_args *t, const int32x4_t tot[MR][NR],
                                   int32_t *out, size_t ldo, bool centred) {
    uint32_t sub4;
    memcpy(&sub4, t->sub4, sizeof sub4);
    const uint8x8_t sub8 = vreinterpret_u8_u32(vdup_n_u32(sub4));
    const int32x4_t s = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(vmovl_u8(sub8)))), bias = vld1q_s32(t->bias4);
    for (unsigned r = 0; r < rows; r++)
        vst1q_s32(out + r * ldo, centred ? vmlsq_s32(bias, column_sums(tot[r]), s)
                                         : vmlaq_s32(bias, vsubq_s32(column_sums(tot[r]), vdupq_n_s32(t->offsets[r])), s));
}

/* `tiles` tiles side by side from args' first, their results at out (row stride ldo) */
typedef void (*tile_fn)(const tile_args *args, size_t tiles, int32_t *out, size_t ldo);
/* one function per width, group span and (group size 0) rows, so every shift is an immediate */
#define TILE_ROW(name, ...)                                                                                        \
    static __attribute__((noinline)) void name(const tile_args *args, size_t tiles, int32_t *out, size_t ldo) {  \
        tile_args tile = *args, *t = &tile;                                                                        \
        for (size_t i = 0; i < tiles; i++, out += NR, next_tile(t)) {                                              \
            __VA_ARGS__                                                                                            \
        }                                                                                                          \
    }
#define TILE_G0(rows, bits)                                                                                        \
    TILE_ROW(tile_g0_##rows##_##bits, int32x4_t tot[MR][NR];                                                       \
             tile_g0(rows, bits, t->chunks, t->x, t->tail, t->col, tot); store_g0(rows, t, tot, out, ldo, false);)
#define TILE_GROUPED(bits, span)                                                                                   \
    TILE_ROW(tile_##bits##_##span, int32x4_t tot[MR][NR];                                                          \
             tile_grouped(bits, span, t->chunks, t->x, t->tail, t->col, t->sub, t->groups, tot);                  \
             const int32x4_t bias = vld1q_s32(t->bias4);                                                           \
             for (unsigned r = 0; r < 2; r++) vst1q_s32(out + r * ldo, vaddq_s32(bias, column_sums(tot[r])));)
#if defined(__aarch64__)
#define TILE_G0_8(bits)                                                                                            \
    TILE_ROW(tile_g0_8_##bits, int32x4_t tot[MR][NR]; chunks_8x4(bits, t->chunks, t->x, t->tail, t->col, tot);    \
             store_g0(8, t, tot, out, ldo, bits == 6);)
TILE_G0_8(2)
TILE_G0_8(3)
TILE_G0_8(4)
TILE_G0_8(6)
#undef TILE_G0_8
#define TILE_GROUPED_8(bits, span)                                                                                 \
    TILE_ROW(tile_##bits##_##span##_8, int32x4_t tot[MR][NR];                                                     \
             groups_8x4(bits, span, t->groups * span / 2, t->x, t->tail, t->col, t->sub, tot);                   \
             const int32x4_t bias = vld1q_s32(t->bias4);                                                           \
             for (unsigned r = 0; r < 8; r++) vst1q_s32(out + r * ldo, vaddq_s32(bias, vpaddq_s32(tot[r][0], tot[r][1])));)
#define TILE_G0_1(bits)                                                                                            \
    TILE_ROW(tile_g0_1_##bits, int32x4_t tot[MR][NR]; chunks_1x4(bits, t->chunks, t->x[0], t->tail[0], t->col, tot[0]); \
             store_g0(1, t, tot, out, ldo, false);)
TILE_G0_1(2)
TILE_G0_1(4)
#undef TILE_G0_1
#define TILE_FNS_8(bits) TILE_GROUPED_8(bits, 2) TILE_GROUPED_8(bits, 4) TILE_GROUPED_8(bits, 8)
TILE_FNS_8(2)
TILE_FNS_8(3)
TILE_FNS_8(4)
#undef TILE_FNS_8
#undef TILE_GROUPED_8
/* [bits 2, 3, 4, 6][groups of 32, 64, 128] in 8-row tiles (6 bits: its 2-row tiles) */
static const tile_fn TILES_GROUPED_8[4][3] = {{tile_2_2_8, tile_2_4_8, tile_2_8_8},
                                              {tile_3_2_8, tile_3_4_8, tile_3_8_8},
                                              {tile_4_2_8, tile_4_4_8, tile_4_8_8},
                                              {NULL, NULL, NULL}};
#define TILE_G0_2 tile_g0_8_2
#define TILE_G0_3 tile_g0_8_3
#define TILE_G0_4 tile_g0_8_4
#define TILE_G0_6 tile_g0_8_6
#else /* ARMv7 has 16 q registers: for 2 and 4 bits 1 x 4 tiles, which spill least, cost least */
TILE_G0(1, 2)
TILE_G0(1, 4)
TILE_G0(3, 3)
TILE_G0(3, 6)
#define TILE_G0_2 tile_g0_1_2
#define TILE_G0_3 tile_g0_3_3
#define TILE_G0_4 tile_g0_1_4
#define TILE_G0_6 tile_g0_3_6
#endif
#define TILE_FNS(bits) TILE_GROUPED(bits, 2) TILE_GROUPED(bits, 4) TILE_GROUPED(bits, 8)
TILE_FNS(2)
TILE_FNS(3)
TILE_FNS(4)
TILE_FNS(6)
TILE_G0(1, 3)
TILE_G0(1, 6)
#undef TILE_FNS
#undef TILE_GROUPED
#undef TILE_G0
#undef TILE_ROW

/* [bits 2, 3, 4, 6][group size 0 (1 row), 0 (G0_ROWS rows), 32, 64, 128] */
static const tile_fn TILES[4][5] = {{tile_g0_1_2, TILE_G0_2, tile_2_2, tile_2_4, tile_2_8},
                                    {tile_g0_1_3, TILE_G0_3, tile_3_2, tile_3_4, tile_3_8},
                                    {tile_g0_1_4, TILE_G0_4, tile_4_2, tile_4_4, tile_4_8},
                                    {tile_g0_1_6, TILE_G0_6, tile_6_2, tile_6_4, tile_6_8}};

/* Rows of TILES[width][1]. */
#if defined(__aarch64__)
static const size_t G0_ROWS[4] = {8, 8, 8, 8};
#else
static const size_t G0_ROWS[4] = {1, 3, 1, 3};
#endif

/* Sum of x[0 ... k_len - 1]. */
static int32_t row_sum(const int8_t *x, size_t k_len) {
    int32x4_t acc = vdupq_n_s32(0);
    size_t k = 0;
    for (; k + 16 <= k_len; k += 16) acc = vpadalq_s16(acc, vpaddlq_s8(vld1q_s8(x + k)));
    const int32x2_t pair = vadd_s32(vget_low_s32(acc), vget_high_s32(acc));
    int32_t sum = vget_lane_s32(vpadd_s32(pair, pair), 0);
    for (; k < k_len; k++) sum += x[k];
    return sum;
}

/* t's first tile: columns jb ... jb + nr - 1, the last repeated up to 4 (then the
 * biases and sub-scales 4 in a row are t's own copies). */
static void column_tile(tile_args *t, const lowbit_weights *w, size_t jb, size_t nr, size_t groups) {
    static const int32_t no_bias[NR] = {0};
    for (size_t cc = 0; cc < NR; cc++) {
        const size_t n = jb + (cc < nr ? cc : nr - 1);
        t->col[cc] = w->codes + n * w->row_bytes;
        t->sub[cc] = w->sub + n * groups;
        t->edge_bias[cc] = w->bias ? w->bias[n] : 0;
        t->edge_sub[cc] = w->sub[n * groups];
    }
    t->bias4 = nr < NR ? t->edge_bias : w->bias ? w->bias + jb : no_bias;
    t->sub4 = nr < NR ? t->edge_sub : w->sub + jb; /* read for group size 0 only: 4 in a row */
    t->col_step = NR * w->row_bytes;
    t->sub_step = NR * groups;
    t->bias_step = w->bias ? NR : 0;
}

void gemm_s8sxs32_2x4c16__neon(size_t m, size_t j0, size_t j1, size_t k_len, const int8_t *a, size_t lda,
                               const lowbit_weights *w, int32_t *c, size_t ldc) {
    const size_t chunks = (k_len + CHUNK - 1) / CHUNK, last = (chunks - 1) * CHUNK;
    const size_t groups = w->group_size ? k_len / w->group_size : 1;
    const size_t width = w->bits == 6 ? 3 : w->bits - 2;
    const size_t span_index = w->group_size == 32 ? 2 : w->group_size == 64 ? 3 : 4;
    const int32_t offset = 1 << (w->bits - 1);
    int8_t tail[MR][CHUNK] __attribute__((aligned(16)));
    tile_args t = {.chunks = chunks, .groups = groups};
    for (size_t i0 = 0; i0 < m;) {
        /* rows of this block: G0_ROWS (or 1 when 1 is left) for group size 0, 2 grouped
         * (AArch64, 2 to 4 bits: 8 when more than 2 are left) */
        size_t rows = w->group_size ? 2 : m - i0 == 1 ? 1 : G0_ROWS[width];
        tile_fn run = TILES[width][w->group_size ? span_index : rows != 1];
#if defined(__aarch64__)
        if (w->group_size && TILES_GROUPED_8[width][span_index - 2] && m - i0 > 2)
            rows = 8, run = TILES_GROUPED_8[width][span_index - 2];
#endif
        const size_t mr = m - i0 < rows ? m - i0 : rows;
        for (size_t r = 0; r < rows; r++) {
            t.x[r] = a + (i0 + (r < mr ? r : 0)) * lda;
            t.tail[r] = t.x[r] + last;
            if (k_len != chunks * CHUNK) {
                memset(tail[r], 0, CHUNK);
                memcpy(tail[r], t.x[r] + last, k_len - last);
                t.tail[r] = tail[r];
            }
            if (!w->group_size) t.offsets[r] = offset * row_sum(t.x[r], k_len);
        }
        /* whole tiles in one call; an edge tile (columns past j1, rows past m) into a copy */
        const size_t whole = mr == rows ? (j1 - j0) / NR : 0;
        size_t jb = j0;
        if (whole) {
            column_tile(&t, w, j0, NR, groups);
            run(&t, whole, c + i0 * ldc, ldc);
            jb += whole * NR;
        }
        for (; jb < j1; jb += NR) {
            const size_t nr = j1 - jb < NR ? j1 - jb : NR;
            int32_t edge[MR][NR];
            column_tile(&t, w, jb, nr, groups);
            run(&t, 1, edge[0], NR);
            for (size_t r = 0; r < mr; r++) memcpy(c + (i0 + r) * ldc + (jb - j0), edge[r], nr * sizeof *c);
        }
        i0 += mr;
    }
}
