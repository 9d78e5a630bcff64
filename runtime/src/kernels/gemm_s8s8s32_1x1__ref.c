/* gemm_s8s8s32_1x1__ref: int8 x int8^T -> int32 (+ bias), one output at a time.
 * The sum of at most 65536 products of magnitude <= 128 * 128 stays below 2^30,
 * and with |bias| <= 2^30 the int32 accumulator cannot overflow (FORMAT.md §4.2). */
#include "kernels/kernels.h"

void gemm_s8s8s32_1x1__ref(size_t m, size_t n, size_t k_len, const int8_t *a, size_t lda, const int8_t *b,
                           size_t ldb, const int32_t *bias, int32_t *c, size_t ldc) {
    for (size_t i = 0; i < m; i++) {
        const int8_t *a_row = a + i * lda;
        for (size_t j = 0; j < n; j++) {
            const int8_t *b_row = b + j * ldb;
            int32_t acc = bias ? bias[j] : 0;
            for (size_t k = 0; k < k_len; k++) acc += (int32_t)a_row[k] * b_row[k];
            c[i * ldc + j] = acc;
        }
    }
}
