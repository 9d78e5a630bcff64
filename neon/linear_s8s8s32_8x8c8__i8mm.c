/* linear_s8s8s32_8x8c8__i8mm: a linear layer, c = bias + a w^T, with SMMLA (Armv8.6
 * int8 matrix multiply, optional from Armv8.2) on weights packed at load by
 * packw_s8s32_8x8 (blocks of 8 columns: the biases as 2 x 2 starts, then column
 * pairs of 8 k).
 *
 * SMMLA multiplies a 2 x 8 int8 block (2 rows of a, 8 k) by the transpose of
 * another (2 columns of w, 8 k) and adds the 2 x 2 int32 result: 32 multiply-
 * accumulates. The left operand must hold 2 rows' 8 k, so for each 8 rows of a and
 * up to CHUNK k this kernel first interleaves a on the stack (per 8 k: 4 row
 * pairs of 16 bytes; ZIP1/ZIP2 of 64-bit lanes), then runs every 8-column block
 * over that copy.
 *
 * Tile (mmla_8x8c8__i8mm.h): 8 rows x 8 columns in 16 accumulators (4 row pairs x
 * 4 column pairs), started at the block's biases. Per 16 k: two 64-byte loads of
 * a, two of w, 32 SMMLAs (1024 multiply-accumulates).
 *
 * Exact: SMMLA forms each int8 x int8 product exactly and adds in int32, and
 * FORMAT.md §4.2 bounds the sum in any order, so c equals gemm_s8s8s32_1x1__ref
 * bit for bit. Rows past m are zero in the copy (computed, not stored); columns
 * past j1 are the packer's padding (not stored); k is zero-padded to 16 in both
 * operands; chunks after the first add to c. */
#if !defined(__ARM_FEATURE_MATMUL_INT8)
#error "linear_s8s8s32_8x8c8__i8mm needs the i8mm extension (-march=armv8.2-a+i8mm)"
#endif

#include "kernels/kernels.h"
#include "mmla_8x8c8__i8mm.h"

#define CHUNK 1024 /* k per interleaved stack copy of 8 rows of a: 8 KiB */

void linear_s8s8s32_8x8c8__i8mm(size_t m, size_t j0, size_t j1, size_t k, const int8_t *a, size_t lda,
                                const void *packed, int32_t *c, size_t ldc) {
    static const int32_t zeros[MMLA_NR * 2];
    int8_t rows[CHUNK / MMLA_KSTEP * 64] __attribute__((aligned(64)));
    const size_t steps = (k + MMLA_KPAD - 1) / MMLA_KPAD * (MMLA_KPAD / MMLA_KSTEP);
    const size_t block_bytes = MMLA_NR * 2 * sizeof(int32_t) + steps * MMLA_NR * MMLA_KSTEP;
    for (size_t i0 = 0; i0 < m; i0 += MMLA_MR) {
        const size_t mr = m - i0 < MMLA_MR ? m - i0 : MMLA_MR;
        for (size_t k0 = 0; k0 < k; k0 += CHUNK) {
            const size_t kc = k - k0 < CHUNK ? k - k0 : CHUNK;
            mmla_interleave_rows(a + i0 * lda + k0, lda, mr, kc, rows);
            const int add = k0 > 0;
            for (size_t jb = j0; jb < j1; jb += MMLA_NR) {
                const int8_t *block = (const int8_t *)packed + jb / MMLA_NR * block_bytes;
                /* the first chunk starts at the bias, later ones add to c */
                const int32_t *start = add ? zeros : (const int32_t *)(const void *)block;
                const int8_t *w = block + MMLA_NR * 2 * sizeof(int32_t) + k0 / MMLA_KSTEP * MMLA_NR * MMLA_KSTEP;
                mmla_8x8c8_tile_to_c(rows, w, (kc + MMLA_KPAD - 1) / MMLA_KPAD, start, 0, mr,
                                     j1 - jb < MMLA_NR ? j1 - jb : MMLA_NR, add, c + i0 * ldc + jb, ldc);
            }
        }
    }
}
