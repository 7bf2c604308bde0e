/* The live snapshot a profiler publishes for another thread (the TUI): aggregates per layer and per op over the
 * last PROF_WINDOW steps, the recent step history, the last step's counters and the queue's health.
 * Published by the engine thread through a seqlock (prof.c); readers copy it and retry on a torn read, so
 * the engine is never blocked by a reader. */
#ifndef XQ_PROF_SNAPSHOT_H
#define XQ_PROF_SNAPSHOT_H

#include <stdint.h>

#include "base/span.h"
#include "prof/record.h"

enum { PROF_MAX_LAYERS = 256, PROF_WINDOW = 32, PROF_HISTORY = 256 };

typedef struct prof_step_brief {
    int64_t index, n_tokens, n_ctx, ns, ops_ns;
    int64_t cache_persistent, cache_residual, cache_transient; /* −1: no cache bound */
    uint8_t phase;
} prof_step_brief;

typedef struct prof_snapshot {
    uint64_t version; /* increases with every publish */
    int64_t steps;    /* steps seen since the start */
    int n_layer;      /* min(model layers, PROF_MAX_LAYERS) */
    int window_steps; /* steps aggregated below (≤ PROF_WINDOW) */
    prof_agg layer[PROF_MAX_LAYERS];
    prof_agg nonlayer; /* layer −1: embed, final norm, lm_head … */
    prof_agg op[OP_COUNT];
    int n_history; /* oldest first */
    prof_step_brief history[PROF_HISTORY];
    int64_t counters[PROF_CTR_COUNT]; /* of the last step; −1 = not available */
    int64_t spans, spans_dropped, steps_dropped;
} prof_snapshot;

#endif
