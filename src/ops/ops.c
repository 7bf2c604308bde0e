#include "ops/ops.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/qtypes.h"

enum { TILE_ROWS = 64, SGEMM_MIN_TOKENS = 4 };

struct ops_ctx {
    xq_pool *pool;
    int64_t max_cols;
    float **tiles; /* one TILE_ROWS × max_cols buffer per thread */
};

ops_ctx *ops_create(xq_pool *pool, int64_t max_cols)
{
    /* OpenBLAS must not start its own threads under ours. */
    openblas_set_num_threads(1);
    ops_ctx *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->pool = pool;
    o->max_cols = max_cols;
    int n = xq_pool_size(pool);
    o->tiles = calloc((size_t)n, sizeof *o->tiles);
    if (!o->tiles) goto fail;
    for (int i = 0; i < n; i++)
        if (!(o->tiles[i] = malloc((size_t)TILE_ROWS * (size_t)max_cols * sizeof(float)))) goto fail;
    return o;
fail:
    ops_destroy(o);
    return NULL;
}

void ops_destroy(ops_ctx *o)
{
    if (!o) return;
    if (o->tiles)
        for (int i = 0; i < xq_pool_size(o->pool); i++) free(o->tiles[i]);
    free(o->tiles);
    free(o);
}

xq_pool *ops_pool(const ops_ctx *o) { return o->pool; }

typedef struct matmul_job {
    ops_ctx *o;
    const model_tensor *W;
    const float *X;
    int64_t n_tok;
    float *Y;
} matmul_job;

static void matvec_task(void *ctx, int ith, int nth)
{
    const matmul_job *j = ctx;
    const model_tensor *W = j->W;
    long long lo, hi;
    xq_split_range(W->rows, ith, nth, &lo, &hi);
    const unsigned char *base = W->data;
    for (long long r = lo; r < hi; r++) j->Y[r] = qt_dot_row(W->type, base + (uint64_t)r * W->row_bytes, j->X, W->cols);
}

static void matmat_task(void *ctx, int ith, int nth)
{
    const matmul_job *j = ctx;
    const model_tensor *W = j->W;
    const unsigned char *base = W->data;
    int64_t n_tiles = (W->rows + TILE_ROWS - 1) / TILE_ROWS;
    for (int64_t t = ith; t < n_tiles; t += nth) {
        int64_t r0 = t * TILE_ROWS;
        int64_t nr = W->rows - r0 < TILE_ROWS ? W->rows - r0 : TILE_ROWS;
        const float *tile;
        if (W->type == QT_F32) {
            tile = (const float *)(base + (uint64_t)r0 * W->row_bytes);
        } else {
            float *buf = j->o->tiles[ith];
            for (int64_t r = 0; r < nr; r++)
                qt_dequant_row(W->type, base + (uint64_t)(r0 + r) * W->row_bytes, buf + r * W->cols, W->cols);
            tile = buf;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)j->n_tok, (int)nr, (int)W->cols, 1.0f, j->X,
                    (int)W->cols, tile, (int)W->cols, 0.0f, j->Y + r0, (int)W->rows);
    }
}

void ops_matmul(ops_ctx *o, const model_tensor *W, const float *X, int64_t n_tok, float *Y)
{
    matmul_job job = {o, W, X, n_tok, Y};
    if (n_tok >= SGEMM_MIN_TOKENS) {
        xq_pool_run(o->pool, matmat_task, &job);
        return;
    }
    for (int64_t t = 0; t < n_tok; t++) {
        job.X = X + t * W->cols;
        job.Y = Y + t * W->rows;
        xq_pool_run(o->pool, matvec_task, &job);
    }
}

void ops_embed_row(const model_tensor *W, int64_t id, float *out)
{
    qt_dequant_row(W->type, (const unsigned char *)W->data + (uint64_t)id * W->row_bytes, out, W->cols);
}

void ops_rmsnorm(const float *x, const float *w, int64_t n, float eps, float *out)
{
    double ss = 0.0;
    for (int64_t i = 0; i < n; i++) ss += (double)x[i] * x[i];
    float scale = (float)(1.0 / sqrt(ss / (double)n + eps));
    for (int64_t i = 0; i < n; i++) out[i] = x[i] * scale * w[i];
}

void ops_rope(float *x, int n_heads, int head_dim, int n_rot, int64_t pos, float base, float scale,
              const float *factors)
{
    for (int i = 0; i < n_rot / 2; i++) {
        double theta = (double)pos * scale * pow((double)base, -2.0 * i / n_rot);
        if (factors) theta /= factors[i];
        float c = (float)cos(theta), s = (float)sin(theta);
        for (int h = 0; h < n_heads; h++) {
            float *p = x + (int64_t)h * head_dim + 2 * i;
            float a = p[0], b = p[1];
            p[0] = a * c - b * s;
            p[1] = a * s + b * c;
        }
    }
}

void ops_softmax(float *x, int64_t n)
{
    float mx = -INFINITY;
    for (int64_t i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}

void ops_swiglu(float *gate, const float *up, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        float g = gate[i];
        gate[i] = g / (1.0f + expf(-g)) * up[i];
    }
}
