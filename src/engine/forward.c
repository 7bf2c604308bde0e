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

static void rmsnorm_rows(session *s, int layer, const float *w, const float *x, int64_t n, float *out)
{
    const model_config *c = &s->m->cfg;
    span_shape sh = {.m = c->n_embd, .n = n, .k = 1, .cache_mode = s->cache->mode, .ctx = s->pos + n};
    span_begin(s->sink, OP_RMSNORM, layer, &sh);
    for (int64_t t = 0; t < n; t++) ops_rmsnorm(x + t * c->n_embd, w, c->n_embd, c->norm_eps, out + t * c->n_embd);
    span_end(s->sink, OP_RMSNORM, layer);
}

static void add_rows(session *s, int layer, float *x, const float *y, int64_t count)
{
    span_shape sh = {.m = count, .n = 1, .k = 1, .cache_mode = s->cache->mode, .ctx = s->pos};
    span_begin(s->sink, OP_RESIDUAL, layer, &sh);
    for (int64_t i = 0; i < count; i++) x[i] += y[i];
    span_end(s->sink, OP_RESIDUAL, layer);
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
    for (int64_t t = 0; t < n; t++)
        ops_rope(s->q + t * c->n_embd, c->n_head, c->head_dim, c->n_rot, s->pos + t, c->rope_base, c->rope_scale,
                 s->m->rope_freq_factors);
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
    ops_swiglu(s->gate, s->up, n * c->n_ff);
    span_end(s->sink, OP_SWIGLU, il);
    matmul(s, OP_MATMUL_DOWN, il, &L->w_down, s->gate, n, s->xn);
    add_rows(s, il, s->x, s->xn, n * c->n_embd);
}

static void embed(session *s, const int32_t *ids, int64_t n)
{
    const model_config *c = &s->m->cfg;
    span_shape sh = {.m = c->n_embd, .n = n, .k = 1, .dtype = s->m->tok_embd.type, .cache_mode = s->cache->mode,
                     .ctx = s->pos + n};
    span_begin(s->sink, OP_EMBED, -1, &sh);
    for (int64_t t = 0; t < n; t++) ops_embed_row(&s->m->tok_embd, ids[t], s->x + t * c->n_embd);
    span_end(s->sink, OP_EMBED, -1);
}

/* Final norm and lm_head, for every row (logits_all) or only the last one. */
static void output_head(session *s, int64_t n)
{
    const model_config *c = &s->m->cfg;
    int64_t first = s->logits_all ? 0 : n - 1, rows = n - first;
    rmsnorm_rows(s, -1, s->m->output_norm, s->x + first * c->n_embd, rows, s->xn);
    matmul(s, OP_LM_HEAD, -1, &s->m->output, s->xn, rows, s->logits);
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
