/* An inference session: one model, one cache policy, one thread pool, and every buffer the forward pass needs,
 * sized at creation so that decoding never allocates. */
#ifndef XQ_ENGINE_SESSION_H
#define XQ_ENGINE_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "base/span.h"
#include "base/status.h"
#include "cache/cache.h"
#include "engine/sample.h"
#include "model/model.h"

typedef struct session_params {
    int64_t n_ctx;          /* tokens the cache holds; 0 → the model's context_length */
    int n_threads;          /* 0 → all cores */
    int64_t n_batch;        /* most tokens per forward call; 0 → min(n_ctx, 512) */
    cache_params cache;     /* mode and parameters (cache_params_parse); zero-initialized: fp16 */
    bool logits_all;        /* keep logits of every token of a batch (perplexity) instead of the last only */
    const span_sink *sink;  /* may be NULL */
} session_params;

typedef struct session session;

int session_create(const model *m, const session_params *p, session **out, xq_err *err);
void session_destroy(session *s);

/* Runs the tokens through the model at the current position and appends them to the cache. n_tok may exceed
 * n_batch (split internally). Fails with XQ_EINPUT if the context would overflow or an id is out of range. */
int session_eval(session *s, const int32_t *ids, int64_t n_tok, xq_err *err);
/* session_eval, then *next drawn by smp from the last token's logits within the same step, so that a trace
 * counts sampling as that step's last op (OP_SAMPLE, a non-layer op). */
int session_eval_sample(session *s, const int32_t *ids, int64_t n_tok, sampler *smp, int32_t *next, xq_err *err);
/* Logits of the last evaluated token (n_vocab), or with logits_all of token i of the last session_eval call
 * (i < min(n_tok, n_batch) of the final internal batch — callers that need all logits pass ≤ n_batch tokens). */
const float *session_logits(const session *s, int64_t i);
int64_t session_pos(const session *s);
int64_t session_n_ctx(const session *s);
int session_n_threads(const session *s);
void session_reset(session *s);
/* Forgets the tokens from position pos on, as if only the first pos had been evaluated (the logits stay those of
 * the last evaluation until the next). Exact because every cache addresses its rows by position and its fp16
 * rows (window, unfilled per-channel groups) are kept n_batch tokens past what a query reads: so for
 * session_pos − n_batch ≤ pos ≤ session_pos; XQ_EINPUT outside that (reset and evaluate again instead). */
int session_rewind(session *s, int64_t pos, xq_err *err);
/* With logits_all: from now on only tokens at positions ≥ pos get logits (the last token of a batch always does);
 * session_logits of an earlier token of a batch is then undefined. Perplexity scores only a chunk's second half,
 * so the lm_head (the largest product of a batch) runs for half its rows. 0 restores every row. */
void session_keep_logits_from(session *s, int64_t pos);
const model *session_model(const session *s);
const cache *session_cache(const session *s);

#endif
