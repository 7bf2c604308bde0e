/* AVX-512 (BW, VL, VNNI) tile kernels for the 32-element formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, and IQ4_NL as Q8_0
 * with its codes looked up), bit-identical to the scalar reference qt_dot_act like the AVX2 ones (qdot_avx2.c,
 * whose comments give the arithmetic): every (row, token) keeps its own 8-lane chain of one fma per block, in
 * block order, then hsum8, plus the *_1 formats' m·s sum. What changes is the packing:
 *   - a 512-bit register holds two such 8-lane chains: two rows of one token (decode) or one row of two tokens
 *     (prefill), so one instruction advances both;
 *   - VPDPBUSD forms the int32 lane sums (exact, as maddubs + madd are for these ranges) in one step, its
 *     accumulator input absorbing the centring: Σ(q−z)·y = Σq·y − z·Σy, with −z·Σy per lane computed once per
 *     activation block (z = 8 or 16 for Q4_0/Q5_0; Q8_0 weights are made unsigned by +128 the same way);
 *   - decode converts the scales of 8 rows at once (one fp16→f32 conversion of their d, m words; a gather
 *     instruction was slower than eight loads here) and prefetches its rows; prefill unpacks a row group's
 *     codes and converts its scales once for all tokens of the call, and the activations' scales once per call.
 * Other weight types have no kernel here; qdot_kernel falls back to the AVX2 level for them. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/fp16.h"
#include "model/qtypes.h"
#include "ops/qdot.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define TGT "avx512f,avx512bw,avx512vl,avx512vnni,avx512dq,avx2,fma,f16c"
#define AVX512 __attribute__((target(TGT)))
#define AVX512_INLINE __attribute__((target(TGT), always_inline)) inline

enum { QK = 32, Q8_0_BYTES = 34, Q8_1_BYTES = 36 };

static AVX512_INLINE float half(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

static AVX512_INLINE uint16_t half_bits(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    return h;
}

/* The reference's hsum8: ((v0+v4) + (v2+v6)) + ((v1+v5) + (v3+v7)). */
static AVX512_INLINE float hsum8(__m256 v)
{
    __m128 r = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
    __m128 ab = _mm_add_ps(r, _mm_movehl_ps(r, r));
    return _mm_cvtss_f32(_mm_add_ss(ab, _mm_movehdup_ps(ab)));
}

static AVX512_INLINE float lo_sum(__m512 v) { return hsum8(_mm512_castps512_ps256(v)); }
static AVX512_INLINE float hi_sum(__m512 v) { return hsum8(_mm512_extractf32x8_ps(v, 1)); }

/* Per-format layout: block bytes and where the nibbles (and Q5's high bits) sit. */
static AVX512_INLINE size_t w_bytes(int bits, int has_min) { return (size_t)(18 + (has_min ? 2 : 0) + (bits == 5 ? 4 : 0)); }
static AVX512_INLINE int qs_at(int bits, int has_min) { return (has_min ? 4 : 2) + (bits == 5 ? 4 : 0); }

static AVX512_INLINE uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Codes of one block in element order (j < 16: low nibble of byte j; j ≥ 16: high nibble of byte j−16; Q5: bit j
 * of qh adds 16), in a 256-bit register. */
static AVX512_INLINE __m256i codes256(const uint8_t *b, int bits, int has_min)
{
    const uint8_t *qs = b + qs_at(bits, has_min);
    __m256i nib = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)qs));
    __m256i q = _mm256_and_si256(_mm256_srlv_epi16(nib, _mm256_setr_epi64x(0, 0, 0x0004000400040004ll, 0x0004000400040004ll)),
                                 _mm256_set1_epi8(0x0F));
    if (bits == 5) q = _mm256_or_si256(q, _mm256_maskz_mov_epi8(rd32(qs - 4), _mm256_set1_epi8(0x10)));
    return q;
}

