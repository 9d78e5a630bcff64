/* gemm_8x48c4_avx512vnni.h: the VPDPBUSD micro-kernel both AVX-512 VNNI int8 GEMMs
 * share (linear_s8s8s32_8x48c4__avx512vnni on packed linear weights,
 * gemm_s8s8s32_8x48c4__avx512vnni on q.k^T, packing k on the stack).
 *
 * VPDPBUSD multiplies unsigned by signed bytes. The right operand b (weights, or
 * the keys) is stored as u = b + 128 (0..255; b XOR 0x80), the left operand a
 * (activations, -128..127) enters unchanged and signed, so a lane accumulates
 *     sum_k u[j, k] * a[i, k] = sum_k a[i, k] * b[j, k] + 128 * sum_k a[i, k],
 * and the accumulator starts at its bias minus 128 * (the row sum of a) to cancel
 * the offset. Each product |u * a| <= 255 * 128 is exact and VPDPBUSD (the
 * non-saturating form) adds four of them without saturation; all additions are
 * exact modulo 2^32, so the lane ends at the true c[i, j] mod 2^32, which is c[i, j]
 * itself because it fits int32 (FORMAT.md §4.2). Intermediate values may leave
 * int32 only by wrapping, which changes nothing.
 *
 * Layout of the packed right operand, per block of 16 columns: for each group of 4
 * k (k padded to a multiple of 4), the 16 columns' 4 bytes u, column-major: the
 * 64-byte operand of one VPDPBUSD; consecutive groups 64 bytes apart.
 *
 * Tile: 8 rows x 3 blocks (48 columns), 24 zmm accumulators in named registers
 * (GCC keeps arrays of vectors in memory); per group of 4 k: 3 loads, 8 broadcasts
 * of 4 bytes of a, 24 VPDPBUSD. */
#ifndef IBERT_X86_GEMM_8X48C4_AVX512VNNI_H
#define IBERT_X86_GEMM_8X48C4_AVX512VNNI_H

#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VL__) || !defined(__AVX512VNNI__)
#error "gemm_8x48c4_avx512vnni.h needs -mavx512f -mavx512bw -mavx512vl -mavx512vnni"
#endif

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define MK_MR 8  /* rows of a per tile */
#define MK_NB 16 /* columns per block: one zmm of int32 */
#define MK_KG 4  /* k per VPDPBUSD lane */

/* sum_k x[k] over one row of k int8 (VPDPBUSD of bytes 1 with x; masked tail). */
static inline int32_t mk_row_sum(const int8_t *x, size_t k) {
    const __m512i ones = _mm512_set1_epi8(1);
    __m512i acc = _mm512_setzero_si512();
    size_t kk = 0;
    for (; kk + 64 <= k; kk += 64) acc = _mm512_dpbusd_epi32(acc, ones, _mm512_loadu_si512(x + kk));
    if (kk < k) {
        const __mmask64 tail = (__mmask64)((UINT64_C(1) << (k - kk)) - 1);
        acc = _mm512_dpbusd_epi32(acc, ones, _mm512_maskz_loadu_epi8(tail, x + kk));
    }
    return _mm512_reduce_add_epi32(acc);
}

