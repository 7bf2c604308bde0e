/* AVX2 dot-product kernels, bit-identical to the scalar reference qt_dot_act (model/qtypes.c): the integer
 * lane sums are exact in any order, and every float operation is the reference's, in the reference's order.
 * Each function carries its own target attribute so the file also builds without -march=native (Debug and
 * sanitizer builds); qdot.c hands them out when the CPU has AVX2 and FMA (all such CPUs have F16C).
 *
 * Activations come from qt_quantize_act: int8 codes in [-127, 127] (the signed×signed products below, the
 * abs/sign trick, rely on that) and Q8_K block sums that match the codes (Q6_K uses them, as the reference's
 * Q4_K/Q5_K do). Weight codes may be any bytes, fp16 scales any finite value. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "model/qtypes.h"
#include "ops/qdot.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define AVX2_INLINE __attribute__((target("avx2,fma,f16c"), always_inline)) inline

enum { QK = 32, QK_K = 256, Q8_0_BYTES = 34, Q8_1_BYTES = 36, Q8_K_BYTES = 292 };

/* ---- scalar pieces ------------------------------------------------------------------------------------ */

__attribute__((target("f16c"))) static inline float half(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h); /* exact, as xq_fp16_to_f32 for every non-NaN input */
}

/* GCC contracts a·b + c into an FMA wherever the target allows (-ffp-contract=fast, the gnu17 default), so the
 * reference's K-quant tails round once or twice depending on the build's flags. These helpers repeat the
 * reference expressions verbatim with this file's flags (which are qtypes.c's) and are never inlined into an
 * FMA-enabled AVX2 caller, so the compiler makes the same choice for both. (The legacy formats need no such
 * care: their float products are of two fp16 values, exact in f32, so fused or not rounds the same.) */
__attribute__((noinline)) static float kq_tail(float sum, float d, float dmin, float yd, int s1, int s2)
{
    sum += d * yd * (float)s1 - dmin * yd * (float)s2;
    return sum;
}

__attribute__((noinline)) static float q6k_tail(float sum, float d, float yd, int total)
{
    sum += d * yd * (float)total;
    return sum;
}

/* ---- vector helpers ------------------------------------------------------------------------------------- */

static AVX2_INLINE __m256i load256(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }
static AVX2_INLINE __m256i bytes_of(int v) { return _mm256_set1_epi8((char)v); }

/* The reference's hsum8: ((v0+v4) + (v2+v6)) + ((v1+v5) + (v3+v7)). */
static AVX2_INLINE float hsum8(__m256 v)
{
    __m128 r = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
    __m128 ab = _mm_add_ps(r, _mm_movehl_ps(r, r));
    return _mm_cvtss_f32(_mm_add_ss(ab, _mm_movehdup_ps(ab)));
}

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

/* Int32 lane k = Σ u·s over bytes 4k..4k+3 (u unsigned, s signed; pair sums must fit int16). */
static AVX2_INLINE __m256i lanes_us(__m256i u, __m256i s)
{
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

/* The same for two signed operands: |a|·(±b) with the sign of a moved onto b (b must not hold -128). */
static AVX2_INLINE __m256i lanes_ss(__m256i a, __m256i b)
{
    return lanes_us(_mm256_abs_epi8(a), _mm256_sign_epi8(b, a));
}

/* ---- legacy 32-element formats and Q8_0 --------------------------------------------------------------- */

/* 16 bytes of nibbles → 32 codes in element order: j < 16 low nibble of byte j, j ≥ 16 high nibble of j−16. */
static AVX2_INLINE __m256i nibbles32(const uint8_t *qs)
{
    __m128i b = _mm_loadu_si128((const __m128i *)qs);
    __m256i both = _mm256_set_m128i(_mm_srli_epi16(b, 4), b);
    return _mm256_and_si256(both, bytes_of(0x0F));
}

/* Bit j of qh → 0x10 in byte j. */
static AVX2_INLINE __m256i fifth_bits(const uint8_t *qh)
{
    uint32_t bits;
    memcpy(&bits, qh, 4);
    const __m256i byte_of_bit = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                                  0x0101010101010101, 0x0000000000000000);
    const __m256i bit_in_byte = _mm256_set1_epi64x((long long)0x8040201008040201);
    __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), byte_of_bit);
    __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit_in_byte), bit_in_byte);
    return _mm256_and_si256(set, bytes_of(0x10));
}

