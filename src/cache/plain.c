/* The plain caches: K (stored after RoPE) and V in fp16 or fp32, n_ctx positions per layer, allocated up front.
 * Each KV head's keys and values are contiguous runs (a decode step streams them front to back): V as rows, K in
 * the blocked layout of ops.h (OPS_KEY_LANES positions per block, transposed within a block), so decoding reads
 * element d of 16 keys with one vector load and transposes nothing. */
#include <stdlib.h>
#include <string.h>

#include "base/fp16.h"
#include "cache/cache.h"

/* Query tokens per unit of prefill work: up to 32, fewer when their score rows would pass 4 MiB per thread. */
enum { QUERY_BLOCK_MAX = 32, SCORE_ROWS_BYTES = 4 << 20 };

typedef struct plain_cache {
    cache base;
    int elem_bytes;        /* 2 (fp16) or 4 (fp32) */
    int64_t d_kv;
    void **k, **v;         /* per layer and KV head: K in blocks (k_head_elems()), V as n_ctx rows of head_dim */
    int n_threads;
    int query_block;       /* query tokens per unit of prefill work */
    float **scratch;       /* per thread: plain_scratch_floats() floats */
} plain_cache;

int cache_plain_create(const cache_params *p, const model *m, ops_ctx *o, const span_sink *sink, int64_t n_ctx,
                       int64_t n_batch, cache **out, xq_err *err);

/* Per thread: one KV head's keys transposed (n_ctx × head_dim), then a unit's score rows and rounded queries. */
static size_t plain_scratch_floats(const plain_cache *pc)
{
    const model_config *cfg = &pc->base.m->cfg;
    size_t rows = (size_t)pc->query_block * (size_t)(cfg->n_head / cfg->n_head_kv);
    return (size_t)pc->base.n_ctx * (size_t)cfg->head_dim + rows * ((size_t)pc->base.n_ctx + (size_t)cfg->head_dim);
}

/* K of a layer: each KV head's keys one contiguous run of blocks (a decode step streams it front to back), a block
 * OPS_KEY_LANES positions × head_dim. */
static int64_t k_block_elems(const plain_cache *pc) { return (int64_t)pc->base.m->cfg.head_dim * OPS_KEY_LANES; }

static int64_t k_head_elems(const plain_cache *pc)
{
    return (pc->base.n_ctx + OPS_KEY_LANES - 1) / OPS_KEY_LANES * k_block_elems(pc);
}

static size_t k_layer_bytes(const plain_cache *pc)
{
    return (size_t)(k_head_elems(pc) * pc->base.m->cfg.n_head_kv) * (size_t)pc->elem_bytes;
}

/* KV head kvh's value rows in layer il: n_ctx rows of head_dim, one contiguous run per head as the keys. */
static const void *v_head(const plain_cache *pc, int il, int kvh)
{
    return (const char *)pc->v[il] + (size_t)(kvh * pc->base.n_ctx * pc->base.m->cfg.head_dim) * (size_t)pc->elem_bytes;
}

/* KV head kvh's keys in layer il. */
static const void *k_head(const plain_cache *pc, int il, int kvh)
{
    return (const char *)pc->k[il] + (size_t)(kvh * k_head_elems(pc)) * (size_t)pc->elem_bytes;
}

/* Key row pos (d_kv values, rotated) into its lane of each KV head's block. */
static void store_key(const plain_cache *pc, void *layer_k, int64_t pos, const float *rotated)
{
    int hd = pc->base.m->cfg.head_dim;
    int64_t head_elems = k_head_elems(pc), lane = pos / OPS_KEY_LANES * k_block_elems(pc) + pos % OPS_KEY_LANES;
    uint16_t half[pc->elem_bytes == 2 ? pc->d_kv : 1];
    if (pc->elem_bytes == 2) xq_f32_to_fp16_row(rotated, half, pc->d_kv);
    for (int kvh = 0; kvh < pc->base.m->cfg.n_head_kv; kvh++)
        for (int d = 0; d < hd; d++) {
            int64_t idx = kvh * head_elems + lane + (int64_t)d * OPS_KEY_LANES, e = (int64_t)kvh * hd + d;
            if (pc->elem_bytes == 2) ((uint16_t *)layer_k)[idx] = half[e];
            else ((float *)layer_k)[idx] = rotated[e];
        }
}

/* Value row pos (d_kv values) into each KV head's run. */
static void store_value(const plain_cache *pc, void *layer_v, int64_t pos, const float *src)
{
    int hd = pc->base.m->cfg.head_dim;
    for (int kvh = 0; kvh < pc->base.m->cfg.n_head_kv; kvh++) {
        size_t idx = (size_t)(kvh * pc->base.n_ctx + pos) * (size_t)hd;
        if (pc->elem_bytes == 4) memcpy((float *)layer_v + idx, src + (int64_t)kvh * hd, (size_t)hd * sizeof(float));
        else xq_f32_to_fp16_row(src + (int64_t)kvh * hd, (uint16_t *)layer_v + idx, hd);
    }
}

