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

#include "base/fp16.h"
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

/* The same tails for the T tokens of a tile at one super-block: one call per super-block, not per token (a call
 * per token spilled the tile's unpacked codes around it and took half the time). Each element is the
 * expression above, which the compiler contracts the same way in this loop (the bit tests check it). */
__attribute__((noinline)) static void kq_tails(float *sum, int64_t T, float d, float dmin, const float *yd,
                                               const int *s1, const int *s2)
{
    for (int64_t t = 0; t < T; t++) sum[t] += d * yd[t] * (float)s1[t] - dmin * yd[t] * (float)s2[t];
}

__attribute__((noinline)) static void q6k_tails(float *sum, int64_t T, float d, const float *yd, const int *total)
{
    for (int64_t t = 0; t < T; t++) sum[t] += d * yd[t] * (float)total[t];
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

/* IQ4_NL: the codes index its 16 levels (one shuffle), then Q8_0's lanes and accumulation. */
AVX2 static float dot_iq4_nl(const void *wrow, const void *act, int64_t n)
{
    const uint8_t *w = wrow, *a = act;
    const __m256i levels = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)QT_IQ4NL_LEVELS));
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK; i++, w += 18, a += Q8_0_BYTES) {
        __m256i lanes = lanes_ss(_mm256_shuffle_epi8(levels, nibbles32(w + 2)), load256(a + 2));
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

/* Σ_s scale_s · Σ code·y over one super-block, as int32 lanes. Pair sums ≤ 2·63·127 fit int16 (Q6_K's codes are
 * the largest). */
static AVX2_INLINE __m256i scaled_sums(const __m256i codes[8], const __m256i scale[8], const int8_t *y)
{
    __m256i sum = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int k = 0; k < 8; k++)
        sum = _mm256_add_epi32(sum, _mm256_madd_epi16(_mm256_maddubs_epi16(codes[k], load256(y + 32 * k)), scale[k]));
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
        __m256i codes[8], scale[8];
        kq_unpack(five ? w + 48 : w + 16, five ? w + 16 : NULL, sc, codes, scale);
        int s1 = hsum_i32(scaled_sums(codes, scale, (const int8_t *)(a + 4)));
        int s2 = hsum_i32x4(_mm_madd_epi16(mins, q8k_pair_sums(a)));
        float yd;
        memcpy(&yd, a, 4);
        sum = kq_tail(sum, half(w), half(w + 2), yd, s1, s2);
    }
    return sum;
}

AVX2 static float dot_q4_k(const void *w, const void *a, int64_t n) { return kq_dot(w, a, n / QK_K, 0); }
AVX2 static float dot_q5_k(const void *w, const void *a, int64_t n) { return kq_dot(w, a, n / QK_K, 1); }

/* One Q6_K super-block's codes and group scales for scaled_sums: per half h and k = 0..3, elements 128h + 32k + l
 * take their low nibble from ql[64h + 32(k&1) + l] (high nibble for k ≥ 2) and 2 more bits from qh[32h + l] >> 2k;
 * bytes 0..15 of codes[4h + k] are group 8h + 2k, 16..31 the next. The codes stay unsigned (0..63): the −32
 * comes off as 32·Σ_g scale_g·bsum_g, the activation's own block sums (q6k_total). */
static AVX2_INLINE void q6k_unpack(const uint8_t *w, __m256i codes[8], __m256i scale[8])
{
    const uint8_t *ql = w, *qh = w + 128;
    const __m256i low4 = bytes_of(0x0F), low2 = bytes_of(3);
    __m128i sc8 = _mm_loadu_si128((const __m128i *)(w + 192));
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
        __m256i hbits = load256(qh + 32 * h);
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++) {
            __m256i bytes = load256(ql + 64 * h + 32 * (k & 1));
            __m256i lo = _mm256_and_si256(k >= 2 ? _mm256_srli_epi16(bytes, 4) : bytes, low4);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(hbits, 2 * k), low2);
            codes[4 * h + k] = _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4));
            int g = 8 * h + 2 * k;
            __m128i pick = _mm_set_epi64x((long long)(0x0101010101010101ull * (unsigned)(g + 1)),
                                          (long long)(0x0101010101010101ull * (unsigned)g));
            scale[4 * h + k] = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc8, pick));
        }
    }
}

/* Σ_g scale_g · Σ (q−32)·y over one Q6_K super-block against the Q8_K block at a. */
static AVX2_INLINE int q6k_total(const uint8_t *w, const __m256i codes[8], const __m256i scale[8], const uint8_t *a)
{
    __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + 192)));
    __m256i offset = _mm256_madd_epi16(sc16, load256(a + 4 + QK_K));
    return hsum_i32(scaled_sums(codes, scale, (const int8_t *)(a + 4))) - 32 * hsum_i32(offset);
}

