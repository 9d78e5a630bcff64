/* requant_s32s32_1x1__ref: int32 values rescaled (FORMAT.md §4.1) and saturated
 * to `bits` bits, e.g. the 20-bit GELU input or the 32-bit logits. */
#include "kernels/kernels.h"

void requant_s32s32_1x1__ref(size_t m, size_t n, const int32_t *src, size_t lds, const rq_params *rq,
                             unsigned bits, int32_t *dst, size_t ldd) {
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            size_t ch = rq->per_channel ? j : 0;
            dst[i * ldd + j] = (int32_t)fp_sat(fp_rq(src[i * lds + j], rq->mult[ch], rq->shift[ch]), bits);
        }
}
