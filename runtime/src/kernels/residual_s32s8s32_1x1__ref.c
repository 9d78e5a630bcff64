/* residual_s32s8s32_1x1__ref: a sublayer's accumulator and the sublayer's int8
 * input, each rescaled into the residual sum's scale, added in int64 and
 * saturated to 22 bits (FORMAT.md §4.6 steps 4 and 6). */
#include "kernels/kernels.h"

void residual_s32s8s32_1x1__ref(size_t m, size_t n, const int32_t *acc, size_t lda, const rq_params *acc_rq,
                                const int8_t *x, size_t ldx, const rq_params *x_rq, int32_t *out, size_t ldo) {
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            size_t ca = acc_rq->per_channel ? j : 0, cx = x_rq->per_channel ? j : 0;
            int64_t sum = fp_rq(acc[i * lda + j], acc_rq->mult[ca], acc_rq->shift[ca]) +
                          fp_rq(x[i * ldx + j], x_rq->mult[cx], x_rq->shift[cx]);
            out[i * ldo + j] = (int32_t)fp_sat(sum, KERNEL_RESIDUAL_BITS);
        }
}
