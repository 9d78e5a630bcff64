/* packw_s8s32_8x8: a linear layer's [n, k] int8 weights and [n] int32 bias in the
 * layout of linear_s8s8s32_8x8c8__i8mm (SMMLA, whose right operand is 2 columns x
 * 8 k in one register).
 *
 * The columns are cut into blocks of 8 (n padded to a multiple of 8). A block is
 * its biases arranged as SMMLA's 2 x 2 results start (for each column pair q:
 * bias[2q], bias[2q + 1], bias[2q], bias[2q + 1]; 64 bytes), then for each step
 * of 8 k (k padded to a multiple of 16, so the GEMM reads whole 16-k steps) the 4
 * column pairs, each 16 bytes: column 2q's 8 weights, then column 2q + 1's.
 * Padding is zeros, so padded columns compute 0 and padded k add 0. */

#include "kernels/column_blocks.h"
#include "kernels/kernels.h"

static const column_blocks LAYOUT = {.cols = 8, .kgroup = 8, .kpad = 16, .bias_pairs = 1};

size_t packw_s8s32_8x8_size(size_t n, size_t k) { return column_blocks_size(&LAYOUT, n, k); }

void packw_s8s32_8x8(size_t n, size_t k, const int8_t *w, const int32_t *bias, void *dst) {
    column_blocks_pack(&LAYOUT, n, k, w, bias, dst);
}
