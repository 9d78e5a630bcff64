/* packw_s8s32_16x4_x128: a linear layer's [n, k] int8 weights and [n] int32 bias in
 * the layout of linear_s8s8s32_8x48c4__avx512vnni: the weights as VPDPBUSD's unsigned
 * operand u = w + 128 (1..255 for w in -127..127; w XOR 0x80), the bias as it is
 * (the GEMM cancels the offset with the activations' row sums).
 *
 * The columns are cut into blocks of 16 (n padded to a multiple of 16). A block is
 * its 16 biases (64 bytes), then for each group of 4 k (k padded to a multiple of
 * 4) 16 x 4 bytes: column 0's 4 bytes u, column 1's, ... column 15's, the 64-byte
 * operand of one VPDPBUSD. Padding is zeros, and the GEMM reads zeros of the
 * activations against padded k, so padding adds nothing. Plain C: it runs once per
 * layer at load. */
#include <string.h>

#include "kernels/kernels.h"

#define COLS 16
#define KGROUP 4

size_t packw_s8s32_16x4_x128_size(size_t n, size_t k) {
    const size_t blocks = (n + COLS - 1) / COLS, groups = (k + KGROUP - 1) / KGROUP;
    return blocks * (COLS * sizeof(int32_t) + groups * COLS * KGROUP);
}

void packw_s8s32_16x4_x128(size_t n, size_t k, const int8_t *w, const int32_t *bias, void *dst) {
    const size_t groups = (k + KGROUP - 1) / KGROUP;
    int8_t *out = dst;
    for (size_t j0 = 0; j0 < n; j0 += COLS) {
        int32_t block_bias[COLS] = {0};
        for (size_t s = 0; s < COLS && j0 + s < n; s++) {
            block_bias[s] = bias ? bias[j0 + s] : 0;
        }
        memcpy(out, block_bias, sizeof block_bias);
        out += sizeof block_bias;
        for (size_t g = 0; g < groups; g++)
            for (size_t s = 0; s < COLS; s++)
                for (size_t t = 0; t < KGROUP; t++) {
                    const size_t j = j0 + s, kk = g * KGROUP + t;
                    *out++ = j < n && kk < k ? (int8_t)(w[j * k + kk] ^ 0x80) : 0;
                }
    }
}