/* The same for two blocks: block b0's codes in the low 256 bits, b1's in the high. */
static AVX512_INLINE __m512i codes512(const uint8_t *b0, const uint8_t *b1, int bits, int has_min)
{
    int at = qs_at(bits, has_min);
    __m512i nib = _mm512_mask_broadcast_i32x4(_mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(b0 + at))),
                                              0xFF00, _mm_loadu_si128((const __m128i *)(b1 + at)));
    __m512i q = _mm512_and_si512(_mm512_srlv_epi16(nib, _mm512_set_epi64(0x0004000400040004ll, 0x0004000400040004ll, 0, 0,
                                                                         0x0004000400040004ll, 0x0004000400040004ll, 0, 0)),
                                 _mm512_set1_epi8(0x0F));
    if (bits == 5) {
        uint64_t hb = (uint64_t)rd32(b0 + at - 4) | (uint64_t)rd32(b1 + at - 4) << 32;
        q = _mm512_or_si512(q, _mm512_maskz_mov_epi8(hb, _mm512_set1_epi8(0x10)));
    }
    return q;
}

/* One block's codes in both halves (one row against two tokens). */
static AVX512_INLINE __m512i codes_twice(const uint8_t *b, int bits, int has_min)
{
    int at = qs_at(bits, has_min);
    __m512i nib = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(b + at)));
    __m512i q = _mm512_and_si512(_mm512_srlv_epi16(nib, _mm512_set_epi64(0x0004000400040004ll, 0x0004000400040004ll, 0, 0,
                                                                         0x0004000400040004ll, 0x0004000400040004ll, 0, 0)),
                                 _mm512_set1_epi8(0x0F));
    if (bits == 5) {
        uint64_t h = rd32(b + at - 4);
        q = _mm512_or_si512(q, _mm512_maskz_mov_epi8(h | h << 32, _mm512_set1_epi8(0x10)));
    }
    return q;
}

/* −z·Σy per lane of 4 bytes (the accumulator start that centres unsigned codes); zero when z = 0. */
static AVX512_INLINE __m512i centring512(__m512i y, int z)
{
    if (!z) return _mm512_setzero_si512();
    return _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8((char)z), y));
}

static AVX512_INLINE __m256i centring256(__m256i y, int z)
{
    if (!z) return _mm256_setzero_si256();
    return _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8((char)z), y));
}

/* Formats: bits 4/5 with or without min (legacy), or bits 8 (Q8_0: signed codes, made unsigned by +128). */
/* IQ4_NL passes as a pseudo bit count: Q8_0's arithmetic on codes looked up from its 16 levels. */
enum { IQ4NL_BITS = 100 };
static AVX512_INLINE int signed_codes(int bits) { return bits == 8 || bits == IQ4NL_BITS; }
static AVX512_INLINE int centre_of(int bits, int has_min)
{
    return signed_codes(bits) ? 128 : has_min ? 0 : 1 << (bits - 1);
}
static AVX512_INLINE size_t block_bytes(int bits, int has_min)
{
    return bits == 8 ? Q8_0_BYTES : bits == IQ4NL_BITS ? 18 : w_bytes(bits, has_min);
}

/* IQ4_NL's levels + 128 (unsigned, as Q8_0's codes are made) in every 128-bit lane. */
static AVX512_INLINE __m512i iq4nl_table(void)
{
    __m128i levels = _mm_loadu_si128((const __m128i *)QT_IQ4NL_LEVELS);
    return _mm512_broadcast_i32x4(_mm_xor_si128(levels, _mm_set1_epi8((char)0x80)));
}

/* One block's codes made unsigned (Q8_0, IQ4_NL: +128), or a legacy format's. */
static AVX512_INLINE __m256i ucodes256(const uint8_t *b, int bits, int has_min)
{
    if (bits == 8) return _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(b + 2)), _mm256_set1_epi8((char)0x80));
    if (bits == IQ4NL_BITS) return _mm256_shuffle_epi8(_mm512_castsi512_si256(iq4nl_table()), codes256(b, 4, 0));
    return codes256(b, bits, has_min);
}

/* The same for two blocks (b0 low, b1 high). */
static AVX512_INLINE __m512i ucodes512(const uint8_t *b0, const uint8_t *b1, int bits, int has_min)
{
    if (bits == 8)
    {
        __m256i lo = _mm256_loadu_si256((const __m256i *)(b0 + 2)), hi = _mm256_loadu_si256((const __m256i *)(b1 + 2));
        return _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1), _mm512_set1_epi8((char)0x80));
    }
    if (bits == IQ4NL_BITS) return _mm512_shuffle_epi8(iq4nl_table(), codes512(b0, b1, 4, 0));
    return codes512(b0, b1, bits, has_min);
}

