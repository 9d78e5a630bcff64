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
 * compute 0 and padded k add 0. Plain C: it runs once per layer at load. */
#include <string.h>

#include "kernels/kernels.h"

#define COLS 16
#define KGROUP 4
#define KSTEP 16

size_t packw_s8s32_16x4_size(size_t n, size_t k) {
    const size_t blocks = (n + COLS - 1) / COLS, groups = (k + KSTEP - 1) / KSTEP * (KSTEP / KGROUP);
    return blocks * (COLS * sizeof(int32_t) + groups * COLS * KGROUP);
}

void packw_s8s32_16x4(size_t n, size_t k, const int8_t *w, const int32_t *bias, void *dst) {
    const size_t groups = (k + KSTEP - 1) / KSTEP * (KSTEP / KGROUP);
    int8_t *out = dst;
    for (size_t j0 = 0; j0 < n; j0 += COLS) {
        int32_t block_bias[COLS] = {0};
        for (size_t s = 0; s < COLS && j0 + s < n; s++) block_bias[s] = bias ? bias[j0 + s] : 0;
        memcpy(out, block_bias, sizeof block_bias);
        out += sizeof block_bias;
        for (size_t g = 0; g < groups; g++) {
            for (size_t s = 0; s < COLS; s++) {
                for (size_t t = 0; t < KGROUP; t++) {
                    const size_t j = j0 + s, kk = g * KGROUP + t;
                    *out++ = j < n && kk < k ? w[j * k + kk] : 0;
                }
            }
        }
    }
}
