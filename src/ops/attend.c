/* Attention of one query head over f32 key/value rows (ops_attend_head), vectorised across keys with AVX2 and
 * bit-identical to the scalar loops kept below as the fallback (XQ_SIMD=scalar, non-x86):
 *   score_j = (Σ_d q_d·k_jd) · scale, summed in d order with every product rounded before its sum;
 *   softmax (ops_softmax); out_d = Σ_j p_j·v_jd in j order, one fma per term.
 * The score of each key is its own chain, so eight keys share a vector (an 8×8 transpose of their rows turns
 * element d of eight keys into one register) and two such vectors run side by side. The values are already
 * vectorised over d. Products are kept out of fmas by an empty asm on the product (the compiler's contraction
 * of a·b + c would otherwise depend on flags and tuning). */
#include <math.h>
#include <string.h>

#include "base/fp16.h"
#include "ops/keep.h"
#include "ops/ops.h"
#include "ops/qdot.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define ATT_X86 1
#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define AVX2_INLINE __attribute__((target("avx2,fma,f16c"), always_inline)) inline
#endif

/* ---- scalar --------------------------------------------------------------------------------------------- */

static float score_scalar(const float *q, const float *k, int head_dim)
{
    float s = 0.0f;
    for (int d = 0; d < head_dim; d++) {
        float p = q[d] * k[d];
        KEEP(p);
        s += p;
    }
    return s;
}

static void scores_scalar(const float *q, const float *K, int64_t n_keys, int64_t row_stride, int head_dim,
                          float scale, float *scores)
{
    for (int64_t j = 0; j < n_keys; j++) scores[j] = score_scalar(q, K + j * row_stride, head_dim) * scale;
}

static void scores_kt_scalar(const float *q, const float *Kt, int64_t ld, int64_t n_keys, int head_dim, float scale,
                             float *scores)
{
    for (int64_t j = 0; j < n_keys; j++) {
        float s = 0.0f;
        for (int d = 0; d < head_dim; d++) {
            float p = q[d] * Kt[d * ld + j];
            KEEP(p);
            s += p;
        }
        scores[j] = s * scale;
    }
}

/* Scores of n_q heads (query h at q + h·head_dim, its scores at scores + h·ld) over f32 key rows: score_scalar. */
static void scores_heads_scalar(const float *q, int n_q, const float *K, int64_t n_keys, int64_t row_stride,
                                int head_dim, float scale, float *scores, int64_t ld)
{
    for (int64_t j = 0; j < n_keys; j++)
        for (int h = 0; h < n_q; h++)
            scores[h * ld + j] = score_scalar(q + h * head_dim, K + j * row_stride, head_dim) * scale;
}

/* Element d of value row j, from f32 or fp16 rows (the scalar conversion's bits). */
static inline float value_at(const void *V, bool fp16, int64_t idx)
{
    return fp16 ? xq_fp16_to_f32(((const uint16_t *)V)[idx]) : ((const float *)V)[idx];
}

/* out_d = fma(p_j, v_jd, out_d) for j in order, from zero, or (accumulate) onto out as it is. */
static void values_scalar(const float *p, const void *V, bool fp16, int64_t n_keys, int64_t row_stride, int head_dim,
                          bool accumulate, float *out)
{
    if (!accumulate) memset(out, 0, (size_t)head_dim * sizeof(float));
    for (int64_t j = 0; j < n_keys; j++)
        for (int d = 0; d < head_dim; d++) out[d] = fmaf(p[j], value_at(V, fp16, j * row_stride + d), out[d]);
}

/* ---- AVX2 ----------------------------------------------------------------------------------------------- */

