/* gelu_s32s8_1x1__ref: I-BERT's integer GELU (FORMAT.md §4.4) on 20-bit inputs,
 * then the ffn_gelu rescale to int8. g = t * (y + one) can reach
 * 2^19 * (2^12 + 1) in magnitude, so it is kept in int64. */
#include "kernels/kernels.h"

void gelu_s32s8_1x1__ref(size_t m, size_t n, const int32_t *t, size_t ldt, const igelu_params *g, int32_t mult,
                         int32_t shift, int8_t *u, size_t ldu) {
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            int64_t x = t[i * ldt + j];
            int64_t a = x < 0 ? -x : x;
            if (a > -(int64_t)g->b) a = -(int64_t)g->b;
            int64_t z = (a + g->b) * (a + g->b) + g->c; /* in [c, 0) */
            int64_t sign_z = x > 0 ? z : x < 0 ? -z : 0;
            int64_t y = sign_z >> g->shift;
            int64_t prod = x * (y + g->one);
            u[i * ldu + j] = fp_sat8(fp_rq(prod, mult, shift));
        }
}
