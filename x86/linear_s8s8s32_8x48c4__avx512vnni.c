/* linear_s8s8s32_8x48c4__avx512vnni: the linear layers (x int8 [m, k] times W^T, W
 * int8 [n, k] in -127..127, plus bias) with AVX-512 VNNI on weights packed once at
 * model load by packw_s8s32_16x4_x128 (linear_packing.gemm).
 *
 * The packer stores u = W + 128 (1..255) as VPDPBUSD's unsigned operand and the
 * plain bias; x stays signed; each tile starts at bias - 128 * (x's row sum), which
 * cancels the offset (gemm_8x48c4_avx512vnni.h: why the int32 result equals
 * gemm_s8s8s32_1x1__ref's bit for bit).
 *
 * Packed layout (packw_s8s32_16x4_x128), per block of 16 columns: 16 int32 biases
 * (64 bytes), then per group of 4 k the 16 columns' 4 bytes of u: one VPDPBUSD
 * operand. Loop order: for each 8 rows of x (row sums once), every 48 columns in
 * range; the range's last group repeats its last block (masked off the store). */
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VL__) || !defined(__AVX512VNNI__)
#error "linear_s8s8s32_8x48c4__avx512vnni needs -mavx512f -mavx512bw -mavx512vl -mavx512vnni"
#endif

#include "gemm_8x48c4_avx512vnni.h"
#include "kernels/kernels.h"

void linear_s8s8s32_8x48c4__avx512vnni(size_t m, size_t j0, size_t j1, size_t k, const int8_t *a, size_t lda,
                                       const void *packed, int32_t *c, size_t ldc) {
    const uint8_t *base = packed;
    const size_t block_bytes = 64 * (1 + (k + MK_KG - 1) / MK_KG), last = (j1 - 1) / MK_NB;
    for (size_t i0 = 0; i0 < m; i0 += MK_MR) {
        const size_t mr = m - i0 < MK_MR ? m - i0 : MK_MR;
        const int8_t *ar[MK_MR];
        int32_t sums[MK_MR];
        for (size_t r = 0; r < MK_MR; r++) {
            ar[r] = a + (i0 + (r < mr ? r : mr - 1)) * lda;
            sums[r] = r < mr ? mk_row_sum(ar[r], k) : sums[r - 1];
        }
        for (size_t j = j0; j < j1; j += 3 * MK_NB) {
            const uint8_t *blk[3];
            for (size_t v = 0; v < 3; v++) {
                const size_t b = j / MK_NB + v;
                blk[v] = base + (b <= last ? b : last) * block_bytes;
            }
            const int32_t *const start[3] = {(const int32_t *)blk[0], (const int32_t *)blk[1],
                                             (const int32_t *)blk[2]};
            const uint8_t *const w[3] = {blk[0] + 64, blk[1] + 64, blk[2] + 64};
            const __mmask16 mask[3] = {mk_column_mask(j, j1), mk_column_mask(j + MK_NB, j1),
                                       mk_column_mask(j + 2 * MK_NB, j1)};
            mk_tile(k, ar, sums, start, 0, w, mr, c + i0 * ldc + j, ldc, mask);
        }
    }
}