#ifdef ATT_X86
/* An 8×8 transpose in registers: r[m] lane i = a[i] lane m (a is clobbered). */
static AVX2_INLINE void transpose8(__m256 a[8], __m256 r[8])
{
    __m256 b[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i += 2) {
        b[i] = _mm256_unpacklo_ps(a[i], a[i + 1]);
        b[i + 1] = _mm256_unpackhi_ps(a[i], a[i + 1]);
    }
#pragma GCC unroll 8
    for (int i = 0; i < 8; i += 4) {
        a[i] = _mm256_shuffle_ps(b[i], b[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        a[i + 1] = _mm256_shuffle_ps(b[i], b[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        a[i + 2] = _mm256_shuffle_ps(b[i + 1], b[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        a[i + 3] = _mm256_shuffle_ps(b[i + 1], b[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
#pragma GCC unroll 8
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(a[i], a[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(a[i], a[i + 4], 0x31);
    }
}

/* r[m] = element d0+m of rows 0..7 (rows at p + i·stride). */
static AVX2_INLINE void load_transposed(const float *p, int64_t stride, __m256 r[8])
{
    __m256 a[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) a[i] = _mm256_loadu_ps(p + i * stride);
    transpose8(a, r);
}

/* s += q_d · column d of eight keys, for d in [d0, d0+8), in order. */
static AVX2_INLINE __m256 add_columns(__m256 s, const float *q, const float *k, int64_t stride)
{
    __m256 c[8];
    load_transposed(k, stride, c);
#pragma GCC unroll 8
    for (int m = 0; m < 8; m++) {
        __m256 p = _mm256_mul_ps(_mm256_broadcast_ss(q + m), c[m]);
        KEEP(p);
        s = _mm256_add_ps(s, p);
    }
    return s;
}

/* The head_dim % 8 tail, element by element in order (lane i = key i). */
static AVX2_INLINE __m256 add_tail(__m256 s, const float *q, const float *k, int64_t stride, int d0, int head_dim)
{
    for (int d = d0; d < head_dim; d++) {
        __m256 col = _mm256_set_ps(k[7 * stride + d], k[6 * stride + d], k[5 * stride + d], k[4 * stride + d],
                                   k[3 * stride + d], k[2 * stride + d], k[stride + d], k[d]);
        __m256 p = _mm256_mul_ps(_mm256_set1_ps(q[d]), col);
        KEEP(p);
        s = _mm256_add_ps(s, p);
    }
    return s;
}

AVX2 static void scores_avx2(const float *q, const float *K, int64_t n_keys, int64_t row_stride, int head_dim,
                             float scale, float *scores)
{
    const __m256 sc = _mm256_set1_ps(scale);
    int d8 = head_dim & ~7;
    int64_t j = 0;
    for (; j + 16 <= n_keys; j += 16) {
        const float *k0 = K + j * row_stride, *k1 = k0 + 8 * row_stride;
        __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
        for (int d = 0; d < d8; d += 8) {
            s0 = add_columns(s0, q + d, k0 + d, row_stride);
            s1 = add_columns(s1, q + d, k1 + d, row_stride);
        }
        s0 = add_tail(s0, q, k0, row_stride, d8, head_dim);
        s1 = add_tail(s1, q, k1, row_stride, d8, head_dim);
        _mm256_storeu_ps(scores + j, _mm256_mul_ps(s0, sc));
        _mm256_storeu_ps(scores + j + 8, _mm256_mul_ps(s1, sc));
    }
    for (; j + 8 <= n_keys; j += 8) {
        const float *k0 = K + j * row_stride;
        __m256 s0 = _mm256_setzero_ps();
        for (int d = 0; d < d8; d += 8) s0 = add_columns(s0, q + d, k0 + d, row_stride);
        s0 = add_tail(s0, q, k0, row_stride, d8, head_dim);
        _mm256_storeu_ps(scores + j, _mm256_mul_ps(s0, sc));
    }
    for (; j < n_keys; j++) scores[j] = score_scalar(q, K + j * row_stride, head_dim) * scale;
}

/* Keys transposed (Kt[d·ld + j]): lanes are keys, 32 in flight (four chains hide the add latency). */
AVX2 static void scores_kt_avx2(const float *q, const float *Kt, int64_t ld, int64_t n_keys, int head_dim, float scale,
                                float *scores)
{
    const __m256 sc = _mm256_set1_ps(scale);
    int64_t j = 0;
    for (; j + 32 <= n_keys; j += 32) {
        __m256 s[4];
    #pragma GCC unroll 8
        for (int b = 0; b < 4; b++) s[b] = _mm256_setzero_ps();
        for (int d = 0; d < head_dim; d++) {
            __m256 qd = _mm256_broadcast_ss(q + d);
            const float *row = Kt + d * ld + j;
        #pragma GCC unroll 8
            for (int b = 0; b < 4; b++) {
                __m256 p = _mm256_mul_ps(qd, _mm256_loadu_ps(row + 8 * b));
                KEEP(p);
                s[b] = _mm256_add_ps(s[b], p);
            }
        }
    #pragma GCC unroll 8
        for (int b = 0; b < 4; b++) _mm256_storeu_ps(scores + j + 8 * b, _mm256_mul_ps(s[b], sc));
    }
    for (; j + 8 <= n_keys; j += 8) {
        __m256 s0 = _mm256_setzero_ps();
        for (int d = 0; d < head_dim; d++) {
            __m256 p = _mm256_mul_ps(_mm256_broadcast_ss(q + d), _mm256_loadu_ps(Kt + d * ld + j));
            KEEP(p);
            s0 = _mm256_add_ps(s0, p);
        }
        _mm256_storeu_ps(scores + j, _mm256_mul_ps(s0, sc));
    }
    if (j < n_keys) scores_kt_scalar(q, Kt + j, ld, n_keys - j, head_dim, scale, scores + j);
}

/* The same with 16 keys per register and eight registers in flight (the add latency, not the issue width, bounds
 * one register's chain). */
#define AVX512 __attribute__((target("avx512f,avx2,fma")))
#define KEEP512(v) __asm__("" : "+v"(v))
AVX512 static void scores_kt_avx512(const float *q, const float *Kt, int64_t ld, int64_t n_keys, int head_dim, float scale,
                                    float *scores)
{
    const __m512 sc = _mm512_set1_ps(scale);
    int64_t j = 0;
    for (; j + 128 <= n_keys; j += 128) {
        __m512 s[8];
#pragma GCC unroll 8
        for (int b = 0; b < 8; b++) s[b] = _mm512_setzero_ps();
        for (int d = 0; d < head_dim; d++) {
            __m512 qd = _mm512_set1_ps(q[d]);
            const float *row = Kt + d * ld + j;
#pragma GCC unroll 8
            for (int b = 0; b < 8; b++) {
                __m512 p = _mm512_mul_ps(qd, _mm512_loadu_ps(row + 16 * b));
                KEEP512(p);
                s[b] = _mm512_add_ps(s[b], p);
            }
        }
#pragma GCC unroll 8
        for (int b = 0; b < 8; b++) _mm512_storeu_ps(scores + j + 16 * b, _mm512_mul_ps(s[b], sc));
    }
    for (; j < n_keys; j += 16) {
        __mmask16 m = n_keys - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n_keys - j)) - 1);
        __m512 s0 = _mm512_setzero_ps();
        for (int d = 0; d < head_dim; d++) {
            __m512 p = _mm512_mul_ps(_mm512_set1_ps(q[d]), _mm512_maskz_loadu_ps(m, Kt + d * ld + j));
            KEEP512(p);
            s0 = _mm512_add_ps(s0, p);
        }
        _mm512_mask_storeu_ps(scores + j, m, _mm512_mul_ps(s0, sc));
    }
}

/* Scores of up to four query rows (row r at q + r·head_dim, its scores at scores + r·s_ld) over the same keys:
 * each 16-key vector of Kt is loaded once for all rows, four vectors (64 keys) per pass, so the loads no longer
 * bound the loop. Per row and key the chain of scores_kt_avx512 (products rounded, added in d order, then
 * scaled): its bits. */
#define AVX512_INLINE __attribute__((target("avx512f,avx2,fma"), always_inline)) inline
enum { SCORE_ROWS = 4, SCORE_VECS = 4 }; /* SCORE_ROWS = SCORE_ROWS_MAX */
static AVX512_INLINE void scores_kt_rows_body(const float *q, const int nq, int head_dim, const float *Kt, int64_t ld,
                                              int64_t n_keys, float scale, float *scores, int64_t s_ld)
{
    const __m512 sc = _mm512_set1_ps(scale);
    int64_t j = 0;
    for (; j + 16 * SCORE_VECS <= n_keys; j += 16 * SCORE_VECS) {
        __m512 acc[SCORE_ROWS][SCORE_VECS];
        for (int r = 0; r < nq; r++)
#pragma GCC unroll 4
            for (int b = 0; b < SCORE_VECS; b++) acc[r][b] = _mm512_setzero_ps();
        for (int d = 0; d < head_dim; d++) {
            __m512 k[SCORE_VECS];
#pragma GCC unroll 4
            for (int b = 0; b < SCORE_VECS; b++) {
                k[b] = _mm512_loadu_ps(Kt + d * ld + j + 16 * b);
                KEEP512(k[b]); /* loaded once: folded into each row's multiply it would be loaded once per row */
            }
            for (int r = 0; r < nq; r++) {
                __m512 qd = _mm512_set1_ps(q[r * head_dim + d]);
#pragma GCC unroll 4
                for (int b = 0; b < SCORE_VECS; b++) {
                    __m512 p = _mm512_mul_ps(qd, k[b]);
                    KEEP512(p);
                    acc[r][b] = _mm512_add_ps(acc[r][b], p);
                }
            }
        }
        for (int r = 0; r < nq; r++)
#pragma GCC unroll 4
            for (int b = 0; b < SCORE_VECS; b++)
                _mm512_storeu_ps(scores + r * s_ld + j + 16 * b, _mm512_mul_ps(acc[r][b], sc));
    }
    for (; j < n_keys; j += 16) {
        __mmask16 m = n_keys - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n_keys - j)) - 1);
        __m512 acc[SCORE_ROWS];
        for (int r = 0; r < nq; r++) acc[r] = _mm512_setzero_ps();
        for (int d = 0; d < head_dim; d++) {
            __m512 k = _mm512_maskz_loadu_ps(m, Kt + d * ld + j);
            for (int r = 0; r < nq; r++) {
                __m512 p = _mm512_mul_ps(_mm512_set1_ps(q[r * head_dim + d]), k);
                KEEP512(p);
                acc[r] = _mm512_add_ps(acc[r], p);
            }
        }
        for (int r = 0; r < nq; r++) _mm512_mask_storeu_ps(scores + r * s_ld + j, m, _mm512_mul_ps(acc[r], sc));
    }
}

/* Any number of rows, four at a time, each count its own inlined body (the row loops unroll); the driver of the
 * AVX-512 and AVX2 bodies alike. */
#define SCORES_KT_ROW_GROUPS(BODY)                                                                                    \
    for (int r = 0; r < n_rows; r += SCORE_ROWS) {                                                                    \
        const float *qr = q + (int64_t)r * head_dim;                                                                  \
        float *sr = scores + r * s_ld;                                                                                \
        switch (n_rows - r < SCORE_ROWS ? n_rows - r : SCORE_ROWS) {                                                  \
        case 4: BODY(qr, 4, head_dim, Kt, ld, n_keys, scale, sr, s_ld); break;                                        \
        case 3: BODY(qr, 3, head_dim, Kt, ld, n_keys, scale, sr, s_ld); break;                                        \
        case 2: BODY(qr, 2, head_dim, Kt, ld, n_keys, scale, sr, s_ld); break;                                        \
        default: BODY(qr, 1, head_dim, Kt, ld, n_keys, scale, sr, s_ld); break;                                       \
        }                                                                                                             \
    }

AVX512 static void scores_kt_rows_avx512(const float *q, int n_rows, int head_dim, const float *Kt, int64_t ld,
                                         int64_t n_keys, float scale, float *scores, int64_t s_ld)
{
    SCORES_KT_ROW_GROUPS(scores_kt_rows_body)
}

/* values_scalar's sums of up to four rows over the same value rows (probabilities of row r at p[r], its sums at
 * out[r], from zero or onto what they hold): each value row's 16-element vectors are loaded (converted) once for
 * all rows, then one fma per row and element in key order. NV vectors (16·NV elements from d0) per pass. */
static AVX512_INLINE void values_rows_body(const float *const *p, const int nq, const void *V, const bool fp16,
                                           const bool accumulate, int64_t n_keys, int64_t row_stride, int d0,
                                           const int NV, float *const *out)
{
    __m512 acc[SCORE_ROWS][4];
    for (int r = 0; r < nq; r++)
        for (int b = 0; b < NV; b++)
            acc[r][b] = accumulate ? _mm512_loadu_ps(out[r] + d0 + 16 * b) : _mm512_setzero_ps();
    for (int64_t j = 0; j < n_keys; j++) {
        __m512 v[4];
        for (int b = 0; b < NV; b++) {
            int64_t idx = j * row_stride + d0 + 16 * b;
            v[b] = fp16 ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)V + idx)))
                        : _mm512_loadu_ps((const float *)V + idx);
        }
        for (int r = 0; r < nq; r++) {
            __m512 pj = _mm512_set1_ps(p[r][j]);
            for (int b = 0; b < NV; b++) acc[r][b] = _mm512_fmadd_ps(pj, v[b], acc[r][b]);
        }
    }
    for (int r = 0; r < nq; r++)
        for (int b = 0; b < NV; b++) _mm512_storeu_ps(out[r] + d0 + 16 * b, acc[r][b]);
}

