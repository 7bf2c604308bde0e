#include "ops/ops.h"

#include <cblas.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/fp16.h"
#include "model/qtypes.h"
#include "ops/fgemm.h"
#include "ops/keep.h"
#include "ops/qdot.h"
#include "ops/vexp.h"

#if defined(__AVX__)
#include <immintrin.h>
#endif

enum { DOT_TILE_ROWS = 16, DOT_TILE_TOKENS = 64, FGEMM_MIN_TOKENS = 4, QUANTIZE_PARALLEL_TOKENS = 8, PANEL_ALIGN = 64 };

struct ops_ctx {
    xq_pool *pool;
    int64_t max_cols, max_tokens;
    float **panels; /* one fgemm panel per thread (float weights over a batch) */
    void *act;     /* max_tokens rows of converted activations (f32 is the widest form) */
};

static size_t panel_bytes(int64_t max_cols)
{
    return (fgemm_panel_floats(max_cols) * sizeof(float) + PANEL_ALIGN - 1) / PANEL_ALIGN * PANEL_ALIGN;
}

ops_ctx *ops_create(xq_pool *pool, int64_t max_cols, int64_t max_tokens)
{
    /* OpenBLAS must not start its own threads under ours. */
    openblas_set_num_threads(1);
    ops_ctx *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->pool = pool;
    o->max_cols = max_cols;
    o->max_tokens = max_tokens;
    o->act = malloc((size_t)max_cols * (size_t)max_tokens * sizeof(float));
    if (!o->act) goto fail;
    int n = xq_pool_size(pool);
    o->panels = calloc((size_t)n, sizeof *o->panels);
    if (!o->panels) goto fail;
    for (int i = 0; i < n; i++)
        if (!(o->panels[i] = aligned_alloc(PANEL_ALIGN, panel_bytes(max_cols)))) goto fail;
    return o;
fail:
    ops_destroy(o);
    return NULL;
}

void ops_destroy(ops_ctx *o)
{
    if (!o) return;
    if (o->panels)
        for (int i = 0; i < xq_pool_size(o->pool); i++) free(o->panels[i]);
    free(o->panels);
    free(o->act);
    free(o);
}

xq_pool *ops_pool(const ops_ctx *o) { return o->pool; }

uint64_t ops_scratch_bytes(const ops_ctx *o)
{
    return (uint64_t)o->max_cols * (uint64_t)o->max_tokens * sizeof(float) +
           (uint64_t)xq_pool_size(o->pool) * panel_bytes(o->max_cols);
}

typedef struct matmul_job {
    ops_ctx *o;
    const model_tensor *W;
    const float *X;  /* fgemm path: activations after the conversion round trip; dot path: as given */
    int64_t n_tok;
    float *Y;
    qdot_tile_fn dot; /* dot path: kernel over converted activations in o->act */
    fgemm_fn fgemm;   /* fgemm path: kernel over the rounded activations in o->act */
    uint64_t act_row_bytes;
    uint32_t act_type;
} matmul_job;

/* Converts the activations into o->act, each thread a share of the tokens (a batch; one token stays on the
 * caller rather than pay a hand-off). */
static void quantize_task(void *ctx, int ith, int nth)
{
    const matmul_job *j = ctx;
    int64_t cols = j->W->cols;
    long long t0, t1;
    xq_split_range(j->n_tok, ith, nth, &t0, &t1);
    for (int64_t t = t0; t < t1; t++)
        qdot_quantize_act(j->act_type, j->X + t * cols, (unsigned char *)j->o->act + (uint64_t)t * j->act_row_bytes, cols);
}

/* Each thread takes one contiguous run of rows (a multiple of DOT_TILE_ROWS: one stream through memory per
 * thread, whole micro tiles) and hands it to the tile kernel in one call per block of DOT_TILE_TOKENS tokens,
 * so the kernel converts that block's activation scales once for all of the thread's rows; the block's
 * activations stay in L1/L2 while the rows pass. */
