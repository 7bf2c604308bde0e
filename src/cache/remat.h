/* Internal to src/cache: the policy behind every quantized mode (kv-*, xq-*). Each layer stores one or two
 * quantized streams (qstream.h) and, per forward call, attention walks the keys in tiles of `tile` tokens:
 *   phase A  read the streams' rows in the view each query needs (quantized, or fp16 for the window and
 *            unfilled per-channel groups); for the cross-layer modes also update the accumulator X̂;
 *   phase B  rebuild K (then RoPE per position) and V from those rows (X̂·Wkᵀ, latent·Fᵀ) by the engine's own
 *            matmul, whose result for a row does not depend on the other rows;
 *   phase C  online-softmax attention of every query of the call over the tile (with several queries, the
 *            tile's keys are first transposed per KV head, so no query transposes them again; a single decode
 *            query scores from the rows, reading each key and value row once for the query heads of its KV head
 *            that a thread takes).
 * Nothing of size l × d_kv exists: only tiles, the per-query state, and for CL the l × d accumulator. A query at
 * t sees row j in the quantized view iff j < prefix(t) (qstream_quant_prefix), so a batch of queries gets exactly
 * what token-by-token decoding would see; rows needed in both views within one call are rebuilt in both. */
#ifndef XQ_CACHE_REMAT_H
#define XQ_CACHE_REMAT_H

#include "cache/cache.h"
#include "cache/qstream.h"
#include "cache/svd.h"

typedef enum layer_kind {
    LK_KV,           /* K and V themselves (kv-E: K pre-RoPE per-channel, V per-token; kv-q*: block rows) */
    LK_X,            /* X per-token, K and V rebuilt with Wk, Wv (xq, the plain layers of CL and hi layers) */
    LK_LATENT,       /* X·Uk per-channel and X·Uv per-token, rebuilt with the fused factors (xq-svd) */
    LK_DELTA,        /* X − X̂ of the previous layer, per-token (xq-cl) */
    LK_DELTA_LATENT, /* (X − X̂_prev)·Ukv per-token, X̂ = X̂_prev + latent·Ukvᵀ (xq-cl-svd) */
} layer_kind;

typedef struct remat_layer {
    layer_kind kind;
    int n_streams;
    qstream s[2];
    bool k_rotated;       /* LK_KV: K stored after RoPE (llama.cpp's block formats do that) */
    bool sets_acc;        /* CL: this layer's X̂ starts the chain (the base layer) */
    bool chain_from_zero; /* LK_DELTA_LATENT without a base layer: X̂_{−1} = 0 */
    rowring x_ring;       /* LK_DELTA*: originals of X for the fp16 view (window) */
    const svd_factor *fk, *fv, *fkv;
} remat_layer;

typedef struct row_range {
    int64_t lo, hi;
} row_range;

/* The rows of one tile for one stream (absolute positions within [j0, j1)). The main buffer holds every row
 * once: the quantized view below `split` (the prefix of the call's last query), the fp16 view from there on.
 * Rows that some earlier query of the same call sees in fp16 although they are below the split are also put,
 * in fp16, in the extra buffer. */
typedef struct tile_rows {
    row_range quant, fp16, extra;
    int64_t split;
} tile_rows;

typedef struct remat_tile {
    int64_t j0, j1;
    tile_rows k, v; /* rows of K's and V's source (the same for the single-stream kinds) */
} remat_tile;

typedef struct remat_cache {
    cache base;
    int d, d_kv, n_head, n_head_kv, head_dim, latent_width;
    int64_t tile;
    int n_threads;
    remat_layer *layers;
    cache_svd *own_svd[2]; /* separate and joint factors computed here when params.svd is NULL */
    float *acc;            /* CL: n_ctx × d, X̂ of the layer being processed */
    float *scratch_a, *scratch_b; /* append: n_batch × scratch_width each */
    int scratch_width;
    float *src_km, *src_kx, *src_vm, *src_vx; /* tile × src_width: GEMM inputs (main and extra rows) */
    float *km, *kx, *vm, *vx;                 /* tile × d_kv: K (rotated) and V, main and extra rows */
    float *ktm, *ktx;                         /* n_head_kv × head_dim × tile: km, kx transposed per KV head */
    float *lat, *lat_out;                     /* tile × latent_width, tile × d (xq-cl-svd) */
    float *q_conv;                            /* n_batch × d: queries as Q8_0 values (kv-q8_0, kv-q4_0) */
    float *rope_cs;                           /* n_ctx × n_rot: RoPE's cos and sin per position (ops_rope_angles) */
    int src_width;
    ops_ctx *tile_ops;       /* the engine's matmul, sized for one tile: K and V rebuilt, X̂ accumulated */
    float **scores;          /* per thread: a tile of scores for each query head of a KV head */
    float *state; /* n_batch × n_head × (acc_width + 2): running max, sum and output accumulator */
    int acc_width;
    int64_t *a_k, *a_v; /* per query of the call: rows seen quantized, for K's and V's source */
    uint64_t transient_bytes;
} remat_cache;

/* X̂ += dequant(latent rows)·Ukvᵀ for rows lo … hi−1 of the tile starting at j0 (xq-cl-svd; remat_attend.c).
 * The latents must be in rc->lat at their tile offsets. Shared by append and attend so that a row's X̂ is
 * computed the same way whichever call brings it up to date. */
void remat_accumulate_latents(remat_cache *rc, int il, const remat_layer *L, int64_t j0, row_range rows);

/* remat_append.c */
void remat_append(cache *c, int layer, int64_t pos0, int64_t n_tok, const float *x, const float *k, const float *v);
/* remat_attend.c */
void remat_attend(cache *c, int layer, int64_t pos0, int64_t n_tok, const float *q, float *out);

/* Rotates n rows (at rows + r·ld) for positions pos0 + r, heads head0 … head0 + n_heads − 1. */
void remat_rope_rows(const remat_cache *rc, float *rows, int64_t ld, int64_t n, int64_t pos0, int head0,
                     int n_heads);

#endif