/* The first width & ~15 elements of nq ≤ 4 rows' sums, 64 at a time, then 16 at a time; each row count and row
 * type its own inlined body. */
#define VALUES_ROWS_PASS(NQ, NV)                                                                                      \
    do {                                                                                                              \
        if (fp16 && accumulate) values_rows_body(p, NQ, V, true, true, n_keys, row_stride, d, NV, out);             \
        else if (fp16) values_rows_body(p, NQ, V, true, false, n_keys, row_stride, d, NV, out);                     \
        else if (accumulate) values_rows_body(p, NQ, V, false, true, n_keys, row_stride, d, NV, out);               \
        else values_rows_body(p, NQ, V, false, false, n_keys, row_stride, d, NV, out);                              \
    } while (0)
#define VALUES_ROWS_WIDTH(NQ)                                                                                         \
    do {                                                                                                              \
        for (; d + 64 <= width; d += 64) VALUES_ROWS_PASS(NQ, 4);                                                     \
        for (; d + 16 <= width; d += 16) VALUES_ROWS_PASS(NQ, 1);                                                     \
    } while (0)
AVX512 static int values_rows_avx512(const float *const *p, int nq, const void *V, bool fp16, bool accumulate,
                                     int64_t n_keys, int64_t row_stride, int width, float *const *out)
{
    int d = 0;
    switch (nq) {
    case 4: VALUES_ROWS_WIDTH(4); break;
    case 3: VALUES_ROWS_WIDTH(3); break;
    case 2: VALUES_ROWS_WIDTH(2); break;
    default: VALUES_ROWS_WIDTH(1); break;
    }
    return d;
}
#undef VALUES_ROWS_WIDTH
#undef VALUES_ROWS_PASS

/* dst[d·ld + j] = row j's element d, 8 rows × 8 elements per transpose. */
AVX2 static void transpose_avx2(const float *rows, int64_t n, int head_dim, float *dst, int64_t ld, int64_t j0)
{
    int d = 0;
    for (; d + 8 <= head_dim; d += 8) {
        __m256 c[8];
        load_transposed(rows + d, head_dim, c);
    #pragma GCC unroll 8
        for (int m = 0; m < 8; m++) _mm256_storeu_ps(dst + (d + m) * ld + j0, c[m]);
    }
    for (; d < head_dim; d++)
        for (int64_t j = 0; j < n; j++) dst[d * ld + j0 + j] = rows[j * head_dim + d];
}

/* 8 values from f32 or fp16 (F16C: exact; a signalling NaN comes out quiet, which the fma it feeds makes of it
 * anyway, so the sums have the scalar path's bits). */
static AVX2_INLINE __m256 load_values(const void *V, bool fp16, int64_t idx)
{
    if (fp16) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)V + idx)));
    return _mm256_loadu_ps((const float *)V + idx);
}

/* values_scalar's sums; 8 lanes of d per register, up to 64 dims per pass. */
static AVX2_INLINE void values_body(const float *p, const void *V, bool fp16, int64_t n_keys, int64_t row_stride,
                                    int head_dim, bool accumulate, float *out)
{
    int d = 0;
    for (; d + 64 <= head_dim; d += 64) {
        __m256 acc[8];
#pragma GCC unroll 8
        for (int m = 0; m < 8; m++) acc[m] = accumulate ? _mm256_loadu_ps(out + d + 8 * m) : _mm256_setzero_ps();
        for (int64_t j = 0; j < n_keys; j++) {
            __m256 pj = _mm256_broadcast_ss(p + j);
#pragma GCC unroll 8
            for (int m = 0; m < 8; m++) acc[m] = _mm256_fmadd_ps(pj, load_values(V, fp16, j * row_stride + d + 8 * m), acc[m]);
        }
#pragma GCC unroll 8
        for (int m = 0; m < 8; m++) _mm256_storeu_ps(out + d + 8 * m, acc[m]);
    }
    for (; d + 8 <= head_dim; d += 8) {
        __m256 acc = accumulate ? _mm256_loadu_ps(out + d) : _mm256_setzero_ps();
        for (int64_t j = 0; j < n_keys; j++)
            acc = _mm256_fmadd_ps(_mm256_broadcast_ss(p + j), load_values(V, fp16, j * row_stride + d), acc);
        _mm256_storeu_ps(out + d, acc);
    }
    for (; d < head_dim; d++) {
        float acc = accumulate ? out[d] : 0.0f;
        for (int64_t j = 0; j < n_keys; j++) acc = fmaf(p[j], value_at(V, fp16, j * row_stride + d), acc);
        out[d] = acc;
    }
}

