/* gemm_s8sxs32_1x1__ref: a low-bit linear layer, int8 activations times packed
 * 2/3/4/6-bit weights with integer group sub-scales -> int32, one output at a time.
 * It defines the results every SIMD twin must reproduce (FORMAT.md, low-bit linear
 * layers; the contract is in kernels.h at gemm_s8sxs32_fn).
 *
 * Each code is read straight from the packed row (no unpacked copy) by
 * lowbit_code (lowbit_codes.h, shared with the loader and the low-bit embedding
 * lookup), which holds the bit-plane layout.
 *
 * Exact in int32: a group's sum has at most group_size (or k_len) products of
 * magnitude <= 2^(bits-1) * 128, and the loader bounds
 * k_len * 2^(bits-1) * 128 * max s + |bias| below 2^31, which covers every partial
 * sum below. */
#include "kernels/kernels.h"
#include "kernels/lowbit_codes.h"

void gemm_s8sxs32_1x1__ref(size_t m, size_t j0, size_t j1, size_t k_len, const int8_t *a, size_t lda,
                           const lowbit_weights *w, int32_t *c, size_t ldc) {
    const size_t group = w->group_size ? w->group_size : k_len;
    const size_t groups = w->group_size ? k_len / w->group_size : 1;
    for (size_t i = 0; i < m; i++) {
        const int8_t *x = a + i * lda;
        for (size_t j = j0; j < j1; j++) {
            const uint8_t *row = w->codes + j * w->row_bytes;
            int32_t acc = w->bias ? w->bias[j] : 0;
            for (size_t g = 0; g < groups; g++) {
                int32_t sum = 0;
                for (size_t k = g * group; k < (g + 1) * group; k++) sum += lowbit_code(row, w->bits, k) * x[k];
                acc += (int32_t)w->sub[j * groups + g] * sum;
            }
            c[i * ldc + (j - j0)] = acc;
        }
    }
}