static void dot_task(void *ctx, int ith, int nth)
{
    const matmul_job *j = ctx;
    const model_tensor *W = j->W;
    const unsigned char *base = W->data, *act = j->o->act;
    long long u0, u1;
    xq_split_range((W->rows + DOT_TILE_ROWS - 1) / DOT_TILE_ROWS, ith, nth, &u0, &u1);
    int64_t r0 = u0 * DOT_TILE_ROWS, r1 = u1 * DOT_TILE_ROWS < W->rows ? u1 * DOT_TILE_ROWS : W->rows;
    if (r1 <= r0) return;
    for (int64_t t0 = 0; t0 < j->n_tok; t0 += DOT_TILE_TOKENS) {
        int64_t nt = j->n_tok - t0 < DOT_TILE_TOKENS ? j->n_tok - t0 : DOT_TILE_TOKENS;
        j->dot(base + (uint64_t)r0 * W->row_bytes, W->row_bytes, r1 - r0, act + (uint64_t)t0 * j->act_row_bytes,
               j->act_row_bytes, nt, W->cols, j->Y + t0 * W->rows + r0, W->rows);
    }
}

/* Each thread takes one contiguous run of rows, a multiple of FGEMM_ROW_ALIGN (whole row tiles). */
static void fgemm_task(void *ctx, int ith, int nth)
{
    const matmul_job *j = ctx;
    const model_tensor *W = j->W;
    long long u0, u1;
    xq_split_range((W->rows + FGEMM_ROW_ALIGN - 1) / FGEMM_ROW_ALIGN, ith, nth, &u0, &u1);
    int64_t r0 = u0 * FGEMM_ROW_ALIGN, r1 = u1 * FGEMM_ROW_ALIGN < W->rows ? u1 * FGEMM_ROW_ALIGN : W->rows;
    if (r1 <= r0) return;
    j->fgemm(W->type, (const unsigned char *)W->data + (uint64_t)r0 * W->row_bytes, W->row_bytes, r1 - r0, j->X,
             W->cols, j->n_tok, W->cols, j->Y + r0, W->rows, j->o->panels[ith]);
}

/* The activations a float weight sees (qt_act_roundtrip), each thread a share of the tokens. */
static void round_task(void *ctx, int ith, int nth)
{
    const matmul_job *j = ctx;
    int64_t cols = j->W->cols;
    float *xr = j->o->act;
    long long t0, t1;
    xq_split_range(j->n_tok, ith, nth, &t0, &t1);
    for (int64_t t = t0; t < t1; t++) {
        if (j->W->type == QT_F16) xq_round_fp16_row(j->X + t * cols, xr + t * cols, cols);
        else qt_act_roundtrip(j->W->type, j->X + t * cols, xr + t * cols, cols);
    }
}

static bool is_float_weight(uint32_t type) { return type == QT_F32 || type == QT_F16 || type == QT_BF16; }

/* Two products of one conversion (ops_matmul2): each thread runs its share of both. */
static void dot2_task(void *ctx, int ith, int nth)
{
    const matmul_job *jobs = ctx;
    dot_task((void *)&jobs[0], ith, nth);
    dot_task((void *)&jobs[1], ith, nth);
}

static void quantized_job(ops_ctx *o, const model_tensor *W, const float *X, int64_t n_tok, float *Y, matmul_job *job)
{
    uint32_t at = qt_act_type(W->type);
    *job = (matmul_job){.o = o, .W = W, .n_tok = n_tok, .Y = Y, .X = X, .act_type = at,
                        .act_row_bytes = qt_row_bytes(at, W->cols), .dot = qdot_tile_kernel(W->type)};
}

void ops_matmul2(ops_ctx *o, const model_tensor *W1, const model_tensor *W2, const float *X, int64_t n_tok, float *Y1,
                 float *Y2)
{
    if (is_float_weight(W1->type) || W1->type != W2->type || W1->cols != W2->cols) {
        ops_matmul(o, W1, X, n_tok, Y1);
        ops_matmul(o, W2, X, n_tok, Y2);
        return;
    }
    matmul_job jobs[2];
    quantized_job(o, W1, X, n_tok, Y1, &jobs[0]);
    quantized_job(o, W2, X, n_tok, Y2, &jobs[1]);
    if (n_tok >= QUANTIZE_PARALLEL_TOKENS) xq_pool_run(o->pool, quantize_task, &jobs[0]);
    else quantize_task(&jobs[0], 0, 1);
    xq_pool_run(o->pool, dot2_task, jobs);
}