/* ---- one row, one token (remainders) ----------------------------------------------------------------------- */

static AVX512_INLINE float dot1(const uint8_t *w, const uint8_t *a, int64_t nb, int bits, int has_min)
{
    size_t wb = block_bytes(bits, has_min), ab = has_min ? Q8_1_BYTES : Q8_0_BYTES;
    int z = centre_of(bits, has_min);
    __m256 acc = _mm256_setzero_ps();
    float summs = 0.0f;
    for (int64_t i = 0; i < nb; i++, w += wb, a += ab) {
        __m256i y = _mm256_loadu_si256((const __m256i *)(a + (has_min ? 4 : 2)));
        __m256i q = ucodes256(w, bits, has_min);
        __m256i lanes = _mm256_dpbusd_epi32(centring256(y, z), q, y);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(half(w) * half(a)), _mm256_cvtepi32_ps(lanes), acc);
        if (has_min) summs += half(w + 2) * half(a + 2);
    }
    return signed_codes(bits) ? hsum8(acc) : hsum8(acc) + summs;
}

enum { PREFETCH_GROUPS = 4 }; /* 32 rows ahead */

/* ---- decode: 8 rows × 1 token, two rows per register ------------------------------------------------------- */

static AVX512_INLINE void dec8(const uint8_t *w, size_t ws, const uint8_t *a, int64_t nb, int bits, int has_min, float *y)
{
    size_t wb = block_bytes(bits, has_min), ab = has_min ? Q8_1_BYTES : Q8_0_BYTES;
    int z = centre_of(bits, has_min);
    __m512 acc[4], summs = _mm512_setzero_ps();
    for (int p = 0; p < 4; p++) acc[p] = _mm512_setzero_ps();
    /* The 8 rows are one contiguous range read as 8 interleaved streams, which the hardware prefetchers follow
     * poorly: each step prefetches its share of the range PREFETCH_GROUPS groups ahead. */
    size_t step = (8 * ws + (size_t)nb - 1) / (size_t)nb;
    const char *pf = (const char *)w + PREFETCH_GROUPS * 8 * ws;
    for (int64_t i = 0; i < nb; i++, w += wb, a += ab, pf += step) {
        for (size_t k = 0; k < step; k += 64) _mm_prefetch(pf + k, _MM_HINT_T0);
        __m512i yv = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(a + (has_min ? 4 : 2))));
        __m512i start = centring512(yv, z);
        /* lanes 2r, 2r+1: row r's d and (for *_1) m; times the activation's d and s */
        __m512 f = _mm512_cvtph_ps(_mm256_setr_epi32((int)rd32(w), (int)rd32(w + ws), (int)rd32(w + 2 * ws), (int)rd32(w + 3 * ws),
                                                     (int)rd32(w + 4 * ws), (int)rd32(w + 5 * ws), (int)rd32(w + 6 * ws),
                                                     (int)rd32(w + 7 * ws)));
        uint32_t ds = has_min ? (uint32_t)half_bits(a) | (uint32_t)half_bits(a + 2) << 16 : half_bits(a);
        __m512 scale = _mm512_cvtph_ps(_mm256_set1_epi32((int)ds));
        __m512 prod = _mm512_mul_ps(f, scale); /* exact: products of two fp16 values */
        if (has_min) summs = _mm512_add_ps(summs, prod);
