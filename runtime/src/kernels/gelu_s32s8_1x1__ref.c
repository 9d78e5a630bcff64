/* gelu_s32s8_1x1__ref: I-BERT's integer GELU (FORMAT.md §4.4) on 20-bit inputs,
 * then the ffn_gelu rescale to int8, per tensor or per column (format version 2),
 * with the output zero points if there are any (version 6). */
#include "kernels/kernels.h"

void gelu_s32s8_1x1__ref(size_t m, size_t n, const int32_t *t, size_t ldt, const igelu_params *g,
                         const rq_params *rq, const int32_t *zero, int8_t *u, size_t ldu) {
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            const size_t ch = rq->per_channel ? j : 0;
            const int64_t z = zero ? zero[ch] : 0;
            u[i * ldu + j] = fp_sat8(fp_rq(kernel_igelu(t[i * ldt + j], g), rq->mult[ch], rq->shift[ch]) + z);
        }
}