static AVX2_INLINE int q6k_scaled_sum(const uint8_t *w, const uint8_t *a)
{
    __m256i codes[8], scale[8];
    q6k_unpack(w, codes, scale);
    return q6k_total(w, codes, scale, a);
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

/* ---- activation quantization, bit-identical to qt_quantize_act ----------------------------------------- */
/* The reference's steps on 8 lanes: amax by fmaxf (NaNs ignored: a NaN lane counts as 0, which never wins),
 * the same scalar d and 1/d, x·id per element rounded by cvtps (lrintf's round-to-nearest-even), and the code
 * as the low byte of the int32, as the reference's (int8_t) cast of lrintf's long (NaN gives 0 both ways). */

static AVX2_INLINE __m256 abs_no_nan(__m256 x)
{
    __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    return _mm256_and_ps(ax, _mm256_cmp_ps(x, x, _CMP_ORD_Q));
}

static AVX2_INLINE float hmax8(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* Low bytes of four int32 vectors, in element order. */
static AVX2_INLINE __m256i low_bytes(__m256i a, __m256i b, __m256i c, __m256i d)
{
    const __m256i lo = _mm256_set1_epi32(0xFF);
    __m256i ab = _mm256_packus_epi32(_mm256_and_si256(a, lo), _mm256_and_si256(b, lo));
    __m256i cd = _mm256_packus_epi32(_mm256_and_si256(c, lo), _mm256_and_si256(d, lo));
    __m256i abcd = _mm256_packus_epi16(ab, cd); /* per 128-bit half: a0-3 b0-3 c0-3 d0-3 | a4-7 b4-7 c4-7 d4-7 */
    return _mm256_permutevar8x32_epi32(abcd, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* fp16 of a float as xq_f32_to_fp16 (F16C but for NaN, where the scalar code decides the bits). */
static AVX2_INLINE uint16_t to_half(float v)
{
    return v == v ? (uint16_t)_cvtss_sh(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC) : xq_f32_to_fp16(v);
}

static AVX2_INLINE void put_u16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

static AVX2_INLINE void act_q8_block(const float *x, uint8_t *b, int with_sum)
{
    __m256 v[4], m = _mm256_setzero_ps();
    for (int k = 0; k < 4; k++) {
        v[k] = _mm256_loadu_ps(x + 8 * k);
        m = _mm256_max_ps(m, abs_no_nan(v[k]));
    }
    float amax = hmax8(m);
    float d = amax / 127.0f, id = amax != 0.0f ? 127.0f / amax : 0.0f;
    put_u16(b, to_half(d));
    __m256 vid = _mm256_set1_ps(id);
    __m256i q[4];
    for (int k = 0; k < 4; k++) q[k] = _mm256_cvtps_epi32(_mm256_mul_ps(v[k], vid));
    __m256i codes = low_bytes(q[0], q[1], q[2], q[3]);
    _mm256_storeu_si256((__m256i *)(b + (with_sum ? 4 : 2)), codes);
    if (with_sum) {
        int sum = hsum_i32(_mm256_madd_epi16(_mm256_maddubs_epi16(bytes_of(1), codes), _mm256_set1_epi16(1)));
        put_u16(b + 2, to_half(d * (float)sum));
    }
}

static AVX2_INLINE void act_q8k_block(const float *x, uint8_t *b)
{
    __m256 m = _mm256_setzero_ps();
    for (int k = 0; k < 32; k++) m = _mm256_max_ps(m, abs_no_nan(_mm256_loadu_ps(x + 8 * k)));
    float amax = hmax8(m), d = 0.0f;
    int8_t *qs = (int8_t *)(b + 4);
    int16_t bsums[QK_K / 16];
    if (amax == 0.0f) {
        memset(qs, 0, QK_K);
        memset(bsums, 0, sizeof bsums);
    } else {
        /* the reference's max: the first element of greatest magnitude */
        __m256 va = _mm256_set1_ps(amax);
        float max = 0.0f;
        for (int k = 0; k < 32; k++) {
            int hit = _mm256_movemask_ps(_mm256_cmp_ps(abs_no_nan(_mm256_loadu_ps(x + 8 * k)), va, _CMP_EQ_OQ));
            if (hit) {
                max = x[8 * k + __builtin_ctz((unsigned)hit)];
                break;
            }
        }
        float iscale = -127.0f / max;
        __m256 vis = _mm256_set1_ps(iscale);
        const __m256i top = _mm256_set1_epi32(127);
        for (int k = 0; k < 8; k++) {
            __m256i q[4];
            for (int i = 0; i < 4; i++)
                q[i] = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(vis, _mm256_loadu_ps(x + 32 * k + 8 * i))), top);
            __m256i codes = low_bytes(q[0], q[1], q[2], q[3]);
            _mm256_storeu_si256((__m256i *)(qs + 32 * k), codes);
            /* sums of 16 codes: bytes 0..15 and 16..31 */
            __m256i s16 = _mm256_madd_epi16(_mm256_maddubs_epi16(bytes_of(1), codes), _mm256_set1_epi16(1));
            __m256i s = _mm256_hadd_epi32(s16, s16); /* per half: (0+1, 2+3, 0+1, 2+3) */
            s = _mm256_hadd_epi32(s, s);
            bsums[2 * k] = (int16_t)_mm256_extract_epi32(s, 0);
            bsums[2 * k + 1] = (int16_t)_mm256_extract_epi32(s, 4);
        }
        d = 1.0f / iscale;
    }
    memcpy(b, &d, 4);
    memcpy(b + 4 + QK_K, bsums, sizeof bsums);
}

AVX2 static void quantize_q8_0(const float *x, uint8_t *b, int64_t n)
{
    for (int64_t i = 0; i < n; i += QK, b += Q8_0_BYTES) act_q8_block(x + i, b, 0);
}

AVX2 static void quantize_q8_1(const float *x, uint8_t *b, int64_t n)
{
    for (int64_t i = 0; i < n; i += QK, b += Q8_1_BYTES) act_q8_block(x + i, b, 1);
}

AVX2 static void quantize_q8_k(const float *x, uint8_t *b, int64_t n)
{
    for (int64_t i = 0; i < n; i += QK_K, b += Q8_K_BYTES) act_q8k_block(x + i, b);
}

int qdot_avx2_quantize_act(uint32_t act_type, const float *x, void *dst, int64_t n)
{
    switch (act_type) {
    case QT_Q8_0: quantize_q8_0(x, dst, n); return 1;
    case QT_Q8_1: quantize_q8_1(x, dst, n); return 1;
    case QT_Q8_K: quantize_q8_k(x, dst, n); return 1;
    case QT_F16: xq_f32_to_fp16_row(x, dst, n); return 1;
    default: return 0;
    }
}

/* ---- tiles: several rows × tokens per call ------------------------------------------------------------- */
/* Every (row, token) keeps the one-row kernel's operations in its order: its own 8-lane chain of one fma per
 * block and its own m·s sum. Running R·T of these chains side by side hides the fma latency that bounds a
 * single row (one dependent fma per block), each row's codes are unpacked once for all T tokens and each
 * activation block is loaded once for all R rows. R and T are constants after inlining (arrays in registers). */

enum { TILE_R = 4, TILE_T = 2, PREFETCH_ROWS = 32 };

/* Decode reads the R rows of a micro tile (one contiguous range) as R interleaved streams, which the hardware
 * prefetchers follow poorly: each block step prefetches its share of the range PREFETCH_ROWS rows ahead. With
 * several tokens the rows are reused and stay in cache, so only single-token tiles prefetch. */
#define PREFETCH_SETUP(w, ws, R, nb)                                                                              \
    size_t pf_step_ = ((size_t)(R) * (ws) + (size_t)(nb) - 1) / (size_t)(nb);                                      \
    const char *pf_ = (const char *)(w) + (size_t)PREFETCH_ROWS * (ws)
#define PREFETCH_STEP(T)                                                                                          \
    do {                                                                                                          \
        if ((T) == 1)                                                                                             \
            for (size_t k_ = 0; k_ < pf_step_; k_ += 64) _mm_prefetch(pf_ + k_, _MM_HINT_T0);                     \
        pf_ += pf_step_;                                                                                          \
    } while (0)

static AVX2_INLINE void legacy_micro(const uint8_t *w, size_t ws, const uint8_t *a, size_t as, int64_t nb, int bits,
                                     int has_min, int R, int T, float *y, int64_t ys)
{
    size_t wbytes = (size_t)(18 + (has_min ? 2 : 0) + (bits == 5 ? 4 : 0));
    size_t abytes = has_min ? Q8_1_BYTES : Q8_0_BYTES;
    __m256 acc[TILE_R][TILE_T];
    float summs[TILE_R][TILE_T];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int t = 0; t < T; t++) {
            acc[r][t] = _mm256_setzero_ps();
            summs[r][t] = 0.0f;
        }
    PREFETCH_SETUP(w, ws, R, nb);
    for (int64_t i = 0; i < nb; i++) {
        PREFETCH_STEP(T);
        __m256i yv[TILE_T];
        float da[TILE_T], sa[TILE_T];
#pragma GCC unroll 2
        for (int t = 0; t < T; t++) {
            const uint8_t *ab = a + (size_t)t * as + (size_t)i * abytes;
            yv[t] = load256(ab + (has_min ? 4 : 2));
            da[t] = half(ab);
            sa[t] = has_min ? half(ab + 2) : 0.0f;
        }
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            const uint8_t *b = w + (size_t)r * ws + (size_t)i * wbytes;
            __m256i q = legacy_codes(b, bits, has_min);
            float dw = half(b), mw = has_min ? half(b + 2) : 0.0f;
            __m256i qa = q;
            if (!has_min) {
                q = _mm256_sub_epi8(q, bytes_of(1 << (bits - 1)));
                qa = _mm256_abs_epi8(q);
            }
#pragma GCC unroll 2
            for (int t = 0; t < T; t++) {
                __m256i lanes = lanes_us(qa, has_min ? yv[t] : _mm256_sign_epi8(yv[t], q));
                acc[r][t] = _mm256_fmadd_ps(_mm256_set1_ps(dw * da[t]), _mm256_cvtepi32_ps(lanes), acc[r][t]);
                if (has_min) summs[r][t] += mw * sa[t];
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int t = 0; t < T; t++) y[t * ys + r] = hsum8(acc[r][t]) + summs[r][t];
}

/* Q8_0 weights, or IQ4_NL's (iq4nl: 18-byte blocks whose codes index its levels), against Q8_0 activations. */
static AVX2_INLINE void q8_0_micro(const uint8_t *w, size_t ws, const uint8_t *a, size_t as, int64_t nb, int R, int T,
                                   float *y, int64_t ys, int iq4nl)
{
    const __m256i levels = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)QT_IQ4NL_LEVELS));
    size_t wbytes = iq4nl ? 18 : Q8_0_BYTES;
    __m256 acc[TILE_R][TILE_T];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int t = 0; t < T; t++) acc[r][t] = _mm256_setzero_ps();
    PREFETCH_SETUP(w, ws, R, nb);
    for (int64_t i = 0; i < nb; i++) {
        PREFETCH_STEP(T);
        __m256i yv[TILE_T];
        float da[TILE_T];
#pragma GCC unroll 2
        for (int t = 0; t < T; t++) {
            const uint8_t *ab = a + (size_t)t * as + (size_t)i * Q8_0_BYTES;
            yv[t] = load256(ab + 2);
            da[t] = half(ab);
        }
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            const uint8_t *b = w + (size_t)r * ws + (size_t)i * wbytes;
            __m256i q = iq4nl ? _mm256_shuffle_epi8(levels, nibbles32(b + 2)) : load256(b + 2);
            __m256i qa = _mm256_abs_epi8(q);
            float dw = half(b);
#pragma GCC unroll 2
            for (int t = 0; t < T; t++) {
                __m256i lanes = lanes_us(qa, _mm256_sign_epi8(yv[t], q));
                acc[r][t] = _mm256_fmadd_ps(_mm256_set1_ps(dw * da[t]), _mm256_cvtepi32_ps(lanes), acc[r][t]);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int t = 0; t < T; t++) y[t * ys + r] = hsum8(acc[r][t]);
}