#pragma GCC unroll 4
        for (int p = 0; p < 4; p++) {
            const uint8_t *b0 = w + (size_t)(2 * p) * ws, *b1 = b0 + ws;
            __m512i q = ucodes512(b0, b1, bits, has_min);
            __m512i lanes = _mm512_dpbusd_epi32(start, q, yv);
            __m512i pick = _mm512_set_epi32(4 * p + 2, 4 * p + 2, 4 * p + 2, 4 * p + 2, 4 * p + 2, 4 * p + 2, 4 * p + 2,
                                            4 * p + 2, 4 * p, 4 * p, 4 * p, 4 * p, 4 * p, 4 * p, 4 * p, 4 * p);
            acc[p] = _mm512_fmadd_ps(_mm512_permutexvar_ps(pick, prod), _mm512_cvtepi32_ps(lanes), acc[p]);
        }
    }
    float s[16];
    _mm512_storeu_ps(s, summs);
    for (int p = 0; p < 4; p++) {
        if (signed_codes(bits)) {
            y[2 * p] = lo_sum(acc[p]);
            y[2 * p + 1] = hi_sum(acc[p]);
        } else { /* the reference adds its m·s sum, 0 for the formats without m (which turns −0 into +0) */
            y[2 * p] = lo_sum(acc[p]) + (has_min ? s[4 * p + 1] : 0.0f);
            y[2 * p + 1] = hi_sum(acc[p]) + (has_min ? s[4 * p + 3] : 0.0f);
        }
    }
}

/* ---- prefill: rows × tokens with the unpacking and scale conversions done once ------------------------------ */
/* A group of PRE_R rows is unpacked once (codes as bytes ready for VPDPBUSD, d and m as floats) and used against
 * every token of the call; the activations' d and s are converted once per call, laid out [block][token] so
 * that a pair of tokens' d is one 8-byte load and the m·s sums run over 16 tokens per register. The micro
 * kernel then holds PRE_R rows × 2·PRE_TP tokens: one register per row and token pair. */

enum { PRE_R = 4, PRE_TP = 4, TOK_PAD = 16 };

typedef struct rows_prep {
    uint8_t *codes; /* [block][row] × 32 bytes */
    float *d, *m;   /* [block][row] */
} rows_prep;

static AVX512_INLINE void prep_rows(const uint8_t *w, size_t ws, int R, int64_t nb, int bits, int has_min, rows_prep *p)
{
    size_t wb = block_bytes(bits, has_min);
    for (int64_t i = 0; i < nb; i++)
        for (int r = 0; r < R; r++) {
            const uint8_t *b = w + (size_t)r * ws + (size_t)i * wb;
            __m256i q = ucodes256(b, bits, has_min);
            _mm256_storeu_si256((__m256i *)(p->codes + ((size_t)i * R + (size_t)r) * 32), q);
            p->d[i * R + r] = half(b);
            if (has_min) p->m[i * R + r] = half(b + 2);
        }
}

/* Rows r < R (prepared) × tokens t0 .. t0 + 2·TP − 1 (a token past nt repeats the last one and is not stored). */
static AVX512_INLINE void pre_micro(const rows_prep *rp, int R, const uint8_t *a, size_t as, int64_t t0, int64_t nt,
                                    const float *da, int64_t ntp, int64_t nb, int bits, int has_min, int TP,
                                    const float *summs, float *y, int64_t ys)
{
    size_t ab = has_min ? Q8_1_BYTES : Q8_0_BYTES;
    int z = centre_of(bits, has_min), off = has_min ? 4 : 2;
    const __m512i pair_idx = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    const uint8_t *a0[PRE_TP], *a1[PRE_TP];
#pragma GCC unroll 4
    for (int t = 0; t < TP; t++) {
        int64_t u0 = t0 + 2 * t, u1 = u0 + 1 < nt ? u0 + 1 : u0;
        a0[t] = a + (size_t)u0 * as + (size_t)off;
        a1[t] = a + (size_t)u1 * as + (size_t)off;
    }
    __m512 acc[PRE_R][PRE_TP];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int t = 0; t < TP; t++) acc[r][t] = _mm512_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        __m512i yv[PRE_TP], start[PRE_TP];
        __m512 dap[PRE_TP];
#pragma GCC unroll 4
        for (int t = 0; t < TP; t++) {
            yv[t] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(a0[t] + (size_t)i * ab))),
                                       _mm256_loadu_si256((const __m256i *)(a1[t] + (size_t)i * ab)), 1);
            start[t] = centring512(yv[t], z);
            __m128 two = _mm_castpd_ps(_mm_load_sd((const double *)(const void *)(da + i * ntp + t0 + 2 * t)));
            dap[t] = _mm512_permutexvar_ps(pair_idx, _mm512_castps128_ps512(two));
        }
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            __m512i q = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(rp->codes + ((size_t)i * R + (size_t)r) * 32)));
            __m512 dw = _mm512_set1_ps(rp->d[i * R + r]);
