#include "engine/session.h"

#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/pool.h"
#include "engine/forward.h"

int session_create(const model *m, const session_params *p, session **out, xq_err *err)
{
    *out = NULL;
    const model_config *c = &m->cfg;
    int64_t n_ctx = p->n_ctx > 0 ? p->n_ctx : c->n_ctx_train;
    if (n_ctx > (1 << 24)) return xq_fail(err, XQ_EINPUT, "context %lld is too large", (long long)n_ctx);
    int n_threads = xq_threads_or_all(p->n_threads);
    int64_t n_batch = p->n_batch > 0 ? p->n_batch : (n_ctx < 512 ? n_ctx : 512);
    if (n_batch > n_ctx) n_batch = n_ctx;

    session *s = calloc(1, sizeof *s);
    if (!s) return xq_fail(err, XQ_ERUN, "session: out of memory");
    s->m = m;
    s->n_ctx = n_ctx;
    s->n_batch = n_batch;
    s->logits_all = p->logits_all;
    s->sink = p->sink;
    s->pool = xq_pool_create(n_threads);
    int64_t max_cols = c->n_ff > c->n_embd ? c->n_ff : c->n_embd;
    s->ops = s->pool ? ops_create(s->pool, max_cols, n_batch) : NULL;
    if (!s->pool || !s->ops) {
        session_destroy(s);
        return xq_fail(err, XQ_ERUN, "session: cannot start %d threads", n_threads);
    }
    int rc = cache_create(&p->cache, m, s->ops, s->sink, n_ctx, n_batch, &s->cache, err);
    if (rc) {
        session_destroy(s);
        return rc;
    }
    int64_t d = c->n_embd, d_kv = (int64_t)c->n_head_kv * c->head_dim;
    int64_t n_logit_rows = p->logits_all ? n_batch : 1;
    size_t floats = (size_t)n_batch * (size_t)(4 * d + 2 * d_kv + 2 * c->n_ff) + (size_t)n_logit_rows * c->n_vocab;
    if (xq_arena_init(&s->arena, floats * sizeof(float) + 16 * 64) != 0) {
        session_destroy(s);
        return xq_fail(err, XQ_ERUN, "session: out of memory for buffers (%zu MiB)", (floats * 4) >> 20);
    }
#define TAKE(n) ((float *)xq_arena_alloc(&s->arena, (size_t)(n) * sizeof(float)))
    s->x = TAKE(n_batch * d);
    s->xn = TAKE(n_batch * d);
    s->q = TAKE(n_batch * d);
    s->att = TAKE(n_batch * d);
    s->k = TAKE(n_batch * d_kv);
    s->v = TAKE(n_batch * d_kv);
    s->gate = TAKE(n_batch * c->n_ff);
    s->up = TAKE(n_batch * c->n_ff);
    s->logits = TAKE(n_logit_rows * c->n_vocab);
#undef TAKE
    *out = s;
    return XQ_OK;
}

void session_destroy(session *s)
{
    if (!s) return;
    cache_destroy(s->cache);
    ops_destroy(s->ops);
    xq_pool_destroy(s->pool);
    xq_arena_free(&s->arena);
    free(s);
}

static int eval(session *s, const int32_t *ids, int64_t n_tok, sampler *smp, int32_t *next, xq_err *err)
{
    if (n_tok <= 0) return xq_fail(err, XQ_EINPUT, "nothing to evaluate");
    if (s->pos + n_tok > s->n_ctx)
        return xq_fail(err, XQ_EINPUT, "context full: %lld + %lld tokens exceed n_ctx %lld", (long long)s->pos,
                       (long long)n_tok, (long long)s->n_ctx);
    for (int64_t i = 0; i < n_tok; i++)
        if (ids[i] < 0 || ids[i] >= s->m->cfg.n_vocab)
            return xq_fail(err, XQ_EINPUT, "token id %d out of range [0, %d)", ids[i], s->m->cfg.n_vocab);
    for (int64_t done = 0; done < n_tok;) {
        int64_t n = n_tok - done < s->n_batch ? n_tok - done : s->n_batch;
        bool last = done + n == n_tok;
        forward_batch(s, ids + done, n, last ? smp : NULL, next);
        done += n;
    }
    return XQ_OK;
}

int session_eval(session *s, const int32_t *ids, int64_t n_tok, xq_err *err)
{
    return eval(s, ids, n_tok, NULL, NULL, err);
}

int session_eval_sample(session *s, const int32_t *ids, int64_t n_tok, sampler *smp, int32_t *next, xq_err *err)
{
    return eval(s, ids, n_tok, smp, next, err);
}

const float *session_logits(const session *s, int64_t i)
{
    int64_t row = s->logits_all ? i : 0;
    return s->logits + row * s->m->cfg.n_vocab;
}

int64_t session_pos(const session *s) { return s->pos; }
int64_t session_n_ctx(const session *s) { return s->n_ctx; }
int session_n_threads(const session *s) { return xq_pool_size(s->pool); }
void session_reset(session *s) { s->pos = 0; }

void session_keep_logits_from(session *s, int64_t pos) { s->logits_from = pos > 0 ? pos : 0; }

int session_rewind(session *s, int64_t pos, xq_err *err)
{
    if (pos < 0 || pos > s->pos || s->pos - pos > s->n_batch)
        return xq_fail(err, XQ_EINPUT, "cannot rewind from position %lld to %lld (at most %lld tokens back)",
                       (long long)s->pos, (long long)pos, (long long)s->n_batch);
    s->pos = pos;
    return XQ_OK;
}
const model *session_model(const session *s) { return s->m; }
const cache *session_cache(const session *s) { return s->cache; }