static void plain_append(cache *c, int layer, int64_t pos0, int64_t n_tok, const float *x, const float *k,
                         const float *v)
{
    (void)x;
    plain_cache *pc = (plain_cache *)c;
    const model_config *cfg = &c->m->cfg;
    float rotated[pc->d_kv];
    for (int64_t t = 0; t < n_tok; t++) {
        memcpy(rotated, k + t * pc->d_kv, sizeof rotated);
        ops_rope(rotated, cfg->n_head_kv, cfg->head_dim, cfg->n_rot, pos0 + t, cfg->rope_base, cfg->rope_scale,
                 c->m->rope_freq_factors);
        store_key(pc, pc->k[layer], pos0 + t, rotated);
        store_value(pc, pc->v[layer], pos0 + t, v + t * pc->d_kv);
    }
}

typedef struct attend_job {
    plain_cache *pc;
    int layer;
    int64_t pos0, n_tok;
    const float *q;
    float *out;
} attend_job;

/* Decode (one query): the heads of a KV head in one pass over its keys and values (ops_attend_heads_kb). Each
 * thread takes a range of query heads, so a KV head's heads may be split between two threads (with 3 KV heads on
 * 2 threads, whole KV heads would leave one thread idle a third of the time). */
static void attend_decode(const attend_job *j, int ith, int nth)
{
    const plain_cache *pc = j->pc;
    const model_config *cfg = &pc->base.m->cfg;
    int hd = cfg->head_dim, group = cfg->n_head / cfg->n_head_kv;
    bool fp16 = pc->elem_bytes == 2;
    float *scores = pc->scratch[ith];
    long long lo, hi;
    xq_split_range(cfg->n_head, ith, nth, &lo, &hi);
    for (int h0 = (int)lo, h1; h0 < hi; h0 = h1) {
        int kvh = h0 / group;
        h1 = (kvh + 1) * group < hi ? (kvh + 1) * group : (int)hi;
        const void *K = k_head(pc, j->layer, kvh);
        ops_attend_heads_kb(j->q + (int64_t)h0 * hd, h1 - h0, K, fp16, k_block_elems(pc), v_head(pc, j->layer, kvh),
                            fp16, hd, j->pos0 + 1, hd, fp16, scores, j->out + (int64_t)h0 * hd);
    }
}

static void attend_task(void *ctx, int ith, int nth)
{
    const attend_job *j = ctx;
    if (j->n_tok == 1) {
        attend_decode(j, ith, nth);
        return;
    }
    const plain_cache *pc = j->pc;
    const model_config *cfg = &pc->base.m->cfg;
    int hd = cfg->head_dim, group = cfg->n_head / cfg->n_head_kv;
    int64_t n_qblocks = (j->n_tok + pc->query_block - 1) / pc->query_block;
    int64_t n_units = (int64_t)cfg->n_head_kv * n_qblocks;
    float *Kt = pc->scratch[ith];
    float *rows_scratch = Kt + pc->base.n_ctx * hd;
    ops_attend_row rows[pc->query_block * group];
    for (int64_t u = ith; u < n_units; u += nth) {
        int kvh = (int)(u % cfg->n_head_kv);
        int64_t i0 = (u / cfg->n_head_kv) * pc->query_block;
        int64_t i1 = i0 + pc->query_block < j->n_tok ? i0 + pc->query_block : j->n_tok;
        int64_t n_keys_max = j->pos0 + i1;
        ops_untile_keys(k_head(pc, j->layer, kvh), pc->elem_bytes == 2, k_block_elems(pc), n_keys_max, hd, Kt,
                        n_keys_max); /* Kt[d·n + j] */
        const void *vh = v_head(pc, j->layer, kvh); /* read in place */
        int n_rows = 0;
        for (int64_t i = i0; i < i1; i++)
            for (int h = kvh * group; h < (kvh + 1) * group; h++) {
                int64_t off = i * cfg->n_embd + (int64_t)h * hd;
                rows[n_rows++] = (ops_attend_row){j->q + off, j->out + off, j->pos0 + i + 1};
            }
        ops_attend_rows_kt(rows, n_rows, Kt, n_keys_max, vh, pc->elem_bytes == 2, hd, hd, pc->elem_bytes == 2,
                           rows_scratch);
    }
}

