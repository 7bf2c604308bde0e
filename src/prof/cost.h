/* The cost model: turns one span (op + shape) into FLOPs and bytes moved. Pure functions, no state.
 *
 * What each op's shape means (what src/engine/forward.c and the cache policies pass), n = tokens of the call:
 *   matmul_* / lm_head   m = weight rows (outputs), k = weight cols (inputs), n tokens, dtype = weight type
 *                        FLOPs 2·m·n·k; weights m rows of k at dtype (qt_row_bytes); act: read n·k, write n·m f32
 *   embed                m = n_embd, n rows looked up, dtype = embedding type; weights n rows of m at dtype
 *   rmsnorm              m = width, n rows                    FLOPs 4·m·n (square, sum, scale, weight)
 *   residual             m = elements added                   FLOPs m
 *   rope                 m = heads, n, k = head_dim           FLOPs 3·m·n·k (a 2×2 rotation per pair)
 *   swiglu               m = n_ff, n                          FLOPs 5·m·n (silu ≈ 4, product 1)
 *   attend               m = query heads, n, k = head_dim, ctx = tokens held after the append; query t of the
 *                        call sees ctx − n + t + 1 keys (causal): FLOPs 4·k·m·Σ keys (QKᵀ and P·V, XQUANT.md §4)
 *   cache_append         bytes written to the cache = the growth of the policy's persistent bytes (per layer)
 *   remat                m = rows rebuilt (tokens), n = output width, k = inner width, dtype = type of the
 *                        k×n weight read (F32 for fused SVD factors): FLOPs 2·m·n·k, rebuild work.
 *                        xq-E: m = l, n = 2·d_kv, k = d → 2·l·d·2d_kv; xq-svd-E: k = d_kv → 2·l·d_kv·2d_kv.
 *   dequant              m = rows, n = elements per row, k = stored bits per element: cache read m·n·k/8,
 *                        FLOPs 2·m·n (scale and zero), act written 4·m·n; rebuild work.
 *   sample               m = n_vocab: act reads the m logits (4·m); no FLOPs counted (comparisons, and for
 *                        temperature sampling a softmax over the top-k: noise next to lm_head's 2·m·n_embd)
 *   step                 no cost (the step's totals are the sums of its ops).
 * Cache bytes an attend reads are the layer's share of the policy's persistent bytes, less what nested dequant
 * spans already counted (so a byte of cache is counted once per step). */
#ifndef XQ_PROF_COST_H
#define XQ_PROF_COST_H

#include <stdbool.h>
#include <stdint.h>

#include "base/span.h"

typedef struct prof_cost {
    int64_t flops;
    int64_t bytes_weights;     /* weights read at their stored type */
    int64_t bytes_cache_read;  /* stored history read (K/V, quantized codes, X̂) */
    int64_t bytes_cache_write; /* history appended */
    int64_t bytes_act;         /* activations read and written (f32) */
    bool remat;                /* rebuild work: rematerialization or dequantization of the cache */
} prof_cost;

/* The cache figures of one layer in the current step, from the policy (cache_get_bytes). */
typedef struct prof_cache_step {
    int64_t layer_bytes_held;     /* the layer's persistent bytes for ctx tokens */
    int64_t layer_bytes_appended; /* growth of the layer's persistent bytes in this step */
} prof_cache_step;

/* Cost of one span. cache may be NULL (cache bytes then 0). */
void prof_cost_of(span_op op, const span_shape *shape, const prof_cache_step *cache, prof_cost *out);

/* Σ over the n queries of one attend call of the keys each sees (ctx − n + t + 1, t < n). */
int64_t prof_attend_keys(int64_t n, int64_t ctx);

#endif