AVX2 static void values_avx2(const float *p, const void *V, bool fp16, int64_t n_keys, int64_t row_stride, int head_dim,
                             bool accumulate, float *out)
{
    /* each combination its own inlined body, so neither flag is tested inside the loops */
    if (fp16 && accumulate) values_body(p, V, true, n_keys, row_stride, head_dim, true, out);
    else if (fp16) values_body(p, V, true, n_keys, row_stride, head_dim, false, out);
    else if (accumulate) values_body(p, V, false, n_keys, row_stride, head_dim, true, out);
    else values_body(p, V, false, n_keys, row_stride, head_dim, false, out);
}

/* The AVX2 forms of the two: four rows over two 8-key vectors per pass for the scores (16 registers allow no
 * more), and four rows over 16 elements per pass for the values; the same chains, so the same bits. */
static AVX2_INLINE void scores_kt_rows_body_avx2(const float *q, const int nq, int head_dim, const float *Kt,
                                                 int64_t ld, int64_t n_keys, float scale, float *scores, int64_t s_ld)
{
    const __m256 sc = _mm256_set1_ps(scale);
    int64_t j = 0;
    for (; j + 16 <= n_keys; j += 16) {
        __m256 acc[SCORE_ROWS][2];
        for (int r = 0; r < nq; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
        for (int d = 0; d < head_dim; d++) {
            __m256 k0 = _mm256_loadu_ps(Kt + d * ld + j), k1 = _mm256_loadu_ps(Kt + d * ld + j + 8);
            KEEP(k0);
            KEEP(k1);
            for (int r = 0; r < nq; r++) {
                __m256 qd = _mm256_broadcast_ss(q + r * head_dim + d);
                __m256 p0 = _mm256_mul_ps(qd, k0), p1 = _mm256_mul_ps(qd, k1);
                KEEP(p0);
                KEEP(p1);
                acc[r][0] = _mm256_add_ps(acc[r][0], p0);
                acc[r][1] = _mm256_add_ps(acc[r][1], p1);
            }
        }
        for (int r = 0; r < nq; r++) {
            _mm256_storeu_ps(scores + r * s_ld + j, _mm256_mul_ps(acc[r][0], sc));
            _mm256_storeu_ps(scores + r * s_ld + j + 8, _mm256_mul_ps(acc[r][1], sc));
        }
    }
    for (int r = 0; j < n_keys && r < nq; r++)
        scores_kt_avx2(q + r * head_dim, Kt + j, ld, n_keys - j, head_dim, scale, scores + r * s_ld + j);
}

AVX2 static void scores_kt_rows_avx2(const float *q, int n_rows, int head_dim, const float *Kt, int64_t ld,
                                     int64_t n_keys, float scale, float *scores, int64_t s_ld)
{
    SCORES_KT_ROW_GROUPS(scores_kt_rows_body_avx2)
}
#undef SCORES_KT_ROW_GROUPS

static AVX2_INLINE void values_rows_body_avx2(const float *const *p, const int nq, const void *V, const bool fp16,
                                              const bool accumulate, int64_t n_keys, int64_t row_stride, int d0,
                                              float *const *out)
{
    __m256 acc[SCORE_ROWS][2];
    for (int r = 0; r < nq; r++)
        for (int b = 0; b < 2; b++)
            acc[r][b] = accumulate ? _mm256_loadu_ps(out[r] + d0 + 8 * b) : _mm256_setzero_ps();
    for (int64_t j = 0; j < n_keys; j++) {
        __m256 v0 = load_values(V, fp16, j * row_stride + d0), v1 = load_values(V, fp16, j * row_stride + d0 + 8);
        for (int r = 0; r < nq; r++) {
            __m256 pj = _mm256_broadcast_ss(p[r] + j);
            acc[r][0] = _mm256_fmadd_ps(pj, v0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(pj, v1, acc[r][1]);
        }
    }
    for (int r = 0; r < nq; r++)
        for (int b = 0; b < 2; b++) _mm256_storeu_ps(out[r] + d0 + 8 * b, acc[r][b]);
}

#define VALUES_ROWS_PASS_AVX2(NQ)                                                                                     \
    do {                                                                                                              \
        for (; d + 16 <= width; d += 16) {                                                                            \
            if (fp16 && accumulate) values_rows_body_avx2(p, NQ, V, true, true, n_keys, row_stride, d, out);         \
            else if (fp16) values_rows_body_avx2(p, NQ, V, true, false, n_keys, row_stride, d, out);                 \
            else if (accumulate) values_rows_body_avx2(p, NQ, V, false, true, n_keys, row_stride, d, out);           \
            else values_rows_body_avx2(p, NQ, V, false, false, n_keys, row_stride, d, out);                          \
        }                                                                                                             \
    } while (0)
AVX2 static int values_rows_avx2(const float *const *p, int nq, const void *V, bool fp16, bool accumulate,
                                 int64_t n_keys, int64_t row_stride, int width, float *const *out)
{
    int d = 0;
    switch (nq) {
    case 4: VALUES_ROWS_PASS_AVX2(4); break;
    case 3: VALUES_ROWS_PASS_AVX2(3); break;
    case 2: VALUES_ROWS_PASS_AVX2(2); break;
    default: VALUES_ROWS_PASS_AVX2(1); break;
    }
    return d;
}
#undef VALUES_ROWS_PASS_AVX2

/* Whether any of eight fp16 rows holds a NaN (F16C would quiet a signalling one). */
static AVX2_INLINE int any_nan8_fp16(const uint16_t *src, int64_t stride, int head_dim)
{
    const __m128i mag = _mm_set1_epi16(0x7fff), inf = _mm_set1_epi16(0x7c00);
    __m128i any = _mm_setzero_si128();
    int d8 = head_dim & ~7;
    for (int r = 0; r < 8; r++) {
        for (int d = 0; d < d8; d += 8)
            any = _mm_or_si128(any, _mm_cmpgt_epi16(_mm_and_si128(_mm_loadu_si128((const __m128i *)(src + r * stride + d)), mag), inf));
        for (int d = d8; d < head_dim; d++)
            if ((src[r * stride + d] & 0x7fff) > 0x7c00) return 1;
    }
    return !_mm_testz_si128(any, any);
}

/* Eight fp16 rows (at src + r·stride) × head_dim transposed into dst[d·ld + j0 + r], if none holds a NaN (F16C
 * would quiet a signalling one; the caller then takes the scalar conversion). */
AVX2 static int transpose8_fp16(const uint16_t *src, int64_t stride, int head_dim, float *dst, int64_t ld, int64_t j0)
{
    if (any_nan8_fp16(src, stride, head_dim)) return 0;
    int d8 = head_dim & ~7;
    for (int d = 0; d < d8; d += 8) {
        __m256 a[8], c[8];
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) a[i] = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i * stride + d)));
        transpose8(a, c);
#pragma GCC unroll 8
        for (int m = 0; m < 8; m++) _mm256_storeu_ps(dst + (d + m) * ld + j0, c[m]);
    }
    for (int d = d8; d < head_dim; d++)
        for (int r = 0; r < 8; r++) dst[d * ld + j0 + r] = _cvtsh_ss(src[r * stride + d]);
    return 1;
}
#endif

#ifdef ATT_X86
enum { SCORE_HEADS = 8, VALUE_HEADS = 3 };

/* values_scalar's sums for nq ≤ VALUE_HEADS heads (probabilities at p + h·p_ld, sums at out + h·out_ld, onto what
 * they hold) over the same f32 value rows: each row's 32-wide slice is loaded once for all heads, then one fma per
 * head and element in key order. Columns past the last 32-wide slice go through values_avx2 head by head. */
