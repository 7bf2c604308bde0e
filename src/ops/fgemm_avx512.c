/* AVX-512 float-weight GEMM (see ops/fgemm.h), bit-identical to qt_dot_act per (row, token).
 *
 * The reference keeps 8 lanes per dot product (element i → lane i mod 8, one fma per element in order). A
 * 512-bit register holds two such 8-lane chains: rows 2p and 2p+1 of one token. A micro tile is PAIRS row pairs
 * × TOKENS tokens = 24 accumulators; per step of 8 elements it loads PAIRS panel vectors (both rows' 8 weights,
 * already f32) and broadcasts each token's 8 activations to both halves, then runs 24 independent fmas.
 *
 * Blocking: a thread's tokens go in blocks whose activations fit in L2 (see below); for each block, its
 * rows go 8 at a time: unpack the 8 rows into the panel (L1), then sweep the block's tokens 6 at a time. The k
 * tail (k mod 8 elements) is one masked fma, which leaves the other lanes' chains untouched as the reference
 * does. */
#include <stddef.h>
#include <stdint.h>

#include "model/qtypes.h"
#include "ops/fgemm.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define TGT "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c"
#define AVX512 __attribute__((target(TGT)))
#define AVX512_INLINE __attribute__((target(TGT), always_inline)) inline

enum { PAIRS = 4, ROWS = 2 * PAIRS, TOKENS = 6, STEP_FLOATS = 16 * PAIRS };
/* Tokens per block: as many as L2_ACT_BYTES of activations hold, but at least MIN_BLOCK_TOKENS: for long rows
 * (k = 14336: 8 tokens in L2) repacking the panel once per few tokens costs more than reading activations from
 * L3 (measured: 84 GFLOP/s with blocks of 6 tokens, 174 with 96; all 512 tokens at once fall out of L3: 112). */
enum { L2_ACT_BYTES = 512 * 1024, MIN_BLOCK_TOKENS = 16 * TOKENS };

/* The reference's hsum8: ((v0+v4) + (v2+v6)) + ((v1+v5) + (v3+v7)). */
static AVX512_INLINE float hsum8(__m256 v)
{
    __m128 r = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
    __m128 ab = _mm_add_ps(r, _mm_movehl_ps(r, r));
    return _mm_cvtss_f32(_mm_add_ss(ab, _mm_movehdup_ps(ab)));
}

