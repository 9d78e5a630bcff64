/* lowbit_unpack_neon.h: 16 consecutive codes of a packed low-bit row in the 16
 * byte lanes of one NEON register, for the ARM low-bit GEMMs (AArch64 and ARMv7).
 *
 * A packed row (pyibert/qbert/packing.py, FORMAT.md) is 128-code chunks; a chunk is
 * its bit planes one after the other, low plane first (2 = [2], 3 = [2, 1],
 * 4 = [4], 6 = [4, 2]); a p-bit plane is p runs of 16 bytes, and byte i of run r
 * holds in bits j*p ... j*p + p - 1 the plane's bits of code r*16*(8/p) + j*16 + i.
 * So block t (codes 16t ... 16t + 15) of a p-bit plane is field t % (8/p) of run
 * t / (8/p): one load, then one AND or shift (two for a middle field of a 2-bit
 * plane). A 3- or 6-bit code is its low plane with the high plane's bits put above
 * it by one BSL (BIT/BIF) under a constant mask.
 *
 * The lanes hold the stored offset-binary u = q + 2^(bits-1) in 0 ... 2^bits - 1
 * (at most 63: a non-negative int8 for SDOT/SMMLA/SMLAL); the kernels remove the
 * offset per group from the activations' sum (offset folding). Every shift is an
 * immediate: call these with constant bits and t, in code the compiler unrolls. */
#ifndef IBERT_LOWBIT_UNPACK_NEON_H
#define IBERT_LOWBIT_UNPACK_NEON_H

#include <arm_neon.h>

/* Field f of a 2-bit run: bits 2f, 2f + 1 of every byte, in bits 0 ... 1. */
static inline __attribute__((always_inline)) uint8x16_t field2(uint8x16_t run, unsigned f) {
    switch (f) {
    case 0: return vandq_u8(run, vdupq_n_u8(3));
    case 1: return vandq_u8(vshrq_n_u8(run, 2), vdupq_n_u8(3));
    case 2: return vandq_u8(vshrq_n_u8(run, 4), vdupq_n_u8(3));
    default: return vshrq_n_u8(run, 6);
    }
}

/* Field f of a 2-bit run moved to bits 4 ... 5 (other bits garbage): 6-bit codes' high plane. */
static inline __attribute__((always_inline)) uint8x16_t field2_at4(uint8x16_t run, unsigned f) {
    switch (f) {
    case 0: return vshlq_n_u8(run, 4);
    case 1: return vshlq_n_u8(run, 2);
    case 2: return run;
    default: return vshrq_n_u8(run, 2);
    }
}

/* Bit t of a 1-bit run moved to bit 2 (other bits garbage): 3-bit codes' high plane. */
static inline __attribute__((always_inline)) uint8x16_t field1_at2(uint8x16_t run, unsigned t) {
    switch (t) {
    case 0: return vshlq_n_u8(run, 2);
    case 1: return vshlq_n_u8(run, 1);
    case 2: return run;
    case 3: return vshrq_n_u8(run, 1);
    case 4: return vshrq_n_u8(run, 2);
    case 5: return vshrq_n_u8(run, 3);
    case 6: return vshrq_n_u8(run, 4);
    default: return vshrq_n_u8(run, 5);
    }
}

/* u of codes 16t ... 16t + 15 (t < 8) of the chunk at `chunk`, bits 2, 3, 4 or 6. */
static inline __attribute__((always_inline)) int8x16_t lowbit_block(const uint8_t *chunk, unsigned bits,
                                                                    unsigned t) {
    uint8x16_t u;
    switch (bits) {
    case 2: u = field2(vld1q_u8(chunk + 16 * (t / 4)), t % 4); break;
    case 3:
        u = vbslq_u8(vdupq_n_u8(4), field1_at2(vld1q_u8(chunk + 32), t), field2(vld1q_u8(chunk + 16 * (t / 4)), t % 4));
        break;
    case 4: {
        const uint8x16_t run = vld1q_u8(chunk + 16 * (t / 2));
        u = t % 2 ? vshrq_n_u8(run, 4) : vandq_u8(run, vdupq_n_u8(15));
        break;
    }
    default: { /* 6 */
        const uint8x16_t run = vld1q_u8(chunk + 16 * (t / 2));
        const uint8x16_t low = t % 2 ? vshrq_n_u8(run, 4) : vandq_u8(run, vdupq_n_u8(15));
        u = vbslq_u8(vdupq_n_u8(0x30), field2_at4(vld1q_u8(chunk + 64 + 16 * (t / 4)), t % 4), low);
        break;
    }
    }
    return vreinterpretq_s8_u8(u);
}

#endif