void ops_matmul(ops_ctx *o, const model_tensor *W, const float *X, int64_t n_tok, float *Y)
{
    matmul_job job = {.o = o, .W = W, .n_tok = n_tok, .Y = Y};
    if (is_float_weight(W->type) && n_tok >= FGEMM_MIN_TOKENS) {
        /* The activations take the weight's precision first (as for decode), then f32 tiles: the same bits. */
        job.X = X;
        if (n_tok >= QUANTIZE_PARALLEL_TOKENS) xq_pool_run(o->pool, round_task, &job);
        else round_task(&job, 0, 1);
        job.X = o->act;
        job.fgemm = fgemm_kernel();
        xq_pool_run(o->pool, fgemm_task, &job);
        return;
    }
    /* Quantized weights: prefill and decode share one arithmetic, as in llama.cpp, so a batch gives the same
     * bits as token-by-token decoding. */
    quantized_job(o, W, X, n_tok, Y, &job);
    if (n_tok >= QUANTIZE_PARALLEL_TOKENS) xq_pool_run(o->pool, quantize_task, &job);
    else quantize_task(&job, 0, 1);
    xq_pool_run(o->pool, dot_task, &job);
}

void ops_embed_row(const model_tensor *W, int64_t id, float *out)
{
    qt_dequant_row(W->type, (const unsigned char *)W->data + (uint64_t)id * W->row_bytes, out, W->cols);
}

/* Float products summed in double, then a float mean and scale: the roundings llama.cpp makes, so that the
 * quantized activations downstream see the same bits. */
void ops_rmsnorm(const float *x, const float *w, int64_t n, float eps, float *out)
{
    double ss = 0.0;
    for (int64_t i = 0; i < n; i++) ss += (double)(x[i] * x[i]);
    float mean = (float)(ss / (double)n);
    float scale = 1.0f / sqrtf(mean + eps);
    for (int64_t i = 0; i < n; i++) out[i] = (x[i] * scale) * w[i];
}

/* theta advances by a float factor per pair and cos/sin are taken in float, as in llama.cpp's rope cache. */
void ops_rope_angles(int n_rot, int64_t pos, float base, float scale, const float *factors, float *cs)
{
    float theta_scale = powf(base, -2.0f / (float)n_rot);
    float theta = (float)pos;
    for (int i = 0; i < n_rot / 2; i++, theta *= theta_scale) {
        float th = (factors ? theta / factors[i] : theta) * scale;
        cs[2 * i] = cosf(th);
        cs[2 * i + 1] = sinf(th);
    }
}

/* Head by head over contiguous pairs; four pairs a step with AVX: (a, b)·(c, c) ∓ (b, a)·(s, s), products rounded
 * and then one add or subtract per lane. The scalar pairs keep their products out of fmas with KEEP (ops/keep.h:
 * -O3 contracted a·c − b·s), so both paths have the same bits. */
void ops_rope_apply(float *x, int n_heads, int head_dim, int n_rot, const float *cs)
{
    for (int h = 0; h < n_heads; h++) {
        float *p = x + (int64_t)h * head_dim;
        int i = 0;
#if defined(__AVX__)
        for (; 2 * i + 8 <= n_rot; i += 4) {
            __m256 v = _mm256_loadu_ps(p + 2 * i), t = _mm256_loadu_ps(cs + 2 * i);
            __m256 direct = _mm256_mul_ps(v, _mm256_moveldup_ps(t));
            __m256 swapped = _mm256_mul_ps(_mm256_permute_ps(v, 0xB1), _mm256_movehdup_ps(t));
            _mm256_storeu_ps(p + 2 * i, _mm256_addsub_ps(direct, swapped));
        }
#endif
        for (; i < n_rot / 2; i++) {
            float c = cs[2 * i], s = cs[2 * i + 1];
            float a = p[2 * i], b = p[2 * i + 1];
            float ac = a * c, bs = b * s, as = a * s, bc = b * c;
            KEEP(ac);
            KEEP(bs);
            KEEP(as);
            KEEP(bc);
            p[2 * i] = ac - bs;
            p[2 * i + 1] = as + bc;
        }
    }
}

