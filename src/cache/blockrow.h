/* Rows of llama.cpp's block formats as the kv-q8_0 and kv-q4_0 caches read them back every decode step:
 * qt_dequant_row's values, vectorised. */
#ifndef XQ_CACHE_BLOCKROW_H
#define XQ_CACHE_BLOCKROW_H

#include <stdint.h>

/* dst[i] = element i of a row of n values stored in `type` blocks, with qt_dequant_row's bits: for Q8_0 and
 * Q4_0 an AVX2 path (per element one exact int-to-float conversion and one product by the block's fp16 scale,
 * as the scalar code does), any other type through qt_dequant_row. */
void blockrow_load(uint32_t type, const uint8_t *src, float *dst, int64_t n);

#endif