#pragma GCC unroll 4
            for (int t = 0; t < TP; t++) {
                __m512i lanes = _mm512_dpbusd_epi32(start[t], q, yv[t]);
                acc[r][t] = _mm512_fmadd_ps(_mm512_mul_ps(dw, dap[t]), _mm512_cvtepi32_ps(lanes), acc[r][t]);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int t = 0; t < TP; t++) {
            int64_t u0 = t0 + 2 * t;
            if (signed_codes(bits)) {
                y[u0 * ys + r] = lo_sum(acc[r][t]);
                if (u0 + 1 < nt) y[(u0 + 1) * ys + r] = hi_sum(acc[r][t]);
            } else { /* the reference's + summs (0 without m, which turns −0 into +0) */
                y[u0 * ys + r] = lo_sum(acc[r][t]) + (has_min ? summs[r * ntp + u0] : 0.0f);
                if (u0 + 1 < nt) y[(u0 + 1) * ys + r] = hi_sum(acc[r][t]) + (has_min ? summs[r * ntp + u0 + 1] : 0.0f);
            }
        }
}

/* summs[r][t] = Σ_i m_ri·s_ti in block order (the reference's separate sum), 16 tokens per register. */
static AVX512_INLINE void prep_summs(const rows_prep *rp, int R, const float *sa, int64_t ntp, int64_t nb, float *summs)
{
    for (int r = 0; r < R; r++)
        for (int64_t t = 0; t < ntp; t += 16) {
            __m512 s = _mm512_setzero_ps();
            for (int64_t i = 0; i < nb; i++) s = _mm512_fmadd_ps(_mm512_set1_ps(rp->m[i * R + r]), _mm512_loadu_ps(sa + i * ntp + t), s);
            _mm512_storeu_ps(summs + r * ntp + t, s); /* exact products: fma = sum + m·s */
        }
}

/* One row group against tokens [0, nt) of the call. */
static AVX512_INLINE void pre_rows(const uint8_t *w, size_t ws, int R, const uint8_t *a, size_t as, int64_t nt,
                                   const float *da, const float *sa, int64_t ntp, int64_t nb, int bits, int has_min,
                                   float *y, int64_t ys)
{
    uint8_t codes[(size_t)nb * (size_t)R * 32];
    float d[nb * R], m[has_min ? nb * R : 1], summs[has_min ? R * ntp : 1];
    rows_prep rp = {codes, d, m};
    prep_rows(w, ws, R, nb, bits, has_min, &rp);
    if (has_min) prep_summs(&rp, R, sa, ntp, nb, summs);
    int64_t t = 0;
    for (; t + 2 * PRE_TP <= nt; t += 2 * PRE_TP) {
        if (R == PRE_R) pre_micro(&rp, PRE_R, a, as, t, nt, da, ntp, nb, bits, has_min, PRE_TP, summs, y, ys);
        else pre_micro(&rp, 1, a, as, t, nt, da, ntp, nb, bits, has_min, PRE_TP, summs, y, ys);
    }
    for (; t < nt; t += 2) {
        if (R == PRE_R) pre_micro(&rp, PRE_R, a, as, t, nt, da, ntp, nb, bits, has_min, 1, summs, y, ys);
        else pre_micro(&rp, 1, a, as, t, nt, da, ntp, nb, bits, has_min, 1, summs, y, ys);
    }
}

/* Several tokens: activation scales converted once, then row groups. Tokens go in chunks that keep the scale
 * tables within 64 KiB. */
