/* packw_s8s32_8x4: a linear layer's [n, k] int8 weights and [n] int32 bias in the
 * layout of linear_s8s8s32_4x16c4__avx2 (and any kernel that reads 8 columns x 4 k
 * per 32-byte vector).
 *
 * The columns are cut into blocks of 8 (n padded to a multiple of 8). A block is
 * its 8 biases (32 bytes), then for each group of 4 k (k padded to a multiple of 4)
 * 8 x 4 bytes: column 0's 4 weights, column 1's, ... column 7's. The total is
 * rounded up to a multiple of 64 bytes (linear_packing's unit), zero-filled.
 * Padding is zeros, so padded columns and padded k add 0. */

#include "kernels/column_blocks.h"
#include "kernels/kernels.h"

static const column_blocks LAYOUT = {.cols = 8, .kgroup = 4, .kpad = 4};

size_t packw_s8s32_8x4_size(size_t n, size_t k) { return column_blocks_size(&LAYOUT, n, k); }

void packw_s8s32_8x4(size_t n, size_t k, const int8_t *w, const int32_t *bias, void *dst) {
    column_blocks_pack(&LAYOUT, n, k, w, bias, dst);
}
