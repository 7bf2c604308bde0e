#include "base/fp16.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define XQ_F16C_ROWS 1
#define F16C_TARGET __attribute__((target("avx2,f16c")))
#endif

float xq_fp16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    if (exp == 0x1f) return xq_bits_f32(sign | 0x7f800000u | (man << 13)); /* inf / nan */
    if (exp == 0) {
        if (man == 0) return xq_bits_f32(sign);
        /* subnormal: value = man * 2^-24 */
        float v = (float)man * 5.9604644775390625e-08f;
        return sign ? -v : v;
    }
    return xq_bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t xq_f32_to_fp16(float f)
{
    uint32_t x = xq_f32_bits(f);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return (uint16_t)(sign | 0x7c00 | (ax > 0x7f800000u ? 0x200 : 0));
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); /* rounds to >= 65520: inf */
    if (ax < 0x38800000u) {
        /* result is subnormal or zero: round ax * 2^24 to an integer, nearest even */
        if (ax < 0x33000000u) return (uint16_t)sign; /* < 2^-25: rounds to zero */
        uint32_t e = ax >> 23;
        uint32_t m = (ax & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e; /* 14..24 */
        uint32_t q = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return (uint16_t)(sign | q);
    }
    uint32_t e = (ax >> 23) - 112;
    uint32_t m = ax & 0x7fffff;
    uint32_t h = (e << 10) | (m >> 13);
    uint32_t rem = m & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++; /* carry into exponent is correct */
    return (uint16_t)(sign | h);
}

uint16_t xq_f32_to_bf16(float f)
{
    uint32_t x = xq_f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40); /* quiet nan */
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

/* ---- rows ------------------------------------------------------------------------------------------------ */

#ifdef XQ_F16C_ROWS
/* F16C converts 8 values per instruction and agrees with the scalar code except on NaNs: fp16→f32 sets the
 * quiet bit of a signalling NaN (the scalar code keeps it clear), f32→fp16 keeps the top payload bits (the
 * scalar code gives sign|0x7e00). A row (fp16→f32) or block (f32→fp16) holding a NaN takes the scalar path. */
F16C_TARGET static void h2f_f16c(const uint16_t *src, float *dst, int64_t n)
{
    /* NaN (exponent all ones, mantissa not zero) ⇔ (h & 0x7fff) > 0x7c00; one pass finds whether the row has any */
    const __m256i mag = _mm256_set1_epi16(0x7fff), inf = _mm256_set1_epi16(0x7c00);
    __m256i any = _mm256_setzero_si256();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        any = _mm256_or_si256(any, _mm256_cmpgt_epi16(_mm256_and_si256(_mm256_loadu_si256((const __m256i *)(src + i)), mag), inf));
    int has_nan = !_mm256_testz_si256(any, any);
    for (; i < n && !has_nan; i++) has_nan = (src[i] & 0x7fff) > 0x7c00;
    if (has_nan) {
        for (i = 0; i < n; i++) dst[i] = xq_fp16_to_f32(src[i]);
        return;
    }
    for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++) dst[i] = _cvtsh_ss(src[i]);
}

F16C_TARGET static void f2h_f16c(const float *src, uint16_t *dst, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(src + i);
        if (_mm256_movemask_ps(_mm256_cmp_ps(x, x, _CMP_UNORD_Q))) {
            for (int k = 0; k < 8; k++) dst[i + k] = xq_f32_to_fp16(src[i + k]);
            continue;
        }
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    for (; i < n; i++) dst[i] = xq_f32_to_fp16(src[i]);
}

F16C_TARGET static void round_f16c(const float *src, float *dst, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(src + i);
        if (_mm256_movemask_ps(_mm256_cmp_ps(x, x, _CMP_UNORD_Q))) {
            for (int k = 0; k < 8; k++) dst[i + k] = xq_fp16_to_f32(xq_f32_to_fp16(src[i + k]));
            continue;
        }
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
    }
    for (; i < n; i++) dst[i] = xq_fp16_to_f32(xq_f32_to_fp16(src[i]));
}
#endif

int xq_cpu_has_f16c(void)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d; /* CPUID leaf 1, ECX bit 29: __builtin_cpu_supports("f16c") is GCC's alone (clang 14 has none) */
    return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C) != 0;
#else
    return 0;
#endif
}

int xq_fp16_rows_simd(void)
{
#ifdef XQ_F16C_ROWS
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        const char *env = getenv("XQ_SIMD");
        cached = __builtin_cpu_supports("avx2") && xq_cpu_has_f16c() && !(env && !strcmp(env, "scalar"));
    }
    return cached;
#else
    return 0;
#endif
}

void xq_fp16_to_f32_row(const uint16_t *src, float *dst, int64_t n)
{
#ifdef XQ_F16C_ROWS
    if (xq_fp16_rows_simd()) {
        h2f_f16c(src, dst, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) dst[i] = xq_fp16_to_f32(src[i]);
}

void xq_f32_to_fp16_row(const float *src, uint16_t *dst, int64_t n)
{
#ifdef XQ_F16C_ROWS
    if (xq_fp16_rows_simd()) {
        f2h_f16c(src, dst, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) dst[i] = xq_f32_to_fp16(src[i]);
}

void xq_round_fp16_row(const float *src, float *dst, int64_t n)
{
#ifdef XQ_F16C_ROWS
    if (xq_fp16_rows_simd()) {
        round_f16c(src, dst, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) dst[i] = xq_fp16_to_f32(xq_f32_to_fp16(src[i]));
}
