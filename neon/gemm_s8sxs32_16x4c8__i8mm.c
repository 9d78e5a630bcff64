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
 * the usual AND or shift (and, for 3 and 6 bits, the high plane inserted by BIT) takes
 * it out. The ZIPs come free: LD2 of one 64-bit lane from each column's run loads both
 * registers. So per run of 2 columns: 2 loads, then one or two instructions per 8 k
 * (3 and 6 bits: two more for the high bits), each feeding the SMMLAs of 8 row pairs.
 *
 * The operands are the stored codes u = q + 2^(bits-1) (0 ... 63, so int8), and the
 * accumulators start at bias + the offset term -2^(bits-1) * sum of x over the row,
 * which SMMLA of the interleaved rows with -2^(bits-1) in every byte computes already
 * in the accumulators' 2 x 2 layout. That holds for group size 0 with sub-scales 1
 * (what the format has for group size 0); grouped layers (and any other sub-scales)
 * go to the SDOT kernel gemm_s8sxs32_16x4c4__neondot (every i8mm CPU has dotprod).
 *
 * Tile: 16 rows (8 row pairs) x 4 columns in 16 accumulators: per 8 k 16 SMMLAs, two
 * 64-byte loads of a (3 and 6 bits: four 32-byte ones), the columns' unpacking (4 bits:
 * 2 ANDs or USHRs, plus 4 LD2s per 32 k). m % 16 rows go to the SDOT kernel, like
 * grouped layers (its one-quad tiles waste less on a few rows).
 *
 * Exact: SMMLA forms each product exactly and adds in int32, the result fits int32 (the
 * loader's bound k * 2^(bits-1) * 128 * max s + |bias| < 2^31), so no partial sum needs a
 * bound of its own; x = -128 is as good as any other value. k past k_len is zero in the
 * copy of a; columns past j1 repeat the last column and are not stored. */
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

/* Rows 0 ... 15 of a, k 0 ... kc - 1, into s (zeros past kc up to whole chunks), and
 * the row pairs' offset terms (SMMLA with -2^(bits-1) as both columns). */
static void interleave(const int8_t *a, size_t lda, size_t kc, int32_t offset, slab *s) {
    const size_t octets = (kc + CHUNK - 1) / CHUNK * CHUNK / 8, padded = (kc + MMLA_KPAD - 1) / MMLA_KPAD * 2;
    const int8x16_t minus_offset = vdupq_n_s8((int8_t)-offset);
    for (size_t h = 0; h < 2; h++) {
        mmla_interleave_rows(a + 8 * h * lda, lda, 8, kc, s->x[h][0][0]);
        memset(s->x[h][padded], 0, (octets - padded) * sizeof s->x[h][0]);
        for (size_t p = 0; p < 4; p++) {
            int32x4_t sum = vdupq_n_s32(0);
            for (size_t o = 0; o < octets; o++) sum = vmmlaq_s32(sum, vld1q_s8(s->x[h][o][p]), minus_offset);
            vst1q_s32(s->start[4 * h + p], sum);
        }
    }
}

/* The tile in assembly: GCC 12 compiled it in intrinsics to spills of the 16
 * accumulators (4 bits: 2.3x the instructions of the int8 layer). Registers: v0-v3 8 k
 * of 4 row pairs of a (3 and 6 bits: v0, v1 of 2 row pairs, v2 a shifted high run);
 * v8-v11 a run of the low plane of the 2 column pairs, v8: bytes 0 ... 7 of columns 0
 * and 1, v9: their bytes 8 ... 15 (one LD2 of a 64-bit lane per column), v10, v11 the
 * same of columns 2 and 3; v4-v7 a run of the high plane the same way (3 and 6 bits);
 * v12, v13 the operands (8 k) of the column pairs; v14 the low fields' mask, v15 the
 * high bits' (0x04 for 3 bits, 0x30 for 6); v16 + 2p + q the 2 x 2 block of row pair p
 * and column pair q. */
#define ASM_MMLA(acc0, acc1, x) "smmla v" acc0 ".4s, " x ".16b, v12.16b\n\tsmmla v" acc1 ".4s, " x ".16b, v13.16b\n\t"
/* the 16 SMMLAs of 8 k of the 8 row pairs: a's 128 bytes in 4-register loads (2 and 4
 * bits) or 2-register ones (3 and 6 bits, which need v2) */
#define ASM_ROWS_WIDE                                                                                              \
    "ld1 {v0.16b-v3.16b}, [%[xa]], #64\n\t" ASM_MMLA("16", "17", "v0") ASM_MMLA("18", "19", "v1")                  \
        ASM_MMLA("20", "21", "v2") ASM_MMLA("22", "23", "v3") "ld1 {v0.16b-v3.16b}, [%[xb]], #64\n\t"              \
            ASM_MMLA("24", "25", "v0") ASM_MMLA("26", "27", "v1") ASM_MMLA("28", "29", "v2")                       \
                ASM_MMLA("30", "31", "v3")
#define ASM_ROWS_NARROW                                                                                            \
    "ldp q0, q1, [%[xa]], #32\n\t" ASM_MMLA("16", "17", "v0") ASM_MMLA("18", "19", "v1")                           \
    "ldp q0, q1, [%[xa]], #32\n\t" ASM_MMLA("20", "21", "v0") ASM_MMLA("22", "23", "v1")                           \
    "ldp q0, q1, [%[xb]], #32\n\t" ASM_MMLA("24", "25", "v0") ASM_MMLA("26", "27", "v1")                           \
    "ldp q0, q1, [%[xb]], #32\n\t" ASM_MMLA("28", "29", "v0") ASM_MMLA("30", "31", "v1")
/* a run of one plane of the 4 columns (pointers p0 ... p3, each stepping by step) into
 * r0 ... r3 */
#define ASM_LOAD_RUN(r0, r1, r2, r3, p0, p1, p2, p3, step)                                                         \
    "ld2 {" r0 ".d, " r1 ".d}[0], [%[" p0 "]], " step "\n\tld2 {" r0 ".d, " r1 ".d}[1], [%[" p1 "]], " step "\n\t" \
    "ld2 {" r2 ".d, " r3 ".d}[0], [%[" p2 "]], " step "\n\tld2 {" r2 ".d, " r3 ".d}[1], [%[" p3 "]], " step "\n\t"
#define ASM_LOW(step) ASM_LOAD_RUN("v8", "v9", "v10", "v11", "c0", "c1", "c2", "c3", step)
#define ASM_HIGH(step) ASM_LOAD_RUN("v4", "v5", "v6", "v7", "h0", "h1", "h2", "h3", step)
/* the halves of a run of each column pair: LOW0 bytes 0 ... 7, LOW1 bytes 8 ... 15 */
#define LOW0 "v8", "v10"
#define LOW1 "v9", "v11"
#define HIGH0 "v4", "v6"
#define HIGH1 "v5", "v7"
/* field f of p-bit fields of s into d, in bits 0 ... p - 1 (F<p>_<f>) */
#define F_AND(d, s) "and " d ".16b, " s ".16b, v14.16b\n\t"
#define F_SHR(d, s, n) "ushr " d ".16b, " s ".16b, #" n "\n\t"
#define F4_0(d, s) F_AND(d, s)
#define F4_1(d, s) F_SHR(d, s, "4")
#define F2_0(d, s) F_AND(d, s)
#define F2_1(d, s) F_SHR(d, s, "2") F_AND(d, d)
#define F2_2(d, s) F_SHR(d, s, "4") F_AND(d, d)
#define F2_3(d, s) F_SHR(d, s, "6")
/* v12, v13 = field F of a half of the low run (LOW0 or LOW1) */
#define ASM_FIELD(F, ...) ASM_FIELD_(F, __VA_ARGS__)
#define ASM_FIELD_(F, q0, q1) F("v12", q0) F("v13", q1)
/* then a half of the high run (HIGH0 or HIGH1) inserted by BIT under v15, shifted first
 * by op (shl or ushr) n, or as it is (ASM_INSERT_AS_IS) */
#define ASM_INSERT(op, n, ...) ASM_INSERT_(op, n, __VA_ARGS__)
#define ASM_INSERT_(op, n, q0, q1)                                                                                 \
    op " v2.16b, " q0 ".16b, #" n "\n\tbit v12.16b, v2.16b, v15.16b\n\t" op " v2.16b, " q1 ".16b, #" n "\n\t"      \
       "bit v13.16b, v2.16b, v15.16b\n\t"
#define ASM_INSERT_AS_IS(...) ASM_INSERT_AS_IS_(__VA_ARGS__)
#define ASM_INSERT_AS_IS_(q0, q1) "bit v12.16b, " q0 ".16b, v15.16b\n\tbit v13.16b, " q1 ".16b, v15.16b\n\t"

/* Loop steps. 4 bits: a run (32 k), fields 0 then 1 of each half. */
#define ASM_STEP_4                                                                                                 \
    ASM_LOW("#16") ASM_FIELD(F4_0, LOW0) ASM_ROWS_WIDE ASM_FIELD(F4_0, LOW1) ASM_ROWS_WIDE ASM_FIELD(F4_1, LOW0)     \
        ASM_ROWS_WIDE ASM_FIELD(F4_1, LOW1) ASM_ROWS_WIDE
/* 2 bits: a run (64 k), fields 0 ... 3. */
#define ASM_FIELD_2(F) ASM_FIELD(F, LOW0) ASM_ROWS_WIDE ASM_FIELD(F, LOW1) ASM_ROWS_WIDE
#define ASM_STEP_2 ASM_LOW("#16") ASM_FIELD_2(F2_0) ASM_FIELD_2(F2_1) ASM_FIELD_2(F2_2) ASM_FIELD_2(F2_3)
/* 3 bits: a chunk (128 k): the 2-bit plane's 2 runs as 2-bit codes, the 1-bit plane's
 * run (16 bytes after them; bit j of a half is 8 k of field j) moved to bit 2. The low
 * pointers step over the high run after the second run (lstep), the high ones by a
 * chunk (hstep). */
#define ASM_OCTET_3(F, low, insert, ...) ASM_FIELD(F, low) insert(__VA_ARGS__) ASM_ROWS_NARROW
#define ASM_BIT_3(op, n, F)                                                                                        \
    ASM_OCTET_3(F, LOW0, ASM_INSERT, op, n, HIGH0) ASM_OCTET_3(F, LOW1, ASM_INSERT, op, n, HIGH1)
#define ASM_STEP_3                                                                                                 \
    ASM_HIGH("%[hstep]") ASM_LOW("#16") ASM_BIT_3("shl", "2", F2_0) ASM_BIT_3("shl", "1", F2_1)                    \
        ASM_OCTET_3(F2_2, LOW0, ASM_INSERT_AS_IS, HIGH0) ASM_OCTET_3(F2_2, LOW1, ASM_INSERT_AS_IS, HIGH1)          \
            ASM_BIT_3("ushr", "1", F2_3) ASM_LOW("%[lstep]") ASM_BIT_3("ushr", "2", F2_0)                          \
                ASM_BIT_3("ushr", "3", F2_1) ASM_BIT_3("ushr", "4", F2_2) ASM_BIT_3("ushr", "5", F2_3)
/* 6 bits: a chunk (128 k): the 4-bit plane's 4 runs as 4-bit codes, the 2-bit plane's
 * 2 runs (64 bytes after them) moved to bits 4 and 5: field f of a run's halves for 4
 * runs of the low plane, two per high run. */
#define ASM_QUARTER_6(op0, n0, op1, n1)                                                                            \
    ASM_OCTET_3(F4_0, LOW0, ASM_INSERT, op0, n0, HIGH0) ASM_OCTET_3(F4_0, LOW1, ASM_INSERT, op0, n0, HIGH1)        \
        ASM_OCTET_3(F4_1, LOW0, ASM_INSERT, op1, n1, HIGH0) ASM_OCTET_3(F4_1, LOW1, ASM_INSERT, op1, n1, HIGH1)
#define ASM_QUARTER_6_HIGH                                                                                         \
    ASM_OCTET_3(F4_0, LOW0, ASM_INSERT_AS_IS, HIGH0) ASM_OCTET_3(F4_0, LOW1, ASM_INSERT_AS_IS, HIGH1)              \
        ASM_OCTET_3(F4_1, LOW0, ASM_INSERT, "ushr", "2", HIGH0) ASM_OCTET_3(F4_1, LOW1, ASM_INSERT, "ushr", "2", HIGH1)
#define ASM_STEP_6                                                                                                 \
    ASM_HIGH("#16") ASM_LOW("#16") ASM_QUARTER_6("shl", "4", "shl", "2") ASM_LOW("#16") ASM_QUARTER_6_HIGH         \
        ASM_HIGH("%[hstep]") ASM_LOW("#16") ASM_QUARTER_6("shl", "4", "shl", "2") ASM_LOW("%[lstep]")              \
            ASM_QUARTER_6_HIGH

/* The accumulators from the 8 row pairs' starts (v0-v7) plus the 4 biases as 2 x 2
 * blocks (v9: columns 0, 1, v10: 2, 3); at the end each row pair's two blocks as its 2
 * rows (ZIP1, ZIP2 of 64-bit lanes), stored a row apart. */
#define ASM_ADD2(acc0, acc1, st) "add v" acc0 ".4s, " st ".4s, v9.4s\n\tadd v" acc1 ".4s, " st ".4s, v10.4s\n\t"
#define ASM_INIT                                                                                                   \
    "ld1 {v0.4s-v3.4s}, [%[start]], #64\n\tld1 {v4.4s-v7.4s}, [%[start]]\n\tld1 {v8.4s}, [%[bias]]\n\t"             \
    "zip1 v9.2d, v8.2d, v8.2d\n\tzip2 v10.2d, v8.2d, v8.2d\n\t" ASM_ADD2("16", "17", "v0") ASM_ADD2("18", "19", "v1") \
        ASM_ADD2("20", "21", "v2") ASM_ADD2("22", "23", "v3") ASM_ADD2("24", "25", "v4") ASM_ADD2("26", "27", "v5")  \
            ASM_ADD2("28", "29", "v6") ASM_ADD2("30", "31", "v7")
#define ASM_STORE2(acc0, acc1)                                                                                     \
    "zip1 v0.2d, v" acc0 ".2d, v" acc1 ".2d\n\tzip2 v1.2d, v" acc0 ".2d, v" acc1 ".2d\n\t"                          \
    "st1 {v0.4s}, [%[out]], %[ldo]\n\tst1 {v1.4s}, [%[out]], %[ldo]\n\t"
#define ASM_STORE                                                                                                  \
    ASM_STORE2("16", "17") ASM_STORE2("18", "19") ASM_STORE2("20", "21") ASM_STORE2("22", "23")                    \
        ASM_STORE2("24", "25") ASM_STORE2("26", "27") ASM_STORE2("28", "29") ASM_STORE2("30", "31")
#define ASM_TILE(masks, step) masks ASM_INIT "1:\n\t" step "subs %[n], %[n], #1\n\tb.ne 1b\n\t" ASM_STORE
#define ASM_TILE_ARGS                                                                                              \
    : [xa] "+r"(xa), [xb] "+r"(xb), [c0] "+r"(c[0]), [c1] "+r"(c[1]), [c2] "+r"(c[2]), [c3] "+r"(c[3]),           \
      [h0] "+r"(h[0]), [h1] "+r"(h[1]), [h2] "+r"(h[2]), [h3] "+r"(h[3]), [n] "+r"(steps), [start] "+r"(start),    \
      [out] "+r"(out)                                                                                              \
    : [bias] "r"(bias), [ldo] "r"(ldo), [lstep] "r"(lstep), [hstep] "r"(hstep)                                     \
    : "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15", "v16", \
      "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31",     \
      "cc", "memory"

/* Rows 0 ... 15 of out (row stride ldo bytes), columns 0 ... 3, = the 4 biases + the
 * offset terms + `steps` loop steps of the codes of columns col[0 ... 3], whose high
 * plane (3 and 6 bits) starts low_bytes into a chunk. Inlined into tiles() with bits
 * constant, so that v8-v15 are saved once per call, not per tile. */
static inline __attribute__((always_inline)) void tile(unsigned bits, size_t steps, size_t low_bytes,
                                                       size_t lstep, size_t hstep, const slab *s,
                                                       const uint8_t *const col[NR], const int32_t *bias,
                                                       int32_t *out, size_t ldo) {
    const uint8_t *c[NR] = {col[0], col[1], col[2], col[3]};
    const uint8_t *h[NR] = {col[0] + low_bytes, col[1] + low_bytes, col[2] + low_bytes, col[3] + low_bytes};
    const int8_t *xa = s->x[0][0][0], *xb = s->x[1][0][0];
    const int32_t *start = s->start[0];
    switch (bits) {
    case 2:
        __asm__ volatile(ASM_TILE("movi v14.16b, #0x03\n\t", ASM_STEP_2) ASM_TILE_ARGS);
        break;
    case 3:
        __asm__ volatile(ASM_TILE("movi v14.16b, #0x03\n\tmovi v15.16b, #0x04\n\t", ASM_STEP_3) ASM_TILE_ARGS);
        break;
    case 4:
        __asm__ volatile(ASM_TILE("movi v14.16b, #0x0f\n\t", ASM_STEP_4) ASM_TILE_ARGS);
        break;
    default:
        __asm__ volatile(ASM_TILE("movi v14.16b, #0x0f\n\tmovi v15.16b, #0x30\n\t", ASM_STEP_6) ASM_TILE_ARGS);
        break;
    }
}

/* c's rows 0 ... 15, columns j0 ... j1 - 1 of w (at ct, row stride ldc) after the slab
 * from k0 (chunks of codes of `bits` bits): the first slab from the biases, a later one
 * added to c (through a copy, as is a tile of fewer than 4 columns). */
static inline __attribute__((always_inline)) void tiles_of(unsigned bits, const lowbit_weights *w, const slab *s,
                                                           size_t chunks, size_t k0, size_t j0, size_t j1,
                                                           int32_t *ct, size_t ldc) {
    static const int32_t zeros[NR];
    const size_t chunk_bytes = CHUNK / 8 * bits, low_bytes = CHUNK / 8 * (bits == 3 ? 2 : bits == 6 ? 4 : bits);
    /* loop steps: a run (2 and 4 bits) or a chunk; the low and high planes' last step */
    const size_t steps = bits == 2 || bits == 4 ? chunks * (chunk_bytes / 16) : chunks;
    const size_t lstep = 16 + chunk_bytes - low_bytes, hstep = bits == 3 ? chunk_bytes : chunk_bytes - 16;
    const size_t rb = w->row_bytes;
    const uint8_t *codes = w->codes + k0 / CHUNK * chunk_bytes;
    for (size_t jb = j0; jb < j1; jb += NR) {
        const size_t nr = j1 - jb < NR ? j1 - jb : NR, last = jb + nr - 1;
        const uint8_t *const col[NR] = {codes + jb * rb, codes + (nr > 1 ? jb + 1 : last) * rb,
                                        codes + (nr > 2 ? jb + 2 : last) * rb, codes + last * rb};
        int32_t *out = ct + (jb - j0);
        if (nr == NR && k0 == 0) {
            tile(bits, steps, low_bytes, lstep, hstep, s, col, w->bias ? w->bias + jb : zeros, out,
                 ldc * sizeof *out);
            continue;
        }
        int32_t edge[MR][NR], edge_bias[NR] = {0};
        if (k0 == 0 && w->bias) memcpy(edge_bias, w->bias + jb, nr * sizeof *edge_bias);
        tile(bits, steps, low_bytes, lstep, hstep, s, col, edge_bias, edge[0], sizeof edge[0]);
        for (size_t r = 0; r < MR; r++)
            for (size_t j = 0; j < nr; j++) out[r * ldc + j] = (k0 ? out[r * ldc + j] : 0) + edge[r][j];
    }
}

static __attribute__((noinline)) void tiles(const lowbit_weights *w, const slab *s, size_t chunks, size_t k0,
                                            size_t j0, size_t j1, int32_t *ct, size_t ldc) {
    switch (w->bits) {
    case 2: tiles_of(2, w, s, chunks, k0, j0, j1, ct, ldc); break;
    case 3: tiles_of(3, w, s, chunks, k0, j0, j1, ct, ldc); break;
    case 4: tiles_of(4, w, s, chunks, k0, j0, j1, ct, ldc); break;
    default: tiles_of(6, w, s, chunks, k0, j0, j1, ct, ldc); break;
    }
}

/* Rows in whole tiles of 16 here, the rest (m % 16) by the SDOT kernel, as grouped layers. */
void gemm_s8sxs32_16x4c8__i8mm(size_t m, size_t j0, size_t j1, size_t k_len, const int8_t *a, size_t lda,
                               const lowbit_weights *w, int32_t *c, size_t ldc) {
    int unit = w->group_size == 0;
    for (size_t j = j0; j < j1 && unit; j++) unit = w->sub[j] == 1;
    const size_t whole = unit ? m / MR * MR : 0;
    if (whole < m) gemm_s8sxs32_16x4c4__neondot(m - whole, j0, j1, k_len, a + whole * lda, lda, w, c + whole * ldc, ldc);
    slab s __attribute__((aligned(64)));
    const int32_t offset = 1 << (w->bits - 1);
    for (size_t i0 = 0; i0 < whole; i0 += MR)
        for (size_t k0 = 0; k0 < k_len; k0 += SLAB) {
            const size_t kc = k_len - k0 < SLAB ? k_len - k0 : SLAB;
            interleave(a + i0 * lda + k0, lda, kc, offset, &s);
            tiles(w, &s, (kc + CHUNK - 1) / CHUNK, k0, j0, j1, c + i0 * ldc, ldc);
        }
}
