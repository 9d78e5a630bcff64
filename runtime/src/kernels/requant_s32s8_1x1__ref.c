/* requant_s32s8_1x1__ref: int32 accumulators rescaled (FORMAT.md §4.1) and
 * saturated to int8. */
#include "kernels/kernels.h"

void requant_s32s8_1x1__ref(size_t m, size_t n, const int32_t *src, size_t lds, const rq_params *rq, int8_t *dst,
                            size_t ldd) {
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            size_t ch = rq->per_channel ? j : 0;
            dst[i * ldd + j] = fp_sat8(fp_rq(src[i * lds + j], rq->mult[ch], rq->shift[ch]));
        }
}