static AVX2_INLINE void values_heads_body(const float *p, int64_t p_ld, const int nq, const float *V, int64_t n_keys,
                                          int64_t row_stride, int width, float *out, int64_t out_ld)
{
    int d = 0;
    for (; d + 32 <= width; d += 32) {
        __m256 acc[VALUE_HEADS][4];
        for (int h = 0; h < nq; h++)
            for (int m = 0; m < 4; m++) acc[h][m] = _mm256_loadu_ps(out + h * out_ld + d + 8 * m);
        for (int64_t j = 0; j < n_keys; j++) {
            __m256 v[4];
#pragma GCC unroll 4
            for (int m = 0; m < 4; m++) v[m] = _mm256_loadu_ps(V + j * row_stride + d + 8 * m);
            for (int h = 0; h < nq; h++) {
                __m256 pj = _mm256_broadcast_ss(p + h * p_ld + j);
#pragma GCC unroll 4
                for (int m = 0; m < 4; m++) acc[h][m] = _mm256_fmadd_ps(pj, v[m], acc[h][m]);
            }
        }
        for (int h = 0; h < nq; h++)
            for (int m = 0; m < 4; m++) _mm256_storeu_ps(out + h * out_ld + d + 8 * m, acc[h][m]);
    }
    for (int h = 0; d < width && h < nq; h++)
        values_avx2(p + h * p_ld, V + d, false, n_keys, row_stride, width - d, true, out + h * out_ld + d);
}

/* n_q heads in passes of VALUE_HEADS, each head count its own inlined body (the loops over heads unroll). */
AVX2 static void values_heads_avx2(const float *p, int64_t p_ld, int n_q, const float *V, int64_t n_keys,
                                   int64_t row_stride, int width, float *out, int64_t out_ld)
{
    for (int h0 = 0; h0 < n_q; h0 += VALUE_HEADS, p += VALUE_HEADS * p_ld, out += VALUE_HEADS * out_ld) {
        int nq = n_q - h0 < VALUE_HEADS ? n_q - h0 : VALUE_HEADS;
        if (nq == 3) values_heads_body(p, p_ld, 3, V, n_keys, row_stride, width, out, out_ld);
        else if (nq == 2) values_heads_body(p, p_ld, 2, V, n_keys, row_stride, width, out, out_ld);
        else values_heads_body(p, p_ld, 1, V, n_keys, row_stride, width, out, out_ld);
    }
}

/* Eight keys at a time: each 8 × 8 block of f32 key rows loaded and transposed in registers once, then every head
 * adds its products in d order with each product rounded (lane i = key i): score_scalar's bits per head, without
 * writing transposed keys to memory. n_q ≤ SCORE_HEADS. */
static AVX2_INLINE void scores_heads_body(const float *q, int n_q, const float *K, int64_t n_keys, int64_t row_stride,
                                          int head_dim, float scale, float *scores, int64_t ld)
{
    const __m256 sc = _mm256_set1_ps(scale);
    int d8 = head_dim & ~7;
    int64_t j = 0;
    for (; j + 8 <= n_keys; j += 8) {
        __m256 acc[SCORE_HEADS];
        for (int h = 0; h < n_q; h++) acc[h] = _mm256_setzero_ps();
        for (int d = 0; d < d8; d += 8) {
            __m256 a[8], c[8];
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++) a[i] = _mm256_loadu_ps(K + (j + i) * row_stride + d);
            transpose8(a, c);
            for (int h = 0; h < n_q; h++) {
                const float *qh = q + h * head_dim + d;
                __m256 s = acc[h];
#pragma GCC unroll 8
                for (int m = 0; m < 8; m++) {
                    __m256 p = _mm256_mul_ps(_mm256_broadcast_ss(qh + m), c[m]);
                    KEEP(p);
                    s = _mm256_add_ps(s, p);
                }
                acc[h] = s;
            }
        }
        for (int d = d8; d < head_dim; d++) {
            float col[8];
            for (int i = 0; i < 8; i++) col[i] = K[(j + i) * row_stride + d];
            __m256 c = _mm256_loadu_ps(col);
            for (int h = 0; h < n_q; h++) {
                __m256 p = _mm256_mul_ps(_mm256_set1_ps(q[h * head_dim + d]), c);
                KEEP(p);
                acc[h] = _mm256_add_ps(acc[h], p);
            }
        }
        for (int h = 0; h < n_q; h++) _mm256_storeu_ps(scores + h * ld + j, _mm256_mul_ps(acc[h], sc));
    }
    scores_heads_scalar(q, n_q, K + j * row_stride, n_keys - j, row_stride, head_dim, scale, scores + j, ld);
}

/* n_q heads in passes of SCORE_HEADS. */
AVX2 static void scores_heads_avx2(const float *q, int n_q, const float *K, int64_t n_keys, int64_t row_stride,
                                   int head_dim, float scale, float *scores, int64_t ld)
{
    for (int h0 = 0; h0 < n_q; h0 += SCORE_HEADS, q += SCORE_HEADS * head_dim, scores += SCORE_HEADS * ld) {
        int n = n_q - h0 < SCORE_HEADS ? n_q - h0 : SCORE_HEADS;
        scores_heads_body(q, n, K, n_keys, row_stride, head_dim, scale, scores, ld);
    }
}
#endif

static int use_avx2(void)
{
#ifdef ATT_X86
    static int cached = -1;
    if (cached < 0) cached = qdot_active_level() >= QDOT_AVX2;
    return cached;
#else
    return 0;
#endif
}

static int use_avx512(void)
{
#ifdef ATT_X86
    static int cached = -1;
    if (cached < 0) cached = qdot_active_level() >= QDOT_AVX512;
    return cached;
#else
    return 0;
#endif
}

void ops_transpose_rows(const void *src, bool fp16, int64_t stride, int64_t n, int head_dim, float *dst, int64_t ld)
{
    enum { ROWS = 8 };
    float tmp[ROWS * head_dim];
    for (int64_t j0 = 0; j0 < n; j0 += ROWS) {
        int64_t rows = n - j0 < ROWS ? n - j0 : ROWS;
#ifdef ATT_X86
        if (fp16 && rows == ROWS && use_avx2() && transpose8_fp16((const uint16_t *)src + j0 * stride, stride, head_dim, dst, ld, j0))
            continue;
#endif
        for (int64_t r = 0; r < rows; r++) {
            if (fp16) xq_fp16_to_f32_row((const uint16_t *)src + (j0 + r) * stride, tmp + r * head_dim, head_dim);
            else memcpy(tmp + r * head_dim, (const float *)src + (j0 + r) * stride, (size_t)head_dim * sizeof(float));
        }
#ifdef ATT_X86
        if (rows == ROWS && use_avx2()) {
            transpose_avx2(tmp, ROWS, head_dim, dst, ld, j0);
            continue;
        }
#endif
        for (int64_t r = 0; r < rows; r++)
            for (int d = 0; d < head_dim; d++) dst[d * ld + j0 + r] = tmp[r * head_dim + d];
    }
}

/* The value sums at the active level (values_scalar's bits either way). */
static void values(const float *p, const void *V, bool fp16, int64_t n_keys, int64_t row_stride, int width,
                   bool accumulate, float *out)
{
#ifdef ATT_X86
    if (use_avx2()) values_avx2(p, V, fp16, n_keys, row_stride, width, accumulate, out);
    else
#endif
        values_scalar(p, V, fp16, n_keys, row_stride, width, accumulate, out);
}

