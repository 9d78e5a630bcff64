/* packw_s8s32_8x8: a linear layer's [n, k] int8 weights and [n] int32 bias in the
 * layout of linear_s8s8s32_8x8c8__i8mm (SMMLA, whose right operand is 2 columns x
 * 8 k in one register).
 *
 * The columns are cut into blocks of 8 (n padded to a multiple of 8). A block is
 * its biases arranged as SMMLA's 2 x 2 results start (for each column pair q:
 * bias[2q], bias[2q + 1], bias[2q], bias[2q + 1]; 64 bytes), then for each step
 * of 8 k (k padded to a multiple of 16, so the GEMM reads whole 16-k steps) the 4
 * column pairs, each 16 bytes: column 2q's 8 weights, then column 2q + 1's.
 * Padding is zeros, so padded columns compute 0 and padded k add 0. Plain C: it
 * runs once per layer at load. */
#include <string.h>

#include "kernels/kernels.h"

#define COLS 8
#define KSTEP 8
#define KPAD 16

static size_t steps_of(size_t k) { return (k + KPAD - 1) / KPAD * (KPAD / KSTEP); }

size_t packw_s8s32_8x8_size(size_t n, size_t k) {
    return (n + COLS - 1) / COLS * (COLS * 2 * sizeof(int32_t) + steps_of(k) * COLS * KSTEP);
}

void packw_s8s32_8x8(size_t n, size_t k, const int8_t *w, const int32_t *bias, void *dst) {
    const size_t steps = steps_of(k);
    int8_t *out = dst;
    for (size_t j0 = 0; j0 < n; j0 += COLS) {
        int32_t block_bias[COLS * 2] = {0};
        for (size_t q = 0; q < COLS / 2; q++)
            for (size_t t = 0; t < 4; t++) {
                const size_t j = j0 + 2 * q + t % 2;
                block_bias[4 * q + t] = bias && j < n ? bias[j] : 0;
            }
        memcpy(out, block_bias, sizeof block_bias);
        out += sizeof block_bias;
        for (size_t step = 0; step < steps; step++)
            for (size_t s = 0; s < COLS; s++)
                for (size_t t = 0; t < KSTEP; t++) {
                    const size_t j = j0 + s, kk = step * KSTEP + t;
                    *out++ = j < n && kk < k ? w[j * k + kk] : 0;
                }
    }
}
