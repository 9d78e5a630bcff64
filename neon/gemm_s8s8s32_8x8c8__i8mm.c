/* gemm_s8s8s32_8x8c8__i8mm: c = bias + a b^T on plain row-major int8 operands (the
 * attention scores q.k^T of a head, k = head size) with SMMLA (i8mm).
 *
 * SMMLA's right operand is 2 columns of c x 8 k, i.e. 8 bytes of two rows of b: so
 * b's rows are interleaved in pairs exactly like a's (mmla_interleave_rows), for
 * up to COLS rows of b and CHUNK k at a time, on the stack; then for every 8 rows
 * of a (interleaved the same way) the 8 x 8 tile of mmla_8x8c8__i8mm.h runs over
 * those columns, starting at the bias (NULL: none) arranged as its 2 x 2 blocks.
 *
 * Exact: SMMLA forms each int8 x int8 product exactly (also -128 * -128: both
 * operands are activations here) and adds in int32, and FORMAT.md §4.2 bounds the
 * sum in any order, so c equals gemm_s8s8s32_1x1__ref bit for bit. Rows past m
 * and columns past n are computed from zeros into a copy and not stored; chunks
 * after the first add to c. */
#if !defined(__ARM_FEATURE_MATMUL_INT8)
#error "gemm_s8s8s32_8x8c8__i8mm needs the i8mm extension (-march=armv8.2-a+i8mm)"
#endif

#include "kernels/kernels.h"
#include "mmla_8x8c8__i8mm.h"

#define CHUNK 256 /* k per stack copy */
#define COLS 64   /* rows of b per stack copy: 8 blocks of 8, 16 KiB with CHUNK */
#define STEP_BYTES (MMLA_NR * MMLA_KSTEP)

void gemm_s8s8s32_8x8c8__i8mm(size_t m, size_t n, size_t k_len, const int8_t *a, size_t lda, const int8_t *b,
                              size_t ldb, const int32_t *bias, int32_t *c, size_t ldc) {
    static const int32_t zeros[MMLA_NR * 2];
    int8_t cols[COLS / MMLA_NR * CHUNK / MMLA_KSTEP * STEP_BYTES] __attribute__((aligned(64)));
    int8_t rows[CHUNK / MMLA_KSTEP * STEP_BYTES] __attribute__((aligned(64)));
    int32_t starts[COLS / MMLA_NR][MMLA_NR * 2];
    for (size_t jc = 0; jc < n; jc += COLS) {
        const size_t nc = n - jc < COLS ? n - jc : COLS;
        /* each block's biases as SMMLA's 2 x 2 starts: b[2q], b[2q + 1], b[2q], b[2q + 1] */
        for (size_t jb = 0; jb < nc; jb += MMLA_NR)
            for (size_t t = 0; t < MMLA_NR * 2; t++) {
                const size_t j = jb + t / 4 * 2 + t % 2;
                starts[jb / MMLA_NR][t] = bias && j < nc ? bias[jc + j] : 0;
            }
        for (size_t k0 = 0; k0 < k_len; k0 += CHUNK) {
            const size_t kc = k_len - k0 < CHUNK ? k_len - k0 : CHUNK, blocks = (kc + MMLA_KPAD - 1) / MMLA_KPAD;
            const size_t block_bytes = blocks * (MMLA_KPAD / MMLA_KSTEP) * STEP_BYTES;
            for (size_t jb = 0; jb < nc; jb += MMLA_NR)
                mmla_interleave_rows(b + (jc + jb) * ldb + k0, ldb, nc - jb < MMLA_NR ? nc - jb : MMLA_NR, kc,
                                     cols + jb / MMLA_NR * block_bytes);
            const int add = k0 > 0;
            for (size_t i0 = 0; i0 < m; i0 += MMLA_MR) {
                const size_t mr = m - i0 < MMLA_MR ? m - i0 : MMLA_MR;
                mmla_interleave_rows(a + i0 * lda + k0, lda, mr, kc, rows);
                for (size_t jb = 0; jb < nc; jb += MMLA_NR)
                    mmla_8x8c8_tile_to_c(rows, cols + jb / MMLA_NR * block_bytes, blocks,
                                         add ? zeros : starts[jb / MMLA_NR], 0, mr,
                                         nc - jb < MMLA_NR ? nc - jb : MMLA_NR, add, c + i0 * ldc + jc + jb, ldc);
            }
        }
    }
}
