/* gemm_s8sxs32_1x1__ref: int8 activations x packed low-bit weights -> int32
 * (FORMAT.md §4.2.1): each group's exact partial sum times its integer sub-scale,
 * added to the bias. Every group (32, 64 or 128 inputs) lies within one 128-code
 * chunk, so each chunk of a weight row is unpacked once and serves all m rows; a
 * row of group size 0 (one group, sub-scale 1) adds each chunk's partial sum times
 * 1, the same integer. The loader checked K * 2^(bits-1) * 128 * max sub + |bias|
 * < 2^31 per row, so no partial sum overflows in any order. */
#include "kernels/kernels.h"
#include "kernels/lowbit_codes.h"

void gemm_s8sxs32_1x1__ref(size_t m, size_t j0, size_t j1, size_t k_len, const int8_t *a, size_t lda,
                           const lowbit_weights *w, int32_t *c, size_t ldc) {
    const size_t group = w->group_size ? w->group_size : LOWBIT_CHUNK;
    const size_t groups = w->group_size ? k_len / w->group_size : 1;
    for (size_t j = j0; j < j1; j++) {
        const uint8_t *row = w->codes + j * w->row_bytes;
        const uint8_t *sub = w->sub + j * groups;
        for (size_t i = 0; i < m; i++) c[i * ldc + j - j0] = w->bias ? w->bias[j] : 0;
        for (size_t k0 = 0; k0 < k_len; k0 += LOWBIT_CHUNK) {
            const size_t k1 = k0 + LOWBIT_CHUNK < k_len ? k0 + LOWBIT_CHUNK : k_len;
            int8_t q[LOWBIT_CHUNK];
            for (size_t k = k0; k < k1; k++) q[k - k0] = (int8_t)lowbit_code(row, w->bits, k);
            for (size_t i = 0; i < m; i++) {
                const int8_t *a_row = a + i * lda;
                for (size_t g0 = k0; g0 < k1; g0 += group) {
                    const size_t g1 = g0 + group < k1 ? g0 + group : k1;
                    int32_t partial = 0;
                    for (size_t k = g0; k < g1; k++) partial += (int32_t)a_row[k] * q[k - k0];
                    c[i * ldc + j - j0] += (int32_t)sub[w->group_size ? g0 / group : 0] * partial;
                }
            }
        }
    }
}
