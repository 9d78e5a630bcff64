/* linear_s8s8s32_4x8c4__neonv7: a linear layer, c = bias + a w^T, with 32-bit ARMv7-A
 * NEON (Cortex-A7/A15/A53 in AArch32, 32-bit Pi OS) on weights packed at load by
 * packw_s8s32_8x2 (blocks of 8 columns: the 8 biases, then 2 k per column).
 *
 * Each int32 lane of an accumulator is one output c[r, j], so nothing is folded at
 * the end and the bias is where the sums start. For a step of 4 k, VMULL.S8 then
 * VMLAL.S8 leave in int16 lane 2s + t the sum a[r, k + t] w[j + s, k + t] +
 * a[r, k + 2 + t] w[j + s, k + 2 + t] (the D register of w holds columns j ... j + 3
 * at k, k + 1, then at k + 2, k + 3; the one of a holds the row's pair (k, k + 1),
 * then (k + 2, k + 3), repeated in all 4 int16 lanes), and VPADAL.S16 adds lanes 2s
 * and 2s + 1 into int32 lane s: 4 k of 4 outputs in 3 instructions, the floor of
 * exact int8 products without a dot product instruction.
 *
 * Exact without looking at the operands: a weight is never -128 (FORMAT.md §3, the
 * loader checks), so |a w| <= 128 * 127 and an int16 lane's two products sum to at
 * most 32512 < 2^15; int32 then holds every partial sum (FORMAT.md §4.2), and any
 * order of summation gives the same integers, so c equals gemm_s8s8s32_1x1__ref
 * bit for bit. (gemm_s8s8s32_4x2c16__neonv7, for q.k^T, whose b is an activation
 * and may be -128, must scan b before it pairs products.)
 *
 * For every 4 rows of a and up to CHUNK k, the rows are first copied to the stack in
 * that repeated form (VLD4.16 to all lanes: 8 k of a row in 4 D registers), 4 k of
 * each row after the other, zero-padded to 4 rows and to 8 k; then every 8-column
 * block of w runs over the copy. Tile: 4 rows x 8 columns in 8 Q accumulators
 * (q8-q15), w's step in q0-q1, the 4 rows' step in q2-q5, the int16 pair sums in
 * q6-q7: all 16 Q registers. Per 4 k: one 32-byte VLD1 of w, two of a, 24
 * multiply-add steps (27), and SUBS and BNE once per 16 k. In one assembly block:
 * the loads post-increment and nothing spills. Rows past m are zeros in the copy; a
 * tile with rows past m or columns past j1 goes through a copy of its part of c, and
 * only that part is stored.
 *
 * Why 4 x 8: the int32 accumulators, one operand row and the pair sums must share 16
 * Q registers, so 8 accumulators and 3 loads per 24 multiply-add steps is the best
 * any tile gets. The 4 x 2 tile of gemm_s8s8s32_4x2c16__neonv7 on packed weights (16 k
 * per step, 4 partial sums per output, folded at the end) loops as tightly but has 4
 * times the tiles: 318.4 M instructions for MiniLM's linear layers at L = 128 on
 * cortex-a15, against 297.8 M here (both with every row of the last layer). */
#if !defined(__ARM_NEON) || defined(__aarch64__)
#error "linear_s8s8s32_4x8c4__neonv7 needs 32-bit ARM NEON (ARMv7-A, -mfpu=neon)"
#endif

#include <arm_neon.h>
#include <string.h>

#include "kernels/kernels.h"

#define MR 4
#define NR 8
#define KSTEP 4                    /* k per step of the tile */
#define STEP_BYTES (MR * 4 * KSTEP) /* a copy step: 4 rows x 4 k, each pair of k in 4 lanes */
#define CHUNK 512                  /* k per stack copy of 4 rows of a: 8 KiB */

/* Row r of the copy from src: `blocks` (>= 1) times 8 k (8 bytes, VLD4.16 to all
 * lanes) as two steps of the copy, each 16 bytes at dst: the pair (k, k + 1) 4 times,
 * then (k + 2, k + 3) 4 times. src may be odd: without an alignment qualifier ARMv7
 * allows unaligned NEON element loads (unless SCTLR.A is set, which Linux does not
 * do for user space). */
static inline void spread_row(const int8_t *src, size_t blocks, int8_t *dst) {
    __asm__ volatile(
        "1:\n\t"
        "vld4.16 {d16[], d17[], d18[], d19[]}, [%[src]]!\n\t"
        "vst1.8 {d16-d17}, [%[dst]], %[step]\n\t"
        "vst1.8 {d18-d19}, [%[dst]], %[step]\n\t"
        "subs %[n], %[n], #1\n\t"
        "bne 1b\n\t"
        : [src] "+r"(src), [dst] "+r"(dst), [n] "+r"(blocks)
        : [step] "r"(STEP_BYTES)
        : "d16", "d17", "d18", "d19", "cc", "memory");
}

/* Rows 0 ... mr - 1 of a, k 0 ... kc - 1, as [k / 4][4 rows][2 pairs x 4 lanes]; rows
 * past mr and k past kc (to a multiple of 8) are zeros. */
static void spread_rows(const int8_t *a, size_t lda, size_t mr, size_t kc, int8_t *dst) {
    const size_t k_main = kc & ~(size_t)7, k_end = (kc + 7) & ~(size_t)7;
    for (size_t r = 0; r < MR; r++) {
        int8_t *out = dst + r * 4 * KSTEP;
        if (r >= mr) {
            for (size_t kk = 0; kk < k_end; kk += KSTEP) vst1q_s8(out + kk / KSTEP * STEP_BYTES, vdupq_n_s8(0));
            continue;
        }
        const int8_t *row = a + r * lda;
        if (k_main) spread_row(row, k_main / 8, out);
        if (k_main == kc) continue;
        int8_t tail[8] = {0};
        memcpy(tail, row + k_main, kc - k_main);
        spread_row(tail, 1, out + k_main / KSTEP * STEP_BYTES);
    }
}

