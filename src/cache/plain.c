/* The plain caches: K (stored after RoPE) and V in fp16 or fp32, n_ctx rows per layer, allocated up front. */
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
    void **k, **v;         /* per layer: n_ctx × d_kv */
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

static void store_row(const plain_cache *pc, void *dst, const float *src)
{
    if (pc->elem_bytes == 4) {
        memcpy(dst, src, (size_t)pc->d_kv * sizeof(float));
        return;
    }
    xq_f32_to_fp16_row(src, dst, pc->d_kv);
}

static void plain_append(cache *c, int layer, int64_t pos0, int64_t n_tok, const float *x, const float *k,
                         const float *v)
{
    (void)x;
    plain_cache *pc = (plain_cache *)c;
    const model_config *cfg = &c->m->cfg;
    size_t row = (size_t)pc->d_kv * (size_t)pc->elem_bytes;
    float rotated[pc->d_kv];
    for (int64_t t = 0; t < n_tok; t++) {
        memcpy(rotated, k + t * pc->d_kv, sizeof rotated);
        ops_rope(rotated, cfg->n_head_kv, cfg->head_dim, cfg->n_rot, pos0 + t, cfg->rope_base, cfg->rope_scale,
                 c->m->rope_freq_factors);
        store_row(pc, (char *)pc->k[layer] + (size_t)(pos0 + t) * row, rotated);
        store_row(pc, (char *)pc->v[layer] + (size_t)(pos0 + t) * row, v + t * pc->d_kv);
    }
}

typedef struct attend_job {
    plain_cache *pc;
    int layer;
    int64_t pos0, n_tok;
    const float *q;
    float *out;
} attend_job;

/* Decode (one query) on an fp16 cache: the heads of a KV head in one pass over its rows (no transposed copy, which
 * one query cannot amortize). Each thread takes a range of query heads, so a KV head's heads may be split between
 * two threads (with 3 KV heads on 2 threads, whole KV heads would leave one thread idle a third of the time). */
static void attend_decode_fp16(const attend_job *j, int ith, int nth)
{
    const plain_cache *pc = j->pc;
    const model_config *cfg = &pc->base.m->cfg;
    int hd = cfg->head_dim, group = cfg->n_head / cfg->n_head_kv;
    float *scores = pc->scratch[ith];
    long long lo, hi;
    xq_split_range(cfg->n_head, ith, nth, &lo, &hi);
    for (int h0 = (int)lo, h1; h0 < hi; h0 = h1) {
        int kvh = h0 / group;
        h1 = (kvh + 1) * group < hi ? (kvh + 1) * group : (int)hi;
        const uint16_t *K = (const uint16_t *)pc->k[j->layer] + (int64_t)kvh * hd;
        const uint16_t *V = (const uint16_t *)pc->v[j->layer] + (int64_t)kvh * hd;
        ops_attend_heads_fp16(j->q + (int64_t)h0 * hd, h1 - h0, K, V, pc->d_kv, j->pos0 + 1, hd, true, scores,
                              j->out + (int64_t)h0 * hd);
    }
}

static void attend_task(void *ctx, int ith, int nth)
{
    const attend_job *j = ctx;
    if (j->n_tok == 1 && j->pc->elem_bytes == 2) {
        attend_decode_fp16(j, ith, nth);
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
        ops_transpose_rows((const char *)pc->k[j->layer] + (size_t)kvh * (size_t)hd * (size_t)pc->elem_bytes,
                           pc->elem_bytes == 2, pc->d_kv, n_keys_max, hd, Kt, n_keys_max); /* Kt[d·n + j] */
        const char *vh = (const char *)pc->v[j->layer] + (size_t)kvh * (size_t)hd * (size_t)pc->elem_bytes; /* read in place */
        int n_rows = 0;
        for (int64_t i = i0; i < i1; i++)
            for (int h = kvh * group; h < (kvh + 1) * group; h++) {
                int64_t off = i * cfg->n_embd + (int64_t)h * hd;
                rows[n_rows++] = (ops_attend_row){j->q + off, j->out + off, j->pos0 + i + 1};
            }
        ops_attend_rows_kt(rows, n_rows, Kt, n_keys_max, vh, pc->elem_bytes == 2, pc->d_kv, hd, pc->elem_bytes == 2,
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
    out->allocated = (uint64_t)c->n_ctx * layers * 2 * (uint64_t)pc->d_kv * (uint64_t)pc->elem_bytes;
    out->residual = 0;
    out->transient = layer < 0 ? (uint64_t)pc->n_threads * (uint64_t)plain_scratch_floats(pc) *
                                     sizeof(float)
                               : 0;
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
    size_t layer_bytes = (size_t)n_ctx * (size_t)pc->d_kv * (size_t)pc->elem_bytes;
    for (int il = 0; ok && il < n_layer; il++) {
        pc->k[il] = malloc(layer_bytes);
        pc->v[il] = malloc(layer_bytes);
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
