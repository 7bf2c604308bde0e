/* Appending tokens to the quantized modes: what each layer kind stores, and for the cross-layer modes the chain
 * X̂_i = X̂_{i−1} + dequant(Q(X_i − X̂_{i−1})) for the new rows (closed loop: the delta is taken against the
 * reconstructed previous layer, so errors do not compound). Latent projections use the activation conversion of
 * the weight they stand for: X·Uk is computed from X as the K projection would see it. */
#include <assert.h>
#include <cblas.h>
#include <string.h>

#include "cache/remat.h"
#include "model/qtypes.h"

/* A REMAT span of rows × width outputs over an inner dimension (src/prof/cost.h's shape). */
static void span_gemm(const remat_cache *rc, int layer, int64_t width, int64_t rows, int64_t inner, bool begin)
{
    span_shape sh = {.m = rows, .n = width, .k = inner, .dtype = QT_F32, .cache_mode = rc->base.mode, .ctx = 0};
    if (begin) span_begin(rc->base.sink, OP_REMAT, layer, &sh);
    else span_end(rc->base.sink, OP_REMAT, layer);
}

static void convert_rows(uint32_t wtype, const float *x, int64_t n, int width, float *out)
{
    for (int64_t t = 0; t < n; t++) qt_act_roundtrip(wtype, x + t * width, out + t * width, width);
}

static void append_kv(remat_cache *rc, remat_layer *L, int64_t pos0, int64_t n, const float *k, const float *v)
{
    if (L->k_rotated) { /* llama.cpp stores K after RoPE, then quantizes it */
        memcpy(rc->scratch_a, k, (size_t)(n * rc->d_kv) * sizeof(float));
        remat_rope_rows(rc, rc->scratch_a, rc->d_kv, n, pos0, 0, rc->n_head_kv);
        k = rc->scratch_a;
    }
    qstream_append(&L->s[0], pos0, n, k);
    qstream_append(&L->s[1], pos0, n, v);
}

static void append_x(remat_cache *rc, remat_layer *L, int64_t pos0, int64_t n, const float *x)
{
    qstream_append(&L->s[0], pos0, n, x);
    if (L->sets_acc) qstream_read_quant(&L->s[0], pos0, pos0 + n, rc->acc + pos0 * rc->d, rc->d);
}

/* y = x·U row by row: one GEMV per token, so a token's latent does not depend on its batch. */
static void project_rows(const float *x, int64_t n, int d, const svd_factor *f, float *y)
{
    for (int64_t t = 0; t < n; t++)
        cblas_sgemv(CblasRowMajor, CblasTrans, d, f->rank, 1.0f, f->u, f->rank, x + t * d, 1, 0.0f, y + t * f->rank, 1);
}

/* latent = rt(X)·U for K and for V (each d_kv wide). */
static void append_latent(remat_cache *rc, int il, remat_layer *L, int64_t pos0, int64_t n, const float *x)
{
    const model_layer *ml = &rc->base.m->layers[il];
    const svd_factor *f[2] = {L->fk, L->fv};
    uint32_t types[2] = {ml->wk.type, ml->wv.type};
    span_gemm(rc, il, 2 * rc->d_kv, n, rc->d, true);
    for (int s = 0; s < 2; s++) {
        convert_rows(types[s], x, n, rc->d, rc->scratch_b);
        project_rows(rc->scratch_b, n, rc->d, f[s], rc->scratch_a);
        qstream_append(&L->s[s], pos0, n, rc->scratch_a);
    }
    span_gemm(rc, il, 2 * rc->d_kv, n, rc->d, false);
}

static void append_delta(remat_cache *rc, remat_layer *L, int64_t pos0, int64_t n, const float *x)
{
    float *acc = rc->acc + pos0 * rc->d, *delta = rc->scratch_a;
    for (int64_t i = 0; i < n * rc->d; i++) delta[i] = x[i] - acc[i];
    qstream_append(&L->s[0], pos0, n, delta);
    qstream_read_quant(&L->s[0], pos0, pos0 + n, rc->scratch_b, rc->d);
    for (int64_t i = 0; i < n * rc->d; i++) acc[i] += rc->scratch_b[i];
    rowring_write(&L->x_ring, pos0, n, x);
}

/* X̂ = X̂_prev + Q((X − X̂_prev)·U)·Uᵀ for the new rows; the second product through the tiles, as in attend. */
static void append_delta_latent(remat_cache *rc, int il, remat_layer *L, int64_t pos0, int64_t n, const float *x)
{
    const svd_factor *f = L->fkv;
    int d = rc->d, r = f->rank;
    float *acc = rc->acc + pos0 * d, *delta = rc->scratch_b, *latent = rc->scratch_a;
    for (int64_t i = 0; i < n * d; i++) delta[i] = L->chain_from_zero ? x[i] : x[i] - acc[i];
    span_gemm(rc, il, r, n, d, true);
    project_rows(delta, n, d, f, latent);
    span_gemm(rc, il, r, n, d, false);
    qstream_append(&L->s[0], pos0, n, latent);
    for (int64_t j0 = pos0 / rc->tile * rc->tile; j0 < pos0 + n; j0 += rc->tile) {
        row_range rows = {j0 > pos0 ? j0 : pos0, j0 + rc->tile < pos0 + n ? j0 + rc->tile : pos0 + n};
        qstream_read_quant(&L->s[0], rows.lo, rows.hi, rc->lat + (rows.lo - j0) * rc->latent_width, rc->latent_width);
        remat_accumulate_latents(rc, il, L, j0, rows);
    }
    rowring_write(&L->x_ring, pos0, n, x);
}

void remat_append(cache *c, int layer, int64_t pos0, int64_t n_tok, const float *x, const float *k, const float *v)
{
    remat_cache *rc = (remat_cache *)c;
    remat_layer *L = &rc->layers[layer];
    assert(n_tok <= c->n_batch && pos0 + n_tok <= c->n_ctx);
    switch (L->kind) {
    case LK_KV: append_kv(rc, L, pos0, n_tok, k, v); break;
    case LK_X: append_x(rc, L, pos0, n_tok, x); break;
    case LK_LATENT: append_latent(rc, layer, L, pos0, n_tok, x); break;
    case LK_DELTA: append_delta(rc, L, pos0, n_tok, x); break;
    case LK_DELTA_LATENT: append_delta_latent(rc, layer, L, pos0, n_tok, x); break;
    }
}