void ops_attend_scores(const float *q, const float *K, int64_t n_keys, int64_t row_stride, int head_dim, float scale,
                       float *scores)
{
#ifdef ATT_X86
    if (use_avx2()) scores_avx2(q, K, n_keys, row_stride, head_dim, scale, scores);
    else
#endif
        scores_scalar(q, K, n_keys, row_stride, head_dim, scale, scores);
}

void ops_attend_scores_kt(const float *q, const float *Kt, int64_t kt_ld, int64_t n_keys, int head_dim, float scale,
                          float *scores)
{
#ifdef ATT_X86
    if (use_avx512()) scores_kt_avx512(q, Kt, kt_ld, n_keys, head_dim, scale, scores);
    else if (use_avx2()) scores_kt_avx2(q, Kt, kt_ld, n_keys, head_dim, scale, scores);
    else
#endif
        scores_kt_scalar(q, Kt, kt_ld, n_keys, head_dim, scale, scores);
}

#ifdef ATT_X86
/* The multi-row kernels at the active level (AVX2 or above: the callers check use_avx2()). */
static void scores_kt_rows_simd(const float *q, int n_rows, int head_dim, const float *Kt, int64_t ld, int64_t n_keys,
                                float scale, float *scores, int64_t s_ld)
{
    if (use_avx512()) scores_kt_rows_avx512(q, n_rows, head_dim, Kt, ld, n_keys, scale, scores, s_ld);
    else scores_kt_rows_avx2(q, n_rows, head_dim, Kt, ld, n_keys, scale, scores, s_ld);
}

/* Returns the elements done: a multiple of 16 (the rest is the caller's). */
static int values_rows_simd(const float *const *p, int nq, const void *V, bool fp16, bool accumulate, int64_t n_keys,
                            int64_t row_stride, int width, float *const *out)
{
    if (use_avx512()) return values_rows_avx512(p, nq, V, fp16, accumulate, n_keys, row_stride, width, out);
    return values_rows_avx2(p, nq, V, fp16, accumulate, n_keys, row_stride, width, out);
}
#endif

void ops_attend_scores_kt_heads(const float *q, int n_q, const float *Kt, int64_t kt_ld, int64_t n_keys, int head_dim,
                                float scale, float *scores, int64_t ld)
{
#ifdef ATT_X86
    if (use_avx2()) {
        scores_kt_rows_simd(q, n_q, head_dim, Kt, kt_ld, n_keys, scale, scores, ld);
        return;
    }
#endif
    for (int h = 0; h < n_q; h++)
        ops_attend_scores_kt(q + (int64_t)h * head_dim, Kt, kt_ld, n_keys, head_dim, scale, scores + h * ld);
}

/* The query as the scores see it: rounded to fp16 with fp16 operands (llama.cpp with an f16 cache), else as is. */
static void query_operands(const float *q, int64_t n, bool fp16_operands, float *qr)
{
    if (fp16_operands) xq_round_fp16_row(q, qr, n);
    else memcpy(qr, q, (size_t)n * sizeof(float));
}

/* Scores → probabilities: softmax, then rounded to fp16 with fp16 operands. */
static void probabilities(float *scores, int64_t n_keys, bool fp16_operands)
{
    ops_softmax(scores, n_keys);
    if (fp16_operands) xq_round_fp16_row(scores, scores, n_keys);
}

void ops_attend_head_kt(const float *q, const float *Kt, int64_t kt_ld, const void *V, bool v_fp16, int64_t v_stride,
                        int64_t n_keys, int head_dim, bool fp16_operands, float *scores, float *out)
{
    float qr[head_dim];
    query_operands(q, head_dim, fp16_operands, qr);
    ops_attend_scores_kt(qr, Kt, kt_ld, n_keys, head_dim, 1.0f / sqrtf((float)head_dim), scores);
    probabilities(scores, n_keys, fp16_operands);
    values(scores, V, v_fp16, n_keys, v_stride, head_dim, false, out);
}

/* Key blocks of the row-blocked attention: a block's transposed keys (128 × head_dim floats, 32 KiB at head_dim 64)
 * and value rows stay in L1 while every row of the unit passes over them (measured: 256 and 64 no faster). */
enum { ROWS_KEY_BLOCK = 128, SCORE_ROWS_MAX = 4 };

static const void *value_rows_from(const void *V, bool v_fp16, int64_t v_stride, int64_t j)
{
    if (v_fp16) return (const uint16_t *)V + j * v_stride;
    return (const float *)V + j * v_stride;
}

/* The scores of every row over keys j0 … j0 + ROWS_KEY_BLOCK (each row up to its own n_keys) into row r's
 * scores at scores + r·kt_ld. AVX2 and AVX-512 score four rows at a time over the longest of their ranges (a
 * row's extra scores land inside its kt_ld floats and are never read); the scalar level row by row. */
static void scores_kt_rows(const float *qr, const ops_attend_row *rows, int n_rows, const float *Kt, int64_t kt_ld,
                           int64_t j0, int head_dim, float scale, float *scores)
{
    for (int r0 = 0; r0 < n_rows;) {
        int group = use_avx2() ? (n_rows - r0 < SCORE_ROWS_MAX ? n_rows - r0 : SCORE_ROWS_MAX) : 1;
        int64_t j1 = j0;
        for (int r = r0; r < r0 + group; r++) {
            int64_t end = j0 + ROWS_KEY_BLOCK < rows[r].n_keys ? j0 + ROWS_KEY_BLOCK : rows[r].n_keys;
            if (end > j1) j1 = end;
        }
        if (j1 > j0) {
#ifdef ATT_X86
            if (use_avx2())
                scores_kt_rows_simd(qr + (int64_t)r0 * head_dim, group, head_dim, Kt + j0, kt_ld, j1 - j0, scale,
                                    scores + r0 * kt_ld + j0, kt_ld);
            else
#endif
                ops_attend_scores_kt(qr + (int64_t)r0 * head_dim, Kt + j0, kt_ld, j1 - j0, head_dim, scale,
                                     scores + r0 * kt_ld + j0);
        }
        r0 += group;
    }
}

/* Adds keys j0 … j0 + ROWS_KEY_BLOCK (each row up to its own n_keys) to every row's value sums, continuing where
 * the last block left them: the same fma chain in j order as one pass. AVX2 and AVX-512 take four rows at a time
 * over the keys all of them see, then each row's element tail and own remaining keys go row by row. */