static void plain_attend(cache *c, int layer, int64_t pos0, int64_t n_tok, const float *q, float *out)
{
    attend_job job = {(plain_cache *)c, layer, pos0, n_tok, q, out};
    xq_pool_run(ops_pool(c->ops_ctx), attend_task, &job);
}

static double plain_bytes_per_token(const cache *c)
{
    const plain_cache *pc = (const plain_cache *)c;
    return (double)c->m->cfg.n_layer * 2.0 * (double)pc->d_kv * pc->elem_bytes;
}

static void plain_layer_bytes(const cache *c, int layer, int64_t n_tokens_held, cache_bytes *out)
{
    const plain_cache *pc = (const plain_cache *)c;
    uint64_t layers = layer < 0 ? (uint64_t)c->m->cfg.n_layer : 1;
    out->persistent = (uint64_t)n_tokens_held * layers * 2 * (uint64_t)pc->d_kv * (uint64_t)pc->elem_bytes;
    uint64_t v_bytes = (uint64_t)c->n_ctx * (uint64_t)pc->d_kv * (uint64_t)pc->elem_bytes;
    out->allocated = layers * ((uint64_t)k_layer_bytes(pc) + v_bytes); /* K's blocks round n_ctx up to 16 */
    out->residual = 0;
    out->transient = layer < 0 ? (uint64_t)pc->n_threads * (uint64_t)plain_scratch_floats(pc) * sizeof(float) : 0;
}

static void plain_bytes(const cache *c, int64_t n_tokens_held, cache_bytes *out)
{
    plain_layer_bytes(c, -1, n_tokens_held, out);
}

static double plain_remat_flops(const cache *c, int64_t n_keys)
{
    (void)c;
    (void)n_keys;
    return 0.0;
}

static void plain_destroy(cache *c)
{
    plain_cache *pc = (plain_cache *)c;
    for (int il = 0; il < c->m->cfg.n_layer; il++) {
        if (pc->k) free(pc->k[il]);
        if (pc->v) free(pc->v[il]);
    }
    if (pc->scratch)
        for (int i = 0; i < pc->n_threads; i++) free(pc->scratch[i]);
    free(pc->k);
    free(pc->v);
    free(pc->scratch);
    free(pc);
}

static const cache_ops plain_ops = {plain_append,      plain_attend,          plain_bytes,  plain_layer_bytes,
                                    plain_bytes_per_token, plain_remat_flops, plain_destroy};

int cache_plain_create(const cache_params *p, const model *m, ops_ctx *o, const span_sink *sink, int64_t n_ctx,
                       int64_t n_batch, cache **out, xq_err *err)
{
    plain_cache *pc = calloc(1, sizeof *pc);
    if (!pc) return xq_fail(err, XQ_ERUN, "cache: out of memory");
    pc->base = (cache){.ops = &plain_ops, .mode = p->mode, .params = *p, .m = m, .ops_ctx = o, .sink = sink,
                       .n_ctx = n_ctx, .n_batch = n_batch};
    pc->elem_bytes = p->mode == CACHE_FP32 ? 4 : 2;
    pc->d_kv = (int64_t)m->cfg.n_head_kv * m->cfg.head_dim;
    int n_layer = m->cfg.n_layer;
    pc->n_threads = xq_pool_size(ops_pool(o));
    pc->k = calloc((size_t)n_layer, sizeof *pc->k);
    pc->v = calloc((size_t)n_layer, sizeof *pc->v);
    pc->scratch = calloc((size_t)pc->n_threads, sizeof *pc->scratch);
    int ok = pc->k && pc->v && pc->scratch;
    size_t v_bytes = (size_t)n_ctx * (size_t)pc->d_kv * (size_t)pc->elem_bytes;
    for (int il = 0; ok && il < n_layer; il++) {
        pc->k[il] = calloc(1, k_layer_bytes(pc)); /* zeros in the lanes past the last position: no NaN to find */
        pc->v[il] = malloc(v_bytes);
        ok = pc->k[il] && pc->v[il];
    }
    int group = m->cfg.n_head / m->cfg.n_head_kv;
    int64_t fit = SCORE_ROWS_BYTES / ((int64_t)sizeof(float) * group * n_ctx);
    pc->query_block = fit < 1 ? 1 : fit > QUERY_BLOCK_MAX ? QUERY_BLOCK_MAX : (int)fit;
    size_t scratch_floats = plain_scratch_floats(pc);
    for (int i = 0; ok && i < pc->n_threads; i++) ok = (pc->scratch[i] = malloc(scratch_floats * sizeof(float))) != NULL;
    if (!ok) {
        plain_destroy(&pc->base);
        return xq_fail(err, XQ_ERUN, "cache: out of memory for %lld tokens", (long long)n_ctx);
    }
    *out = &pc->base;
    return XQ_OK;
}
