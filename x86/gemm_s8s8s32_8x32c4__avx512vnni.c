/* gemm_s8s8s32_8x32c4__avx512vnni: the linear layers (x int8 [m, k] times W^T,
 * W int8 [n, k] in -127..127, plus bias) with AVX-512 VNNI, on weights packed once
 * at model load by packw_s8s32_16x4_x128 (linear_packing.gemm).
 *
 * VPDPBUSD multiplies unsigned by signed bytes, so the activation enters as
 * u = x + 128 (0..255, x XOR 0x80) and the packer folds the offset into the bias
 *     bias'[j] = bias[j] - 128 * sum_k W[j, k]
 *     c[i, j]  = bias'[j] + sum_k u[i, k] * W[j, k] = bias[j] + sum_k x[i, k] * W[j, k].
 * Nothing overflows, so the int32 result equals gemm_s8s8s32_1x1__ref's bit for bit.
 * VPDPBUSD (the non-saturating form) adds four exact products |u * W| <= 255 * 127
 * to a lane. After the products of any subset S of the k indices, a lane holds
 *     bias[j] + sum_{k in S} x * W - 128 * sum_{k not in S} W,
 * each of the k terms at most 128 * 127 in magnitude, so with k <= 65536 and
 * |bias| <= 2^30 (FORMAT.md §3, §4.2) the value stays below 2^30 + 128 * 127 * 2^16
 * < 2^31: no step, including bias' itself (S empty), leaves int32.
 *
 * Packed layout (packw_s8s32_16x4_x128): per block of 16 columns, 16 int32 bias'
 * (64 bytes), then per group of 4 k the 16 columns' 4 weights: one VPDPBUSD operand.
 *
 * Tile: 8 rows x 32 columns (two blocks), 16 zmm accumulators; per group of 4 k:
 * 2 weight loads, 8 broadcasts of 4 activation bytes, 8 XORs, 16 VPDPBUSD. A
 * column range ending in a single block uses an 8 x 16 tile; rows past m reuse
 * the last row (computed, not stored); columns past j1 are masked off the store. */
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VL__) || !defined(__AVX512VNNI__)
#error "gemm_s8s8s32_8x32c4__avx512vnni needs -mavx512f -mavx512bw -mavx512vl -mavx512vnni"
#endif

#include <immintrin.h>
#include <string.h>

#include "kernels/kernels.h"

#define MR 8
#define NB 16 /* columns per packed block: one zmm of int32 */
#define KG 4  /* k per VPDPBUSD lane */

/* Bytes of one packed block: its bias and its k groups. */
static size_t block_bytes(size_t k) { return 64 * (1 + (k + KG - 1) / KG); }

/* Four activation bytes at p (only `len` < 4 of them readable, the rest taken as
 * 0), offset to unsigned and broadcast. */
static inline __m512i broadcast_tail(const int8_t *p, size_t len, __m512i offset) {
    int32_t v = 0;
    memcpy(&v, p, len);
    return _mm512_xor_si512(_mm512_set1_epi32(v), offset);
}

/* One tile: rows ar[0..MR), NV blocks of 16 columns from blocks w[0..NV); stores
 * rows < mr and columns selected by mask[v]. NV is a constant at each call, so the
 * accumulators stay in registers. */
static inline __attribute__((always_inline)) void tile(int nv, size_t k, const int8_t *const ar[MR],
                                                       const uint8_t *const w[2], size_t mr, int32_t *c, size_t ldc,
                                                       const __mmask16 mask[2]) {
    const __m512i offset = _mm512_set1_epi8((char)0x80);
    __m512i acc[MR][2];
    for (int v = 0; v < nv; v++) {
        const __m512i b = _mm512_load_si512(w[v]);
        for (int r = 0; r < MR; r++) acc[r][v] = b;
    }
    const size_t k_main = k & ~(size_t)(KG - 1);
    size_t g = 0;
    for (size_t kk = 0; kk < k_main; kk += KG, g++) {
        __m512i wv[2];
        for (int v = 0; v < nv; v++) wv[v] = _mm512_load_si512(w[v] + 64 * (1 + g));
        for (int r = 0; r < MR; r++) {
            int32_t a4;
            memcpy(&a4, ar[r] + kk, 4);
            const __m512i u = _mm512_xor_si512(_mm512_set1_epi32(a4), offset);
            for (int v = 0; v < nv; v++) acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], u, wv[v]);
        }
    }
    if (k_main < k) {
        __m512i wv[2];
        for (int v = 0; v < nv; v++) wv[v] = _mm512_load_si512(w[v] + 64 * (1 + g));
        for (int r = 0; r < MR; r++) {
            const __m512i u = broadcast_tail(ar[r] + k_main, k - k_main, offset);
            for (int v = 0; v < nv; v++) acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], u, wv[v]);
        }
    }
    for (size_t r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++) _mm512_mask_storeu_epi32(c + r * ldc + v * NB, mask[v], acc[r][v]);
}

/* The store mask of the 16 columns starting at j for a range ending at j1. */
static __mmask16 column_mask(size_t j, size_t j1) {
    const size_t count = j1 - j >= NB ? NB : j1 - j;
    return (__mmask16)((1u << count) - 1);
}

void gemm_s8s8s32_8x32c4__avx512vnni(size_t m, size_t j0, size_t j1, size_t k, const int8_t *a, size_t lda, const void *packed,
                                     int32_t *c, size_t ldc) {
    const uint8_t *base = packed;
    const size_t bb = block_bytes(k);
    size_t j = j0;
    for (; j + NB < j1; j += 2 * NB) {
        const uint8_t *w[2] = {base + j / NB * bb, base + (j / NB + 1) * bb};
        const __mmask16 mask[2] = {column_mask(j, j1), column_mask(j + NB, j1)};
        for (size_t i0 = 0; i0 < m; i0 += MR) {
            const size_t mr = m - i0 < MR ? m - i0 : MR;
            const int8_t *ar[MR];
            for (size_t r = 0; r < MR; r++) ar[r] = a + (i0 + (r < mr ? r : mr - 1)) * lda;
            tile(2, k, ar, w, mr, c + i0 * ldc + j, ldc, mask);
        }
    }
    if (j < j1) {
        const uint8_t *w[2] = {base + j / NB * bb, NULL};
        const __mmask16 mask[2] = {column_mask(j, j1), 0};
        for (size_t i0 = 0; i0 < m; i0 += MR) {
            const size_t mr = m - i0 < MR ? m - i0 : MR;
            const int8_t *ar[MR];
            for (size_t r = 0; r < MR; r++) ar[r] = a + (i0 + (r < mr ? r : mr - 1)) * lda;
            tile(1, k, ar, w, mr, c + i0 * ldc + j, ldc, mask);
        }
    }
}
