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

/* sum_k x[k] for one row of k int8 (VPDPBUSD of bytes 1 with x, then the tail). */
static int32_t row_sum(const int8_t *x, size_t k) {
    const __m512i ones = _mm512_set1_epi8(1);
    __m512i acc = _mm512_setzero_si512();
    size_t kk = 0;
    for (; kk + 64 <= k; kk += 64) acc = _mm512_dpbusd_epi32(acc, ones, _mm512_loadu_si512(x + kk));
    int32_t sum = _mm512_reduce_add_epi32(acc);
    for (; kk < k; kk++) sum += x[kk];
    return sum;
}

/* Four activation bytes at p, broadcast. */
static inline __m512i broadcast4(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

/* The same with only `len` < 4 bytes readable (the rest meet zero weights). */
static inline __m512i broadcast_tail(const int8_t *p, size_t len) {
    int32_t v = 0;
    memcpy(&v, p, len);
    return _mm512_set1_epi32(v);
}

/* acc_r{a,b,c} += the 4 k at p (row r) times the three blocks' weights. */
#define ROW_STEP(r, x)                            \
    c##r##a = _mm512_dpbusd_epi32(c##r##a, w0, x); \
    c##r##b = _mm512_dpbusd_epi32(c##r##b, w1, x); \
    c##r##c = _mm512_dpbusd_epi32(c##r##c, w2, x)

#define ALL_ROWS(load)                                                                                 \
    ROW_STEP(0, load(0)); ROW_STEP(1, load(1)); ROW_STEP(2, load(2)); ROW_STEP(3, load(3));       \
    ROW_STEP(4, load(4)); ROW_STEP(5, load(5)); ROW_STEP(6, load(6)); ROW_STEP(7, load(7))

/* One tile: rows ar[0..MR) with their offsets off[r] = -128 * row sum, times three
 * blocks of 16 columns w[0..3) (a range with fewer repeats its last block; the
 * mask drops it); stores rows < mr and the columns selected by mask[v]. Named
 * accumulators, not arrays: GCC keeps arrays of vectors in memory. */
static void tile(size_t k, const int8_t *const ar[MR], const int32_t off[MR], const uint8_t *const w[3], size_t mr,
                 int32_t *c, size_t ldc, const __mmask16 mask[3]) {
    const __m512i ba = _mm512_load_si512(w[0]), bb = _mm512_load_si512(w[1]), bc = _mm512_load_si512(w[2]);
#define INIT(r)                                                 \
    const __m512i o##r = _mm512_set1_epi32(off[r]);             \
    __m512i c##r##a = _mm512_add_epi32(ba, o##r), c##r##b = _mm512_add_epi32(bb, o##r), \
            c##r##c = _mm512_add_epi32(bc, o##r)
    INIT(0); INIT(1); INIT(2); INIT(3); INIT(4); INIT(5); INIT(6); INIT(7);
#undef INIT
    const uint8_t *p0 = w[0] + 64, *p1 = w[1] + 64, *p2 = w[2] + 64;
    const size_t k_main = k & ~(size_t)(KG - 1);
    for (size_t kk = 0; kk < k_main; kk += KG, p0 += 64, p1 += 64, p2 += 64) {
        const __m512i w0 = _mm512_load_si512(p0), w1 = _mm512_load_si512(p1), w2 = _mm512_load_si512(p2);
#define LOAD_FULL(r) broadcast4(ar[r] + kk)
        ALL_ROWS(LOAD_FULL);
#undef LOAD_FULL
    }
    if (k_main < k) {
        const __m512i w0 = _mm512_load_si512(p0), w1 = _mm512_load_si512(p1), w2 = _mm512_load_si512(p2);
#define LOAD_TAIL(r) broadcast_tail(ar[r] + k_main, k - k_main)
        ALL_ROWS(LOAD_TAIL);
#undef LOAD_TAIL
    }
    const __m512i rows[MR][3] = {{c0a, c0b, c0c}, {c1a, c1b, c1c}, {c2a, c2b, c2c}, {c3a, c3b, c3c},
                                 {c4a, c4b, c4c}, {c5a, c5b, c5c}, {c6a, c6b, c6c}, {c7a, c7b, c7c}};
    for (size_t r = 0; r < mr; r++)
        for (int v = 0; v < 3; v++) _mm512_mask_storeu_epi32(c + r * ldc + v * NB, mask[v], rows[r][v]);
}

/* The store mask of the 16 columns starting at j for a range ending at j1. */
static __mmask16 column_mask(size_t j, size_t j1) {
    if (j >= j1) return 0;
    const size_t count = j1 - j >= NB ? NB : j1 - j;
    return (__mmask16)((1u << count) - 1);
}

void gemm_s8s8s32_8x32c4__avx512vnni(size_t m, size_t j0, size_t j1, size_t k, const int8_t *a, size_t lda,
                                     const void *packed, int32_t *c, size_t ldc) {
    const uint8_t *base = packed;
    const size_t bb = block_bytes(k);
    for (size_t i0 = 0; i0 < m; i0 += MR) {
        const size_t mr = m - i0 < MR ? m - i0 : MR;
        const int8_t *ar[MR];
        int32_t off[MR];
        for (size_t r = 0; r < MR; r++) {
            ar[r] = a + (i0 + (r < mr ? r : mr - 1)) * lda;
            off[r] = r < mr ? -128 * row_sum(ar[r], k) : off[r - 1];
        }
        int32_t *ct = c + i0 * ldc;
        for (size_t j = j0; j < j1; j += 3 * NB) {
            const size_t b0 = j / NB, last = (j1 - 1) / NB;
            const uint8_t *w[3] = {base + b0 * bb, base + (b0 + 1 <= last ? b0 + 1 : last) * bb,
                                   base + (b0 + 2 <= last ? b0 + 2 : last) * bb};
            const __mmask16 mask[3] = {column_mask(j, j1), column_mask(j + NB, j1), column_mask(j + 2 * NB, j1)};
            tile(k, ar, off, w, mr, ct + j, ldc, mask);
        }
    }
}