/* Runs MICRO(w, a, R, T, y) over the tile in 4 × 2 pieces, then 4 × 1, then single rows. */
#define TILE_LOOPS(MICRO)                                                                                         \
    do {                                                                                                          \
        const uint8_t *W_ = w, *A_ = act;                                                                         \
        int64_t r_ = 0;                                                                                           \
        for (; r_ + TILE_R <= nr; r_ += TILE_R) {                                                                 \
            int64_t t_ = 0;                                                                                       \
            for (; t_ + TILE_T <= nt; t_ += TILE_T)                                                               \
                MICRO(W_ + (size_t)r_ * ws, A_ + (size_t)t_ * as, TILE_R, TILE_T, y + t_ * ys + r_);              \
            for (; t_ < nt; t_++) MICRO(W_ + (size_t)r_ * ws, A_ + (size_t)t_ * as, TILE_R, 1, y + t_ * ys + r_); \
        }                                                                                                         \
        for (; r_ < nr; r_++)                                                                                     \
            for (int64_t t_ = 0; t_ < nt; t_++) MICRO(W_ + (size_t)r_ * ws, A_ + (size_t)t_ * as, 1, 1, y + t_ * ys + r_); \
    } while (0)

#define LEGACY_TILE(name, BITS, MIN)                                                                              \
    AVX2 static void name(const void *w, size_t ws, int64_t nr, const void *act, size_t as, int64_t nt, int64_t n, \
                          float *y, int64_t ys)                                                                   \
    {                                                                                                             \
        int64_t nb = n / QK;                                                                                      \
        TILE_LOOPS(LEGACY_MICRO_##BITS##_##MIN);                                                                  \
    }
#define LEGACY_MICRO_4_0(wp, ap, R, T, yp) legacy_micro(wp, ws, ap, as, nb, 4, 0, R, T, yp, ys)
#define LEGACY_MICRO_4_1(wp, ap, R, T, yp) legacy_micro(wp, ws, ap, as, nb, 4, 1, R, T, yp, ys)
#define LEGACY_MICRO_5_0(wp, ap, R, T, yp) legacy_micro(wp, ws, ap, as, nb, 5, 0, R, T, yp, ys)
#define LEGACY_MICRO_5_1(wp, ap, R, T, yp) legacy_micro(wp, ws, ap, as, nb, 5, 1, R, T, yp, ys)
LEGACY_TILE(tile_q4_0, 4, 0)
LEGACY_TILE(tile_q4_1, 4, 1)
LEGACY_TILE(tile_q5_0, 5, 0)
LEGACY_TILE(tile_q5_1, 5, 1)

#define Q8_0_MICRO(wp, ap, R, T, yp) q8_0_micro(wp, ws, ap, as, nb, R, T, yp, ys, 0)
#define IQ4_NL_MICRO(wp, ap, R, T, yp) q8_0_micro(wp, ws, ap, as, nb, R, T, yp, ys, 1)
AVX2 static void tile_q8_0(const void *w, size_t ws, int64_t nr, const void *act, size_t as, int64_t nt, int64_t n,
                           float *y, int64_t ys)
{
    int64_t nb = n / QK;
    TILE_LOOPS(Q8_0_MICRO);
}

AVX2 static void tile_iq4_nl(const void *w, size_t ws, int64_t nr, const void *act, size_t as, int64_t nt, int64_t n,
                             float *y, int64_t ys)
{
    int64_t nb = n / QK;
    TILE_LOOPS(IQ4_NL_MICRO);
}

/* Types without a multi-row kernel yet: the one-row kernel per (row, token). */
#define TILE_OF_DOT(name, dot)                                                                                    \
    AVX2 static void name(const void *w, size_t ws, int64_t nr, const void *act, size_t as, int64_t nt, int64_t n, \
                          float *y, int64_t ys)                                                                   \
    {                                                                                                             \
        for (int64_t r = 0; r < nr; r++)                                                                          \
            for (int64_t t = 0; t < nt; t++)                                                                      \
                y[t * ys + r] = dot((const uint8_t *)w + (size_t)r * ws, (const uint8_t *)act + (size_t)t * as, n); \
    }
/* Float rows: R rows × T tokens of float_dot's chains (lane i mod 8, element order), the tails as float_dot's. */
static AVX2_INLINE void float_micro(const uint8_t *w, size_t ws, const uint8_t *a, size_t as, int64_t n, float_kind kind,
                                    int R, int T, float *y, int64_t ys)
{
    size_t eb = kind == F32_ROW ? 4 : 2;
    __m256 acc[TILE_R][TILE_T];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int t = 0; t < T; t++) acc[r][t] = _mm256_setzero_ps();
    size_t pf_step_ = (size_t)R * ws / (size_t)(n / 8 > 0 ? n / 8 : 1) + 1;
    const char *pf_ = (const char *)w + (size_t)PREFETCH_ROWS * ws;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        PREFETCH_STEP(T);
        __m256 av[TILE_T];
#pragma GCC unroll 2
        for (int t = 0; t < T; t++) av[t] = load8(a + (size_t)t * as + (size_t)i * eb, kind);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            __m256 wv = load8(w + (size_t)r * ws + (size_t)i * eb, kind);
#pragma GCC unroll 2
            for (int t = 0; t < T; t++) acc[r][t] = _mm256_fmadd_ps(wv, av[t], acc[r][t]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int t = 0; t < T; t++) {
            if (i == n) {
                y[t * ys + r] = hsum8(acc[r][t]);
                continue;
            }
            float lanes[8];
            _mm256_storeu_ps(lanes, acc[r][t]);
            const uint8_t *wr = w + (size_t)r * ws, *at = a + (size_t)t * as;
            for (int64_t e = i, k = 0; e < n; e++, k++)
                lanes[k] = fmaf(load1(wr + (size_t)e * eb, kind), load1(at + (size_t)e * eb, kind), lanes[k]);
            y[t * ys + r] = hsum8(_mm256_loadu_ps(lanes));
        }
}

