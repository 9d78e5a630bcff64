/* gemm_s8sxs32_2x2c32__avx2: a low-bit linear layer (kernels.h, gemm_s8sxs32_fn)
 * with AVX2, reading the file's packed 2/3/4/6-bit rows directly.
 *
 * Two 16-code blocks of a column (unpacked with SSE shifts and masks from the packed
 * planes, as the ARM kernels do) make 32 consecutive codes u = q + 2^(bits-1) in
 * 0 ... 63 in one register, the unsigned operand of VPMADDUBSW: with 32 consecutive
 * int8 activations it gives 16 sums of two products (at most 2 * 63 * 128 = 16128, so
 * never saturated), and VPMADDWD by ones adds those pairwise into int32. Tile: 2 rows
 * x 2 columns, 32 k at a time. At a group's end each accumulator is multiplied by the
 * column's sub-scale into the totals, and the offset, 2^(bits-1) * s * (the row's sum
 * of x over the group), is subtracted from a scalar correction.
 *
 * Exact: a group's sum of u * x is at most 63 * 128 * 128 in magnitude; the totals
 * (sums of s * sum u * x) and the correction may pass the int32 range, but they are
 * added modulo 2^32 (vector lanes and uint32), and the result they make is the
 * contract's accumulator, which the loader's bound keeps in int32.
 * The last chunk's rows of a are copied into a zeroed buffer (the packed rows are
 * padded with q = 0 to whole chunks, so their u times 0 adds nothing); a second row
 * past m repeats the first and a column past j1 the last, neither stored. */
#if !defined(__AVX2__)
#error "gemm_s8sxs32_2x2c32__avx2 needs AVX2 (-mavx2)"
#endif

#include <immintrin.h>
#include <string.h>

#include "kernels/kernels.h"

#define MR 2
#define NR 2
#define CHUNK 128
#define MAX_GROUPS_PER_CHUNK 4

/* Field `field` of a p-bit plane's run: its p bits of 16 codes, in bits 0 ... p - 1. */
static inline __m128i plane_field(const uint8_t *run, unsigned p, unsigned field) {
    const __m128i bytes = _mm_loadu_si128((const __m128i *)(const void *)run);
    const __m128i shifted = _mm_srl_epi16(bytes, _mm_cvtsi32_si128((int)(field * p)));
    return _mm_and_si128(shifted, _mm_set1_epi8((char)((1 << p) - 1)));
}

/* u of codes 16t ... 16t + 15 of the chunk (the layout of lowbit_unpack_neon.h). */
static inline __m128i lowbit_block16(const uint8_t *chunk, unsigned bits, unsigned t) {
    const unsigned low = bits >= 4 ? 4 : 2, high = bits - low, per_run = 8 / low;
    __m128i u = plane_field(chunk + 16 * (t / per_run), low, t % per_run);
    if (high) {
        const unsigned per_high = 8 / high;
        const __m128i h = plane_field(chunk + 16 * low + 16 * (t / per_high), high, t % per_high);
        u = _mm_or_si128(u, _mm_slli_epi16(h, (int)low)); /* h < 2^high: no bit crosses a byte */
    }
    return u;
}

/* -2^(bits-1) * sum of x[k0 ... k0 + len - 1] */
static int32_t offset_term(const int8_t *x, size_t len, unsigned bits) {
    int32_t sum = 0;
    for (size_t k = 0; k < len; k++) sum += x[k];
    return -(1 << (bits - 1)) * sum;
}