void ops_rope(float *x, int n_heads, int head_dim, int n_rot, int64_t pos, float base, float scale,
              const float *factors)
{
    float cs[n_rot];
    ops_rope_angles(n_rot, pos, base, scale, factors, cs);
    ops_rope_apply(x, n_heads, head_dim, n_rot, cs);
}

/* The max is exact in any order: a NaN never wins, as in the compare-and-select; ±0 only matters through x − max,
 * whose exp is 1 either way. */
float ops_max_row(const float *x, int64_t n)
{
    float mx = -INFINITY;
    int64_t i = 0;
#if defined(__AVX__)
    __m256 m8[4] = {_mm256_set1_ps(-INFINITY), _mm256_set1_ps(-INFINITY), _mm256_set1_ps(-INFINITY),
                    _mm256_set1_ps(-INFINITY)};
    for (; i + 32 <= n; i += 32)
        for (int r = 0; r < 4; r++) m8[r] = _mm256_max_ps(_mm256_loadu_ps(x + i + 8 * r), m8[r]);
    for (; i + 8 <= n; i += 8) m8[0] = _mm256_max_ps(_mm256_loadu_ps(x + i), m8[0]);
    float lanes[32];
    for (int r = 0; r < 4; r++) _mm256_storeu_ps(lanes + 8 * r, m8[r]);
    for (int k = 0; k < 32; k++) mx = lanes[k] > mx ? lanes[k] : mx;
#endif
    for (; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    return mx;
}

/* x − max, then exp: ops_expf_row (the same bits at every SIMD level). */
static void softmax_exp(float *x, int64_t n)
{
    float mx = ops_max_row(x, n);
    for (int64_t i = 0; i < n; i++) x[i] -= mx;
    ops_expf_row(x, x, n);
}

static void softmax_scale(float *x, int64_t n, double sum)
{
    float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}

/* The sum stays one double chain in order. */
void ops_softmax(float *x, int64_t n)
{
    softmax_exp(x, n);
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += x[i];
    softmax_scale(x, n, sum);
}

void ops_softmax_rows(float *x, int64_t ld, const int64_t *n, int n_rows)
{
    enum { SUM_ROWS = 8 };
    for (int r = 0; r < n_rows; r++) softmax_exp(x + r * ld, n[r]);
    for (int r0 = 0; r0 < n_rows; r0 += SUM_ROWS) {
        int m = n_rows - r0 < SUM_ROWS ? n_rows - r0 : SUM_ROWS;
        double sum[SUM_ROWS] = {0};
        int64_t common = n[r0];
        for (int r = 1; r < m; r++) common = n[r0 + r] < common ? n[r0 + r] : common;
        const float *xr = x + r0 * ld;
        /* Eight rows' chains side by side: each still in order, but one add no longer waits for the last. */
        if (m == SUM_ROWS)
            for (int64_t i = 0; i < common; i++)
#pragma GCC unroll 8
                for (int r = 0; r < SUM_ROWS; r++) sum[r] += xr[r * ld + i];
        else
            common = 0;
        for (int r = 0; r < m; r++) {
            for (int64_t i = common; i < n[r0 + r]; i++) sum[r] += xr[r * ld + i];
            softmax_scale(x + (r0 + r) * ld, n[r0 + r], sum[r]);
        }
    }
}

void ops_swiglu(float *gate, const float *up, int64_t n)
{
    enum { CHUNK = 256 };
    float e[CHUNK];
    for (int64_t i0 = 0; i0 < n; i0 += CHUNK) {
        int64_t len = n - i0 < CHUNK ? n - i0 : CHUNK;
        for (int64_t i = 0; i < len; i++) e[i] = -gate[i0 + i];
        ops_expf_row(e, e, len);
        for (int64_t i = 0; i < len; i++) {
            float g = gate[i0 + i];
            gate[i0 + i] = g / (1.0f + e[i]) * up[i0 + i];
        }
    }
}
