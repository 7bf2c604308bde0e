/* The shared quantizer of XQUANT.md §1 and the dense packing of its codes.
 *
 * A group of values (G consecutive channels of one token, or one channel over G consecutive tokens) is stored
 * as e-bit codes plus one fp16 scale and one fp16 zero (the group minimum): s16 = fp16((mx − mn)/(2^e − 1)),
 * z16 = fp16(mn), q = clamp(rint((x − z16)/s16), 0, 2^e − 1), q = 0 when s16 == 0; x̂ = q·s16 + z16.
 * Codes are packed densely into a bit stream: code i occupies bits [i·e, (i+1)·e), least significant bit first,
 * so 3-bit codes take 8 per 3 bytes and a stream of n codes takes exactly ceil(n·e/8) bytes (no padding). */
#ifndef XQ_CACHE_QUANT_H
#define XQ_CACHE_QUANT_H

#include <stdbool.h>
#include <stdint.h>

/* Bits offered by the group quantizer (XQUANT.md §1). */
bool quant_bits_valid(int bits);

/* Quantizes n values x[i·stride] into codes[i], returning the group's fp16 scale and zero (as bit patterns). */
void quant_group(const float *x, int64_t n, int64_t stride, int bits, uint8_t *codes, uint16_t *scale16,
                 uint16_t *zero16);
/* x̂ = q·s16 + z16 for one code (fused multiply-add, so the result does not depend on compiler contraction). */
float quant_value(uint8_t code, uint16_t scale16, uint16_t zero16);

/* Bytes of a packed stream of n codes. */
uint64_t quant_packed_bytes(uint64_t n_codes, int bits);
/* Writes n codes at code index `first` of a packed stream, leaving the neighbours' bits intact. */
void quant_pack(const uint8_t *codes, int64_t n, int bits, uint8_t *stream, uint64_t first);
/* Reads n codes from code index `first`. */
void quant_unpack(const uint8_t *stream, uint64_t first, int64_t n, int bits, uint8_t *codes);

/* Quantizes and packs n values x[i·stride] as one group at code index `first`. */
void quant_store_group(const float *x, int64_t n, int64_t stride, int bits, uint8_t *stream, uint64_t first,
                       uint16_t *scale16, uint16_t *zero16);
/* Dequantizes n codes of one group from code index `first` into out[i·stride]. */
void quant_load_group(const uint8_t *stream, uint64_t first, int64_t n, int bits, uint16_t scale16, uint16_t zero16,
                      float *out, int64_t stride);
/* Eight groups side by side, eight codes of each (a per-channel cache's 8 channels × 8 tokens): group k's codes
 * start at code index first + k·group_step, with scale and zero params[2k], params[2k + 1]; code i of group k
 * goes to out[i·stride + k]. The same values as quant_load_group per group. Returns false, writing nothing,
 * where it has no fast path (no AVX2, or a start not on a byte boundary): the caller loads group by group. */
bool quant_load_8x8(const uint8_t *stream, uint64_t first, uint64_t group_step, int bits, const uint16_t *params,
                    float *out, int64_t stride);

#endif
