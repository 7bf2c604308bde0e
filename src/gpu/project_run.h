/* Projection of a recorded run onto a device: the run's decode steps as recorded per (layer, op) — FLOPs, bytes
 * of weights and cache (src/store/align.h) — rescaled to a target context, batch and TP, each op timed on the
 * roofline with its class's efficiency factors (timing.h), plus the TP collectives of the shape projection.
 *
 * Rescaling, from the run's decode steps (batch 1, mean context l0) to context l, batch b and T ranks:
 * - weights are read once per step and shared by the batch; the rebuild reads its matrices once per tile of
 *   `tile_tokens` keys as recorded, so those bytes grow with the tile count, not with b;
 * - attention, dequantization (and their cache reads) grow as l / l0 and b; the rebuild's FLOPs as the tile count
 *   ⌈l / tile⌉ / ⌈l0 / tile⌉ (it works on whole tiles) and b; every other op's FLOPs and cache writes as b;
 * - T ranks: matrix products, the rebuild and attention FLOPs, and the weights split T ways; cache traffic shards
 *   by KV head for K/V caches, while X and its latents are read whole by every rank; element-wise work repeats.
 * Activation bytes are not counted (they stay in caches). Capacity, max_ctx/max_batch and the break-even come
 * from the model's shape (the run's model_config, weights as recorded) and the run's cache mode (project.h). */
#ifndef XQ_GPU_PROJECT_RUN_H
#define XQ_GPU_PROJECT_RUN_H

#include "gpu/project.h"
#include "store/align.h"

/* Dimensions from model_config; weight bytes per layer from the recorded matmul ops, the embedding table from
 * the embed op's row bytes. XQ_EINPUT if the configuration or the decode ops are missing. */
int gpu_model_from_run(const store_profile *p, gpu_model *out, xq_err *err);
/* The run's cache mode with its group and hi-layers (cache_params). XQ_EINPUT for a mode the projection lacks. */
int gpu_mode_from_run(const store_run_meta *m, gpu_mode *out, xq_err *err);

/* The profile must be of decode steps. Same result fields as gpu_project. */
int gpu_project_run(const gpu_spec *g, const store_profile *p, const gpu_model *m, const gpu_mode *mode,
                    const gpu_setting *s, const gpu_options *o, gpu_result *out, xq_err *err);

#endif
