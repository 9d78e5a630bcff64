/* gemm_s8s8s32_8x48c4__avx512vnni: int8 x int8^T -> int32 (+ bias) with AVX-512
 * VNNI on the unpacked row-major layout (c[i, j] = the dot product of row i of a
 * with row j of b, both contiguous in k): q.k^T, where both operands are
 * activations and may be -128.
 *
 * It runs the VPDPBUSD micro-kernel of the packed linear layers
 * (gemm_8x48c4_avx512vnni.h, which proves the result exact): each 48 rows of b are
 * packed into a stack buffer as u = b + 128 (0..255; exact for every int8 b, also
 * -128), 16 columns x 4 k per 64 bytes, in chunks of KC k; a stays signed and each
 * tile starts at bias - 128 * (a's row sum over the chunk). A k longer than one
 * chunk adds the chunks through c (exact: the same sum in another order).
 *
 * Packing: per group of 4 k, the 16 rows' 4-byte words are gathered (VPGATHERQD,
 * 64-bit indices, so any ldb works) and offset by XOR 0x80; a partial last group
 * is copied byte by byte with zeros after k (which meet zeros of a anyway). Rows
 * past n repeat row n - 1 (their columns are masked off the store). Row sums are
 * computed once per chunk of RB rows and k. */
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VL__) || !defined(__AVX512VNNI__)
#error "gemm_s8s8s32_8x48c4__avx512vnni needs -mavx512f -mavx512bw -mavx512vl -mavx512vnni"
#endif

#include "gemm_8x48c4_avx512vnni.h"
#include "kernels/kernels.h"

#define KC 256 /* k per packed chunk: 3 blocks x 64 groups x 64 bytes = 12 KiB */
#define RB 256 /* rows of a whose row sums are kept at once */

/* Packs k0 .. k0 + kc - 1 of the 16 rows of b starting at row j (rows past n - 1
 * repeat it) into groups of 64 bytes at out. */
static void pack_block(const int8_t *b, size_t ldb, size_t j, size_t n, size_t k0, size_t kc, uint8_t *out) {
    int64_t rows[MK_NB];
    for (size_t s = 0; s < MK_NB; s++) rows[s] = (int64_t)((j + s < n ? j + s : n - 1) * ldb + k0);
    const __m512i idx_lo = _mm512_loadu_si512(rows), idx_hi = _mm512_loadu_si512(rows + 8);
    const __m512i offset = _mm512_set1_epi8((char)0x80);
    const size_t full = kc / MK_KG;
    for (size_t g = 0; g < full; g++) {
        const int8_t *base = b + MK_KG * g;
        const __m256i lo = _mm512_i64gather_epi32(idx_lo, base, 1), hi = _mm512_i64gather_epi32(idx_hi, base, 1);
        const __m512i words = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
        _mm512_store_si512(out + 64 * g, _mm512_xor_si512(words, offset));
    }
    if (full * MK_KG < kc) {
        uint8_t *dst = out + 64 * full;
        for (size_t s = 0; s < MK_NB; s++)
            for (size_t t = 0; t < MK_KG; t++) {
                const size_t kk = full * MK_KG + t;
                dst[s * MK_KG + t] = kk < kc ? (uint8_t)(b[rows[s] + (int64_t)kk] ^ 0x80) : 0;
            }
    }
}

void gemm_s8s8s32_8x48c4__avx512vnni(size_t m, size_t n, size_t k_len, const int8_t *a, size_t lda, const int8_t *b,
                                     size_t ldb, const int32_t *bias, int32_t *c, size_t ldc) {
    _Alignas(64) uint8_t packed[3][KC / MK_KG * 64];
    _Alignas(64) int32_t start[3][MK_NB];
    int32_t sums[RB];
    /* k_len 0 still runs one (empty) chunk, which stores the biases */
    for (size_t k0 = 0; k0 == 0 || k0 < k_len; k0 += KC) {
        const size_t kc = k_len - k0 < KC ? k_len - k0 : KC;
        for (size_t r0 = 0; r0 < m; r0 += RB) {
            const size_t rows = m - r0 < RB ? m - r0 : RB;
            for (size_t r = 0; r < rows; r++) sums[r] = mk_row_sum(a + (r0 + r) * lda + k0, kc);
            for (size_t j = 0; j < n; j += 3 * MK_NB) {
                for (size_t v = 0; v < 3; v++) {
                    pack_block(b, ldb, j + v * MK_NB, n, k0, kc, packed[v]);
                    for (size_t s = 0; s < MK_NB; s++) {
                        const size_t col = j + v * MK_NB + s;
                        start[v][s] = bias && col < n ? bias[col] : 0;
                    }
                }
                const int32_t *const st[3] = {start[0], start[1], start[2]};
                const uint8_t *const w[3] = {packed[0], packed[1], packed[2]};
                const __mmask16 mask[3] = {mk_column_mask(j, n), mk_column_mask(j + MK_NB, n),
                                           mk_column_mask(j + 2 * MK_NB, n)};
                for (size_t i0 = 0; i0 < rows; i0 += MK_MR) {
                    const size_t mr = rows - i0 < MK_MR ? rows - i0 : MK_MR;
                    const int8_t *ar[MK_MR];
                    int32_t tile_sums[MK_MR];
                    for (size_t r = 0; r < MK_MR; r++) {
                        const size_t rr = i0 + (r < mr ? r : mr - 1);
                        ar[r] = a + (r0 + rr) * lda + k0;
                        tile_sums[r] = sums[rr];
                    }
                    mk_tile(kc, ar, tile_sums, st, k0 > 0, w, mr, c + (r0 + i0) * ldc + j, ldc, mask);
                }
            }
        }
    }
}