#define FLOAT_MICRO_F32(wp, ap, R, T, yp) float_micro(wp, ws, ap, as, n, F32_ROW, R, T, yp, ys)
#define FLOAT_MICRO_F16(wp, ap, R, T, yp) float_micro(wp, ws, ap, as, n, F16_ROW, R, T, yp, ys)
#define FLOAT_MICRO_BF16(wp, ap, R, T, yp) float_micro(wp, ws, ap, as, n, BF16_ROW, R, T, yp, ys)
#define FLOAT_TILE(name, MICRO)                                                                                   \
    AVX2 static void name(const void *w, size_t ws, int64_t nr, const void *act, size_t as, int64_t nt, int64_t n, \
                          float *y, int64_t ys)                                                                   \
    {                                                                                                             \
        TILE_LOOPS(MICRO);                                                                                        \
    }
FLOAT_TILE(tile_f32, FLOAT_MICRO_F32)
FLOAT_TILE(tile_f16, FLOAT_MICRO_F16)
FLOAT_TILE(tile_bf16, FLOAT_MICRO_BF16)

/* ---- K-quant tiles: a row's super-block unpacked once, dotted with every token of the tile ------------------ */

enum { KQ_MAX_T = 64 };

/* Decode (one token): the one-row kernel per row, which unpacks straight into its sums; the tile's stores of
 * per-token sums only pay when a block is reused. */