/* Row r (d<lo>: its pair (k, k + 1) x 4, d<hi>: (k + 2, k + 3) x 4) times w's step
 * in d0-d3, into the accumulators of its columns 0-3 (q<c0>) and 4-7 (q<c1>). */
#define ROW(lo, hi, c0, c1)        \
    "vmull.s8 q6, d" lo ", d0\n\t" \
    "vmull.s8 q7, d" lo ", d1\n\t" \
    "vmlal.s8 q6, d" hi ", d2\n\t" \
    "vmlal.s8 q7, d" hi ", d3\n\t" \
    "vpadal.s16 q" c0 ", q6\n\t"   \
    "vpadal.s16 q" c1 ", q7\n\t"
#define STEP                          \
    "vld1.8 {d0-d3}, [%[wp]]!\n\t"   \
    "vld1.8 {d4-d7}, [%[ap]]!\n\t"   \
    "vld1.8 {d8-d11}, [%[ap]]!\n\t"  \
    ROW("4", "5", "8", "9") ROW("6", "7", "10", "11") ROW("8", "9", "12", "13") ROW("10", "11", "14", "15")

/* One tile: `steps` (>= 1) 4-k steps of the copied rows at ap times the packed
 * columns at wp. Row r starts at the 8 int32 at s + r * s_stride bytes (s_stride 0:
 * every row starts at the biases) and goes to d + r * d_stride bytes. */
static inline void tile_4x8(const int8_t *ap, const int8_t *wp, size_t steps, const int32_t *s, size_t s_stride,
                            int32_t *d, size_t d_stride) {
    __asm__ volatile(
        "vld1.32 {d16-d19}, [%[s]], %[ss]\n\t"
        "vld1.32 {d20-d23}, [%[s]], %[ss]\n\t"
        "vld1.32 {d24-d27}, [%[s]], %[ss]\n\t"
        "vld1.32 {d28-d31}, [%[s]]\n\t"
        /* steps % 4 first (one step, then two), then fours */
        "tst %[n], #1\n\t"
        "beq 1f\n\t"
        STEP
        "subs %[n], %[n], #1\n\t"
        "beq 3f\n"
        "1:\n\t"
        "tst %[n], #2\n\t"
        "beq 2f\n\t"
        STEP STEP
        "subs %[n], %[n], #2\n\t"
        "beq 3f\n"
        "2:\n\t"
        STEP STEP STEP STEP
        "subs %[n], %[n], #4\n\t"
        "bne 2b\n"
        "3:\n\t"
        "vst1.32 {d16-d19}, [%[d]], %[ds]\n\t"
        "vst1.32 {d20-d23}, [%[d]], %[ds]\n\t"
        "vst1.32 {d24-d27}, [%[d]], %[ds]\n\t"
        "vst1.32 {d28-d31}, [%[d]]\n\t"
        : [ap] "+r"(ap), [wp] "+r"(wp), [n] "+r"(steps), [s] "+r"(s), [d] "+r"(d)
        : [ss] "r"(s_stride), [ds] "r"(d_stride)
        : "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d10", "d11", "d12", "d13", "d14", "d15",
          "d16", "d17", "d18", "d19", "d20", "d21", "d22", "d23", "d24", "d25", "d26", "d27", "d28", "d29", "d30",
          "d31", "cc", "memory");
}

void linear_s8s8s32_4x8c4__neonv7(size_t m, size_t j0, size_t j1, size_t k, const int8_t *a, size_t lda,
                                  const void *packed, int32_t *c, size_t ldc) {
    int8_t rows[CHUNK / KSTEP * STEP_BYTES] __attribute__((aligned(16)));
    int32_t part[MR][NR];
    const size_t block_bytes = NR * sizeof(int32_t) + (k + KSTEP - 1) / KSTEP * KSTEP * NR;
    for (size_t i0 = 0; i0 < m; i0 += MR) {
        const size_t mr = m - i0 < MR ? m - i0 : MR;
        for (size_t k0 = 0; k0 < k; k0 += CHUNK) {
            const size_t kc = k - k0 < CHUNK ? k - k0 : CHUNK, steps = (kc + KSTEP - 1) / KSTEP;
            spread_rows(a + i0 * lda + k0, lda, mr, kc, rows);
            const int8_t *block = (const int8_t *)packed + j0 / NR * block_bytes;
            for (size_t jb = j0; jb < j1; jb += NR, block += block_bytes) {
                const int8_t *w = block + NR * sizeof(int32_t) + k0 * NR;
                const int32_t *bias = (const int32_t *)(const void *)block;
                const size_t nr = j1 - jb < NR ? j1 - jb : NR;
                int32_t *cr = c + i0 * ldc + jb;
                if (mr == MR && nr == NR) {
                    /* a chunk after the first adds to c's values */
                    if (k0 == 0)
                        tile_4x8(rows, w, steps, bias, 0, cr, ldc * sizeof *cr);
                    else
                        tile_4x8(rows, w, steps, cr, ldc * sizeof *cr, cr, ldc * sizeof *cr);
                    continue;
                }
                /* a partial tile: through a copy of its part of c */
                memset(part, 0, sizeof part);
                for (size_t r = 0; r < mr; r++) memcpy(part[r], k0 == 0 ? bias : cr + r * ldc, nr * sizeof *cr);
                tile_4x8(rows, w, steps, part[0], sizeof part[0], part[0], sizeof part[0]);
                for (size_t r = 0; r < mr; r++) memcpy(cr + r * ldc, part[r], nr * sizeof *cr);
            }
        }
    }
}
