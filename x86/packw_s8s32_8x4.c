/* packw_s8s32_8x4: a linear layer's [n, k] int8 weights and [n] int32 bias in the
 * layout of linear_s8s8s32_4x16c4__avx2 (and any kernel that reads 8 columns x 4 k
 * per 32-byte vector).
 *
 * The columns are cut into blocks of 8 (n padded to a multiple of 8). A block is
 * its 8 biases (32 bytes), then for each group of 4 k (k padded to a multiple of 4)
 * 8 x 4 bytes: column 0's 4 weights, column 1's, ... column 7's. The total is
 * rounded up to a multiple of 64 bytes (linear_packing's unit), zero-filled.
 * Padding is zeros, so padded columns and padded k add 0. Plain C: it runs once
 * per layer at load. */
#include <string.h>

#include "kernels/kernels.h"

#define COLS 8
#define KGROUP 4

size_t packw_s8s32_8x4_size(size_t n, size_t k) {
    const size_t blocks = (n + COLS - 1) / COLS, groups = (k + KGROUP - 1) / KGROUP;
    const size_t bytes = blocks * (COLS * sizeof(int32_t) + groups * COLS * KGROUP);
    return (bytes + 63) & ~(size_t)63;
}

void packw_s8s32_8x4(size_t n, size_t k, const int8_t *w, const int32_t *bias, void *dst) {
    const size_t groups = (k + KGROUP - 1) / KGROUP;
    int8_t *out = dst, *end = out + packw_s8s32_8x4_size(n, k);
    for (size_t j0 = 0; j0 < n; j0 += COLS) {
        int32_t block_bias[COLS] = {0};
        for (size_t s = 0; s < COLS && j0 + s < n; s++) block_bias[s] = bias ? bias[j0 + s] : 0;
        memcpy(out, block_bias, sizeof block_bias);
        out += sizeof block_bias;
        for (size_t g = 0; g < groups; g++)
            for (size_t s = 0; s < COLS; s++)
                for (size_t t = 0; t < KGROUP; t++) {
                    const size_t j = j0 + s, kk = g * KGROUP + t;
                    *out++ = j < n && kk < k ? w[j * k + kk] : 0;
                }
    }
    memset(out, 0, (size_t)(end - out));
}
