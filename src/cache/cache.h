/* Cache policies: each owns both the storage of past tokens and the attention over them, because that is where
 * cache modes differ (fp16 reads K/V, kv-E dequantizes, xq* rematerializes K/V from stored X). The modes and
 * their arithmetic are specified in ../shared/XQUANT.md; decisions it leaves open are in docs/METHOD.md.
 *
 * Per layer and forward call the engine calls append() with the new tokens' representations (the normed layer
 * input X, pre-RoPE K and V), then attend() for the same tokens' (already rotated) queries. The consistency rule
 * of XQUANT.md: every mode writes first, then attends over what it stored, the current tokens included — so a
 * batched prefill and token-by-token decode see the same values. Layers are appended in order 0 … n_layer−1
 * within one forward call (the cross-layer modes chain them).
 *
 * Work reported through the span sink, nested inside the engine's OP_CACHE_APPEND / OP_ATTEND spans, with the
 * shapes src/prof/cost.h reads:
 *   OP_DEQUANT  m = rows, n = elements per row (summed over the streams read), k = bits per stored element.
 *   OP_REMAT    a product costing 2·m·n·k FLOPs: m = rows (tokens), n = output width, k = inner width; dtype is
 *               the weight's type (F32 for SVD factors). Rebuild GEMMs, latent projections, and with --absorb-v
 *               the p·X̂ products and the final projection by Wv. cache_remat_flops() sums the same shapes. */
#ifndef XQ_CACHE_CACHE_H
#define XQ_CACHE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/span.h"
#include "base/status.h"
#include "model/model.h"
#include "ops/ops.h"

typedef enum cache_mode_id {
    CACHE_FP16 = 0, CACHE_FP32, CACHE_KV_Q8_0, CACHE_KV_Q4_0, CACHE_KV, CACHE_XQ, CACHE_XQ_SVD, CACHE_XQ_CL,
    CACHE_XQ_CL_SVD, CACHE_MODE_COUNT
} cache_mode_id;

struct cache_svd;

/* A mode and its parameters (XQUANT.md §2). cache_params_parse fills the defaults of a mode name; the CLI then
 * applies --group, --window, --hi-layers, --fp16-ch0, --absorb-v. Parameters a mode has no use for are ignored:
 * --group and --hi-layers by fp16, fp32, kv-q8_0, kv-q4_0; --window by fp16 and fp32; --fp16-ch0 outside the SVD
 * modes; --absorb-v outside the X-based modes (xq, xq-svd, xq-cl, xq-cl-svd). */
typedef struct cache_params {
    cache_mode_id mode;
    int bits;                     /* E; 16, 32 for fp16, fp32; 8, 4 for kv-q8_0, kv-q4_0 */
    int group;                    /* G: channels per group per-token, tokens per group per-channel; 0 → 128 */
    int window;                   /* W: the most recent W tokens are seen in fp16 */
    int hi_layers;                /* layers 0 … N−1 stored as plain 4-bit X (kv-E: 4-bit K and V) */
    bool fp16_ch0;                /* SVD modes: latent channel 0 kept in fp16 */
    bool absorb_v;                /* out_h = (pᵀ·X̂)·Wv,h instead of rebuilding V */
    int tile_tokens;              /* keys rebuilt per tile; 0 → 128 (tests use small tiles) */
    const struct cache_svd *svd;  /* shared SVD factors of the mode's kind, or NULL: the cache computes them */
} cache_params;

enum { CACHE_GROUP_MAX = 4096, CACHE_DEFAULT_GROUP = 128, CACHE_DEFAULT_TILE = 128 };

typedef struct cache_bytes {
    uint64_t persistent; /* stored history for the tokens held, whole groups only (= bytes_per_token × n) */
    uint64_t residual;   /* fp16-view ring (window, unfilled per-channel groups, batch staging), allocated */
    uint64_t transient;  /* working memory allocated: rebuilt tiles, CL accumulator, attention state */
    uint64_t allocated;  /* the store as allocated for n_ctx tokens (= persistent at n_ctx, counted separately) */
} cache_bytes;

