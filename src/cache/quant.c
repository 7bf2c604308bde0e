/* The group quantizer and bit packing (XQUANT.md §1). The arithmetic is spelled out there because 2-bit results
 * are sensitive to it: min and max of the fp32 values, scale and zero rounded to fp16 (nearest even), codes by
 * rint of the fp32 quotient, and the value rebuilt from the fp16 scale and zero. */
#include "cache/quant.h"

#include <math.h>
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
#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define AVX2_INLINE __attribute__((target("avx2,fma,f16c"), always_inline)) inline

/* The 8·bits bits of eight codes from p (bits < 8), code 0 in the low bits; fixed-size loads (a memcpy of
 * `bits` bytes became a library call per eight codes). */
static inline uint32_t code_word(const uint8_t *p, int bits)
{
    uint32_t w = (uint32_t)p[0] | (uint32_t)p[1] << 8;
    if (bits >= 3) w |= (uint32_t)p[2] << 16;
    if (bits == 4) w |= (uint32_t)p[3] << 24;
    return w;
}

/* Eight codes from p as eight int32 lanes, code k in lane k: 8-bit codes widened; narrower ones by sending the
 * 8·bits bits that hold them (a byte boundary, as 8 codes of any width end on one) to every lane, where lane k
 * shifts its code down by k·bits. */
static AVX2_INLINE __m256i codes8(const uint8_t *p, int bits)
{
    if (bits == 8) return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p));
    const __m256i shifts = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(bits));
    return _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32((int)code_word(p, bits)), shifts),
                            _mm256_set1_epi32((1 << bits) - 1));
}

/* Eight codes a step, then code·s + z in one fused multiply-add, as fmaf. Returns how many values it wrote (a
 * multiple of 8). */
AVX2 static int64_t load_contiguous_avx2(const uint8_t *p, int64_t n, int bits, float s, float z, float *out)
{
    const __m256 vs = _mm256_set1_ps(s), vz = _mm256_set1_ps(z);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8, p += bits)
        _mm256_storeu_ps(out + i, _mm256_fmadd_ps(_mm256_cvtepi32_ps(codes8(p, bits)), vs, vz));
    return i;
}

/* Rows of a register transposed: in[k] lane t → out[t] lane k. */
static AVX2_INLINE void transpose8(__m256 r[8])
{
    __m256 t[8], u[8];
    for (int k = 0; k < 8; k += 2) {
        t[k] = _mm256_unpacklo_ps(r[k], r[k + 1]);
        t[k + 1] = _mm256_unpackhi_ps(r[k], r[k + 1]);
    }
    for (int k = 0; k < 8; k += 4) {
        u[k] = _mm256_shuffle_ps(t[k], t[k + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[k + 1] = _mm256_shuffle_ps(t[k], t[k + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[k + 2] = _mm256_shuffle_ps(t[k + 1], t[k + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[k + 3] = _mm256_shuffle_ps(t[k + 1], t[k + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int k = 0; k < 4; k++) {
        r[k] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x20);
        r[k + 4] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x31);
    }
}

/* Codes are converted to floats (exactly) and transposed first, so that lane k holds channel k: then one fma per
 * row with the eight channels' scales and zeros in lanes, converted from fp16 in one instruction each. */
AVX2 static void load_8x8_avx2(const uint8_t *stream, uint64_t first, uint64_t group_step, int bits,
                               const uint16_t *params, float *out, int64_t stride)
{
    __m256 r[8];
    for (int k = 0; k < 8; k++)
        r[k] = _mm256_cvtepi32_ps(codes8(stream + (first + (uint64_t)k * group_step) * (uint64_t)bits / 8, bits));
    transpose8(r);
    /* params: s0 z0 s1 z1 … s7 z7 as fp16; the even halves are the scales, the odd ones the zeros. */
    __m256i pz = _mm256_loadu_si256((const __m256i *)params);
    __m256i even = _mm256_and_si256(pz, _mm256_set1_epi32(0xFFFF)), odd = _mm256_srli_epi32(pz, 16);
    __m128i s16 = _mm_packus_epi32(_mm256_castsi256_si128(even), _mm256_extracti128_si256(even, 1));
    __m128i z16 = _mm_packus_epi32(_mm256_castsi256_si128(odd), _mm256_extracti128_si256(odd, 1));
    __m256 vs = _mm256_cvtph_ps(s16), vz = _mm256_cvtph_ps(z16);
    for (int t = 0; t < 8; t++) _mm256_storeu_ps(out + t * stride, _mm256_fmadd_ps(r[t], vs, vz));
}

static bool have_avx2(void)
{
    static int cached = -1;
    if (cached < 0)
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && xq_cpu_has_f16c();
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

bool quant_load_8x8(const uint8_t *stream, uint64_t first, uint64_t group_step, int bits, const uint16_t *params,
                    float *out, int64_t stride)
{
#if defined(__x86_64__)
    /* Eight codes of any width end on a byte boundary, so every group starts on one when the first does. */
    bool aligned = first * (uint64_t)bits % 8 == 0 && group_step * (uint64_t)bits % 8 == 0;
    if (aligned && have_avx2()) {
        load_8x8_avx2(stream, first, group_step, bits, params, out, stride);
        return true;
    }
#else
    (void)stream, (void)first, (void)group_step, (void)bits, (void)params, (void)out, (void)stride;
#endif
    return false;
}
