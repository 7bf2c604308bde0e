/* The quantized modes' policy: what each layer stores (the layout of XQUANT.md §2 per mode), the buffers sized at
 * creation, byte accounting and the rebuild FLOPs of a decode step. */
#include "cache/remat.h"

#include <stdlib.h>
#include <string.h>

#include "model/qtypes.h"

static bool is_x_based(cache_mode_id mode) { return mode >= CACHE_XQ; }

static qstream_spec token_spec(int width, int bits, int group, bool fp16_ch0)
{
    return (qstream_spec){.kind = QS_PER_TOKEN, .width = width, .bits = bits, .group = group, .fp16_ch0 = fp16_ch0};
}

static qstream_spec channel_spec(int width, int bits, int group, bool fp16_ch0)
{
    return (qstream_spec){.kind = QS_PER_CHANNEL, .width = width, .bits = bits, .group = group, .fp16_ch0 = fp16_ch0};
}

/* The streams one layer stores, per mode (XQUANT.md §2; hi layers are plain 4-bit X, or 4-bit K and V for kv). */
static void plan_layer(const remat_cache *rc, int il, remat_layer *L, qstream_spec spec[2])
{
    const cache_params *p = &rc->base.params;
    int G = p->group, hi = p->hi_layers, e = il < hi ? 4 : p->bits;
    *L = (remat_layer){.kind = LK_X, .n_streams = 1};
    spec[0] = token_spec(rc->d, e, G, false);
    switch (p->mode) {
    case CACHE_KV_Q8_0:
    case CACHE_KV_Q4_0: {
        uint32_t type = p->mode == CACHE_KV_Q8_0 ? QT_Q8_0 : QT_Q4_0;
        *L = (remat_layer){.kind = LK_KV, .n_streams = 2, .k_rotated = true};
        spec[0] = spec[1] = (qstream_spec){.kind = QS_BLOCK, .width = rc->d_kv, .block_type = type};
        break;
    }
    case CACHE_KV:
        *L = (remat_layer){.kind = LK_KV, .n_streams = 2};
        spec[0] = channel_spec(rc->d_kv, e, G, false);
        spec[1] = token_spec(rc->d_kv, e, G, false);
        break;
    case CACHE_XQ_SVD:
        if (il < hi) break;
        *L = (remat_layer){.kind = LK_LATENT, .n_streams = 2};
        spec[0] = channel_spec(rc->d_kv, e, G, p->fp16_ch0);
        spec[1] = token_spec(rc->d_kv, e, G, p->fp16_ch0);
        break;
    case CACHE_XQ_CL:
    case CACHE_XQ_CL_SVD:
        L->sets_acc = il == hi - 1 || (hi == 0 && il == 0 && p->mode == CACHE_XQ_CL);
        if (il < hi || L->sets_acc) break;
        if (p->mode == CACHE_XQ_CL) {
            L->kind = LK_DELTA;
        } else {
            L->kind = LK_DELTA_LATENT;
            L->chain_from_zero = hi == 0 && il == 0;
            spec[0] = token_spec(rc->latent_width, e, G, p->fp16_ch0);
        }
        break;
    default: break;
    }
}

static int attach_factors(remat_cache *rc, int il, remat_layer *L)
{
    if (L->kind != LK_LATENT && L->kind != LK_DELTA_LATENT) return 0;
    const cache_svd *svd = rc->base.params.svd ? rc->base.params.svd : rc->own_svd[L->kind == LK_DELTA_LATENT];
    if (!svd || cache_svd_joint(svd) != (L->kind == LK_DELTA_LATENT)) return -1;
    if (L->kind == LK_LATENT) {
        L->fk = cache_svd_factor(svd, il, 0);
        L->fv = cache_svd_factor(svd, il, 1);
    } else {
        L->fkv = cache_svd_factor(svd, il, 0);
    }
    return 0;
}

