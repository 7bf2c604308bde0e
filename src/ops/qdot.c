#include "ops/qdot.h"

#include <stdlib.h>
#include <string.h>

#include "model/qtypes.h"

/* Per-level tables, filled by the files that implement a level (qdot_avx2.c …); NULL entries fall back. */
qdot_fn qdot_avx2_kernel(uint32_t wtype);
qdot_fn qdot_avx512_kernel(uint32_t wtype);
qdot_tile_fn qdot_avx2_tile_kernel(uint32_t wtype);
qdot_tile_fn qdot_avx512_tile_kernel(uint32_t wtype);
int qdot_avx2_quantize_act(uint32_t act_type, const float *x, void *dst, int64_t n);

static float scalar_dot_f32(const void *w, const void *a, int64_t n) { return qt_dot_act(QT_F32, w, a, n); }
static float scalar_dot_f16(const void *w, const void *a, int64_t n) { return qt_dot_act(QT_F16, w, a, n); }
static float scalar_dot_bf16(const void *w, const void *a, int64_t n) { return qt_dot_act(QT_BF16, w, a, n); }
static float scalar_dot_q8_0(const void *w, const void *a, int64_t n) { return qt_dot_act(QT_Q8_0, w, a, n); }
static float scalar_dot_q4_0(const void *w, const void *a, int64_t n) { return qt_dot_act(QT_Q4_0, w, a, n); }
static float scalar_dot_q4_1(const void *w, const void *a, int64_t n) { return qt_dot_act(QT_Q4_1, w, a, n); }
static float scalar_dot_q5_0(const void *w, const void *a, int64_t n) { return qt_dot_act(QT_Q5_0, w, a, n); }
static float scalar_dot_q5_1(const void *w, const void *a, int64_t n) { return qt_dot_act(QT_Q5_1, w, a, n); }
static float scalar_dot_q4_k(const void *w, const void *a, int64_t n) { return qt_dot_act(QT_Q4_K, w, a, n); }
static float scalar_dot_q5_k(const void *w, const void *a, int64_t n) { return qt_dot_act(QT_Q5_K, w, a, n); }
static float scalar_dot_q6_k(const void *w, const void *a, int64_t n) { return qt_dot_act(QT_Q6_K, w, a, n); }
static float scalar_dot_q2_k(const void *w, const void *a, int64_t n) { return qt_dot_act(QT_Q2_K, w, a, n); }
static float scalar_dot_q3_k(const void *w, const void *a, int64_t n) { return qt_dot_act(QT_Q3_K, w, a, n); }
static float scalar_dot_iq4_nl(const void *w, const void *a, int64_t n) { return qt_dot_act(QT_IQ4_NL, w, a, n); }
static float scalar_dot_iq4_xs(const void *w, const void *a, int64_t n) { return qt_dot_act(QT_IQ4_XS, w, a, n); }

/* The scalar tile: the reference per (row, token). */
#define SCALAR_TILE(name, type)                                                                                   \
    static void name(const void *w, size_t ws, int64_t nr, const void *a, size_t as, int64_t nt, int64_t n,      \
                     float *y, int64_t ys)                                                                        \
    {                                                                                                             \
        for (int64_t t = 0; t < nt; t++)                                                                          \
            for (int64_t r = 0; r < nr; r++)                                                                      \
                y[t * ys + r] = qt_dot_act(type, (const char *)w + (size_t)r * ws, (const char *)a + (size_t)t * as, n); \
    }
SCALAR_TILE(scalar_tile_f32, QT_F32)
SCALAR_TILE(scalar_tile_f16, QT_F16)
SCALAR_TILE(scalar_tile_bf16, QT_BF16)
SCALAR_TILE(scalar_tile_q8_0, QT_Q8_0)
SCALAR_TILE(scalar_tile_q4_0, QT_Q4_0)
SCALAR_TILE(scalar_tile_q4_1, QT_Q4_1)
SCALAR_TILE(scalar_tile_q5_0, QT_Q5_0)
SCALAR_TILE(scalar_tile_q5_1, QT_Q5_1)
SCALAR_TILE(scalar_tile_q4_k, QT_Q4_K)
SCALAR_TILE(scalar_tile_q5_k, QT_Q5_K)
SCALAR_TILE(scalar_tile_q6_k, QT_Q6_K)
SCALAR_TILE(scalar_tile_q2_k, QT_Q2_K)
SCALAR_TILE(scalar_tile_q3_k, QT_Q3_K)
SCALAR_TILE(scalar_tile_iq4_nl, QT_IQ4_NL)
SCALAR_TILE(scalar_tile_iq4_xs, QT_IQ4_XS)

