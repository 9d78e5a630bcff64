/* packw_s8s32_16x4_x128: a linear layer's [n, k] int8 weights and [n] int32 bias in
 * the layout of linear_s8s8s32_8x48c4__avx512vnni: the weights as VPDPBUSD's unsigned
 * operand u = w + 128 (1..255 for w in -127..127; w XOR 0x80), the bias as it is
 * (the GEMM cancels the offset with the activations' row sums).
 *
 * The columns are cut into blocks of 16 (n padded to a multiple of 16). A block is
 * its 16 biases (64 bytes), then for each group of 4 k (k padded to a multiple of
 * 4) 16 x 4 bytes: column 0's 4 bytes u, column 1's, ... column 15's, the 64-byte
 * operand of one VPDPBUSD. Padding is zeros, and the GEMM reads zeros of the
 * activations against padded k, so padding adds nothing. */

#include "kernels/column_blocks.h"
#include "kernels/kernels.h"

static const column_blocks LAYOUT = {.cols = 16, .kgroup = 4, .kpad = 4, .flip = 0x80};

size_t packw_s8s32_16x4_x128_size(size_t n, size_t k) { return column_blocks_size(&LAYOUT, n, k); }

void packw_s8s32_16x4_x128(size_t n, size_t k, const int8_t *w, const int32_t *bias, void *dst) {
    column_blocks_pack(&LAYOUT, n, k, w, bias, dst);
}