/* Legacy weight codes of one block (unsigned, before centring). */
static AVX2_INLINE __m256i legacy_codes(const uint8_t *b, int bits, int has_min)
{
    int qs_at = (has_min ? 4 : 2) + (bits == 5 ? 4 : 0);
    __m256i q = nibbles32(b + qs_at);
    return bits == 5 ? _mm256_or_si256(q, fifth_bits(b + qs_at - 4)) : q;
}

/* Per block: acc = fma(d_w·d_x, lanes, acc); *_1 formats add Σ m_w·s_x separately, as the reference. */
static AVX2_INLINE float legacy_dot(const uint8_t *w, const uint8_t *a, int64_t nb, int bits, int has_min)
{
    size_t wbytes = (size_t)(18 + (has_min ? 2 : 0) + (bits == 5 ? 4 : 0));
    size_t abytes = has_min ? Q8_1_BYTES : Q8_0_BYTES;
    __m256 acc = _mm256_setzero_ps();
    float summs = 0.0f;
    for (int64_t i = 0; i < nb; i++, w += wbytes, a += abytes) {
        __m256i q = legacy_codes(w, bits, has_min);
        __m256i y = load256(a + (has_min ? 4 : 2));
        __m256i lanes = has_min ? lanes_us(q, y) : lanes_ss(_mm256_sub_epi8(q, bytes_of(1 << (bits - 1))), y);
        __m256 dd = _mm256_set1_ps(half(w) * half(a));
        acc = _mm256_fmadd_ps(dd, _mm256_cvtepi32_ps(lanes), acc);
        if (has_min) summs += half(w + 2) * half(a + 2);
    }
    return hsum8(acc) + summs;
}

AVX2 static float dot_q4_0(const void *w, const void *a, int64_t n) { return legacy_dot(w, a, n / QK, 4, 0); }
AVX2 static float dot_q4_1(const void *w, const void *a, int64_t n) { return legacy_dot(w, a, n / QK, 4, 1); }
AVX2 static float dot_q5_0(const void *w, const void *a, int64_t n) { return legacy_dot(w, a, n / QK, 5, 0); }
AVX2 static float dot_q5_1(const void *w, const void *a, int64_t n) { return legacy_dot(w, a, n / QK, 5, 1); }

AVX2 static float dot_q8_0(const void *wrow, const void *act, int64_t n)
{
    const uint8_t *w = wrow, *a = act;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK; i++, w += Q8_0_BYTES, a += Q8_0_BYTES) {
        __m256i lanes = lanes_ss(load256(w + 2), load256(a + 2)); /* |w| may be 128: 2·128·127 fits int16 */
        acc = _mm256_fmadd_ps(_mm256_set1_ps(half(w) * half(a)), _mm256_cvtepi32_ps(lanes), acc);
    }
    return hsum8(acc);
}

/* ---- K-quants: exact integer sums per super-block, then the reference's float tail ----------------------- */

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

/* Σ_s sc_s · Σ q·y over one super-block. Sub-blocks 2j and 2j+1 share qs bytes 32j.. (low, high nibble); Q5_K
 * keeps bit s of each element's code in qh[l]. Pair sums ≤ 2·31·127 fit int16. */
