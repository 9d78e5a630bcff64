/* layernorm_s32s8_1x1__ref: the integer layer norm of FORMAT.md §4.5, row by row.
 * Bounds (h <= 8192, inputs within 22 bits): |sum| < 2^34, |y| < 2^22,
 * var < 2^57, f <= 2^31, |nrm| <= 2^30, |nrm * m| < 2^61, |beta| <= 2^61. */
#include "kernels/kernels.h"

void layernorm_s32s8_1x1__ref(size_t m, size_t h, const int32_t *x, size_t ldx, const int32_t *mult,
                              const int32_t *shift, const int64_t *bias, int8_t *out, size_t ldo) {
    for (size_t i = 0; i < m; i++) {
        const int32_t *row = x + i * ldx;
        int64_t mean, f;
        fp_layernorm_stats(row, h, &mean, &f);
        for (size_t j = 0; j < h; j++) {
            int64_t nrm = ((row[j] - mean) * f) >> 1;
            out[i * ldo + j] = fp_sat8((nrm * mult[j] + bias[j]) >> shift[j]);
        }
    }
}
