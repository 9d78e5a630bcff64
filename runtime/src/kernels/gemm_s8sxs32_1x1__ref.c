/* gemm_s8sxs32_1x1__ref: a low-bit linear layer, int8 activations times packed
 * 2/3/4/6-bit weights with integer group sub-scales -> int32, one output at a time.
 * It defines the results every SIMD twin must reproduce (FORMAT.md, low-bit linear
 * layers; the contract is in kernels.h at gemm_s8sxs32_fn).
 *
 * Each code is read straight from the packed row (no unpacked copy): a 128-code
 * chunk holds the width's bit planes one after the other, low plane first
 * (2 = [2], 3 = [2, 1], 4 = [4], 6 = [4, 2]); a p-bit plane is p runs of 16 bytes,
 * and byte i of run r holds in bits j*p ... j*p + p - 1 the plane's bits of code
 * r*16*(8/p) + j*16 + i.
 *
 * Exact in int32: a group's sum has at most group_size (or k_len) products of
 * magnitude <= 2^(bits-1) * 128, and the loader bounds
 * k_len * 2^(bits-1) * 128 * max s + |bias| below 2^31, which covers every partial
 * sum below. */
#include "kernels/kernels.h"

#define CHUNK_CODES 128
#define RUN_BYTES 16

/* The bits of code t (< 128) in one p-bit plane that starts at `plane`. */
static unsigned plane_bits(const uint8_t *plane, unsigned p, size_t t) {
    const size_t per_run = RUN_BYTES * (8 / p); /* codes in one 16-byte run */
    const size_t run = t / per_run, field = t % per_run / RUN_BYTES, lane = t % RUN_BYTES;
    return (plane[run * RUN_BYTES + lane] >> (field * p)) & ((1u << p) - 1);
}

/* The signed code q of column k of a packed row. */
static int32_t code_at(const uint8_t *row, unsigned bits, size_t k) {
    const uint8_t *chunk = row + k / CHUNK_CODES * (CHUNK_CODES * bits / 8);
    const size_t t = k % CHUNK_CODES;
    /* the low plane is 4 bits wide for 4 and 6, else 2; the high plane (3, 6) the rest */
    const unsigned low = bits >= 4 ? 4 : 2, high = bits - low;
    unsigned u = plane_bits(chunk, low, t);
    if (high) u |= plane_bits(chunk + low * RUN_BYTES, high, t) << low;
    return (int32_t)u - (1 << (bits - 1));
}

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
                for (size_t k = g * group; k < (g + 1) * group; k++) sum += code_at(row, w->bits, k) * x[k];
                acc += (int32_t)w->sub[j * groups + g] * sum;
            }
            c[i * ldc + (j - j0)] = acc;
        }
    }
}
