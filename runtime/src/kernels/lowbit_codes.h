/* lowbit_codes.h: one code of a packed low-bit row (models/FORMAT.md §3.1), for the
 * scalar code that reads codes one at a time: the reference low-bit GEMM, the
 * loader's check of the row padding and the low-bit word embedding lookup. */
#ifndef IBERT_LOWBIT_CODES_H
#define IBERT_LOWBIT_CODES_H

#include <stddef.h>
#include <stdint.h>

#define LOWBIT_CHUNK 128 /* codes per packed chunk */
#define LOWBIT_LANES 16  /* bytes per run of a bit plane */

/* Bytes of a row of k codes of `bits` bits: k padded to a multiple of 128. */
static inline size_t lowbit_row_bytes(size_t k, unsigned bits) {
    return (k + LOWBIT_CHUNK - 1) / LOWBIT_CHUNK * LOWBIT_CHUNK * bits / 8;
}

/* The p bits of code c (0 ... 127) of a chunk's p-bit plane: byte i of run r holds
 * in bits j*p ... j*p+p-1 the code r*16*(8/p) + j*16 + i. */
static inline unsigned lowbit_plane_bits(const uint8_t *plane, unsigned p, size_t c) {
    const size_t per_run = LOWBIT_LANES * (8 / p);
    const size_t r = c / per_run, j = c % per_run / LOWBIT_LANES, i = c % LOWBIT_LANES;
    return (unsigned)(plane[r * LOWBIT_LANES + i] >> (j * p)) & ((1u << p) - 1);
}

/* The signed code q of column k of a packed row: the planes of a chunk are 2 = [2],
 * 4 = [4], 3 = [2, 1], 6 = [4, 2], low bits first; q = u - 2^(bits-1). */
static inline int lowbit_code(const uint8_t *row, unsigned bits, size_t k) {
    const uint8_t *chunk = row + k / LOWBIT_CHUNK * (LOWBIT_CHUNK * bits / 8);
    const size_t c = k % LOWBIT_CHUNK;
    const unsigned low = bits == 3 ? 2 : bits == 6 ? 4 : bits;
    unsigned u = lowbit_plane_bits(chunk, low, c);
    if (low != bits) u |= lowbit_plane_bits(chunk + low * LOWBIT_LANES, bits - low, c) << low;
    return (int)u - (1 << (bits - 1));
}

#endif
