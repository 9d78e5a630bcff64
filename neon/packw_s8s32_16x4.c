/* packw_s8s32_16x4: a linear layer's [n, k] int8 weights and [n] int32 bias in the
 * layout of gemm_s8s8s32_4x16c4__neondot (and any kernel that reads 16 columns x 4 k
 * per 64-byte vector group).
 *
 * The columns are cut into blocks of 16 (n padded to a multiple of 16). A block is
 * its 16 biases (64 bytes), then for each group of 4 k (k padded to a multiple of
 * 16, so that the GEMM reads whole 16-k steps) 16 x 4 bytes: column 0's 4 weights,
 * column 1's, ... column 15's. One 64-byte load
 * then gives four vectors whose lane s is column 4q + s's 4 weights, the operand
 * SDOT multiplies with 4 k of one row of a. Padding is zeros, so padded columns
 * compute 0 and padded k add 0. */

#include "kernels/column_blocks.h"
#include "kernels/kernels.h"

static const column_blocks LAYOUT = {.cols = 16, .kgroup = 4, .kpad = 16};

size_t packw_s8s32_16x4_size(size_t n, size_t k) { return column_blocks_size(&LAYOUT, n, k); }

void packw_s8s32_16x4(size_t n, size_t k, const int8_t *w, const int32_t *bias, void *dst) {
    column_blocks_pack(&LAYOUT, n, k, w, bias, dst);
}
