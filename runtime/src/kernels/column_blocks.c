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

/* Column j's weights into its block: for each group g, kgroup bytes of its row (the
 * last group cut at k) to d + g * stride, XOR flip. KGROUP is a constant in the
 * callers below, so the compiler turns each group into a single load and store:
 * the packer then costs about one instruction per 4 weights instead of several per
 * weight (MiniLM packs 10.9 MB at every load). */
#define COPY_COLUMN(KGROUP)                                                        \
    for (size_t g = 0; g < full_groups; g++) {                                     \
        uint8_t group[KGROUP];                                                     \
        memcpy(group, src + g * (KGROUP), KGROUP);                                 \
        for (size_t t = 0; t < (KGROUP); t++) group[t] ^= flip;                    \
        memcpy(d + g * stride, group, KGROUP);                                     \
    }

static void copy_column(const column_blocks *layout, const uint8_t *src, size_t k, uint8_t *d) {
    const size_t kgroup = layout->kgroup, stride = layout->cols * kgroup, full_groups = k / kgroup;
    const uint8_t flip = layout->flip;
    switch (kgroup) {
    case 2: COPY_COLUMN(2) break;
    case 4: COPY_COLUMN(4) break;
    case 8: COPY_COLUMN(8) break;
    case 16: COPY_COLUMN(16) break;
    default:
        for (size_t g = 0; g < full_groups; g++)
            for (size_t t = 0; t < kgroup; t++) d[g * stride + t] = src[g * kgroup + t] ^ flip;
    }
    /* the group k cuts: its weights, then zeros (already there) */
    for (size_t kk = full_groups * kgroup; kk < k; kk++) d[full_groups * stride + kk % kgroup] = src[kk] ^ flip;
}

void column_blocks_pack(const column_blocks *layout, size_t n, size_t k, const int8_t *w, const int32_t *bias,
                        void *dst) {
    const size_t cols = layout->cols, kgroup = layout->kgroup, weight_bytes = padded_k(layout, k) * cols;
    uint8_t *out = dst, *end = out + column_blocks_size(layout, n, k);
    for (size_t j0 = 0; j0 < n; j0 += cols) {
        for (size_t b = 0; b < bias_count(layout); b++) {
            /* with bias_pairs, entry 4q + t belongs to column 2q + t % 2 */
            const size_t j = j0 + (layout->bias_pairs ? b / 4 * 2 + b % 2 : b);
            const int32_t value = bias && j < n ? bias[j] : 0;
            memcpy(out, &value, sizeof value);
            out += sizeof value;
        }
        /* padded columns and k stay zero */
        memset(out, 0, weight_bytes);
        for (size_t s = 0; s < cols && j0 + s < n; s++)
            copy_column(layout, (const uint8_t *)w + (j0 + s) * k, k, out + s * kgroup);
        out += weight_bytes;
    }
    memset(out, 0, (size_t)(end - out));
}
