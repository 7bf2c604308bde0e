/* Roofline projection of one decode step onto a GPU, from model dimensions and a cache mode: per op
 * max(FLOPs / peak, bytes / bandwidth) plus a per-kernel launch overhead; capacity (largest context and batch
 * that fit beside the weights); and XQuant's break-even context (XQUANT.md §4).
 *
 * The step (batch b, context l, tensor parallel T; everything per rank):
 * - weights are streamed once per step and shared across the batch; cache reads and the K/V rebuild are per
 *   sequence, so the rebuild matrices are read once per sequence: the first read is the weight stream's, the
 *   other b − 1 come from HBM, or from L2 with --l2-weights when the matrices fit in L2;
 * - TP: weights shard T ways; K/V shard by head (a KV head is never split: at T > h_kv heads replicate); X and
 *   its latents cannot shard by head, so each rank stores all of them (replicated) or stores 1/T and
 *   all-gathers the rest every step over the link (all-gathered). Two all-reduces per layer either way.
 * The break-even uses raw peaks (no efficiency factors, no launch overhead) and §4's per-layer formula:
 *   b·l·r / F = (W + (b − 1)·M_hbm + b·l·c) / B + (b − 1)·M_l2 / B_L2
 * (r rebuild FLOPs and c cache bytes per token, W the layer's weights, M the rebuild matrices, all per rank),
 * solved for l and minimized over layers. At b = 1, T = 1 it is exactly remat(l) / (W + l·c) = ridge. */
#ifndef XQ_GPU_PROJECT_H
#define XQ_GPU_PROJECT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"
#include "gpu/catalogue.h"
#include "gpu/modes.h"
#include "gpu/workload.h"

/* Fractions of the datasheet peaks that kernels reach, per op class (1 = the raw roofline, a lower bound). */
typedef struct gpu_efficiency {
    double gemm;        /* tensor-core matrix work: projections, rebuild, attention products */
    double elementwise; /* non-tensor FP32 work: norms, RoPE, dequantization, softmax */
    double memory;      /* achieved fraction of HBM (and L2) bandwidth */
    double link;        /* achieved fraction of the interconnect */
} gpu_efficiency;

typedef struct gpu_options {
    bool overlap;      /* time each layer as one unit (its ops overlap) instead of op by op */
    double launch_us;  /* per kernel launch */
    double reserve_gb; /* memory kept free beside weights and cache (context, workspace) */
    gpu_efficiency eff;
} gpu_options;

/* Defaults: op by op, launch 3 µs, no reserve, efficiencies 1 (docs/GPUS.md, "Projection"). */
void gpu_options_default(gpu_options *o);

typedef struct gpu_setting {
    int64_t ctx;      /* tokens in the cache */
    int batch;        /* sequences decoded together */
    int tp;           /* tensor-parallel ranks */
    bool x_allgather; /* TP: X sharded and all-gathered (else replicated) */
    bool l2_weights;  /* rebuild matrices re-read from L2 when they fit */
} gpu_setting;

typedef struct gpu_result {
    double step_s;                                /* one decode step of the whole batch */
    double tokens_per_s;                          /* batch / step_s */
    double compute_s, memory_s, link_s, launch_s; /* sums over ops of each term (step_s sums per-op maxima) */
    bool compute_bound;                           /* compute_s > memory_s + link_s */
    int kernels;
    double flops, hbm_bytes, l2_bytes, link_bytes;
    double weight_bytes;    /* held per rank */
    double cache_bytes;     /* persistent cache per rank at ctx × batch */
    double transient_bytes; /* working memory per rank at ctx × batch */
    bool fits;
    int64_t max_ctx;       /* largest context that fits at this batch (0: not even one token) */
    int64_t max_batch;     /* largest batch that fits at this context */
    double break_even_ctx; /* < 0: none (no rebuild, or the rebuild never outgrows the byte stream) */
} gpu_result;

/* XQ_EINPUT for a setting out of range (ctx < 1, batch < 1, tp < 1) or a spec without peaks. */
int gpu_project(const gpu_spec *g, const gpu_model *m, const gpu_mode *mode, const gpu_setting *s, const gpu_options *o,
                gpu_result *out, xq_err *err);

/* §4's break-even context on raw peaks for this batch, TP and L2 rule; < 0 when there is none. */
double gpu_break_even_ctx(const gpu_spec *g, const gpu_model *m, const gpu_mode *mode, const gpu_setting *s);

/* Persistent cache bytes per token and sequence on one rank (the TP rule applied). */
double gpu_cache_bytes_per_token_rank(const gpu_model *m, const gpu_mode *mode, const gpu_setting *s);

#endif