static AVX2_INLINE void one_token(qdot_fn dot, const void *w, size_t ws, int64_t nr, const void *act, int64_t n,
                                  float *y)
{
    for (int64_t r = 0; r < nr; r++) y[r] = dot((const uint8_t *)w + (size_t)r * ws, act, n);
}

/* Q4_K/Q5_K, one row's super-block (kq_unpack's codes and scales) against T tokens: kq_dot's integer sums per
 * token (s1: Σ scaled code·y, s2: Σ min·block sum). */
static AVX2_INLINE void kq_block_sums(const __m256i codes[8], const __m256i scale[8], __m128i mins,
                                      const uint8_t *a, size_t as, int64_t T, float *yd, int *s1, int *s2)
{
    for (int64_t t = 0; t < T; t++, a += as) {
        s1[t] = hsum_i32(scaled_sums(codes, scale, (const int8_t *)(a + 4)));
        s2[t] = hsum_i32x4(_mm_madd_epi16(mins, q8k_pair_sums(a)));
        memcpy(&yd[t], a, 4);
    }
}

/* The K-quant tiles (rows × tokens): per row and super-block the weights are unpacked once and used for every
 * token of the tile; per (row, token) the integer sums and the float tails are the one-row kernel's, in its
 * super-block order, so every result has its bits. A step adds one row's super-block b to the T tokens' sums. */
typedef void kq_step_fn(const uint8_t *b, const uint8_t *a, size_t as, int64_t T, float *acc, int variant);

