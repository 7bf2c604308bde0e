/* The group quantizer and bit packing (XQUANT.md §1). The arithmetic is spelled out there because 2-bit results
 * are sensitive to it: min and max of the fp32 values, scale and zero rounded to fp16 (nearest even), codes by
 * rint of the fp32 quotient, and the value rebuilt from the fp16 scale and zero. */
#include "cache/quant.h"

#include <math.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "base/fp16.h"

bool quant_bits_valid(int bits) { return bits == 2 || bits == 3 || bits == 4 || bits == 8; }

/* Scale and zero of a group: fp16 of (max − min)/(2^e − 1) and of the minimum, both from fp32 values. */
static void group_params(const float *x, int64_t n, int64_t stride, int bits, uint16_t *scale16, uint16_t *zero16)
{
    float mn = x[0], mx = x[0];
    for (int64_t i = 1; i < n; i++) {
        float v = x[i * stride];
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
    }
    *scale16 = xq_f32_to_fp16((mx - mn) / (float)((1 << bits) - 1));
    *zero16 = xq_f32_to_fp16(mn);
}

static void group_codes(const float *x, int64_t n, int64_t stride, int bits, uint16_t scale16, uint16_t zero16,
                        uint8_t *codes)
{
    float s = xq_fp16_to_f32(scale16), z = xq_fp16_to_f32(zero16), qmax = (float)((1 << bits) - 1);
    for (int64_t i = 0; i < n; i++) {
        float q = s == 0.0f ? 0.0f : rintf((x[i * stride] - z) / s);
        codes[i] = (uint8_t)(q < 0.0f ? 0.0f : q > qmax ? qmax : q);
    }
}

void quant_group(const float *x, int64_t n, int64_t stride, int bits, uint8_t *codes, uint16_t *scale16,
                 uint16_t *zero16)
{
    group_params(x, n, stride, bits, scale16, zero16);
    group_codes(x, n, stride, bits, *scale16, *zero16, codes);
}

float quant_value(uint8_t code, uint16_t scale16, uint16_t zero16)
{
    return fmaf((float)code, xq_fp16_to_f32(scale16), xq_fp16_to_f32(zero16));
}

uint64_t quant_packed_bytes(uint64_t n_codes, int bits) { return (n_codes * (uint64_t)bits + 7) / 8; }

void quant_pack(const uint8_t *codes, int64_t n, int bits, uint8_t *stream, uint64_t first)
{
    uint32_t mask = (1u << bits) - 1;
    uint64_t bit = first * (uint64_t)bits;
    for (int64_t i = 0; i < n; i++, bit += (uint64_t)bits) {
        uint64_t byte = bit >> 3;
        unsigned shift = (unsigned)(bit & 7);
        uint32_t v = (uint32_t)(codes[i] & mask) << shift, m = mask << shift;
        stream[byte] = (uint8_t)((stream[byte] & ~m) | v);
        if (shift + (unsigned)bits > 8) /* the code straddles two bytes */
            stream[byte + 1] = (uint8_t)((stream[byte + 1] & ~(m >> 8)) | (v >> 8));
    }
}

static inline uint8_t unpack_one(const uint8_t *stream, uint64_t bit, int bits, uint32_t mask)
{
    uint64_t byte = bit >> 3;
    unsigned shift = (unsigned)(bit & 7);
    uint32_t v = (uint32_t)stream[byte] >> shift;
    if (shift + (unsigned)bits > 8) v |= (uint32_t)stream[byte + 1] << (8 - shift);
    return (uint8_t)(v & mask);
}

void quant_unpack(const uint8_t *stream, uint64_t first, int64_t n, int bits, uint8_t *codes)
{
    uint32_t mask = (1u << bits) - 1;
    uint64_t bit = first * (uint64_t)bits;
    for (int64_t i = 0; i < n; i++, bit += (uint64_t)bits) codes[i] = unpack_one(stream, bit, bits, mask);
}