static qdot_tile_fn scalar_tile(uint32_t wtype)
{
    switch (wtype) {
    case QT_F32: return scalar_tile_f32;
    case QT_F16: return scalar_tile_f16;
    case QT_BF16: return scalar_tile_bf16;
    case QT_Q8_0: return scalar_tile_q8_0;
    case QT_Q4_0: return scalar_tile_q4_0;
    case QT_Q4_1: return scalar_tile_q4_1;
    case QT_Q5_0: return scalar_tile_q5_0;
    case QT_Q5_1: return scalar_tile_q5_1;
    case QT_Q4_K: return scalar_tile_q4_k;
    case QT_Q5_K: return scalar_tile_q5_k;
    case QT_Q6_K: return scalar_tile_q6_k;
    case QT_Q2_K: return scalar_tile_q2_k;
    case QT_Q3_K: return scalar_tile_q3_k;
    case QT_IQ4_NL: return scalar_tile_iq4_nl;
    case QT_IQ4_XS: return scalar_tile_iq4_xs;
    default: return NULL;
    }
}

static qdot_fn scalar_kernel(uint32_t wtype)
{
    switch (wtype) {
    case QT_F32: return scalar_dot_f32;
    case QT_F16: return scalar_dot_f16;
    case QT_BF16: return scalar_dot_bf16;
    case QT_Q8_0: return scalar_dot_q8_0;
    case QT_Q4_0: return scalar_dot_q4_0;
    case QT_Q4_1: return scalar_dot_q4_1;
    case QT_Q5_0: return scalar_dot_q5_0;
    case QT_Q5_1: return scalar_dot_q5_1;
    case QT_Q4_K: return scalar_dot_q4_k;
    case QT_Q5_K: return scalar_dot_q5_k;
    case QT_Q6_K: return scalar_dot_q6_k;
    case QT_Q2_K: return scalar_dot_q2_k;
    case QT_Q3_K: return scalar_dot_q3_k;
    case QT_IQ4_NL: return scalar_dot_iq4_nl;
    case QT_IQ4_XS: return scalar_dot_iq4_xs;
    default: return NULL;
    }
}

static qdot_level cpu_level(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("fma"))
        return QDOT_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return QDOT_AVX2;
    return QDOT_SCALAR;
}

qdot_level qdot_active_level(void)
{
    static int cached = -1;
    if (cached >= 0) return (qdot_level)cached;
    qdot_level lvl = cpu_level();
    const char *env = getenv("XQ_SIMD");
    if (env) {
        for (int l = 0; l < QDOT_LEVEL_COUNT; l++)
            if (!strcmp(env, qdot_level_name((qdot_level)l)) && l <= (int)lvl) lvl = (qdot_level)l;
    }
    cached = (int)lvl;
    return lvl;
}

qdot_level qdot_cpu_level(void) { return cpu_level(); }

const char *qdot_level_name(qdot_level level)
{
    static const char *const names[QDOT_LEVEL_COUNT] = {"scalar", "avx2", "avx512"};
    return level >= 0 && level < QDOT_LEVEL_COUNT ? names[level] : "?";
}

qdot_fn qdot_kernel_at(qdot_level level, uint32_t wtype)
{
    if (level > cpu_level()) return NULL;
    switch (level) {
    case QDOT_AVX512: return qdot_avx512_kernel(wtype);
    case QDOT_AVX2: return qdot_avx2_kernel(wtype);
    default: return scalar_kernel(wtype);
    }
}

qdot_fn qdot_kernel(uint32_t wtype)
{
    for (int l = (int)qdot_active_level(); l >= 0; l--) {
        qdot_fn f = qdot_kernel_at((qdot_level)l, wtype);
        if (f) return f;
    }
    return NULL;
}

qdot_tile_fn qdot_tile_kernel_at(qdot_level level, uint32_t wtype)
{
    if (level > cpu_level()) return NULL;
    switch (level) {
    case QDOT_AVX512: return qdot_avx512_tile_kernel(wtype);
    case QDOT_AVX2: return qdot_avx2_tile_kernel(wtype);
    default: return scalar_tile(wtype);
    }
}

qdot_tile_fn qdot_tile_kernel(uint32_t wtype)
{
    for (int l = (int)qdot_active_level(); l >= 0; l--) {
        qdot_tile_fn f = qdot_tile_kernel_at((qdot_level)l, wtype);
        if (f) return f;
    }
    return NULL;
}

void qdot_quantize_act_at(qdot_level level, uint32_t act_type, const float *x, void *dst, int64_t n)
{
    if (level >= QDOT_AVX2 && level <= cpu_level() && qdot_avx2_quantize_act(act_type, x, dst, n)) return;
    qt_quantize_act(act_type, x, dst, n);
}

void qdot_quantize_act(uint32_t act_type, const float *x, void *dst, int64_t n)
{
    qdot_quantize_act_at(qdot_active_level(), act_type, x, dst, n);
}