static AVX2_INLINE __m256i kq_scaled_sums(const uint8_t *qs, const uint8_t *qh, const int8_t *y, __m128i sc)
{
    const __m256i low4 = bytes_of(0x0F), bit4 = bytes_of(0x10);
    __m256i scales = _mm256_broadcastsi128_si256(sc);
    __m256i hbits = qh ? load256(qh) : _mm256_setzero_si256(); /* shifted down 2 bits per pair */
    __m256i sum = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
        __m256i bytes = load256(qs + 32 * j);
        __m256i lo = _mm256_and_si256(bytes, low4), hi = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low4);
        if (qh) {
            lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(hbits, 4), bit4));
            hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_slli_epi16(hbits, 3), bit4));
            hbits = _mm256_srli_epi16(hbits, 2);
        }
        __m256i plo = _mm256_maddubs_epi16(lo, load256(y + 64 * j));
        __m256i phi = _mm256_maddubs_epi16(hi, load256(y + 64 * j + 32));
        sum = _mm256_add_epi32(sum, _mm256_madd_epi16(plo, broadcast_word(scales, 2 * j)));
        sum = _mm256_add_epi32(sum, _mm256_madd_epi16(phi, broadcast_word(scales, 2 * j + 1)));
    }
    return sum;
}

/* 16 int16 block sums of a Q8_K activation block, added in pairs: the sums of y over each 32-element sub-block
 * (each ≤ 32·127, so int16 holds them). */
static AVX2_INLINE __m128i q8k_pair_sums(const uint8_t *a)
{
    const __m128i *bsums = (const __m128i *)(a + 4 + QK_K);
    return _mm_hadd_epi16(_mm_loadu_si128(bsums), _mm_loadu_si128(bsums + 1));
}

static AVX2_INLINE float kq_dot(const uint8_t *w, const uint8_t *a, int64_t nb, int five)
{
    size_t wbytes = five ? 176 : 144;
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++, w += wbytes, a += Q8_K_BYTES) {
        __m128i mins, sc = kq_scales(w + 4, &mins);
        __m256i sums = kq_scaled_sums(five ? w + 48 : w + 16, five ? w + 16 : NULL, (const int8_t *)(a + 4), sc);
        int s1 = hsum_i32(sums), s2 = hsum_i32x4(_mm_madd_epi16(mins, q8k_pair_sums(a)));
        float yd;
        memcpy(&yd, a, 4);
        sum = kq_tail(sum, half(w), half(w + 2), yd, s1, s2);
    }
    return sum;
}

AVX2 static float dot_q4_k(const void *w, const void *a, int64_t n) { return kq_dot(w, a, n / QK_K, 0); }
AVX2 static float dot_q5_k(const void *w, const void *a, int64_t n) { return kq_dot(w, a, n / QK_K, 1); }

/* Σ_g scale_g · Σ (q−32)·y over one Q6_K super-block. Per half h and k = 0..3, elements 128h + 32k + l take
 * their low nibble from ql[64h + 32(k&1) + l] (high nibble for k ≥ 2) and 2 more bits from qh[32h + l] >> 2k.
 * The −32 comes off at the end as 32·Σ_g scale_g·bsum_g, the activation's own block sums (as Q4_K's mins do),
 * so maddubs sees unsigned codes: pair sums ≤ 2·63·127 fit int16. */
static AVX2_INLINE int q6k_scaled_sum(const uint8_t *w, const uint8_t *a)
{
    const uint8_t *ql = w, *qh = w + 128;
    const int8_t *y = (const int8_t *)(a + 4);
    const __m256i low4 = bytes_of(0x0F), low2 = bytes_of(3);
    __m128i sc8 = _mm_loadu_si128((const __m128i *)(w + 192));
    __m256i sum = _mm256_setzero_si256();
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
        __m256i hbits = load256(qh + 32 * h);
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++) {
            __m256i bytes = load256(ql + 64 * h + 32 * (k & 1));
            __m256i lo = _mm256_and_si256(k >= 2 ? _mm256_srli_epi16(bytes, 4) : bytes, low4);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(hbits, 2 * k), low2);
            __m256i q = _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4));
            __m256i pairs = _mm256_maddubs_epi16(q, load256(y + 128 * h + 32 * k));
            int g = 8 * h + 2 * k; /* bytes 0..15 are group g, 16..31 group g+1 */
            __m128i pick = _mm_set_epi64x((long long)(0x0101010101010101ull * (unsigned)(g + 1)),
                                          (long long)(0x0101010101010101ull * (unsigned)g));
            __m256i sc = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc8, pick));
            sum = _mm256_add_epi32(sum, _mm256_madd_epi16(pairs, sc));
        }
    }
    __m256i bsums = _mm256_loadu_si256((const __m256i *)(a + 4 + QK_K));
    __m256i offset = _mm256_madd_epi16(_mm256_cvtepi8_epi16(sc8), bsums);
    return hsum_i32(sum) - 32 * hsum_i32(offset);
}