static AVX512_INLINE void tile_multi(const uint8_t *w, size_t ws, int64_t nr, const uint8_t *a, size_t as, int64_t nt,
                                     int64_t nb, float *y, int64_t ys, int bits, int has_min)
{
    size_t ab = has_min ? Q8_1_BYTES : Q8_0_BYTES;
    int64_t chunk = 8192 / nb / TOK_PAD * TOK_PAD;
    if (chunk < TOK_PAD) chunk = TOK_PAD;
    if (chunk > 64) chunk = 64;
    for (int64_t t0 = 0; t0 < nt; t0 += chunk) {
        int64_t ct = nt - t0 < chunk ? nt - t0 : chunk, ntp = (ct + TOK_PAD - 1) / TOK_PAD * TOK_PAD;
        const uint8_t *at = a + (size_t)t0 * as;
        float da[nb * ntp], sa[has_min ? nb * ntp : 1];
        for (int64_t i = 0; i < nb; i++) {
            for (int64_t t = 0; t < ct; t++) {
                const uint8_t *blk = at + (size_t)t * as + (size_t)i * ab;
                da[i * ntp + t] = half(blk);
                if (has_min) sa[i * ntp + t] = half(blk + 2);
            }
            for (int64_t t = ct; t < ntp; t++) {
                da[i * ntp + t] = 0.0f;
                if (has_min) sa[i * ntp + t] = 0.0f;
            }
        }
        float *yt = y + t0 * ys;
        int64_t r = 0;
        for (; r + PRE_R <= nr; r += PRE_R)
            pre_rows(w + (size_t)r * ws, ws, PRE_R, at, as, ct, da, sa, ntp, nb, bits, has_min, yt + r, ys);
        for (; r < nr; r++) pre_rows(w + (size_t)r * ws, ws, 1, at, as, ct, da, sa, ntp, nb, bits, has_min, yt + r, ys);
    }
}

/* ---- tile drivers -------------------------------------------------------------------------------------------- */

static AVX512_INLINE void tile(const uint8_t *w, size_t ws, int64_t nr, const uint8_t *a, size_t as, int64_t nt, int64_t n,
                               float *y, int64_t ys, int bits, int has_min)
{
    int64_t nb = n / QK;
    if (nt >= 2) {
        tile_multi(w, ws, nr, a, as, nt, nb, y, ys, bits, has_min);
        return;
    }
    /* a single token: rows by 8 */
    for (int64_t t = 0; t < nt; t++) {
        int64_t r = 0;
        for (; r + 8 <= nr; r += 8) dec8(w + (size_t)r * ws, ws, a + (size_t)t * as, nb, bits, has_min, y + t * ys + r);
        for (; r < nr; r++) y[t * ys + r] = dot1(w + (size_t)r * ws, a + (size_t)t * as, nb, bits, has_min);
    }
}

#define TILE(name, BITS, MIN)                                                                                       \
    AVX512 static void name(const void *w, size_t ws, int64_t nr, const void *act, size_t as, int64_t nt, int64_t n, \
                            float *y, int64_t ys)                                                                   \
    {                                                                                                               \
        tile(w, ws, nr, act, as, nt, n, y, ys, BITS, MIN);                                                          \
    }
TILE(tile_q4_0, 4, 0)
TILE(tile_q4_1, 4, 1)
TILE(tile_q5_0, 5, 0)
TILE(tile_q5_1, 5, 1)
TILE(tile_q8_0, 8, 0)
TILE(tile_iq4_nl, IQ4NL_BITS, 0)

static int has_vnni(void)
{
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512dq") &&
                 __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                 xq_cpu_has_f16c();
    }
    return cached;
}

qdot_tile_fn qdot_avx512_tile_kernel(uint32_t wtype)
{
    if (!has_vnni()) return NULL;
    switch (wtype) {
    case QT_Q8_0: return tile_q8_0;
    case QT_Q4_0: return tile_q4_0;
    case QT_Q4_1: return tile_q4_1;
    case QT_Q5_0: return tile_q5_0;
    case QT_Q5_1: return tile_q5_1;
    case QT_IQ4_NL: return tile_iq4_nl;
    default: return NULL;
    }
}

#else

qdot_tile_fn qdot_avx512_tile_kernel(uint32_t wtype)
{
    (void)wtype;
    return NULL;
}

#endif

/* No one-row AVX-512 kernels: the engine uses tiles; qdot_kernel falls back to the AVX2 table. */
qdot_fn qdot_avx512_kernel(uint32_t wtype)
{
    (void)wtype;
    return NULL;
}
