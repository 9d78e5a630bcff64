/* packw_s8s32_4x16: a linear layer's [n, k] int8 weights and [n] int32 bias in the
 * layout of linear_s8s8s32_4x4c16__neon (and any kernel that reads 4 columns x 16 k
 * per 64-byte load).
 *
 * The columns are cut into blocks of 4 (n padded to a multiple of 4). A block is
 * its 4 biases (16 bytes), then for each step of 16 k (k padded to a multiple of
 * 16) 4 x 16 bytes: column 0's 16 weights, column 1's, column 2's, column 3's. One
 * 64-byte load then gives each column's next 16 weights in its own register.
 * Padding is zeros, so padded columns compute 0 and padded k add 0; the total is
 * rounded up to 64 bytes. */

#include "kernels/column_blocks.h"
#include "kernels/kernels.h"

static const column_blocks LAYOUT = {.cols = 4, .kgroup = 16, .kpad = 16};

size_t packw_s8s32_4x16_size(size_t n, size_t k) { return column_blocks_size(&LAYOUT, n, k); }

void packw_s8s32_4x16(size_t n, size_t k, const int8_t *w, const int32_t *bias, void *dst) {
    column_blocks_pack(&LAYOUT, n, k, w, bias, dst);
}
