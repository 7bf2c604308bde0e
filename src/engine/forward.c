#include "engine/forward.h"

#include <string.h>

static span_shape matmul_shape(const session *s, const model_tensor *W, int64_t n)
{
    return (span_shape){.m = W->rows, .n = n, .k = W->cols, .dtype = W->type, .cache_mode = s->cache->mode,
                        .ctx = s->pos + n};
}

static void matmul(session *s, span_op op, int layer, const model_tensor *W, const float *X, int64_t n, float *Y)
{
    span_shape sh = matmul_shape(s, W, n);
    span_begin(s->sink, op, layer, &sh);
    ops_matmul(s->ops, W, X, n, Y);
    span_end(s->sink, op, layer);
}

/* Element-wise work of a batch is split over the pool by rows (tokens) or elements: each element's arithmetic is
 * the same on any thread, so the bits do not depend on the split. Below these sizes (decode's one token) the
 * hand-off costs more than it saves. */
enum { PAR_MIN_ROWS = 4, PAR_MIN_ELEMS = 16384 };

static xq_pool *pool_of(const session *s)
{
    return ops_pool(s->ops);
}

typedef struct rows_job {
    const session *s;
    const float *w, *x, *y;
    float *out;
    int64_t pos;
} rows_job;

static void rmsnorm_range(void *ctx, long long lo, long long hi)
{
    const rows_job *j = ctx;
    const model_config *c = &j->s->m->cfg;
    for (long long t = lo; t < hi; t++)
        ops_rmsnorm(j->x + t * c->n_embd, j->w, c->n_embd, c->norm_eps, j->out + t * c->n_embd);
}

static void rmsnorm_rows(session *s, int layer, const float *w, const float *x, int64_t n, float *out)
{
    const model_config *c = &s->m->cfg;
    span_shape sh = {.m = c->n_embd, .n = n, .k = 1, .cache_mode = s->cache->mode, .ctx = s->pos + n};
    span_begin(s->sink, OP_RMSNORM, layer, &sh);
    rows_job j = {.s = s, .w = w, .x = x, .out = out};
    xq_pool_for(pool_of(s), n, PAR_MIN_ROWS, rmsnorm_range, &j);
    span_end(s->sink, OP_RMSNORM, layer);
}

static void add_range(void *ctx, long long lo, long long hi)
{
    const rows_job *j = ctx;
    for (long long i = lo; i < hi; i++) j->out[i] += j->y[i];
}

static void add_rows(session *s, int layer, float *x, const float *y, int64_t count)
{
    span_shape sh = {.m = count, .n = 1, .k = 1, .cache_mode = s->cache->mode, .ctx = s->pos};
    span_begin(s->sink, OP_RESIDUAL, layer, &sh);
    rows_job j = {.s = s, .y = y, .out = x};
    xq_pool_for(pool_of(s), count, PAR_MIN_ELEMS, add_range, &j);
    span_end(s->sink, OP_RESIDUAL, layer);
}

static void rope_range(void *ctx, long long lo, long long hi)
{
    const rows_job *j = ctx;
    const model_config *c = &j->s->m->cfg;
    for (long long t = lo; t < hi; t++)
        ops_rope(j->out + t * c->n_embd, c->n_head, c->head_dim, c->n_rot, j->pos + t, c->rope_base, c->rope_scale,
                 j->s->m->rope_freq_factors);
}

static void swiglu_range(void *ctx, long long lo, long long hi)
{
    const rows_job *j = ctx;
    ops_swiglu(j->out + lo, j->y + lo, hi - lo);
}

static void attention_block(session *s, int il, int64_t n)
{
    const model_config *c = &s->m->cfg;
    const model_layer *L = &s->m->layers[il];
    cache *kv = s->cache;
    rmsnorm_rows(s, il, L->attn_norm, s->x, n, s->xn);
    matmul(s, OP_MATMUL_Q, il, &L->wq, s->xn, n, s->q);
    matmul(s, OP_MATMUL_K, il, &L->wk, s->xn, n, s->k);
    matmul(s, OP_MATMUL_V, il, &L->wv, s->xn, n, s->v);

    span_shape sh = {.m = c->n_head, .n = n, .k = c->head_dim, .cache_mode = kv->mode, .ctx = s->pos + n};
    span_begin(s->sink, OP_ROPE, il, &sh);
    rows_job rope = {.s = s, .out = s->q, .pos = s->pos};
    xq_pool_for(pool_of(s), n, PAR_MIN_ROWS, rope_range, &rope);
    span_end(s->sink, OP_ROPE, il);

    span_begin(s->sink, OP_CACHE_APPEND, il, &sh);
    kv->ops->append(kv, il, s->pos, n, s->xn, s->k, s->v);
    span_end(s->sink, OP_CACHE_APPEND, il);
    span_begin(s->sink, OP_ATTEND, il, &sh);
    kv->ops->attend(kv, il, s->pos, n, s->q, s->att);
    span_end(s->sink, OP_ATTEND, il);

    matmul(s, OP_MATMUL_O, il, &L->wo, s->att, n, s->xn);
    add_rows(s, il, s->x, s->xn, n * c->n_embd);
}

