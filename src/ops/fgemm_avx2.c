/* AVX2 float-weight GEMM (see ops/fgemm.h), bit-identical to qt_dot_act per (row, token): one 256-bit
 * accumulator is exactly the reference's 8-lane chain. A micro tile is ROWS rows × TOKENS tokens (12
 * accumulators, leaving 4 of the 16 registers for the operands); the blocking is fgemm_avx512.c's. The k tail
 * runs the fma on every lane and keeps the old value where the lane has no element (a zero product would turn
 * a −0 lane into +0). */
#include <stddef.h>
#include <stdint.h>

#include "model/qtypes.h"
#include "ops/fgemm.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define AVX2_INLINE __attribute__((target("avx2,fma,f16c"), always_inline)) inline

enum { ROWS = 4, TOKENS = 3, STEP_FLOATS = 8 * ROWS, L2_ACT_BYTES = 256 * 1024, MIN_BLOCK_TOKENS = 32 * TOKENS };

static AVX2_INLINE float hsum8(__m256 v)
{
    __m128 r = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
    __m128 ab = _mm_add_ps(r, _mm_movehl_ps(r, r));
    return _mm_cvtss_f32(_mm_add_ss(ab, _mm_movehdup_ps(ab)));
}

/* Lanes below count set (all ones), the rest clear. */
static AVX2_INLINE __m256i lane_mask(int count)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* 8 weights of a row from element e (the first `count` of them; the rest 0) as f32. */
static AVX2_INLINE __m256 load_row8(uint32_t wtype, const uint8_t *row, int64_t e, int count)
{
    if (wtype == QT_F32) return _mm256_maskload_ps((const float *)(const void *)row + e, lane_mask(count));
    uint16_t h[8] = {0};
    const uint16_t *src = (const uint16_t *)(const void *)row + e;
    __m128i hv;
    if (count == 8) {
        hv = _mm_loadu_si128((const __m128i *)(const void *)src);
    } else {
        for (int i = 0; i < count; i++) h[i] = src[i];
        hv = _mm_loadu_si128((const __m128i *)(const void *)h);
    }
    if (wtype == QT_F16) return _mm256_cvtph_ps(hv);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(hv), 16));
}

/* Panel: for each step s of 8 elements, ROWS × 8 floats (row r's elements 8s..8s+7); rows ≥ nr are zeros. */
static AVX2_INLINE void pack_panel_type(uint32_t wtype, const uint8_t *w, size_t w_stride, int nr, int64_t k,
                                        float *panel)
{
    for (int64_t e = 0; e < k; e += 8, panel += STEP_FLOATS) {
        int count = k - e < 8 ? (int)(k - e) : 8;
        for (int r = 0; r < ROWS; r++) {
            __m256 v = r < nr ? load_row8(wtype, w + (size_t)r * w_stride, e, count) : _mm256_setzero_ps();
            _mm256_storeu_ps(panel + 8 * r, v);
        }
    }
}

AVX2 static void pack_panel(uint32_t wtype, const uint8_t *w, size_t w_stride, int nr, int64_t k, float *panel)
{
    switch (wtype) {
    case QT_F32: pack_panel_type(QT_F32, w, w_stride, nr, k, panel); break;
    case QT_F16: pack_panel_type(QT_F16, w, w_stride, nr, k, panel); break;
    default: pack_panel_type(QT_BF16, w, w_stride, nr, k, panel); break;
    }
}

/* One micro tile: ROWS panel rows × T tokens (T ≤ TOKENS, a constant after inlining); stores rows < nr. */
static AVX2_INLINE void micro(const float *panel, const float *x, int64_t x_ld, int64_t k, int T, float *y,
                              int64_t y_ld, int nr)
{
    __m256 acc[ROWS][TOKENS];
#pragma GCC unroll 4
    for (int r = 0; r < ROWS; r++)
#pragma GCC unroll 3
        for (int t = 0; t < TOKENS; t++) acc[r][t] = _mm256_setzero_ps();
    int64_t e = 0;
    for (; e + 8 <= k; e += 8, panel += STEP_FLOATS) {
        __m256 av[TOKENS];
#pragma GCC unroll 3
        for (int t = 0; t < T; t++) av[t] = _mm256_loadu_ps(x + t * x_ld + e);
#pragma GCC unroll 4
        for (int r = 0; r < ROWS; r++) {
            __m256 wv = _mm256_loadu_ps(panel + 8 * r);
#pragma GCC unroll 3
            for (int t = 0; t < T; t++) acc[r][t] = _mm256_fmadd_ps(wv, av[t], acc[r][t]);
        }
    }
    if (e < k) {
        __m256i m = lane_mask((int)(k - e));
#pragma GCC unroll 3
        for (int t = 0; t < T; t++) {
            __m256 a = _mm256_maskload_ps(x + t * x_ld + e, m);
#pragma GCC unroll 4
            for (int r = 0; r < ROWS; r++) {
                __m256 f = _mm256_fmadd_ps(_mm256_loadu_ps(panel + 8 * r), a, acc[r][t]);
                acc[r][t] = _mm256_blendv_ps(acc[r][t], f, _mm256_castsi256_ps(m));
            }
        }
    }
#pragma GCC unroll 3
    for (int t = 0; t < T; t++)
#pragma GCC unroll 4
        for (int r = 0; r < ROWS; r++)
            if (r < nr) y[t * y_ld + r] = hsum8(acc[r][t]);
}

AVX2 static void sweep_tokens(const float *panel, const float *x, int64_t x_ld, int64_t nt, int64_t k, float *y,
                              int64_t y_ld, int nr)
{
    int64_t t = 0;
    for (; t + TOKENS <= nt; t += TOKENS) micro(panel, x + t * x_ld, x_ld, k, TOKENS, y + t * y_ld, y_ld, nr);
    if (nt - t == 2) micro(panel, x + t * x_ld, x_ld, k, 2, y + t * y_ld, y_ld, nr);
    if (nt - t == 1) micro(panel, x + t * x_ld, x_ld, k, 1, y + t * y_ld, y_ld, nr);
}

AVX2 static void fgemm_avx2(uint32_t wtype, const void *w, size_t w_stride, int64_t nr, const float *x, int64_t x_ld,
                            int64_t nt, int64_t k, float *y, int64_t y_ld, float *panel)
{
    int64_t block = (int64_t)L2_ACT_BYTES / (k * (int64_t)sizeof(float)) / TOKENS * TOKENS;
    if (block < MIN_BLOCK_TOKENS) block = MIN_BLOCK_TOKENS;
    for (int64_t t0 = 0; t0 < nt; t0 += block) {
        int64_t nb = nt - t0 < block ? nt - t0 : block;
        for (int64_t r0 = 0; r0 < nr; r0 += ROWS) {
            int rows = nr - r0 < ROWS ? (int)(nr - r0) : ROWS;
            pack_panel(wtype, (const uint8_t *)w + (size_t)r0 * w_stride, w_stride, rows, k, panel);
            sweep_tokens(panel, x + t0 * x_ld, x_ld, nb, k, y + t0 * y_ld + r0, y_ld, rows);
        }
    }
}

fgemm_fn fgemm_avx2_kernel(void) { return fgemm_avx2; }

#else

fgemm_fn fgemm_avx2_kernel(void) { return NULL; }

#endif
