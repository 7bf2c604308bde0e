/* The forward pass (engine-private): the session's buffers and one batch of tokens through every layer. */
#ifndef XQ_ENGINE_FORWARD_H
#define XQ_ENGINE_FORWARD_H

#include "base/arena.h"
#include "base/pool.h"
#include "engine/sample.h"
#include "engine/session.h"
#include "ops/ops.h"

struct session {
    const model *m;
    xq_pool *pool;
    ops_ctx *ops;
    cache *cache;
    const span_sink *sink;
    int64_t n_ctx, n_batch, pos;
    bool logits_all;
    int64_t logits_from; /* with logits_all: positions before it get none (session_keep_logits_from) */
    xq_arena arena;
    float *x, *xn, *q, *att, *k, *v, *gate, *up, *logits;
};

/* n ≤ s->n_batch tokens at position s->pos; advances s->pos. With smp, the step ends by drawing *next from the
 * last token's logits (an OP_SAMPLE span inside the step). */
void forward_batch(session *s, const int32_t *ids, int64_t n, sampler *smp, int32_t *next);

#endif
