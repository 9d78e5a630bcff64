/* gemm_u8s8s32_4x16c2__avx2: attention probabilities (uint8) times a head's values
 * (int8, row-major [k, n]) -> int32 with AVX2.
 *
 * VPMADDUBSW would saturate here (two products of up to 255 * 128 exceed int16),
 * so both operands are widened to int16 and multiplied with VPMADDWD: a lane gets
 * p[k] * v[k, j] + p[k+1] * v[k+1, j], |.| <= 2 * 255 * 128 < 2^16, exact in int32,
 * and the whole sum stays below 255 * 128 * 65536 < 2^31 (k <= 65536): the result
 * equals gemm_u8s8s32_1x1__ref bit for bit.
 *
 * v's rows are contiguous in the output column; VPMADDWD wants 2 consecutive k of
 * one column per int32 lane, so each 16-column strip of v is first interleaved and
 * widened into a stack buffer, in chunks of KCH keys: for each pair of k, columns
 * 0..7 and 8..15 as (v[k, j], v[k+1, j]) int16 pairs, two ymm (k past k_len and
 * columns past n are zeros). A row's two probabilities are broadcast as a (p[k],
 * p[k+1]) int16 pair. A k longer than one chunk adds the chunks' partial sums
 * through c, still exactly.
 *
 * Tile: 4 rows x 16 columns (8 ymm accumulators); per pair of k: 2 loads, 4
 * broadcasts and zero-extensions, 8 VPMADDWD, 8 VPADDD. Rows past m reuse the last
 * row (computed, not stored); columns past n are not loaded or stored. */
#if !defined(__AVX2__)
#error "gemm_u8s8s32_4x16c2__avx2 needs -mavx2"
#endif

#include <immintrin.h>
#include <string.h>

#include "kernels/kernels.h"

#define MR 4
#define NR 16
#define KCH 512 /* keys per interleaved chunk: 16 KiB of stack */

/* Row k of the strip (its first nc columns; the rest 0) as 16 bytes. */
static inline __m128i load_row(const int8_t *row, size_t nc) {
    if (nc == NR) return _mm_loadu_si128((const __m128i *)row);
    int8_t tmp[NR] = {0};
    memcpy(tmp, row, nc);
    return _mm_loadu_si128((const __m128i *)tmp);
}

/* Interleaves and widens rows 0 .. kc - 1 of the strip into buf: pair q of rows
 * 2q, 2q + 1 fills buf[2q] (columns 0..7) and buf[2q + 1] (columns 8..15). */
static void interleave(const int8_t *v, size_t ldv, size_t kc, size_t nc, __m256i *buf) {
    for (size_t q = 0; 2 * q < kc; q++) {
        const __m128i r0 = load_row(v + 2 * q * ldv, nc);
        const __m128i r1 = 2 * q + 1 < kc ? load_row(v + (2 * q + 1) * ldv, nc) : _mm_setzero_si128();
        buf[2 * q] = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(r0, r1));
        buf[2 * q + 1] = _mm256_cvtepi8_epi16(_mm_unpackhi_epi8(r0, r1));
    }
}

/* (p[0], p[1]) as int16 in every int32 lane; len < 2 reads only p[0], p[1] = 0. */
static inline __m256i broadcast_pair(const uint8_t *p, size_t len) {
    uint16_t pair = 0;
    memcpy(&pair, p, len);
    return _mm256_unpacklo_epi8(_mm256_set1_epi16((short)pair), _mm256_setzero_si256());
}

void gemm_u8s8s32_4x16c2__avx2(size_t m, size_t n, size_t k_len, const uint8_t *p, size_t ldp, const int8_t *v,
                               size_t ldv, int32_t *c, size_t ldc) {
    __m256i buf[KCH];
    for (size_t j0 = 0; j0 < n; j0 += NR) {
        const size_t nc = n - j0 < NR ? n - j0 : NR;
        /* k_len 0 still runs one (empty) chunk, which stores the zeros */
        for (size_t k0 = 0; k0 == 0 || k0 < k_len; k0 += KCH) {
            const size_t kc = k_len - k0 < KCH ? k_len - k0 : KCH;
            interleave(v + k0 * ldv + j0, ldv, kc, nc, buf);
            for (size_t i0 = 0; i0 < m; i0 += MR) {
                const size_t mr = m - i0 < MR ? m - i0 : MR;
                const uint8_t *pr[MR];
                for (size_t r = 0; r < MR; r++) pr[r] = p + (i0 + (r < mr ? r : mr - 1)) * ldp + k0;
                int32_t *cr = c + i0 * ldc + j0;
                __m256i lo0 = _mm256_setzero_si256(), hi0 = lo0, lo1 = lo0, hi1 = lo0, lo2 = lo0, hi2 = lo0,
                        lo3 = lo0, hi3 = lo0;
/* the 4 rows' products with pair q, of which len (1 or 2) k are in range */
#define STEP(q, len)                                                                                 \
    do {                                                                                             \
        const __m256i vl = _mm256_load_si256(buf + 2 * (q)), vh = _mm256_load_si256(buf + 2 * (q) + 1); \
        __m256i pp = broadcast_pair(pr[0] + 2 * (q), len);                                           \
        lo0 = _mm256_add_epi32(lo0, _mm256_madd_epi16(pp, vl));                                      \
        hi0 = _mm256_add_epi32(hi0, _mm256_madd_epi16(pp, vh));                                      \
        pp = broadcast_pair(pr[1] + 2 * (q), len);                                                   \
        lo1 = _mm256_add_epi32(lo1, _mm256_madd_epi16(pp, vl));                                      \
        hi1 = _mm256_add_epi32(hi1, _mm256_madd_epi16(pp, vh));                                      \
        pp = broadcast_pair(pr[2] + 2 * (q), len);                                                   \
        lo2 = _mm256_add_epi32(lo2, _mm256_madd_epi16(pp, vl));                                      \
        hi2 = _mm256_add_epi32(hi2, _mm256_madd_epi16(pp, vh));                                      \
        pp = broadcast_pair(pr[3] + 2 * (q), len);                                                   \
        lo3 = _mm256_add_epi32(lo3, _mm256_madd_epi16(pp, vl));                                      \
        hi3 = _mm256_add_epi32(hi3, _mm256_madd_epi16(pp, vh));                                      \
    } while (0)
                for (size_t q = 0; q < kc / 2; q++) STEP(q, 2);
                if (kc % 2) STEP(kc / 2, 1);
#undef STEP
                const __m256i sums[MR][2] = {{lo0, hi0}, {lo1, hi1}, {lo2, hi2}, {lo3, hi3}};
                for (size_t r = 0; r < mr; r++) {
                    int32_t row[NR];
                    _mm256_storeu_si256((__m256i *)row, sums[r][0]);
                    _mm256_storeu_si256((__m256i *)(row + 8), sums[r][1]);
                    int32_t *out = cr + r * ldc;
                    for (size_t s = 0; s < nc; s++) out[s] = k0 == 0 ? row[s] : out[s] + row[s];
                }
            }
        }
    }
}