/* 8 weights of a row from element e (the first `count` of them; the rest 0) as f32. */
static AVX512_INLINE __m256 load_row8(uint32_t wtype, const uint8_t *row, int64_t e, int count)
{
    __mmask8 m = (__mmask8)((1u << count) - 1);
    if (wtype == QT_F32) return _mm256_maskz_loadu_ps(m, (const float *)(const void *)row + e);
    __m128i h = _mm_maskz_loadu_epi16(m, (const uint16_t *)(const void *)row + e);
    if (wtype == QT_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* Panel: for each step s of 8 elements and pair p, 16 floats: row 2p's elements 8s..8s+7, then row 2p+1's.
 * Rows at or beyond nr are zeros (their results are never stored). The next ROWS rows (n_next of them) are
 * prefetched on the way: they are packed after a whole token sweep, long enough for them to arrive, whereas
 * eight rows read cold at once wait on memory. */
static AVX512_INLINE void pack_panel_type(uint32_t wtype, const uint8_t *w, size_t w_stride, int nr, int n_next,
                                          int64_t k, float *panel)
{
    size_t eb = wtype == QT_F32 ? 4 : 2;
    for (int64_t e = 0; e < k; e += 8, panel += STEP_FLOATS) {
        int count = k - e < 8 ? (int)(k - e) : 8;
        for (int r = 0; r < ROWS; r++) {
            __m256 v = r < nr ? load_row8(wtype, w + (size_t)r * w_stride, e, count) : _mm256_setzero_ps();
            _mm256_storeu_ps(panel + 8 * r, v);
        }
        if (e % (int64_t)(64 / eb) == 0)
            for (int r = 0; r < n_next; r++)
                _mm_prefetch((const char *)w + (size_t)(ROWS + r) * w_stride + (size_t)e * eb, _MM_HINT_T0);
    }
}

AVX512 static void pack_panel(uint32_t wtype, const uint8_t *w, size_t w_stride, int nr, int n_next, int64_t k,
                              float *panel)
{
    switch (wtype) {
    case QT_F32: pack_panel_type(QT_F32, w, w_stride, nr, n_next, k, panel); break;
    case QT_F16: pack_panel_type(QT_F16, w, w_stride, nr, n_next, k, panel); break;
    default: pack_panel_type(QT_BF16, w, w_stride, nr, n_next, k, panel); break;
    }
}

static AVX512_INLINE __m512 broadcast8(const float *p) { return _mm512_broadcast_f32x8(_mm256_loadu_ps(p)); }

/* One micro tile: 8 panel rows × T tokens (T ≤ TOKENS, a constant after inlining); stores rows < nr. */
static AVX512_INLINE void micro(const float *panel, const float *x, int64_t x_ld, int64_t k, int T, float *y,
                                int64_t y_ld, int nr)
{
    __m512 acc[PAIRS][TOKENS];
#pragma GCC unroll 4
    for (int p = 0; p < PAIRS; p++)
#pragma GCC unroll 6
        for (int t = 0; t < TOKENS; t++) acc[p][t] = _mm512_setzero_ps();
    int64_t e = 0;
    for (; e + 8 <= k; e += 8, panel += STEP_FLOATS) {
        __m512 wv[PAIRS];
#pragma GCC unroll 4
        for (int p = 0; p < PAIRS; p++) wv[p] = _mm512_loadu_ps(panel + 16 * p);
#pragma GCC unroll 6
        for (int t = 0; t < T; t++) {
            __m512 a = broadcast8(x + t * x_ld + e);
#pragma GCC unroll 4
            for (int p = 0; p < PAIRS; p++) acc[p][t] = _mm512_fmadd_ps(wv[p], a, acc[p][t]);
        }
    }
    if (e < k) {
        __mmask8 m8 = (__mmask8)((1u << (k - e)) - 1);
        __mmask16 m16 = (__mmask16)(m8 | m8 << 8);
#pragma GCC unroll 6
        for (int t = 0; t < T; t++) {
            __m512 a = _mm512_broadcast_f32x8(_mm256_maskz_loadu_ps(m8, x + t * x_ld + e));
#pragma GCC unroll 4
            for (int p = 0; p < PAIRS; p++)
                acc[p][t] = _mm512_mask3_fmadd_ps(_mm512_loadu_ps(panel + 16 * p), a, acc[p][t], m16);
        }
    }
#pragma GCC unroll 6
    for (int t = 0; t < T; t++)
#pragma GCC unroll 4
        for (int p = 0; p < PAIRS; p++) {
            if (2 * p < nr) y[t * y_ld + 2 * p] = hsum8(_mm512_castps512_ps256(acc[p][t]));
            if (2 * p + 1 < nr) y[t * y_ld + 2 * p + 1] = hsum8(_mm512_extractf32x8_ps(acc[p][t], 1));
        }
}

/* Tokens [0, nt) against one packed panel, TOKENS at a time, then the remainder with its own tile width. */
AVX512 static void sweep_tokens(const float *panel, const float *x, int64_t x_ld, int64_t nt, int64_t k, float *y,
                                int64_t y_ld, int nr)
{
    int64_t t = 0;
    for (; t + TOKENS <= nt; t += TOKENS) micro(panel, x + t * x_ld, x_ld, k, TOKENS, y + t * y_ld, y_ld, nr);
    switch (nt - t) {
    case 5: micro(panel, x + t * x_ld, x_ld, k, 5, y + t * y_ld, y_ld, nr); break;
    case 4: micro(panel, x + t * x_ld, x_ld, k, 4, y + t * y_ld, y_ld, nr); break;
    case 3: micro(panel, x + t * x_ld, x_ld, k, 3, y + t * y_ld, y_ld, nr); break;
    case 2: micro(panel, x + t * x_ld, x_ld, k, 2, y + t * y_ld, y_ld, nr); break;
    case 1: micro(panel, x + t * x_ld, x_ld, k, 1, y + t * y_ld, y_ld, nr); break;
    default: break;
    }
}

AVX512 static void fgemm_avx512(uint32_t wtype, const void *w, size_t w_stride, int64_t nr, const float *x,
                                int64_t x_ld, int64_t nt, int64_t k, float *y, int64_t y_ld, float *panel)
{
    int64_t block = (int64_t)L2_ACT_BYTES / (k * (int64_t)sizeof(float)) / TOKENS * TOKENS;
    if (block < MIN_BLOCK_TOKENS) block = MIN_BLOCK_TOKENS;
    for (int64_t t0 = 0; t0 < nt; t0 += block) {
        int64_t nb = nt - t0 < block ? nt - t0 : block;
        for (int64_t r0 = 0; r0 < nr; r0 += ROWS) {
            int rows = nr - r0 < ROWS ? (int)(nr - r0) : ROWS;
            int64_t after = nr - r0 - rows;
            int n_next = after < ROWS ? (int)after : ROWS;
            pack_panel(wtype, (const uint8_t *)w + (size_t)r0 * w_stride, w_stride, rows, n_next, k, panel);
            sweep_tokens(panel, x + t0 * x_ld, x_ld, nb, k, y + t0 * y_ld + r0, y_ld, rows);
        }
    }
}

fgemm_fn fgemm_avx512_kernel(void) { return fgemm_avx512; }

#else

fgemm_fn fgemm_avx512_kernel(void) { return NULL; }

#endif