static void mlp_block(session *s, int il, int64_t n)
{
    const model_config *c = &s->m->cfg;
    const model_layer *L = &s->m->layers[il];
    rmsnorm_rows(s, il, L->ffn_norm, s->x, n, s->xn);
    matmul(s, OP_MATMUL_GATE, il, &L->w_gate, s->xn, n, s->gate);
    matmul(s, OP_MATMUL_UP, il, &L->w_up, s->xn, n, s->up);
    span_shape sh = {.m = c->n_ff, .n = n, .k = 1, .cache_mode = s->cache->mode, .ctx = s->pos + n};
    span_begin(s->sink, OP_SWIGLU, il, &sh);
    rows_job j = {.s = s, .y = s->up, .out = s->gate};
    xq_pool_for(pool_of(s), n * c->n_ff, PAR_MIN_ELEMS, swiglu_range, &j);
    span_end(s->sink, OP_SWIGLU, il);
    matmul(s, OP_MATMUL_DOWN, il, &L->w_down, s->gate, n, s->xn);
    add_rows(s, il, s->x, s->xn, n * c->n_embd);
}

typedef struct embed_job {
    const session *s;
    const int32_t *ids;
} embed_job;

static void embed_range(void *ctx, long long lo, long long hi)
{
    const embed_job *j = ctx;
    int64_t d = j->s->m->cfg.n_embd;
    for (long long t = lo; t < hi; t++) ops_embed_row(&j->s->m->tok_embd, j->ids[t], j->s->x + t * d);
}

static void embed(session *s, const int32_t *ids, int64_t n)
{
    const model_config *c = &s->m->cfg;
    span_shape sh = {.m = c->n_embd, .n = n, .k = 1, .dtype = s->m->tok_embd.type, .cache_mode = s->cache->mode,
                     .ctx = s->pos + n};
    span_begin(s->sink, OP_EMBED, -1, &sh);
    embed_job j = {s, ids};
    xq_pool_for(pool_of(s), n, PAR_MIN_ROWS, embed_range, &j);
    span_end(s->sink, OP_EMBED, -1);
}

/* Final norm and lm_head, for every row from position logits_from on (logits_all) or only the last one; the
 * logits of row i stay at row i of the buffer. Each row's logits are its own (the matmul's bits do not depend
 * on the other rows), so skipping rows changes none that are kept. */
static void output_head(session *s, int64_t n)
{
    const model_config *c = &s->m->cfg;
    int64_t first = s->logits_all ? s->logits_from - s->pos : n - 1;
    first = first < 0 ? 0 : first > n - 1 ? n - 1 : first;
    int64_t rows = n - first;
    rmsnorm_rows(s, -1, s->m->output_norm, s->x + first * c->n_embd, rows, s->xn);
    matmul(s, OP_LM_HEAD, -1, &s->m->output, s->xn, rows, s->logits + (s->logits_all ? first : 0) * c->n_vocab);
}

/* The next token, drawn from the logits of the batch's last token: the step's last op. */
static void sample_next(session *s, int64_t n, sampler *smp, int32_t *next)
{
    span_shape sh = {.m = s->m->cfg.n_vocab, .n = 1, .cache_mode = s->cache->mode, .ctx = s->pos};
    span_begin(s->sink, OP_SAMPLE, -1, &sh);
    *next = sampler_sample(smp, session_logits(s, n - 1));
    span_end(s->sink, OP_SAMPLE, -1);
}

void forward_batch(session *s, const int32_t *ids, int64_t n, sampler *smp, int32_t *next)
{
    span_shape sh = {.m = 0, .n = n, .k = 0, .cache_mode = s->cache->mode, .ctx = s->pos + n};
    span_begin(s->sink, OP_STEP, -1, &sh);
    embed(s, ids, n);
    for (int il = 0; il < s->m->cfg.n_layer; il++) {
        attention_block(s, il, n);
        mlp_block(s, il, n);
    }
    output_head(s, n);
    s->pos += n;
    if (smp) sample_next(s, n, smp, next);
    span_end(s->sink, OP_STEP, -1);
}