void gemm_s8sxs32_2x2c32__avx2(size_t m, size_t j0, size_t j1, size_t k_len, const int8_t *a, size_t lda,
                               const lowbit_weights *w, int32_t *c, size_t ldc) {
    const unsigned bits = w->bits;
    const size_t chunks = (k_len + CHUNK - 1) / CHUNK, last = (chunks - 1) * CHUNK, chunk_bytes = CHUNK / 8 * bits;
    const size_t group = w->group_size ? w->group_size : CHUNK * chunks;
    const size_t groups = w->group_size ? k_len / w->group_size : 1;
    const __m256i ones = _mm256_set1_epi16(1);
    int8_t tail[MR][CHUNK];
    for (size_t i0 = 0; i0 < m; i0 += MR) {
        const size_t mr = m - i0 < MR ? m - i0 : MR;
        const int8_t *x[MR];
        memset(tail, 0, sizeof tail);
        for (size_t r = 0; r < MR; r++) {
            x[r] = a + (i0 + (r < mr ? r : 0)) * lda;
            memcpy(tail[r], x[r] + last, k_len - last);
        }
        for (size_t jb = j0; jb < j1; jb += NR) {
            const size_t nr = j1 - jb < NR ? j1 - jb : NR;
            const uint8_t *col[NR], *sub[NR];
            for (size_t cc = 0; cc < NR; cc++) {
                const size_t n = jb + (cc < nr ? cc : nr - 1);
                col[cc] = w->codes + n * w->row_bytes;
                sub[cc] = w->sub + n * groups;
            }
            __m256i tot[MR][NR], acc[MR][NR];
            uint32_t correction[MR][NR] = {{0}}; /* wraps, as the lanes do */
            for (size_t r = 0; r < MR; r++)
                for (size_t cc = 0; cc < NR; cc++) tot[r][cc] = acc[r][cc] = _mm256_setzero_si256();
            size_t g = 0;
            for (size_t ch = 0; ch < chunks; ch++) {
                const int8_t *xr[MR] = {ch + 1 == chunks ? tail[0] : x[0] + ch * CHUNK,
                                        ch + 1 == chunks ? tail[1] : x[1] + ch * CHUNK};
                for (unsigned t = 0; t < CHUNK / 16; t += 2) {
                    __m256i u[NR];
                    for (size_t cc = 0; cc < NR; cc++) {
                        const uint8_t *chunk = col[cc] + ch * chunk_bytes;
                        u[cc] = _mm256_inserti128_si256(_mm256_castsi128_si256(lowbit_block16(chunk, bits, t)),
                                                        lowbit_block16(chunk, bits, t + 1), 1);
                    }
                    for (size_t r = 0; r < MR; r++) {
                        const __m256i xv = _mm256_loadu_si256((const __m256i *)(const void *)(xr[r] + 16 * t));
                        for (size_t cc = 0; cc < NR; cc++)
                            acc[r][cc] = _mm256_add_epi32(acc[r][cc],
                                                          _mm256_madd_epi16(_mm256_maddubs_epi16(u[cc], xv), ones));
                    }
                    const size_t k_end = ch * CHUNK + 16 * (t + 2);
                    if (k_end % group != 0 || g >= groups) continue;
                    /* a group ends: scale it into the totals, its offset into the correction */
                    for (size_t r = 0; r < MR; r++) {
                        const int32_t offset = offset_term(x[r] + g * group, group < k_len ? group : k_len, bits);
                        for (size_t cc = 0; cc < NR; cc++) {
                            const int32_t s = sub[cc][g];
                            tot[r][cc] = _mm256_add_epi32(tot[r][cc], _mm256_mullo_epi32(acc[r][cc], _mm256_set1_epi32(s)));
                            acc[r][cc] = _mm256_setzero_si256();
                            correction[r][cc] += (uint32_t)s * (uint32_t)offset;
                        }
                    }
                    g++;
                }
            }
            for (size_t r = 0; r < mr; r++)
                for (size_t cc = 0; cc < nr; cc++) {
                    const __m128i h = _mm_add_epi32(_mm256_castsi256_si128(tot[r][cc]),
                                                    _mm256_extracti128_si256(tot[r][cc], 1));
                    const __m128i q = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
                    const uint32_t sum = (uint32_t)_mm_cvtsi128_si32(_mm_add_epi32(q, _mm_shuffle_epi32(q, 0xb1)));
                    c[(i0 + r) * ldc + (jb - j0) + cc] =
                        (int32_t)((w->bias ? (uint32_t)w->bias[jb + cc] : 0) + sum + correction[r][cc]);
                }
        }
    }
}
