/* packw_s8s32_8x2: a linear layer's [n, k] int8 weights and [n] int32 bias in the
 * layout of linear_s8s8s32_4x8c4__neonv7 (32-bit ARM NEON, whose VMULL.S8 takes 4
 * columns x 2 k in one 8-byte D register).
 *
 * The columns are cut into blocks of 8 (n padded to a multiple of 8). A block is
 * its 8 biases (32 bytes), then for each group of 2 k (k padded to a multiple of 4,
 * the GEMM's step) 8 x 2 bytes: column 0's 2 weights, column 1's, ... column 7's.
 * A 32-byte VLD1 then gives a 4-k step as 4 D registers: columns 0-3 and 4-7 at
 * k, k + 1, then the same at k + 2, k + 3. Padding is zeros, so padded columns and
 * padded k add 0; the total is rounded up to 64 bytes. */

#include "kernels/column_blocks.h"
#include "kernels/kernels.h"

static const column_blocks LAYOUT = {.cols = 8, .kgroup = 2, .kpad = 4};

size_t packw_s8s32_8x2_size(size_t n, size_t k) { return column_blocks_size(&LAYOUT, n, k); }

void packw_s8s32_8x2(size_t n, size_t k, const int8_t *w, const int32_t *bias, void *dst) {
    column_blocks_pack(&LAYOUT, n, k, w, bias, dst);
}