static int init_layers(remat_cache *rc)
{
    const cache_params *p = &rc->base.params;
    int n_layer = rc->base.m->cfg.n_layer;
    rc->layers = calloc((size_t)n_layer, sizeof *rc->layers);
    if (!rc->layers) return -1;
    for (int il = 0; il < n_layer; il++) {
        remat_layer *L = &rc->layers[il];
        qstream_spec spec[2];
        plan_layer(rc, il, L, spec);
        for (int s = 0; s < L->n_streams; s++) {
            int64_t ring = qstream_ring_rows(&spec[s], p->window, rc->base.n_batch);
            if (qstream_init(&L->s[s], &spec[s], rc->base.n_ctx, p->window, ring)) return -1;
        }
        bool delta = L->kind == LK_DELTA || L->kind == LK_DELTA_LATENT;
        int64_t x_ring = delta && p->window > 0 ? p->window + rc->base.n_batch : 0;
        if (rowring_init(&L->x_ring, x_ring, rc->d) || attach_factors(rc, il, L)) return -1;
    }
    return 0;
}

static float *take(uint64_t *total, int64_t floats)
{
    *total += (uint64_t)floats * sizeof(float);
    return floats > 0 ? calloc((size_t)floats, sizeof(float)) : NULL;
}

static int init_buffers(remat_cache *rc)
{
    const cache_params *p = &rc->base.params;
    int64_t T = rc->tile, nb = rc->base.n_batch;
    bool cl = p->mode == CACHE_XQ_CL || p->mode == CACHE_XQ_CL_SVD;
    uint64_t *tb = &rc->transient_bytes;
    rc->src_width = rc->d > rc->d_kv ? rc->d : rc->d_kv;
    rc->scratch_width = rc->src_width > 2 * rc->d_kv ? rc->src_width : 2 * rc->d_kv;
    rc->acc_width = p->absorb_v && is_x_based(p->mode) ? rc->src_width : rc->head_dim;
    float **bufs[] = {&rc->src_km, &rc->src_kx, &rc->src_vm, &rc->src_vx};
    for (int i = 0; i < 4; i++) *bufs[i] = take(tb, T * rc->src_width);
    float **kv[] = {&rc->km, &rc->kx, &rc->vm, &rc->vx, &rc->ktm, &rc->ktx};
    for (int i = 0; i < 6; i++) *kv[i] = take(tb, T * rc->d_kv);
    rc->lat = take(tb, p->mode == CACHE_XQ_CL_SVD ? T * rc->latent_width : 0);
    rc->lat_out = take(tb, p->mode == CACHE_XQ_CL_SVD ? T * rc->d : 0);
    bool block = p->mode == CACHE_KV_Q8_0 || p->mode == CACHE_KV_Q4_0;
    rc->q_conv = take(tb, block && rc->head_dim % 32 == 0 ? nb * rc->d : 0);
    rc->acc = take(tb, cl ? rc->base.n_ctx * rc->d : 0);
    rc->scratch_a = take(tb, nb * rc->scratch_width);
    rc->scratch_b = take(tb, nb * rc->scratch_width);
    rc->state = take(tb, nb * rc->n_head * (rc->acc_width + 2));
    /* Every step rotates the rebuilt (or dequantized) keys of all positions: their angles are computed once. */
    const model_config *cfg = &rc->base.m->cfg;
    if ((rc->rope_cs = take(tb, rc->base.n_ctx * cfg->n_rot)))
        for (int64_t pos = 0; pos < rc->base.n_ctx; pos++)
            ops_rope_angles(cfg->n_rot, pos, cfg->rope_base, cfg->rope_scale, rc->base.m->rope_freq_factors,
                            rc->rope_cs + pos * cfg->n_rot);
    rc->a_k = malloc((size_t)nb * sizeof *rc->a_k);
    rc->a_v = malloc((size_t)nb * sizeof *rc->a_v);
    *tb += 2 * (uint64_t)nb * sizeof *rc->a_k;
    rc->scores = calloc((size_t)rc->n_threads, sizeof *rc->scores);
    if (!rc->scores) return -1;
    for (int i = 0; i < rc->n_threads; i++)
        if (!(rc->scores[i] = take(tb, T * (rc->n_head / rc->n_head_kv)))) return -1;
    bool ok = rc->src_km && rc->src_kx && rc->src_vm && rc->src_vx && rc->km && rc->kx && rc->vm && rc->vx &&
              rc->ktm && rc->ktx &&
              rc->scratch_a && rc->scratch_b && rc->state && rc->rope_cs && rc->a_k && rc->a_v &&
              ((rc->lat && rc->lat_out) || p->mode != CACHE_XQ_CL_SVD) && (rc->acc || !cl) &&
              (rc->q_conv || !block || rc->head_dim % 32 != 0);
    return ok ? 0 : -1;
}

