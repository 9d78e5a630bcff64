/* gemm_s8sxs32_2x2c32__avx2: a low-bit linear layer (kernels.h, gemm_s8sxs32_fn)
 * with AVX2, reading the file's packed 2/3/4/6-bit rows. (The name is the contract
 * kernels_select.c knows; the tile is now 4 rows x 16 columns, 8 k per step.)
 *
 * lowbit_panel_x86.h unpacks 16 columns x 512 k of signed codes q once into a panel
 * of 4 k per int32 lane (8 columns per ymm) and folds the bias and the x + 128 offset
 * into a per-column base; every tile of 4 rows then reads that panel. Per step of 8 k
 * and row, two 4-byte broadcasts of x + 128; per row and ymm of columns two VPMADDUBSW
 * (each lane pair at most 2 * 255 * 32 = 16320 in magnitude: never saturated), one
 * VPADDW (four products: at most 32640 < 2^15), one VPMADDWD by ones and one VPADDD.
 * At a group's end the accumulators are multiplied by the columns' sub-scales
 * (VPMULLD) into the totals; sums wrap modulo 2^32 as lowbit_panel_x86.h explains. */
#if !defined(__AVX2__)
#error "gemm_s8sxs32_2x2c32__avx2 needs AVX2 (-mavx2)"
#endif

#include <immintrin.h>
#include <string.h>

#include "lowbit_panel_x86.h"

#define MR 4
#define NC 16

static inline __m256i broadcast4(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

/* acc += the 8 k of x, y (the row's two broadcasts) times w, v (two panel rows) */
#define MAC2(acc, x, y, w, v)                                                                                 \
    acc = _mm256_add_epi32(                                                                                   \
        acc, _mm256_madd_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(x, w), _mm256_maddubs_epi16(y, v)), ones))
#define ROW(r)                                                      \
    do {                                                            \
        const __m256i x = broadcast4(xu[r] + 4 * kk);               \
        const __m256i y = broadcast4(xu[r] + 4 * kk + 4);           \
        MAC2(a##r##0, x, y, w0, v0);                                \
        MAC2(a##r##1, x, y, w1, v1);                                \
    } while (0)
/* The totals live in memory (L1): in registers they would spill the accumulators. */
#define SCALE(r) \
    do {         \
        add_scaled(tot[r], a##r##0, s0);     \
        add_scaled(tot[r] + 8, a##r##1, s1); \
    } while (0)

static inline void add_scaled(int32_t *tot, __m256i acc, __m256i s) {
    const __m256i t = _mm256_load_si256((const __m256i *)(const void *)tot);
    _mm256_store_si256((__m256i *)(void *)tot, _mm256_add_epi32(t, _mm256_mullo_epi32(acc, s)));
}

static void store_row(int32_t *c, __m256i v, size_t count, int first) {
    _Alignas(32) int32_t out[8];
    if (count >= 8 && first) {
        _mm256_storeu_si256((__m256i *)(void *)c, v);
    } else if (count >= 8) {
        _mm256_storeu_si256((__m256i *)(void *)c, _mm256_add_epi32(v, _mm256_loadu_si256((const __m256i *)(void *)c)));
    } else {
        _mm256_store_si256((__m256i *)(void *)out, v);
        for (size_t j = 0; j < count; j++) c[j] = (int32_t)((uint32_t)out[j] + (first ? 0u : (uint32_t)c[j]));
    }
}

static void tile(const uint8_t xu[][LOWBIT_PANEL_K], const lowbit_panel *p, int first, int32_t *c, size_t ldc,
                 size_t mr, size_t count) {
    const __m256i ones = _mm256_set1_epi16(1);
    _Alignas(32) int32_t tot[MR][NC];
    for (size_t r = 0; r < MR; r++) memcpy(tot[r], p->base, sizeof tot[r]);
    for (size_t g = 0, k_start = 0; k_start < p->k4; g++, k_start += p->group_k4) {
        __m256i a00 = _mm256_setzero_si256(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00,
                a31 = a00;
        for (size_t kk = k_start; kk < k_start + p->group_k4; kk += 2) {
            const __m256i *q = (const __m256i *)(const void *)(p->q + kk * NC * 4);
            const __m256i w0 = _mm256_load_si256(q), w1 = _mm256_load_si256(q + 1);
            const __m256i v0 = _mm256_load_si256(q + 2), v1 = _mm256_load_si256(q + 3);
            ROW(0); ROW(1); ROW(2); ROW(3);
        }
        const __m256i s0 = _mm256_load_si256((const __m256i *)(const void *)p->s[g]);
        const __m256i s1 = _mm256_load_si256((const __m256i *)(const void *)(p->s[g] + 8));
        SCALE(0); SCALE(1); SCALE(2); SCALE(3);
    }
    for (size_t r = 0; r < mr; r++) {
        store_row(c + r * ldc, _mm256_load_si256((const __m256i *)(const void *)tot[r]), count, first);
        if (count > 8) store_row(c + r * ldc + 8, _mm256_load_si256((const __m256i *)(const void *)(tot[r] + 8)), count - 8, first);
    }
}

void gemm_s8sxs32_2x2c32__avx2(size_t m, size_t j0, size_t j1, size_t k_len, const int8_t *a, size_t lda,
                               const lowbit_weights *w, int32_t *c, size_t ldc) {
    lowbit_gemm_x86(MR, NC, tile, m, j0, j1, k_len, a, lda, w, c, ldc);
}