static AVX2_INLINE void superblock_tile(const uint8_t *w, size_t ws, int64_t nr, const uint8_t *act, size_t as,
                                        int64_t nt, int64_t n, float *y, int64_t ys, size_t wbytes, kq_step_fn *step,
                                        int variant)
{
    int64_t nb = n / QK_K;
    for (int64_t t0 = 0; t0 < nt; t0 += KQ_MAX_T) {
        int64_t T = nt - t0 < KQ_MAX_T ? nt - t0 : KQ_MAX_T;
        const uint8_t *a0 = act + (size_t)t0 * as;
        for (int64_t r = 0; r < nr; r++) {
            float acc[KQ_MAX_T];
            for (int64_t t = 0; t < T; t++) acc[t] = 0.0f;
            const uint8_t *b = w + (size_t)r * ws;
            for (int64_t i = 0; i < nb; i++, b += wbytes) step(b, a0 + (size_t)i * Q8_K_BYTES, as, T, acc, variant);
            for (int64_t t = 0; t < T; t++) y[(t0 + t) * ys + r] = acc[t];
        }
    }
}

/* One token: the one-row kernel; several: superblock_tile with the format's step. */
#define KQ_TILE(name, dot, step, wbytes, variant)                                                                 \
    AVX2 static void name(const void *w, size_t ws, int64_t nr, const void *act, size_t as, int64_t nt, int64_t n, \
                          float *y, int64_t ys)                                                                   \
    {                                                                                                             \
        if (nt == 1) one_token(dot, w, ws, nr, act, n, y);                                                        \
        else superblock_tile(w, ws, nr, act, as, nt, n, y, ys, wbytes, step, variant);                            \
    }

/* Q4_K/Q5_K: kq_unpack's codes and broadcast scales, kq_dot's sums per token, kq_tails. */
static AVX2_INLINE void kq_step(const uint8_t *b, const uint8_t *a, size_t as, int64_t T, float *acc, int five)
{
    float yd[KQ_MAX_T];
    int s1[KQ_MAX_T], s2[KQ_MAX_T];
    __m128i mins, sc = kq_scales(b + 4, &mins);
    __m256i codes[8], scale[8];
    kq_unpack(five ? b + 48 : b + 16, five ? b + 16 : NULL, sc, codes, scale);
    kq_block_sums(codes, scale, mins, a, as, T, yd, s1, s2);
    kq_tails(acc, T, half(b), half(b + 2), yd, s1, s2);
}

KQ_TILE(tile_q4_k, dot_q4_k, kq_step, 144, 0)
KQ_TILE(tile_q5_k, dot_q5_k, kq_step, 176, 1)

/* ---- IQ4_XS: IQ4_NL's levels in 8 sub-blocks of 32 with a 6-bit scale each, against Q8_K ------------------------ */

/* One super-block's signed levels (q[ib]: sub-block ib's 32, looked up from its nibbles) and scales ls − 32 in
 * every int16 lane (sc[ib]). */
static AVX2_INLINE void iq4xs_unpack(const uint8_t *w, __m256i q[8], __m256i sc[8])
{
    const __m256i levels = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)QT_IQ4NL_LEVELS));
    uint16_t high;
    memcpy(&high, w + 2, 2);
#pragma GCC unroll 8
    for (int ib = 0; ib < 8; ib++) {
        int ls = ((w[4 + ib / 2] >> (4 * (ib % 2)) & 0xF) | (high >> (2 * ib) & 3) << 4) - 32;
        q[ib] = _mm256_shuffle_epi8(levels, nibbles32(w + 8 + 16 * ib));
        sc[ib] = _mm256_set1_epi16((short)ls);
    }
}

/* Σ_ib (ls − 32)·Σ level·y: levels signed, so |level| · (y with level's sign) through maddubs (pairs ≤ 2·127·127),
 * then madd with the sub-block's scale; exact. */
static AVX2_INLINE int iq4xs_sum(const __m256i q[8], const __m256i sc[8], const uint8_t *a)
{
    __m256i acc = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int ib = 0; ib < 8; ib++) {
        __m256i pairs = _mm256_maddubs_epi16(_mm256_abs_epi8(q[ib]), _mm256_sign_epi8(load256(a + 4 + 32 * ib), q[ib]));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, sc[ib]));
    }
    return hsum_i32(acc);
}

/* IQ4_XS: the integer sum, then Q6_K's tail (the reference's expression). */
AVX2 static float dot_iq4_xs(const void *wrow, const void *act, int64_t n)
{
    const uint8_t *w = wrow, *a = act;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++, w += 136, a += Q8_K_BYTES) {
        __m256i q[8], sc[8];
        iq4xs_unpack(w, q, sc);
        float yd;
        memcpy(&yd, a, 4);
        sum = q6k_tail(sum, half(w), yd, iq4xs_sum(q, sc, a));
    }
    return sum;
}

