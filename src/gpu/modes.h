/* The cache modes as the projection sees them: bytes stored per token, FLOPs spent rebuilding K/V per cached
 * token, and the matrices the rebuild reads — per layer, from XQUANT.md §1, §2 and §4. This is our own small
 * byte accounting on model dimensions; it does not run or link the cache policies of src/cache.
 *
 * Bytes per token follow §1's `bytes_per_token`: e/8 bytes per quantized element, 4 bytes (fp16 scale and zero)
 * per group; per-token groups of G channels (a short last group counts as a group), per-channel groups
 * amortized as 4 bytes per channel per G tokens; fp16 residuals and windows are not counted. */
#ifndef XQ_GPU_MODES_H
#define XQ_GPU_MODES_H

#include <stdbool.h>

#include "base/status.h"
#include "gpu/workload.h"

typedef enum gpu_mode_family {
    GPU_FP16,
    GPU_FP32,
    GPU_KV_Q8_0,
    GPU_KV_Q4_0,
    GPU_KV,
    GPU_XQ,
    GPU_XQ_SVD,
    GPU_XQ_CL,
    GPU_XQ_CL_SVD
} gpu_mode_family;

typedef struct gpu_mode {
    char name[32]; /* as given: "xq-svd-2" */
    gpu_mode_family family;
    int bits;      /* e; 0 for fp16, fp32, kv-q8_0, kv-q4_0 */
    int group;     /* G */
    int hi_layers; /* layers 0..N-1 stored as plain 4-bit X (kv-E: 4-bit K and V) */
} gpu_mode;

/* Parses a --cache/--modes name. group ≤ 0 and hi_layers < 0 take the defaults (128; 3 for CL, else 0).
 * XQ_EINPUT for an unknown mode or bits the family does not offer. */
int gpu_mode_parse(const char *name, int group, int hi_layers, gpu_mode *out, xq_err *err);
/* "fp16 fp32 kv-q8_0 …": every name the parser accepts, for help and error texts. */
const char *gpu_mode_names(void);

/* One layer's costs per token of context (per sequence, whole model width, before tensor parallelism). */
typedef struct gpu_layer_costs {
    double cache_bytes;       /* persistent bytes per cached token */
    double remat_flops_heads; /* tensor FLOPs per cached token that shard by head under TP ([K|V] = X̂·W) */
    double remat_flops_full;  /* tensor FLOPs per cached token every rank repeats (CL-SVD's X̂ rebuild) */
    double elem_flops;        /* element-wise FLOPs per cached token: dequantization, RoPE, CL adds */
    double rebuild_bytes;     /* bytes of the matrices the rebuild reads (Wk|Wv, Σ·Bᵀ factors, Ukv) */
    double weight_bytes;      /* the layer's weights in this mode (SVD factors replace or join Wk, Wv) */
    bool stores_x;            /* stores X or a latent of it: not shardable by head (TP rule) */
} gpu_layer_costs;

void gpu_mode_layer_costs(const gpu_mode *mode, const gpu_model *m, int layer, gpu_layer_costs *out);
bool gpu_mode_rematerializes(const gpu_mode *mode);
/* §1's bytes_per_token: persistent cache bytes per token over all layers. */
double gpu_mode_bytes_per_token(const gpu_mode *mode, const gpu_model *m);
/* Working memory per token of context and sequence that is not persistent (CL's accumulator X̂, fp16). */
double gpu_mode_transient_bytes_per_token(const gpu_mode *mode, const gpu_model *m);

#endif
