/* gemm_s8sxs32_8x48c4__avx512vnni: a low-bit linear layer (kernels.h, gemm_s8sxs32_fn)
 * with AVX-512 VNNI, the twin of gemm_s8sxs32_2x2c32__avx2 on the same panels
 * (lowbit_panel_x86.h: signed codes q, 4 k per int32 lane; bias and the x + 128
 * offset folded into a per-column base).
 *
 * Tile: 8 rows x 48 columns (three zmm). Per 4 k and row, one 4-byte broadcast of
 * x + 128 and three VPDPBUSD (unsigned x + 128 times signed q, four products added into
 * each int32 lane without saturation). At a group's end the accumulators are
 * multiplied by the columns' sub-scales (VPMULLD) into the totals; sums wrap modulo
 * 2^32 as lowbit_panel_x86.h explains. */
#if !defined(__AVX512F__) || !defined(__AVX512VNNI__)
#error "gemm_s8sxs32_8x48c4__avx512vnni needs -mavx512f -mavx512vnni"
#endif

#include <immintrin.h>
#include <string.h>

#include "lowbit_panel_x86.h"

#define MR 8
#define NC 48

static inline __m512i broadcast4(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

/* acc += VPDPBUSD(x, w) in place. As an asm statement because GCC 12 copies each
 * accumulator of the intrinsic to another register and spills it on every step. */
#define DPBUSD(acc, x, w) __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(x), "vm"(w))

#define ROW(r)                                                \
    do {                                                      \
        const __m512i x = broadcast4(xu[r] + 4 * kk);         \
        DPBUSD(a##r##0, x, w0);        \
        DPBUSD(a##r##1, x, w1);        \
        DPBUSD(a##r##2, x, w2);        \
    } while (0)
/* The totals live in memory (L1): with them in registers GCC spills and shuffles the accumulators. */
#define SCALE(r)                                                                                              \
    do {                                                                                                      \
        _mm512_store_si512(tot[r], _mm512_add_epi32(_mm512_load_si512(tot[r]), _mm512_mullo_epi32(a##r##0, s0))); \
        _mm512_store_si512(tot[r] + 16,                                                                       \
                           _mm512_add_epi32(_mm512_load_si512(tot[r] + 16), _mm512_mullo_epi32(a##r##1, s1)));  \
        _mm512_store_si512(tot[r] + 32,                                                                       \
                           _mm512_add_epi32(_mm512_load_si512(tot[r] + 32), _mm512_mullo_epi32(a##r##2, s2)));  \
    } while (0)

/* Adds (unless first) and stores the first count (<= 16) lanes of v at c. */
static inline void store_row(int32_t *c, __m512i v, size_t count, int first) {
    const __mmask16 mask = (__mmask16)((1u << count) - 1);
    if (!first) v = _mm512_add_epi32(v, _mm512_maskz_loadu_epi32(mask, c));
    _mm512_mask_storeu_epi32(c, mask, v);
}

static void tile(const uint8_t xu[][LOWBIT_PANEL_K], const lowbit_panel *p, int first, int32_t *c, size_t ldc,
                 size_t mr, size_t count) {
    _Alignas(64) int32_t tot[MR][NC];
    for (size_t r = 0; r < MR; r++) memcpy(tot[r], p->base, sizeof tot[r]);
    for (size_t g = 0, k_start = 0; k_start < p->k4; g++, k_start += p->group_k4) {
        __m512i a00 = _mm512_setzero_si512(), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00, a20 = a00,
                a21 = a00, a22 = a00, a30 = a00, a31 = a00, a32 = a00, a40 = a00, a41 = a00, a42 = a00, a50 = a00,
                a51 = a00, a52 = a00, a60 = a00, a61 = a00, a62 = a00, a70 = a00, a71 = a00, a72 = a00;
        for (size_t kk = k_start; kk < k_start + p->group_k4; kk++) {
            const int8_t *q = p->q + kk * NC * 4;
            const __m512i w0 = _mm512_load_si512(q), w1 = _mm512_load_si512(q + 64), w2 = _mm512_load_si512(q + 128);
            ROW(0); ROW(1); ROW(2); ROW(3); ROW(4); ROW(5); ROW(6); ROW(7);
        }
        const __m512i s0 = _mm512_load_si512(p->s[g]), s1 = _mm512_load_si512(p->s[g] + 16),
                      s2 = _mm512_load_si512(p->s[g] + 32);
        SCALE(0); SCALE(1); SCALE(2); SCALE(3); SCALE(4); SCALE(5); SCALE(6); SCALE(7);
    }
    for (size_t r = 0; r < mr; r++) {
        for (size_t v = 0; v * 16 < count; v++)
            store_row(c + r * ldc + v * 16, _mm512_load_si512(tot[r] + v * 16), count - v * 16 < 16 ? count - v * 16 : 16,
                      first);
    }
}

void gemm_s8sxs32_8x48c4__avx512vnni(size_t m, size_t j0, size_t j1, size_t k_len, const int8_t *a, size_t lda,
                                     const lowbit_weights *w, int32_t *c, size_t ldc) {
    lowbit_gemm_x86(MR, NC, tile, m, j0, j1, k_len, a, lda, w, c, ldc);
}
