/* Cache policies: each owns both the storage of past tokens and the attention over them, because that is where
 * cache modes differ (fp16 reads K/V, kv-E dequantizes, xq* rematerializes K/V from stored X).
 *
 * Per layer and forward call the engine calls append() with the new tokens' representations (the normed layer
 * input X, pre-RoPE K and V), then attend() for the same tokens' (already rotated) queries. The consistency rule
 * of XQUANT.md: every mode writes first, then attends over what it stored, the current tokens included — so a
 * batched prefill and token-by-token decode see the same values. */
#ifndef XQ_CACHE_CACHE_H
#define XQ_CACHE_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/span.h"
#include "base/status.h"
#include "model/model.h"
#include "ops/ops.h"

typedef enum cache_mode_id { CACHE_FP16 = 0, CACHE_FP32 = 1, CACHE_MODE_COUNT } cache_mode_id;

typedef struct cache_bytes {
    uint64_t persistent; /* bytes of stored history actually allocated for the tokens held */
    uint64_t transient;  /* working memory (rebuilt tiles, accumulators) */
} cache_bytes;

typedef struct cache cache;

typedef struct cache_ops {
    /* Stores tokens at positions pos0 .. pos0+n_tok−1. x: n_tok × n_embd, k and v: n_tok × d_kv (K pre-RoPE). */
    void (*append)(cache *c, int layer, int64_t pos0, int64_t n_tok, const float *x, const float *k, const float *v);
    /* q: n_tok × n_head·head_dim, rotated. out: same shape; causal attention over positions 0..pos0+i. */
    void (*attend)(cache *c, int layer, int64_t pos0, int64_t n_tok, const float *q, float *out);
    void (*bytes)(const cache *c, int64_t n_tokens_held, cache_bytes *out);
    void (*destroy)(cache *c);
} cache_ops;

/* The common part of every policy; a policy embeds it first. */
struct cache {
    const cache_ops *ops;
    cache_mode_id mode;
    const model *m;
    ops_ctx *ops_ctx;
    const span_sink *sink;
    int64_t n_ctx;
};

/* Parses a --cache value. Returns XQ_EINPUT with "unknown cache mode 'x' (known: …)" otherwise. */
int cache_mode_parse(const char *name, cache_mode_id *out, xq_err *err);
const char *cache_mode_name(cache_mode_id mode);

/* Creates a policy for n_ctx tokens; all storage is allocated here (none while decoding). */
int cache_create(cache_mode_id mode, const model *m, ops_ctx *o, const span_sink *sink, int64_t n_ctx,
                 cache **out, xq_err *err);
void cache_destroy(cache *c);

/* Attention of one query head over n_keys keys given as f32 rows (shared by policies that hold or rebuild
 * f32/fp16 rows). scores: scratch of n_keys floats. With fp16_operands, q and the softmax weights are rounded to
 * fp16 before their products with K and V, as llama.cpp does with an f16 KV cache (its matmuls convert the f32
 * operand to the cache's type). */
void cache_attend_head_f32(const float *q, const float *K, const float *V, int64_t n_keys, int64_t row_stride,
                           int head_dim, bool fp16_operands, float *scores, float *out);

#endif
