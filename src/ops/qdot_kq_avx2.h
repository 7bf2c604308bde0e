/* AVX2 pieces of the K-quant kernels shared by qdot_avx2.c and qdot_avx512.c (whose AVX-512 prefill unpacks a
 * super-block as the AVX2 kernels do, then works on two tokens per register). x86 only; include after
 * <immintrin.h>. */
#ifndef XQ_OPS_QDOT_KQ_AVX2_H
#define XQ_OPS_QDOT_KQ_AVX2_H

#include <stdint.h>
#include <string.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define AVX2_INLINE __attribute__((target("avx2,fma,f16c"), always_inline)) inline

enum { KQ_SUPER = 256 }; /* elements per K-quant super-block */

static AVX2_INLINE float half(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h); /* exact, as xq_fp16_to_f32 for every non-NaN input */
}

static AVX2_INLINE __m256i load256(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }
static AVX2_INLINE __m256i bytes_of(int v) { return _mm256_set1_epi8((char)v); }

static AVX2_INLINE int hsum_i32x4(__m128i r)
{
    r = _mm_add_epi32(r, _mm_shuffle_epi32(r, _MM_SHUFFLE(1, 0, 3, 2)));
    r = _mm_add_epi32(r, _mm_shuffle_epi32(r, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(r);
}

static AVX2_INLINE int hsum_i32(__m256i v)
{
    return hsum_i32x4(_mm_add_epi32(_mm256_extracti128_si256(v, 1), _mm256_castsi256_si128(v)));
}

/* The 8 six-bit scales and mins of Q4_K/Q5_K as int16 (layout in qtypes.c): per 32-bit word, sub-blocks 0..3
 * are the low 6 bits of bytes 0..3 (scales) and 4..7 (mins); 4..7 take nibbles of bytes 8..11 plus the top 2
 * bits of bytes 0..3 / 4..7. */
static AVX2_INLINE __m128i kq_scales(const uint8_t *s, __m128i *mins)
{
    uint32_t u[3];
    memcpy(u, s, 12);
    uint32_t sc_lo = u[0] & 0x3F3F3F3F, m_lo = u[1] & 0x3F3F3F3F;
    uint32_t sc_hi = (u[2] & 0x0F0F0F0F) | (u[0] >> 6 & 0x03030303) << 4;
    uint32_t m_hi = (u[2] >> 4 & 0x0F0F0F0F) | (u[1] >> 6 & 0x03030303) << 4;
    *mins = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)m_hi, (int)m_lo));
    return _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)sc_hi, (int)sc_lo));
}

/* int16 element s of both 128-bit halves of v, in every position. */
static AVX2_INLINE __m256i broadcast_word(__m256i v, int s)
{
    return _mm256_shuffle_epi8(v, _mm256_set1_epi16((short)(2 * s | (2 * s + 1) << 8)));
}

/* One Q4_K/Q5_K super-block's codes and scales, unpacked for maddubs/madd: codes[s] holds sub-block s's 32
 * codes (sub-blocks 2j and 2j+1 share qs bytes 32j.., low and high nibble; Q5_K keeps bit s of each element's
 * code in qh[l]), scale[s] its 6-bit scale in every int16 lane. */
static AVX2_INLINE void kq_unpack(const uint8_t *qs, const uint8_t *qh, __m128i sc, __m256i codes[8], __m256i scale[8])
{
    const __m256i low4 = bytes_of(0x0F), bit4 = bytes_of(0x10);
    __m256i scales = _mm256_broadcastsi128_si256(sc);
    __m256i hbits = qh ? load256(qh) : _mm256_setzero_si256(); /* shifted down 2 bits per pair */
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
        __m256i bytes = load256(qs + 32 * j);
        __m256i lo = _mm256_and_si256(bytes, low4), hi = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low4);
        if (qh) {
            lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(hbits, 4), bit4));
            hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_slli_epi16(hbits, 3), bit4));
            hbits = _mm256_srli_epi16(hbits, 2);
        }
        codes[2 * j] = lo;
        codes[2 * j + 1] = hi;
    }
#pragma GCC unroll 8
    for (int k = 0; k < 8; k++) scale[k] = broadcast_word(scales, k);
}

/* 16 int16 block sums of a Q8_K activation block, added in pairs: the sums of y over each 32-element sub-block
 * (each ≤ 32·127, so int16 holds them). */
static AVX2_INLINE __m128i q8k_pair_sums(const uint8_t *a)
{
    const __m128i *bsums = (const __m128i *)(a + 4 + KQ_SUPER);
    return _mm_hadd_epi16(_mm_loadu_si128(bsums), _mm_loadu_si128(bsums + 1));
}


#endif
