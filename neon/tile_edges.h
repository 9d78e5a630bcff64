/* tile_edges.h: the edges of a 4-row (or 4-column) tile in the NEON GEMMs that
 * walk their operands row by row. Plain C, so a kernel of any ISA level includes it.
 *
 * Past the last valid row a tile reads the last valid row again (its results are
 * computed and not stored), so no load goes past the matrix. The k left over after
 * the last whole k block is copied into a zeroed buffer, so that the tile loads
 * one more whole block whose padding adds 0. */
#ifndef IBERT_NEON_TILE_EDGES_H
#define IBERT_NEON_TILE_EDGES_H

#include <stddef.h>
#include <string.h>

/* Row r (< 4) of a tile whose first `valid` (1 ... 4) rows exist. */
static inline size_t tile_row(size_t r, size_t valid) { return r < valid ? r : valid - 1; }

/* dst = 4 rows of width bytes: the first len (<= width) bytes of r0 ... r3, then zeros. */
static inline void copy_tail_rows4(const void *r0, const void *r1, const void *r2, const void *r3, size_t len,
                                   void *dst, size_t width) {
    unsigned char *d = dst;
    memset(d, 0, 4 * width);
    memcpy(d, r0, len);
    memcpy(d + width, r1, len);
    memcpy(d + 2 * width, r2, len);
    memcpy(d + 3 * width, r3, len);
}

#endif
