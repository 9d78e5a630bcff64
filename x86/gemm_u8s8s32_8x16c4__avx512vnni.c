/* gemm_u8s8s32_8x16c4__avx512vnni: attention probabilities (uint8) times a head's
 * values (int8, row-major [k, n]) -> int32, with VPDPBUSD, which multiplies exactly
 * the operand types of this product: unsigned bytes (p) by signed bytes (v).
 *
 * v's rows are contiguous in the output column, but VPDPBUSD wants 4 consecutive k
 * of one column in each int32 lane, so each 16-column strip of v is first
 * interleaved into a stack buffer, in chunks of KCH keys: for each group of 4 k, 16
 * columns x 4 bytes = one zmm (k past k_len and columns past n are zeros, so they
 * add nothing). Then each row's 4 probabilities of the group are broadcast and
 * multiplied into the 16 columns' accumulators.
 *
 * Exactness: each step adds four products 0 <= p <= 255 times -128 <= v <= 127 to
 * an int32 lane (the non-saturating form), and the whole sum stays below
 * 255 * 128 * 65536 < 2^31 (k <= 65536), so no step overflows and the result equals
 * gemm_u8s8s32_1x1__ref bit for bit. A k longer than one chunk adds the chunks'
 * partial sums through c, still exactly.
 *
 * Tile: 8 rows x 16 columns (8 zmm accumulators); per group of 4 k: 1 load of the
 * interleaved v, 8 broadcasts of p, 8 VPDPBUSD. Rows past m reuse the last row
 * (computed, not stored); columns past n are masked off loads and stores. */
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VL__) || !defined(__AVX512VNNI__)
#error "gemm_u8s8s32_8x16c4__avx512vnni needs -mavx512f -mavx512bw -mavx512vl -mavx512vnni"
#endif

#include <immintrin.h>
#include <string.h>

#include "kernels/kernels.h"

#define MR 8
#define NR 16
#define KCH 1024 /* keys per interleaved chunk: 16 KiB of stack */

/* Interleaves rows k0 .. k0 + kc - 1 of the strip (columns selected by cmask) into
 * buf: group g holds column s's k0 + 4g .. k0 + 4g + 3 at bytes 4s .. 4s + 3. */
static void interleave(const int8_t *v, size_t ldv, size_t kc, __mmask16 cmask, __m512i *buf) {
    for (size_t g = 0; g * 4 < kc; g++) {
        __m128i r[4];
        for (size_t t = 0; t < 4; t++)
            r[t] = 4 * g + t < kc ? _mm_maskz_loadu_epi8(cmask, v + (4 * g + t) * ldv) : _mm_setzero_si128();
        const __m128i lo01 = _mm_unpacklo_epi8(r[0], r[1]), hi01 = _mm_unpackhi_epi8(r[0], r[1]);
        const __m128i lo23 = _mm_unpacklo_epi8(r[2], r[3]), hi23 = _mm_unpackhi_epi8(r[2], r[3]);
        __m512i q = _mm512_castsi128_si512(_mm_unpacklo_epi16(lo01, lo23));   /* columns 0..3 */
        q = _mm512_inserti32x4(q, _mm_unpackhi_epi16(lo01, lo23), 1);          /* 4..7 */
        q = _mm512_inserti32x4(q, _mm_unpacklo_epi16(hi01, hi23), 2);          /* 8..11 */
        q = _mm512_inserti32x4(q, _mm_unpackhi_epi16(hi01, hi23), 3);          /* 12..15 */
        _mm512_store_si512(buf + g, q);
    }
}

/* 4 probabilities at p (only len of them readable; the rest count as 0), broadcast. */
static inline __m512i broadcast4(const uint8_t *p, size_t len) {
    int32_t v = 0;
    memcpy(&v, p, len < 4 ? len : 4);
    return _mm512_set1_epi32(v);
}

void gemm_u8s8s32_8x16c4__avx512vnni(size_t m, size_t n, size_t k_len, const uint8_t *p, size_t ldp,
                                     const int8_t *v, size_t ldv, int32_t *c, size_t ldc) {
    __m512i buf[KCH / 4];
    for (size_t j0 = 0; j0 < n; j0 += NR) {
        const size_t nc = n - j0 < NR ? n - j0 : NR;
        const __mmask16 cmask = (__mmask16)((1u << nc) - 1);
        /* k_len 0 still runs one (empty) chunk, which stores the zeros */
        for (size_t k0 = 0; k0 == 0 || k0 < k_len; k0 += KCH) {
            const size_t kc = k_len - k0 < KCH ? k_len - k0 : KCH;
            const size_t groups = (kc + 3) / 4;
            interleave(v + k0 * ldv + j0, ldv, kc, cmask, buf);
            for (size_t i0 = 0; i0 < m; i0 += MR) {
                const size_t mr = m - i0 < MR ? m - i0 : MR;
                const uint8_t *pr[MR];
                for (size_t r = 0; r < MR; r++) pr[r] = p + (i0 + (r < mr ? r : mr - 1)) * ldp + k0;
                int32_t *cr = c + i0 * ldc + j0;
                __m512i acc[MR];
                for (size_t r = 0; r < MR; r++)
                    acc[r] = k0 == 0 ? _mm512_setzero_si512() : _mm512_maskz_loadu_epi32(cmask, cr + r * ldc);
                const size_t full = kc / 4;
                for (size_t g = 0; g < full; g++) {
                    const __m512i w = _mm512_load_si512(buf + g);
                    for (size_t r = 0; r < MR; r++) {
                        int32_t p4;
                        memcpy(&p4, pr[r] + 4 * g, 4);
                        acc[r] = _mm512_dpbusd_epi32(acc[r], _mm512_set1_epi32(p4), w);
                    }
                }
                if (full < groups) {
                    const __m512i w = _mm512_load_si512(buf + full);
                    for (size_t r = 0; r < MR; r++)
                        acc[r] = _mm512_dpbusd_epi32(acc[r], broadcast4(pr[r] + 4 * full, kc - 4 * full), w);
                }
                for (size_t r = 0; r < mr; r++) _mm512_mask_storeu_epi32(cr + r * ldc, cmask, acc[r]);
            }
        }
    }
}