void quant_store_group(const float *x, int64_t n, int64_t stride, int bits, uint8_t *stream, uint64_t first,
                       uint16_t *scale16, uint16_t *zero16)
{
    enum { CHUNK = 256 };
    uint8_t codes[CHUNK];
    group_params(x, n, stride, bits, scale16, zero16);
    for (int64_t i0 = 0; i0 < n; i0 += CHUNK) {
        int64_t m = n - i0 < CHUNK ? n - i0 : CHUNK;
        group_codes(x + i0 * stride, m, stride, bits, *scale16, *zero16, codes);
        quant_pack(codes, m, bits, stream, first + (uint64_t)i0);
    }
}

#if defined(__x86_64__)
#define AVX2 __attribute__((target("avx2,fma")))

/* Eight codes a step: the 8·bits bits that hold them (a byte boundary, as 8 codes of any width end on one) go to
 * every lane, lane k shifts its code down by k·bits; then code·s + z in one fused multiply-add, as fmaf. Returns
 * how many values it wrote (a multiple of 8). */
AVX2 static int64_t load_contiguous_avx2(const uint8_t *p, int64_t n, int bits, float s, float z, float *out)
{
    const __m256 vs = _mm256_set1_ps(s), vz = _mm256_set1_ps(z);
    int64_t i = 0;
    if (bits == 8) {
        for (; i + 8 <= n; i += 8) {
            __m256i c = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p + i)));
            _mm256_storeu_ps(out + i, _mm256_fmadd_ps(_mm256_cvtepi32_ps(c), vs, vz));
        }
        return i;
    }
    const __m256i shifts = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(bits));
    const __m256i mask = _mm256_set1_epi32((1 << bits) - 1);
    for (; i + 8 <= n; i += 8, p += bits) {
        uint32_t word = 0;
        memcpy(&word, p, (size_t)bits); /* x86 is little-endian: code 0 in the low bits */
        __m256i c = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32((int)word), shifts), mask);
        _mm256_storeu_ps(out + i, _mm256_fmadd_ps(_mm256_cvtepi32_ps(c), vs, vz));
    }
    return i;
}

static bool have_avx2(void)
{
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return cached;
}
#endif

void quant_load_group(const uint8_t *stream, uint64_t first, int64_t n, int bits, uint16_t scale16, uint16_t zero16,
                      float *out, int64_t stride)
{
    float s = xq_fp16_to_f32(scale16), z = xq_fp16_to_f32(zero16);
    uint32_t mask = (1u << bits) - 1;
#if defined(__x86_64__)
    if (stride == 1 && first * (uint64_t)bits % 8 == 0 && have_avx2()) {
        int64_t done = load_contiguous_avx2(stream + first * (uint64_t)bits / 8, n, bits, s, z, out);
        first += (uint64_t)done, out += done, n -= done;
    }
#endif
    uint64_t bit = first * (uint64_t)bits;
    if (bits == 8) {
        const uint8_t *p = stream + first;
        for (int64_t i = 0; i < n; i++) out[i * stride] = fmaf((float)p[i], s, z);
        return;
    }
    /* Whole units of codes that start on a byte: 2 or 4 codes per byte, 8 three-bit codes per 3 bytes. */
    int per_unit = bits == 3 ? 8 : 8 / bits, unit_bytes = bits == 3 ? 3 : 1;
    int64_t i = 0;
    if (bit % 8 == 0)
        for (const uint8_t *p = stream + bit / 8; i + per_unit <= n; i += per_unit, p += unit_bytes) {
            uint32_t word = p[0] | (unit_bytes == 3 ? (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 : 0);
            for (int k = 0; k < per_unit; k++, word >>= bits) out[(i + k) * stride] = fmaf((float)(word & mask), s, z);
        }
    bit += (uint64_t)i * (uint64_t)bits;
    for (; i < n; i++, bit += (uint64_t)bits)
        out[i * stride] = fmaf((float)unpack_one(stream, bit, bits, mask), s, z);
}