static void remat_destroy(cache *c)
{
    remat_cache *rc = (remat_cache *)c;
    for (int il = 0; rc->layers && il < c->m->cfg.n_layer; il++) {
        for (int s = 0; s < 2; s++) qstream_free(&rc->layers[il].s[s]);
        rowring_free(&rc->layers[il].x_ring);
    }
    free(rc->layers);
    ops_destroy(rc->tile_ops);
    for (int i = 0; i < 2; i++) cache_svd_destroy(rc->own_svd[i]);
    float *bufs[] = {rc->src_km, rc->src_kx, rc->src_vm,    rc->src_vx,    rc->km,     rc->kx,
                     rc->vm,     rc->vx,     rc->lat,       rc->lat_out,   rc->acc,    rc->state,
                     rc->scratch_a, rc->scratch_b, rc->q_conv, rc->rope_cs, rc->ktm,    rc->ktx};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
    for (int i = 0; i < rc->n_threads && rc->scores; i++) free(rc->scores[i]);
    free(rc->scores);
    free(rc->a_k);
    free(rc->a_v);
    free(rc);
}

static double remat_bytes_per_token(const cache *c)
{
    const remat_cache *rc = (const remat_cache *)c;
    double total = 0;
    for (int il = 0; il < c->m->cfg.n_layer; il++)
        for (int s = 0; s < rc->layers[il].n_streams; s++) total += qstream_bytes_per_token(&rc->layers[il].s[s].spec);
    return total;
}

static void remat_layer_bytes(const cache *c, int layer, int64_t n_tokens_held, cache_bytes *out)
{
    const remat_cache *rc = (const remat_cache *)c;
    int l0 = layer < 0 ? 0 : layer, l1 = layer < 0 ? c->m->cfg.n_layer : layer + 1;
    for (int il = l0; il < l1; il++) {
        const remat_layer *L = &rc->layers[il];
        for (int s = 0; s < L->n_streams; s++) {
            out->persistent += qstream_bytes_held(&L->s[s], n_tokens_held);
            out->allocated += qstream_bytes_allocated(&L->s[s]);
            out->residual += qstream_ring_bytes(&L->s[s]);
        }
        out->residual += (uint64_t)L->x_ring.capacity * (uint64_t)L->x_ring.width * sizeof(float);
    }
    if (layer < 0) out->transient = rc->transient_bytes;
}

static void remat_bytes(const cache *c, int64_t n_tokens_held, cache_bytes *out)
{
    remat_layer_bytes(c, -1, n_tokens_held, out);
}

/* Rebuild FLOPs of one layer in a decode step over l keys, mirroring the spans remat_attend and remat_append
 * emit: K and V of the l keys, the CL accumulator's X̂ += latent·Uᵀ over the rows it brings up to date, the
 * absorbed p·X̂ products on the l keys. */
static double layer_remat_flops(const remat_cache *rc, const remat_layer *L, int64_t l)
{
    double d = rc->d, d_kv = rc->d_kv, h = rc->n_head, hd = rc->head_dim, r = rc->latent_width, rows = (double)l;
    bool absorb = rc->acc_width != rc->head_dim;
    double in = L->kind == LK_LATENT ? d_kv : d, w_v = in;
    if (L->kind == LK_KV) return 0.0;
    double flops = 2.0 * rows * d_kv * in;
    flops += absorb ? 2.0 * h * w_v * (double)l + 2.0 * h * hd * w_v : 2.0 * rows * d_kv * in;
    if (L->kind == LK_LATENT) flops += 2.0 * 1.0 * (2.0 * d_kv) * d;
    if (L->kind == LK_DELTA_LATENT) {
        int64_t a = qstream_quant_prefix(&L->s[0], l - 1), old = a < l - 1 ? a : l - 1;
        flops += 2.0 * 1.0 * r * d + 2.0 * 1.0 * d * r + 2.0 * (double)old * d * r; /* X̂ += latent·Uᵀ per row */
    }
    return flops;
}

