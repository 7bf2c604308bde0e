/* IEEE half and bfloat16 conversions (round to nearest even): scalar and portable, plus row forms that use the
 * CPU's F16C instructions where present (chosen at run time; XQ_SIMD=scalar forces the scalar loop). The row
 * forms give the scalar functions' bits for every input, NaNs included (F16C would quiet a signalling NaN and
 * keep payload bits the scalar code drops; those lanes are patched). */
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

/* dst[i] = xq_fp16_to_f32(src[i]) for i < n. */
void xq_fp16_to_f32_row(const uint16_t *src, float *dst, int64_t n);
/* dst[i] = xq_f32_to_fp16(src[i]) for i < n. */
void xq_f32_to_fp16_row(const float *src, uint16_t *dst, int64_t n);
/* dst[i] = xq_fp16_to_f32(xq_f32_to_fp16(src[i])): the value an fp16 store reads back (dst may be src). */
void xq_round_fp16_row(const float *src, float *dst, int64_t n);
/* Whether the row forms use F16C (for tests and reports). */
int xq_fp16_rows_simd(void);
/* Whether this x86 CPU has F16C (the fp16 <-> f32 conversion instructions); 0 elsewhere. */
int xq_cpu_has_f16c(void);

#endif
