/* Roofline projection of one decode step onto a GPU, from model dimensions and a cache mode: per op
 * max(FLOPs / peak, bytes / bandwidth), each term divided by the efficiency factor of the op's class, plus a
 * per-kernel launch overhead; capacity (largest context and batch that fit beside the weights); and XQuant's
 * break-even context (XQUANT.md §4). A recorded run is projected by project_run.h with the same timing.
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

/* Op classes, each with its own efficiency factors: matrix products of the forward pass (q/k/v/o, MLP,
 * lm_head), attention over the cache (scores, softmax, weighted sum), element-wise work (norms, RoPE, SwiGLU,
 * residuals, embedding rows, cache appends), and the rebuild work of a quantized cache: the K/V rebuild product
 * and the dequantization of the stored codes (the ops the profiler flags as rebuild work). The rebuild has a
 * class of its own because it runs at another rate than the decode step's other products: a product over l
 * cached rows is compute-bound where the step's one-token matrix-vector products are memory-bound. */
typedef enum gpu_op_class {
    GPU_CLASS_GEMM,
    GPU_CLASS_ATTENTION,
    GPU_CLASS_ELEMENTWISE,
    GPU_CLASS_REBUILD,
    GPU_CLASSES
} gpu_op_class;

const char *gpu_class_name(gpu_op_class c);
/* The class of a recorded op by its name (op_kind): matmul_*, lm_head → gemm; attend → attention; remat,
 * dequant → rebuild; the rest element-wise. */
gpu_op_class gpu_class_of_op(const char *name);

/* Fractions of the peaks that an op class's kernels reach: compute of the tensor peak (FP32 peak for
 * element-wise FLOPs), memory of the memory (and L2) bandwidth. 1 = the raw roofline, a lower bound. */
typedef struct gpu_class_efficiency {
    double compute, memory;
} gpu_class_efficiency;

typedef struct gpu_efficiency {
    gpu_class_efficiency cls[GPU_CLASSES];
    double link; /* achieved fraction of the interconnect */
} gpu_efficiency;

/* Documented defaults (docs/GPUS.md, "Projection"): what an H200 of this workplace reached on the best case of
 * each resource — a bf16 8192³ GEMM ≈ 790 of 989 TFLOP/s, a device copy ≈ 4.3 of 4.8 TB/s — for every class;
 * the link is not measured and stays at 1. */
#define GPU_EFF_COMPUTE_DEFAULT 0.80
#define GPU_EFF_MEMORY_DEFAULT 0.90
#define GPU_LAUNCH_US_DEFAULT 3.0
void gpu_efficiency_default(gpu_efficiency *e);

typedef struct gpu_options {
    bool overlap;      /* time each layer as one unit (its ops overlap) instead of op by op */
    double launch_us;  /* per kernel launch; < 0: 3 µs on a GPU, 0 on the measured CPU */
    double reserve_gb; /* memory kept free beside weights and cache (context, workspace) */
    gpu_efficiency eff;
} gpu_options;

/* Defaults: op by op, launch per device (3 µs GPU, 0 CPU), no reserve, the default efficiencies. */
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

/* Fraction of the KV heads one rank holds (heads are not split: past h_kv ranks they replicate). */
double gpu_kv_share(const gpu_model *m, int tp);
/* Bytes one rank sends over the link per step for one layer: two ring all-reduces of b×d activations, plus the
 * all-gather of X when it is sharded (0 at TP 1). */
double gpu_layer_link_bytes(const gpu_model *m, const gpu_layer_costs *c, const gpu_setting *s);

#endif