/* IQ4_XS: levels and scales unpacked once per row and super-block for every token. */
static AVX2_INLINE void iq4xs_step(const uint8_t *b, const uint8_t *a, size_t as, int64_t T, float *acc, int unused)
{
    (void)unused;
    float yd[KQ_MAX_T];
    int total[KQ_MAX_T];
    __m256i q[8], sc[8];
    iq4xs_unpack(b, q, sc);
    for (int64_t t = 0; t < T; t++, a += as) {
        total[t] = iq4xs_sum(q, sc, a);
        memcpy(&yd[t], a, 4);
    }
    q6k_tails(acc, T, half(b), yd, total);
}

KQ_TILE(tile_iq4_xs, dot_iq4_xs, iq4xs_step, 136, 0)

/* ---- Q2_K / Q3_K: 2-bit codes (Q3_K: plus a high bit), 16 sub-blocks of 16 -------------------------------- */

/* Pass k of half h of a super-block: its 32 codes (elements 128h + 32k + l) from the bit pair 2k of qs[32h + l],
 * Q3_K's high bit (bit 4h + k of hmask[l]) as 4; sub-blocks 8h + 2k (l < 16) and 8h + 2k + 1 (l ≥ 16). */
static AVX2_INLINE __m256i k2_codes(__m256i qs, __m256i hmask, int k, int bit, int three)
{
    __m256i q = _mm256_and_si256(_mm256_srli_epi16(qs, 2 * k), bytes_of(3));
    if (!three) return q;
    __m256i h = _mm256_and_si256(_mm256_srli_epi16(hmask, bit), bytes_of(1));
    return _mm256_or_si256(q, _mm256_slli_epi16(h, 2));
}

/* One super-block's 8 passes: codes[4h + k] (k2_codes) and the int16 scales of its two sub-blocks, sc[4h + k]. */
static AVX2_INLINE void k2_unpack(const uint8_t *qs, const uint8_t *hmask, const int16_t scale[16], __m256i codes[8],
                                  __m256i sc[8])
{
    __m256i hm = hmask ? load256(hmask) : _mm256_setzero_si256();
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
        __m256i bytes = load256(qs + 32 * h);
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++) {
            int s = 8 * h + 2 * k;
            codes[4 * h + k] = k2_codes(bytes, hm, k, 4 * h + k, hmask != NULL);
            sc[4 * h + k] = _mm256_set_m128i(_mm_set1_epi16(scale[s + 1]), _mm_set1_epi16(scale[s]));
        }
    }
}

/* Σ_s scale_s · Σ code·y over one super-block (pass j covers elements 32j..32j+31). Pair sums ≤ 2·7·127. */
static AVX2_INLINE int k2_sum(const __m256i codes[8], const __m256i sc[8], const int8_t *y)
{
    __m256i sum = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++)
        sum = _mm256_add_epi32(sum, _mm256_madd_epi16(_mm256_maddubs_epi16(codes[j], load256(y + 32 * j)), sc[j]));
    return hsum_i32(sum);
}

/* Σ_s v_s · (block sum s of the Q8_K activations), v: 16 int16. */
static AVX2_INLINE int k2_bsum_dot(__m256i v, const uint8_t *a)
{
    return hsum_i32(_mm256_madd_epi16(v, load256(a + 4 + QK_K)));
}

/* Q2_K's 16 scales (low nibbles) as int16, and its mins (high nibbles) as one int16 vector. */
static AVX2_INLINE __m256i q2k_scales(const uint8_t *w, int16_t scale[16])
{
    __m128i packed = _mm_loadu_si128((const __m128i *)w), mask = _mm_set1_epi8(0x0F);
    _mm256_storeu_si256((__m256i *)scale, _mm256_cvtepu8_epi16(_mm_and_si128(packed, mask)));
    return _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), mask));
}

/* Q3_K's 16 six-bit scales less 32, as int16 (layout in qtypes.c: scale s keeps its low 4 bits in byte s % 8,
 * high nibble for s ≥ 8, and its top 2 bits in byte 8 + s % 4 at bit 2·(s / 4)): four words of four scales each,
 * built 32 bits at a time (a scalar loop per scale took two thirds of decode). */
static AVX2_INLINE __m256i q3k_scales(const uint8_t *sc, int16_t scale[16])
{
    uint32_t u[3];
    memcpy(u, sc, 12);
    const uint32_t low = 0x0F0F0F0F, two = 0x03030303;
    __m128i bytes = _mm_set_epi32((int)(((u[1] >> 4) & low) | ((u[2] >> 6) & two) << 4),
                                  (int)(((u[0] >> 4) & low) | ((u[2] >> 4) & two) << 4),
                                  (int)((u[1] & low) | ((u[2] >> 2) & two) << 4),
                                  (int)((u[0] & low) | (u[2] & two) << 4));
    __m256i v = _mm256_sub_epi16(_mm256_cvtepu8_epi16(bytes), _mm256_set1_epi16(32));
    _mm256_storeu_si256((__m256i *)scale, v);
    return v;
}

/* Q2_K: s1 = Σ sc·Σ q·y, s2 = Σ m·(block sums), then Q4_K's tail; Q3_K: Σ sc·Σ (q − 4)·y = Σ sc·Σ q·y −
 * 4·Σ sc·(block sums), then Q6_K's tail (each the reference's expression). */
