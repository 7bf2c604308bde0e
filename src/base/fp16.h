/* IEEE half and bfloat16 conversions (round to nearest even), scalar and portable. */
#ifndef XQ_BASE_FP16_H
#define XQ_BASE_FP16_H

#include <stdint.h>
#include <string.h>

static inline uint32_t xq_f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float xq_bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

float xq_fp16_to_f32(uint16_t h);
uint16_t xq_f32_to_fp16(float f);

static inline float xq_bf16_to_f32(uint16_t h) { return xq_bits_f32((uint32_t)h << 16); }
uint16_t xq_f32_to_bf16(float f);

#endif