static double remat_flops(const cache *c, int64_t n_keys)
{
    const remat_cache *rc = (const remat_cache *)c;
    double total = 0;
    for (int il = 0; il < c->m->cfg.n_layer; il++) total += layer_remat_flops(rc, &rc->layers[il], n_keys);
    return total;
}

static const cache_ops remat_ops = {remat_append,          remat_attend, remat_bytes, remat_layer_bytes,
                                    remat_bytes_per_token, remat_flops,  remat_destroy};

static int make_factors(remat_cache *rc, xq_err *err)
{
    cache_mode_id mode = rc->base.params.mode;
    if (!cache_mode_uses_svd(mode) || rc->base.params.svd) return XQ_OK;
    bool joint = cache_mode_uses_joint_svd(mode);
    int rc_svd = cache_svd_create(rc->base.m, joint, &rc->own_svd[joint], err);
    if (!rc_svd) rc->base.setup_seconds = cache_svd_seconds(rc->own_svd[joint]);
    return rc_svd;
}

int cache_remat_create(const cache_params *p, const model *m, ops_ctx *o, const span_sink *sink, int64_t n_ctx,
                       int64_t n_batch, cache **out, xq_err *err);

int cache_remat_create(const cache_params *p, const model *m, ops_ctx *o, const span_sink *sink, int64_t n_ctx,
                       int64_t n_batch, cache **out, xq_err *err)
{
    remat_cache *rc = calloc(1, sizeof *rc);
    if (!rc) return xq_fail(err, XQ_ERUN, "cache: out of memory");
    const model_config *cfg = &m->cfg;
    rc->base = (cache){.ops = &remat_ops, .mode = p->mode, .params = *p, .m = m, .ops_ctx = o, .sink = sink,
                       .n_ctx = n_ctx, .n_batch = n_batch};
    rc->d = cfg->n_embd;
    rc->n_head = cfg->n_head;
    rc->n_head_kv = cfg->n_head_kv;
    rc->head_dim = cfg->head_dim;
    rc->d_kv = cfg->n_head_kv * cfg->head_dim;
    rc->latent_width = p->mode == CACHE_XQ_CL_SVD ? (rc->d < 2 * rc->d_kv ? rc->d : 2 * rc->d_kv) : rc->d_kv;
    rc->tile = p->tile_tokens;
    rc->n_threads = xq_pool_size(ops_pool(o));
    int rc_f = make_factors(rc, err);
    if (rc_f) {
        remat_destroy(&rc->base);
        return rc_f;
    }
    if (is_x_based(p->mode)) { /* K and V from X̂ rows: W's columns are d, and so is the rows' stride */
        rc->tile_ops = ops_create(ops_pool(o), rc->d, rc->tile);
        rc->transient_bytes += rc->tile_ops ? ops_scratch_bytes(rc->tile_ops) : 0;
    }
    if (init_layers(rc) || init_buffers(rc) || (is_x_based(p->mode) && !rc->tile_ops)) {
        remat_destroy(&rc->base);
        return xq_fail(err, XQ_ERUN, "cache: out of memory for %lld tokens", (long long)n_ctx);
    }
    *out = &rc->base;
    return XQ_OK;
}

void remat_rope_rows(const remat_cache *rc, float *rows, int64_t ld, int64_t n, int64_t pos0, int head0, int n_heads)
{
    const model_config *cfg = &rc->base.m->cfg;
    for (int64_t r = 0; r < n; r++)
        ops_rope_apply(rows + r * ld + (int64_t)head0 * cfg->head_dim, n_heads, cfg->head_dim, cfg->n_rot,
                       rc->rope_cs + (pos0 + r) * cfg->n_rot);
}

