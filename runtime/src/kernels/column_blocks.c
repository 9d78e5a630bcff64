/* column_blocks.c: see column_blocks.h. */
#include "kernels/column_blocks.h"

#include <string.h>

static size_t bias_count(const column_blocks *layout) { return layout->bias_pairs ? 2 * layout->cols : layout->cols; }

static size_t padded_k(const column_blocks *layout, size_t k) {
    return (k + layout->kpad - 1) / layout->kpad * layout->kpad;
}

size_t column_blocks_size(const column_blocks *layout, size_t n, size_t k) {
    const size_t blocks = (n + layout->cols - 1) / layout->cols;
    const size_t bytes = blocks * (bias_count(layout) * sizeof(int32_t) + padded_k(layout, k) * layout->cols);
    return (bytes + 63) / 64 * 64;
}

void column_blocks_pack(const column_blocks *layout, size_t n, size_t k, const int8_t *w, const int32_t *bias,
                        void *dst) {
    const size_t cols = layout->cols, kgroup = layout->kgroup, groups = padded_k(layout, k) / kgroup;
    uint8_t *out = dst, *end = out + column_blocks_size(layout, n, k);
    for (size_t j0 = 0; j0 < n; j0 += cols) {
        for (size_t b = 0; b < bias_count(layout); b++) {
            /* with bias_pairs, entry 4q + t belongs to column 2q + t % 2 */
            const size_t j = j0 + (layout->bias_pairs ? b / 4 * 2 + b % 2 : b);
            const int32_t value = bias && j < n ? bias[j] : 0;
            memcpy(out, &value, sizeof value);
            out += sizeof value;
        }
        for (size_t g = 0; g < groups; g++)
            for (size_t s = 0; s < cols; s++)
                for (size_t t = 0; t < kgroup; t++) {
                    const size_t j = j0 + s, kk = g * kgroup + t;
                    *out++ = j < n && kk < k ? (uint8_t)w[j * k + kk] ^ layout->flip : 0;
                }
    }
    memset(out, 0, (size_t)(end - out));
}