static void values_rows(const ops_attend_row *rows, int n_rows, const float *scores, int64_t kt_ld, const void *V,
                        bool v_fp16, int64_t v_stride, int64_t j0, int head_dim)
{
    for (int r0 = 0; r0 < n_rows;) {
        int group = use_avx2() ? (n_rows - r0 < SCORE_ROWS_MAX ? n_rows - r0 : SCORE_ROWS_MAX) : 1;
        int64_t common = j0 + ROWS_KEY_BLOCK;
        for (int r = r0; r < r0 + group; r++)
            if (rows[r].n_keys < common) common = rows[r].n_keys;
        int done = 0; /* elements of [j0, common) summed for every row of the group */
#ifdef ATT_X86
        if (use_avx2() && common > j0) {
            const float *p[SCORE_ROWS_MAX];
            float *out[SCORE_ROWS_MAX];
            for (int r = 0; r < group; r++) {
                p[r] = scores + (r0 + r) * kt_ld + j0;
                out[r] = rows[r0 + r].out;
            }
            done = values_rows_simd(p, group, value_rows_from(V, v_fp16, v_stride, j0), v_fp16, j0 > 0, common - j0,
                                    v_stride, head_dim, out);
        }
#endif
        for (int r = r0; r < r0 + group; r++) {
            const float *p = scores + r * kt_ld;
            int64_t end = j0 + ROWS_KEY_BLOCK < rows[r].n_keys ? j0 + ROWS_KEY_BLOCK : rows[r].n_keys;
            int64_t from = done ? common : j0; /* keys summed over all elements so far */
            if (done && common > j0 && done < head_dim) /* the element tail over the common keys */
                values(p + j0, (const char *)value_rows_from(V, v_fp16, v_stride, j0) + (size_t)done * (v_fp16 ? 2 : 4),
                       v_fp16, common - j0, v_stride, head_dim - done, j0 > 0, rows[r].out + done);
            if (end > from)
                values(p + from, value_rows_from(V, v_fp16, v_stride, from), v_fp16, end - from, v_stride, head_dim,
                       from > 0, rows[r].out);
        }
        r0 += group;
    }
}

void ops_attend_rows_kt(const ops_attend_row *rows, int n_rows, const float *Kt, int64_t kt_ld, const void *V,
                        bool v_fp16, int64_t v_stride, int head_dim, bool fp16_operands, float *scratch)
{
    if (n_rows <= 0) return;
    float *qr = scratch + (int64_t)n_rows * kt_ld;
    int64_t n_keys_max = 0;
    for (int r = 0; r < n_rows; r++) {
        query_operands(rows[r].q, head_dim, fp16_operands, qr + (int64_t)r * head_dim);
        if (rows[r].n_keys > n_keys_max) n_keys_max = rows[r].n_keys;
    }
    float scale = 1.0f / sqrtf((float)head_dim);
    for (int64_t j0 = 0; j0 < n_keys_max; j0 += ROWS_KEY_BLOCK)
        scores_kt_rows(qr, rows, n_rows, Kt, kt_ld, j0, head_dim, scale, scratch);
    int64_t n_keys[n_rows];
    for (int r = 0; r < n_rows; r++) n_keys[r] = rows[r].n_keys;
    ops_softmax_rows(scratch, kt_ld, n_keys, n_rows);
    if (fp16_operands)
        for (int r = 0; r < n_rows; r++) xq_round_fp16_row(scratch + r * kt_ld, scratch + r * kt_ld, rows[r].n_keys);
    for (int64_t j0 = 0; j0 < n_keys_max; j0 += ROWS_KEY_BLOCK)
        values_rows(rows, n_rows, scratch, kt_ld, V, v_fp16, v_stride, j0, head_dim);
}

void ops_attend_head(const float *q, const float *K, const float *V, int64_t n_keys, int64_t row_stride, int head_dim,
                     bool fp16_operands, float *scores, float *out)
{
    float qr[head_dim];
    query_operands(q, head_dim, fp16_operands, qr);
    ops_attend_scores(qr, K, n_keys, row_stride, head_dim, 1.0f / sqrtf((float)head_dim), scores);
    probabilities(scores, n_keys, fp16_operands);
    values(scores, V, false, n_keys, row_stride, head_dim, false, out);
}


#ifdef ATT_X86
/* ops_attend_values_acc_heads with AVX-512: four heads per pass over the rows (values_rows_avx512), then each head's
 * element tail past the last 16-wide block. */
static void values_heads_avx512(const float *p, int64_t p_ld, int n_q, const float *V, int64_t n_keys,
                                int64_t row_stride, int width, float *out, int64_t out_ld)
{
    for (int h0 = 0; h0 < n_q; h0 += SCORE_ROWS_MAX) {
        int group = n_q - h0 < SCORE_ROWS_MAX ? n_q - h0 : SCORE_ROWS_MAX;
        const float *ph[SCORE_ROWS_MAX];
        float *oh[SCORE_ROWS_MAX];
        for (int h = 0; h < group; h++) {
            ph[h] = p + (h0 + h) * p_ld;
            oh[h] = out + (h0 + h) * out_ld;
        }
        int d = values_rows_avx512(ph, group, V, false, true, n_keys, row_stride, width, oh);
        for (int h = 0; d < width && h < group; h++)
            values_avx2(ph[h], V + d, false, n_keys, row_stride, width - d, true, oh[h] + d);
    }
}
#endif

void ops_attend_scores_heads(const float *q, int n_q, const float *K, int64_t n_keys, int64_t row_stride, int head_dim,
                             float scale, float *scores, int64_t ld)
{
#ifdef ATT_X86
    if (use_avx2()) {
        scores_heads_avx2(q, n_q, K, n_keys, row_stride, head_dim, scale, scores, ld);
        return;
    }
#endif
    scores_heads_scalar(q, n_q, K, n_keys, row_stride, head_dim, scale, scores, ld);
}

void ops_attend_values_acc_heads(const float *p, int64_t p_ld, int n_q, const float *V, int64_t n_keys,
                                 int64_t row_stride, int width, float *out, int64_t out_ld)
{
#ifdef ATT_X86
    if (use_avx512()) {
        values_heads_avx512(p, p_ld, n_q, V, n_keys, row_stride, width, out, out_ld);
        return;
    }
    if (use_avx2()) {
        values_heads_avx2(p, p_ld, n_q, V, n_keys, row_stride, width, out, out_ld);
        return;
    }
#endif
    for (int h = 0; h < n_q; h++)
        values_scalar(p + h * p_ld, V, false, n_keys, row_stride, width, true, out + h * out_ld);
}

/* ---- keys in blocks of OPS_KEY_LANES positions, transposed within a block ----------------------------------- */

/* Element d of key j: Kb + (j / OPS_KEY_LANES)·block_stride + d·OPS_KEY_LANES + j % OPS_KEY_LANES. */
static inline int64_t kb_index(int64_t block_stride, int64_t j, int d)
{
    return (j / OPS_KEY_LANES) * block_stride + (int64_t)d * OPS_KEY_LANES + j % OPS_KEY_LANES;
}

static inline float kb_at(const void *Kb, bool fp16, int64_t idx)
{
    return fp16 ? xq_fp16_to_f32(((const uint16_t *)Kb)[idx]) : ((const float *)Kb)[idx];
}

/* score_scalar's chain for keys j0 … j1−1 of n_q heads (scores of head h at scores + h·ld). */
static void scores_kb_scalar(const float *q, int n_q, const void *Kb, bool fp16, int64_t block_stride, int64_t j0,
                             int64_t j1, int head_dim, float scale, float *scores, int64_t ld)
{
    for (int64_t j = j0; j < j1; j++)
        for (int h = 0; h < n_q; h++) {
            float s = 0.0f;
            for (int d = 0; d < head_dim; d++) {
                float p = q[h * head_dim + d] * kb_at(Kb, fp16, kb_index(block_stride, j, d));
                KEEP(p);
                s += p;
            }
            scores[h * ld + j] = s * scale;
        }
}

#ifdef ATT_X86
/* One block, up to four heads: lanes are keys, each head's products rounded and added in d order. F16C quiets a
 * signalling NaN key where the scalar conversion keeps it, but the product quiets it either way: the same bits
 * (test_ops puts one in a block). */