static AVX2_INLINE float k2_dot(const uint8_t *w, const uint8_t *a, int64_t nb, int three)
{
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++, w += three ? 110 : 84, a += Q8_K_BYTES) {
        int16_t scale[16];
        __m256i v = three ? q3k_scales(w + 96, scale) : q2k_scales(w, scale), codes[8], sc[8];
        k2_unpack(three ? w + 32 : w + 16, three ? w : NULL, scale, codes, sc);
        int s1 = k2_sum(codes, sc, (const int8_t *)(a + 4)), s2 = k2_bsum_dot(v, a);
        float yd;
        memcpy(&yd, a, 4);
        if (three) sum = q6k_tail(sum, half(w + 108), yd, s1 - 4 * s2);
        else sum = kq_tail(sum, half(w + 80), half(w + 82), yd, s1, s2);
    }
    return sum;
}

AVX2 static float dot_q2_k(const void *w, const void *a, int64_t n) { return k2_dot(w, a, n / QK_K, 0); }
AVX2 static float dot_q3_k(const void *w, const void *a, int64_t n) { return k2_dot(w, a, n / QK_K, 1); }

/* Q2_K/Q3_K: codes and scales unpacked once per row and super-block, then every token's integer sums and the
 * one-row kernel's tails for all of them. */
static AVX2_INLINE void k2_step(const uint8_t *b, const uint8_t *a, size_t as, int64_t T, float *acc, int three)
{
    float yd[KQ_MAX_T];
    int s1[KQ_MAX_T], s2[KQ_MAX_T];
    int16_t scale[16];
    __m256i v = three ? q3k_scales(b + 96, scale) : q2k_scales(b, scale), codes[8], sc[8];
    k2_unpack(three ? b + 32 : b + 16, three ? b : NULL, scale, codes, sc);
    for (int64_t t = 0; t < T; t++, a += as) {
        s1[t] = k2_sum(codes, sc, (const int8_t *)(a + 4));
        s2[t] = k2_bsum_dot(v, a);
        if (three) s1[t] -= 4 * s2[t];
        memcpy(&yd[t], a, 4);
    }
    if (three) q6k_tails(acc, T, half(b + 108), yd, s1);
    else kq_tails(acc, T, half(b + 80), half(b + 82), yd, s1, s2);
}

KQ_TILE(tile_q2_k, dot_q2_k, k2_step, 84, 0)
KQ_TILE(tile_q3_k, dot_q3_k, k2_step, 110, 1)

/* Q6_K, one row's super-block (q6k_unpack's codes and scales) against T tokens: q6k_total per token. */
static AVX2_INLINE void q6k_block_sums(const uint8_t *w, const __m256i codes[8], const __m256i scale[8],
                                       const uint8_t *a, size_t as, int64_t T, float *yd, int *total)
{
    for (int64_t t = 0; t < T; t++, a += as) {
        total[t] = q6k_total(w, codes, scale, a);
        memcpy(&yd[t], a, 4);
    }
}

/* Q6_K: q6k_scaled_sum's codes and group scales built once per row and super-block. */
static AVX2_INLINE void q6k_step(const uint8_t *b, const uint8_t *a, size_t as, int64_t T, float *acc, int unused)
{
    (void)unused;
    float yd[KQ_MAX_T];
    int total[KQ_MAX_T];
    __m256i codes[8], scale[8];
    q6k_unpack(b, codes, scale);
    q6k_block_sums(b, codes, scale, a, as, T, yd, total);
    q6k_tails(acc, T, half(b + 208), yd, total);
}

KQ_TILE(tile_q6_k, dot_q6_k, q6k_step, 210, 0)

qdot_tile_fn qdot_avx2_tile_kernel(uint32_t wtype)
{
    switch (wtype) {
    case QT_F32: return tile_f32;
    case QT_F16: return tile_f16;
    case QT_BF16: return tile_bf16;
    case QT_Q8_0: return tile_q8_0;
    case QT_Q4_0: return tile_q4_0;
    case QT_Q4_1: return tile_q4_1;
    case QT_Q5_0: return tile_q5_0;
    case QT_Q5_1: return tile_q5_1;
    case QT_Q4_K: return tile_q4_k;
    case QT_Q5_K: return tile_q5_k;
    case QT_Q6_K: return tile_q6_k;
    case QT_Q2_K: return tile_q2_k;
    case QT_Q3_K: return tile_q3_k;
    case QT_IQ4_NL: return tile_iq4_nl;
    case QT_IQ4_XS: return tile_iq4_xs;
    default: return NULL;
    }
}

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
    case QT_Q2_K: return dot_q2_k;
    case QT_Q3_K: return dot_q3_k;
    case QT_IQ4_NL: return dot_iq4_nl;
    case QT_IQ4_XS: return dot_iq4_xs;
    default: return NULL;
    }
}

#else /* not x86: the scalar reference serves every level */

qdot_fn qdot_avx2_kernel(uint32_t wtype)
{
    (void)wtype;
    return NULL;
}

qdot_tile_fn qdot_avx2_tile_kernel(uint32_t wtype)
{
    (void)wtype;
    return NULL;
}

int qdot_avx2_quantize_act(uint32_t act_type, const float *x, void *dst, int64_t n)
{
    (void)act_type, (void)x, (void)dst, (void)n;
    return 0;
}

#endif

