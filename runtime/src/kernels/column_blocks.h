/* column_blocks.h: the one weight-packing scheme every packw_ packer uses, with the
 * few numbers that make each ISA's layout. The [n, k] weights are cut into blocks
 * of `cols` columns (n padded to a multiple of cols). A block is its biases (int32),
 * then for each group of `kgroup` k (k padded to a multiple of `kpad`) the block's
 * columns' kgroup weights, column after column. Padded columns and k are zeros;
 * the whole is rounded up to 64 bytes (linear_packing's unit) and zero-filled.
 * Plain C: it runs once per layer at load. */
#ifndef IBERT_KERNELS_COLUMN_BLOCKS_H
#define IBERT_KERNELS_COLUMN_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

typedef struct column_blocks {
    size_t cols, kgroup, kpad;
    /* SMMLA's 2 x 2 result tiles: the biases of column pair q as bias[2q], bias[2q + 1],
     * bias[2q], bias[2q + 1] (2 * cols of them), not one per column */
    int bias_pairs;
    /* XORed into every weight byte (0x80 stores w + 128 as VPDPBUSD's unsigned operand);
     * padding stays 0 */
    uint8_t flip;
} column_blocks;

size_t column_blocks_size(const column_blocks *layout, size_t n, size_t k);
void column_blocks_pack(const column_blocks *layout, size_t n, size_t k, const int8_t *w, const int32_t *bias,
                        void *dst);

#endif