static AVX512_INLINE void scores_kb_block_avx512(const float *q, const int nh, const void *blk, const bool fp16,
                                                 int head_dim, int lanes, float scale, float *scores, int64_t ld)
{
    __mmask16 m = (__mmask16)((1u << lanes) - 1);
    __m512 acc[4];
    for (int h = 0; h < nh; h++) acc[h] = _mm512_setzero_ps();
    for (int d = 0; d < head_dim; d++) {
        __m512 k = fp16 ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)blk + d * 16)))
                        : _mm512_loadu_ps((const float *)blk + d * 16);
        KEEP512(k);
        for (int h = 0; h < nh; h++) {
            __m512 p = _mm512_mul_ps(_mm512_set1_ps(q[h * head_dim + d]), k);
            KEEP512(p);
            acc[h] = _mm512_add_ps(acc[h], p);
        }
    }
    const __m512 sc = _mm512_set1_ps(scale);
    for (int h = 0; h < nh; h++) _mm512_mask_storeu_ps(scores + h * ld, m, _mm512_mul_ps(acc[h], sc));
}

static AVX2_INLINE void scores_kb_block_avx2(const float *q, const int nh, const void *blk, const bool fp16,
                                             int head_dim, int lanes, float scale, float *scores, int64_t ld)
{
    __m256 acc[4][2];
    for (int h = 0; h < nh; h++) acc[h][0] = acc[h][1] = _mm256_setzero_ps();
    for (int d = 0; d < head_dim; d++) {
        __m256 k0 = load_values(blk, fp16, d * 16), k1 = load_values(blk, fp16, d * 16 + 8);
        KEEP(k0);
        KEEP(k1);
        for (int h = 0; h < nh; h++) {
            __m256 qd = _mm256_broadcast_ss(q + h * head_dim + d);
            __m256 p0 = _mm256_mul_ps(qd, k0), p1 = _mm256_mul_ps(qd, k1);
            KEEP(p0);
            KEEP(p1);
            acc[h][0] = _mm256_add_ps(acc[h][0], p0);
            acc[h][1] = _mm256_add_ps(acc[h][1], p1);
        }
    }
    const __m256 sc = _mm256_set1_ps(scale);
    for (int h = 0; h < nh; h++) {
        float tmp[16];
        _mm256_storeu_ps(tmp, _mm256_mul_ps(acc[h][0], sc));
        _mm256_storeu_ps(tmp + 8, _mm256_mul_ps(acc[h][1], sc));
        memcpy(scores + h * ld, tmp, (size_t)lanes * sizeof(float));
    }
}

/* Blocks in order (the last one partly filled: lanes < 16), heads four at a time; each head count and key type its
 * own inlined body. */
#define SCORES_KB_HEADS(BODY, NH)                                                                                     \
    do {                                                                                                              \
        if (fp16) BODY(qh, NH, blk, true, head_dim, lanes, scale, sh, ld);                                           \
        else BODY(qh, NH, blk, false, head_dim, lanes, scale, sh, ld);                                               \
    } while (0)
#define SCORES_KB_LOOP(BODY)                                                                                          \
    for (int64_t j = 0; j < n_keys; j += OPS_KEY_LANES) {                                                             \
        int lanes = n_keys - j < OPS_KEY_LANES ? (int)(n_keys - j) : OPS_KEY_LANES;                                   \
        const char *blk = (const char *)Kb + (size_t)(j / OPS_KEY_LANES * block_stride) * (fp16 ? 2 : 4);            \
        for (int h0 = 0; h0 < n_q; h0 += 4) {                                                                         \
            const float *qh = q + (int64_t)h0 * head_dim;                                                             \
            float *sh = scores + h0 * ld + j;                                                                         \
            switch (n_q - h0 < 4 ? n_q - h0 : 4) {                                                                    \
            case 4: SCORES_KB_HEADS(BODY, 4); break;                                                                  \
            case 3: SCORES_KB_HEADS(BODY, 3); break;                                                                  \
            case 2: SCORES_KB_HEADS(BODY, 2); break;                                                                  \
            default: SCORES_KB_HEADS(BODY, 1); break;                                                                 \
            }                                                                                                         \
        }                                                                                                             \
    }

AVX512 static void scores_kb_avx512(const float *q, int n_q, const void *Kb, bool fp16, int64_t block_stride,
                                    int64_t n_keys, int head_dim, float scale, float *scores, int64_t ld)
{
    SCORES_KB_LOOP(scores_kb_block_avx512)
}

AVX2 static void scores_kb_avx2(const float *q, int n_q, const void *Kb, bool fp16, int64_t block_stride,
                                int64_t n_keys, int head_dim, float scale, float *scores, int64_t ld)
{
    SCORES_KB_LOOP(scores_kb_block_avx2)
}
#undef SCORES_KB_LOOP
#undef SCORES_KB_HEADS
#endif

void ops_attend_heads_kb(const float *q, int n_q, const void *Kb, bool k_fp16, int64_t block_stride, const void *V,
                         bool v_fp16, int64_t v_stride, int64_t n_keys, int head_dim, bool fp16_operands, float *scores,
                         float *out)
{
    if (n_q <= 0 || n_keys <= 0) return;
    float qr[n_q * head_dim], scale = 1.0f / sqrtf((float)head_dim);
    query_operands(q, (int64_t)n_q * head_dim, fp16_operands, qr);
#ifdef ATT_X86
    if (use_avx512()) scores_kb_avx512(qr, n_q, Kb, k_fp16, block_stride, n_keys, head_dim, scale, scores, n_keys);
    else if (use_avx2()) scores_kb_avx2(qr, n_q, Kb, k_fp16, block_stride, n_keys, head_dim, scale, scores, n_keys);
    else
#endif
        scores_kb_scalar(qr, n_q, Kb, k_fp16, block_stride, 0, n_keys, head_dim, scale, scores, n_keys);
    int64_t n[n_q];
    ops_attend_row rows[n_q];
    for (int h = 0; h < n_q; h++) {
        n[h] = n_keys;
        rows[h] = (ops_attend_row){q + (int64_t)h * head_dim, out + (int64_t)h * head_dim, n_keys};
    }
    ops_softmax_rows(scores, n_keys, n, n_q);
    if (fp16_operands)
        for (int h = 0; h < n_q; h++) xq_round_fp16_row(scores + h * n_keys, scores + h * n_keys, n_keys);
    for (int64_t j0 = 0; j0 < n_keys; j0 += ROWS_KEY_BLOCK)
        values_rows(rows, n_q, scores, n_keys, V, v_fp16, v_stride, j0, head_dim);
}

void ops_untile_keys(const void *Kb, bool k_fp16, int64_t block_stride, int64_t n, int head_dim, float *Kt,
                     int64_t kt_ld)
{
    for (int64_t j0 = 0; j0 < n; j0 += OPS_KEY_LANES) {
        int64_t lanes = n - j0 < OPS_KEY_LANES ? n - j0 : OPS_KEY_LANES;
        int64_t base = j0 / OPS_KEY_LANES * block_stride;
        for (int d = 0; d < head_dim; d++) {
            int64_t idx = base + (int64_t)d * OPS_KEY_LANES;
            if (k_fp16) xq_fp16_to_f32_row((const uint16_t *)Kb + idx, Kt + d * kt_ld + j0, lanes);
            else memcpy(Kt + d * kt_ld + j0, (const float *)Kb + idx, (size_t)lanes * sizeof(float));
        }
    }
}