typedef struct cache cache;

typedef struct cache_ops {
    /* Stores tokens at positions pos0 .. pos0+n_tok−1. x: n_tok × n_embd, k and v: n_tok × d_kv (K pre-RoPE). */
    void (*append)(cache *c, int layer, int64_t pos0, int64_t n_tok, const float *x, const float *k, const float *v);
    /* q: n_tok × n_head·head_dim, rotated. out: same shape; causal attention over positions 0..pos0+i. */
    void (*attend)(cache *c, int layer, int64_t pos0, int64_t n_tok, const float *q, float *out);
    /* All layers, for n tokens held. */
    void (*bytes)(const cache *c, int64_t n_tokens_held, cache_bytes *out);
    /* One layer (transient bytes are shared by the layers and reported with the total only). */
    void (*layer_bytes)(const cache *c, int layer, int64_t n_tokens_held, cache_bytes *out);
    double (*bytes_per_token)(const cache *c);
    double (*remat_flops)(const cache *c, int64_t n_keys);
    void (*destroy)(cache *c);
} cache_ops;

/* The common part of every policy; a policy embeds it first. */
struct cache {
    const cache_ops *ops;
    cache_mode_id mode;
    cache_params params;
    const model *m;
    ops_ctx *ops_ctx;
    const span_sink *sink;
    int64_t n_ctx, n_batch;
    double setup_seconds; /* SVD time when the cache computed its own factors */
};

/* Parses a --cache value ("xq-cl-3") into its mode, bits and that mode's defaults. XQ_EINPUT with a one-line
 * message listing what is valid for unknown names and bits not offered. */
int cache_params_parse(const char *name, cache_params *out, xq_err *err);
/* Checks the parameters against a model: group range, --hi-layers ≤ n_layer, SVD modes need GQA, block formats
 * need d_kv a multiple of 32. XQ_EINPUT with what is valid. */
int cache_params_check(const cache_params *p, const model_config *cfg, xq_err *err);
/* The mode's name as --cache spells it ("kv-q8_0", "xq-svd-4"). */
void cache_params_name(const cache_params *p, char *buf, size_t size);
/* Every mode name, in the order `--modes all` runs them (NULL-terminated). */
const char *const *cache_mode_names_all(void);
/* The family name without bits ("xq-cl"), for span records. */
const char *cache_mode_name(cache_mode_id mode);
bool cache_mode_uses_svd(cache_mode_id mode);
bool cache_mode_uses_joint_svd(cache_mode_id mode);

/* Creates a policy for n_ctx tokens, appended at most n_batch at a time; all storage is allocated here (none
 * while decoding). Fails with XQ_EINPUT when the parameters do not fit the model (cache_params_check). */
int cache_create(const cache_params *p, const model *m, ops_ctx *o, const span_sink *sink, int64_t n_ctx,
                 int64_t n_batch, cache **out, xq_err *err);
void cache_destroy(cache *c);

/* Persistent bytes per token over all layers as XQUANT.md §1 counts them (what eval reports). */
double cache_bytes_per_token(const cache *c);
/* layer −1: all layers (as ops->bytes). */
void cache_get_bytes(const cache *c, int layer, int64_t n_tokens_held, cache_bytes *out);
/* FLOPs of the OP_REMAT spans of one decode step that ends with n_keys tokens cached. */
double cache_remat_flops(const cache *c, int64_t n_keys);

/* Attention of one query head over n_keys keys given as f32 rows (shared by policies that hold or rebuild
 * f32/fp16 rows). scores: scratch of n_keys floats. With fp16_operands, q and the softmax weights are rounded to
 * fp16 before their products with K and V, as llama.cpp does with an f16 KV cache (its matmuls convert the f32
 * operand to the cache's type). */
void cache_attend_head_f32(const float *q, const float *K, const float *V, int64_t n_keys, int64_t row_stride,
                           int head_dim, bool fp16_operands, float *scores, float *out);

#endif