AVX2 static float dot_q6_k(const void *wrow, const void *act, int64_t n)
{
    const uint8_t *w = wrow, *a = act;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++, w += 210, a += Q8_K_BYTES) {
        int total = q6k_scaled_sum(w, a);
        float yd;
        memcpy(&yd, a, 4);
        sum = q6k_tail(sum, half(w + 208), yd, total);
    }
    return sum;
}

/* ---- float rows: element i → lane i mod 8, fma in element order ----------------------------------------- */

typedef enum float_kind { F32_ROW, F16_ROW, BF16_ROW } float_kind;

static AVX2_INLINE __m256 load8(const uint8_t *p, float_kind kind)
{
    if (kind == F32_ROW) return _mm256_loadu_ps((const float *)(const void *)p);
    __m128i h = _mm_loadu_si128((const __m128i *)p);
    if (kind == F16_ROW) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

static AVX2_INLINE float load1(const uint8_t *p, float_kind kind)
{
    if (kind == F32_ROW) {
        float f;
        memcpy(&f, p, 4);
        return f;
    }
    if (kind == F16_ROW) return half(p);
    uint32_t bits = (uint32_t)(p[0] | p[1] << 8) << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* The lanes form one chain each (element i+8 after i), so there is nothing to unroll without reordering. */
static AVX2_INLINE float float_dot(const uint8_t *w, const uint8_t *a, int64_t n, float_kind kind)
{
    size_t eb = kind == F32_ROW ? 4 : 2;
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(load8(w + i * eb, kind), load8(a + i * eb, kind), acc);
    if (i == n) return hsum8(acc);
    float lanes[8]; /* the tail: fma(0, 0, -0) would turn a −0 lane into +0, so no zero-padded vector */
    _mm256_storeu_ps(lanes, acc);
    for (int k = 0; i < n; i++, k++) lanes[k] = fmaf(load1(w + i * eb, kind), load1(a + i * eb, kind), lanes[k]);
    return hsum8(_mm256_loadu_ps(lanes));
}

AVX2 static float dot_f32(const void *w, const void *a, int64_t n) { return float_dot(w, a, n, F32_ROW); }
AVX2 static float dot_f16(const void *w, const void *a, int64_t n) { return float_dot(w, a, n, F16_ROW); }
AVX2 static float dot_bf16(const void *w, const void *a, int64_t n) { return float_dot(w, a, n, BF16_ROW); }

qdot_fn qdot_avx2_kernel(uint32_t wtype)
{
    switch (wtype) {
    case QT_F32: return dot_f32;
    case QT_F16: return dot_f16;
    case QT_BF16: return dot_bf16;
    case QT_Q8_0: return dot_q8_0;
    case QT_Q4_0: return dot_q4_0;
    case QT_Q4_1: return dot_q4_1;
    case QT_Q5_0: return dot_q5_0;
    case QT_Q5_1: return dot_q5_1;
    case QT_Q4_K: return dot_q4_k;
    case QT_Q5_K: return dot_q5_k;
    case QT_Q6_K: return dot_q6_k;
    default: return NULL;
    }
}

#else /* not x86: the scalar reference serves every level */

qdot_fn qdot_avx2_kernel(uint32_t wtype)
{
    (void)wtype;
    return NULL;
}

#endif

/* No AVX-512 kernels: the float accumulation chains (one fma per lane per block, in block order) bound these
 * kernels, and wider registers do not shorten them; qdot_kernel falls back to the AVX2 table. */
qdot_fn qdot_avx512_kernel(uint32_t wtype)
{
    (void)wtype;
    return NULL;
}
