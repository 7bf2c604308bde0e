/* See blockrow.h. The scalar decoders in model/qtypes.c are the definition; a block's scale is converted by the
 * same scalar fp16 conversion, so a NaN or infinite scale gives the same products too. */
#include "cache/blockrow.h"

#include "base/fp16.h"
#include "model/qtypes.h"
#include "ops/qdot.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX2 __attribute__((target("avx2")))

enum { BLOCK = 32, Q8_0_BYTES = 34, Q4_0_BYTES = 18 };

static float block_scale(const uint8_t *b) { return xq_fp16_to_f32((uint16_t)(b[0] | b[1] << 8)); }

/* Q8_0: fp16 d, then 32 signed codes; y = code·d. */
AVX2 static void q8_0_row(const uint8_t *src, float *dst, int64_t n_blocks)
{
    for (int64_t k = 0; k < n_blocks; k++, src += Q8_0_BYTES, dst += BLOCK) {
        __m256 d = _mm256_set1_ps(block_scale(src));
        for (int i = 0; i < BLOCK; i += 8) {
            __m256i q = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(src + 2 + i)));
            _mm256_storeu_ps(dst + i, _mm256_mul_ps(_mm256_cvtepi32_ps(q), d));
        }
    }
}

/* Q4_0: fp16 d, then 16 bytes: element j < 16 in the low nibble of byte j, element j + 16 in its high nibble;
 * y = (code − 8)·d. */
AVX2 static void q4_0_row(const uint8_t *src, float *dst, int64_t n_blocks)
{
    const __m128i low = _mm_set1_epi8(0x0F);
    const __m256i eight = _mm256_set1_epi32(8);
    for (int64_t k = 0; k < n_blocks; k++, src += Q4_0_BYTES, dst += BLOCK) {
        __m256 d = _mm256_set1_ps(block_scale(src));
        __m128i qs = _mm_loadu_si128((const __m128i *)(src + 2));
        __m128i halves[2] = {_mm_and_si128(qs, low), _mm_and_si128(_mm_srli_epi16(qs, 4), low)};
        for (int h = 0; h < 2; h++)
            for (int i = 0; i < 16; i += 8) {
                __m128i bytes = i ? _mm_srli_si128(halves[h], 8) : halves[h];
                __m256i q = _mm256_sub_epi32(_mm256_cvtepu8_epi32(bytes), eight);
                _mm256_storeu_ps(dst + 16 * h + i, _mm256_mul_ps(_mm256_cvtepi32_ps(q), d));
            }
    }
}
#endif

void blockrow_load(uint32_t type, const uint8_t *src, float *dst, int64_t n)
{
#if defined(__x86_64__)
    if ((type == QT_Q8_0 || type == QT_Q4_0) && n % BLOCK == 0 && qdot_active_level() >= QDOT_AVX2) {
        if (type == QT_Q8_0) q8_0_row(src, dst, n / BLOCK);
        else q4_0_row(src, dst, n / BLOCK);
        return;
    }
#endif
    qt_dequant_row(type, src, dst, n);
}