/* Four bytes of a at p, broadcast. */
static inline __m512i mk_broadcast4(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

/* The same with only len < 4 bytes readable; the rest are 0, so whatever u they
 * meet adds nothing. */
static inline __m512i mk_broadcast_tail(const int8_t *p, size_t len) {
    int32_t v = 0;
    memcpy(&v, p, len);
    return _mm512_set1_epi32(v);
}

#define MK_ROW_STEP(r, x)                          \
    c##r##a = _mm512_dpbusd_epi32(c##r##a, w0, x); \
    c##r##b = _mm512_dpbusd_epi32(c##r##b, w1, x); \
    c##r##c = _mm512_dpbusd_epi32(c##r##c, w2, x)

#define MK_ALL_ROWS(load)                                                                                       \
    MK_ROW_STEP(0, load(0)); MK_ROW_STEP(1, load(1)); MK_ROW_STEP(2, load(2)); MK_ROW_STEP(3, load(3));         \
    MK_ROW_STEP(4, load(4)); MK_ROW_STEP(5, load(5)); MK_ROW_STEP(6, load(6)); MK_ROW_STEP(7, load(7))

/* c[r, v * 16 + s] = init + sum over k of u * a for rows ar[0..8) and the blocks
 * whose first group is at w[v], where init is start[v][s] - 128 * row_sum[r]
 * (start: 16 int32 per block, 64-byte aligned) or, when accumulate, the value c
 * already holds minus 128 * row_sum[r]. Stores rows < mr, columns in mask[v]. A
 * range of fewer than 3 blocks passes its last block again (masked off). */
static inline void mk_tile(size_t k, const int8_t *const ar[MK_MR], const int32_t row_sum[MK_MR],
                           const int32_t *const start[3], int accumulate, const uint8_t *const w[3], size_t mr,
                           int32_t *c, size_t ldc, const __mmask16 mask[3]) {
    __m512i ba = _mm512_load_si512(start[0]), bb = _mm512_load_si512(start[1]), bc = _mm512_load_si512(start[2]);
#define MK_INIT(r)                                                                                            \
    if (accumulate && r < mr) {                                                                               \
        ba = _mm512_maskz_loadu_epi32(mask[0], c + r * ldc);                                                  \
        bb = _mm512_maskz_loadu_epi32(mask[1], c + r * ldc + MK_NB);                                          \
        bc = _mm512_maskz_loadu_epi32(mask[2], c + r * ldc + 2 * MK_NB);                                      \
    }                                                                                                         \
    const __m512i o##r = _mm512_set1_epi32(-128 * row_sum[r]);                                               \
    __m512i c##r##a = _mm512_add_epi32(ba, o##r), c##r##b = _mm512_add_epi32(bb, o##r),                       \
            c##r##c = _mm512_add_epi32(bc, o##r)
    MK_INIT(0); MK_INIT(1); MK_INIT(2); MK_INIT(3); MK_INIT(4); MK_INIT(5); MK_INIT(6); MK_INIT(7);
#undef MK_INIT
    const uint8_t *p0 = w[0], *p1 = w[1], *p2 = w[2];
    const size_t k_main = k & ~(size_t)(MK_KG - 1);
    for (size_t kk = 0; kk < k_main; kk += MK_KG, p0 += 64, p1 += 64, p2 += 64) {
        const __m512i w0 = _mm512_load_si512(p0), w1 = _mm512_load_si512(p1), w2 = _mm512_load_si512(p2);
#define MK_LOAD_FULL(r) mk_broadcast4(ar[r] + kk)
        MK_ALL_ROWS(MK_LOAD_FULL);
#undef MK_LOAD_FULL
    }
    if (k_main < k) {
        const __m512i w0 = _mm512_load_si512(p0), w1 = _mm512_load_si512(p1), w2 = _mm512_load_si512(p2);
#define MK_LOAD_TAIL(r) mk_broadcast_tail(ar[r] + k_main, k - k_main)
        MK_ALL_ROWS(MK_LOAD_TAIL);
#undef MK_LOAD_TAIL
    }
    const __m512i rows[MK_MR][3] = {{c0a, c0b, c0c}, {c1a, c1b, c1c}, {c2a, c2b, c2c}, {c3a, c3b, c3c},
                                    {c4a, c4b, c4c}, {c5a, c5b, c5c}, {c6a, c6b, c6c}, {c7a, c7b, c7c}};
    for (size_t r = 0; r < mr; r++)
        for (int v = 0; v < 3; v++) _mm512_mask_storeu_epi32(c + r * ldc + v * MK_NB, mask[v], rows[r][v]);
}

/* The mask of the columns j .. j + 15 below j1. */
static inline __mmask16 mk_column_mask(size_t j, size_t j1) {
    if (j >= j1) return 0;
    return j1 - j >= MK_NB ? (__mmask16)0xffff : (__mmask16)((1u << (j1 - j)) - 1);
}

#endif
