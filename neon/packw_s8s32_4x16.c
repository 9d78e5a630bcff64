/* packw_s8s32_4x16: a linear layer's [n, k] int8 weights and [n] int32 bias in the
 * layout of linear_s8s8s32_4x4c16__neon (and any kernel that reads 4 columns x 16 k
 * per 64-byte load).
 *
 * The columns are cut into blocks of 4 (n padded to a multiple of 4). A block is
 * its 4 biases (16 bytes), then for each step of 16 k (k padded to a multiple of
 * 16) 4 x 16 bytes: column 0's 16 weights, column 1's, column 2's, column 3's. One
 * 64-byte load then gives each column's next 16 weights in its own register.
 * Padding is zeros, so padded columns compute 0 and padded k add 0; the total is
 * rounded up to 64 bytes. Plain C: it runs once per layer at load. */
#include <string.h>

#include "kernels/kernels.h"

#define COLS 4
#define KSTEP 16

static size_t block_bytes(size_t k) { return COLS * sizeof(int32_t) + (k + KSTEP - 1) / KSTEP * COLS * KSTEP; }

size_t packw_s8s32_4x16_size(size_t n, size_t k) {
    const size_t bytes = (n + COLS - 1) / COLS * block_bytes(k);
    return (bytes + 63) / 64 * 64;
}

void packw_s8s32_4x16(size_t n, size_t k, const int8_t *w, const int32_t *bias, void *dst) {
    const size_t steps = (k + KSTEP - 1) / KSTEP;
    int8_t *out = dst;
    for (size_t j0 = 0; j0 < n; j0 += COLS) {
        int32_t block_bias[COLS] = {0};
        for (size_t s = 0; s < COLS && j0 + s < n; s++) block_bias[s] = bias ? bias[j0 + s] : 0;
        memcpy(out, block_bias, sizeof block_bias);
        out += sizeof block_bias;
        for (size_t step = 0; step < steps; step++) {
            for (size_t s = 0; s < COLS; s++) {
                for (size_t t = 0; t < KSTEP; t++) {
                    const size_t j = j0 + s, kk = step * KSTEP + t;
                    *out++ = j < n && kk < k ? w[j * k + kk] : 0;
                }
            }
        }
    }
    memset(out, 0, (size_t)((int8_t *)dst + packw_s8s32_4x16_size(n, k) - out));
}
