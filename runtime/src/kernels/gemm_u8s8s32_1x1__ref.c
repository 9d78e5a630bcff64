/* gemm_u8s8s32_1x1__ref: uint8 probabilities x int8 values -> int32. With at most
 * 65536 keys the sum is below 255 * 128 * 2^16 < 2^31. */
#include "kernels/kernels.h"

void gemm_u8s8s32_1x1__ref(size_t m, size_t n, size_t k_len, const uint8_t *p, size_t ldp, const int8_t *v,
                           size_t ldv, int32_t *c, size_t ldc) {
    for (size_t i = 0; i < m; i++) {
        const uint8_t *p_row = p + i * ldp;
        for (size_t j = 0; j < n; j++) {
            int32_t acc = 0;
            for (size_t k = 0; k < k_len; k++) acc += (int32_t)p_row[k] * v[k * ldv + j];
            c[i * ldc + j] = acc;
        }
    }
}
