/* The records a profiler hands to its consumer (the trace writer): one per op span, one per step.
 * Fixed size and plain data, so that the engine writes them into preallocated rings and never allocates. */
#ifndef XQ_PROF_RECORD_H
#define XQ_PROF_RECORD_H

#include <stdint.h>

#include "prof/cost.h"

enum { PROF_REC_OP = 1, PROF_REC_STEP = 2 };
enum { PROF_PHASE_PREFILL = 0, PROF_PHASE_DECODE = 1 };
enum { PROF_CTR_CYCLES = 0, PROF_CTR_INSTRUCTIONS, PROF_CTR_LLC_MISSES, PROF_CTR_COUNT };

typedef struct prof_agg {
    int64_t count;
    int64_t self_ns; /* time without nested spans, so the layer/op times partition the step */
    int64_t flops, bytes_weights, bytes_cache_read, bytes_cache_write, bytes_act;
    int64_t remat_ns, remat_flops;
} prof_agg;

typedef struct prof_op_rec {
    int64_t step;    /* index of the enclosing step */
    int64_t t_ns;    /* start, ns since the profiler was created */
    int64_t ns;      /* wall time, nested spans included */
    int64_t self_ns; /* ns less the nested spans' ns */
    prof_cost cost;
    int32_t layer; /* −1 for non-layer ops */
    uint8_t op;    /* span_op; OP_STEP only in the queue's step markers (prof_peek) */
    uint8_t depth; /* 0: directly under the step; 1: nested in another op … */
} prof_op_rec;

enum { PROF_OP_FIELDS = 13 };

/* The record's values in the order of the trace's op columns after `run`: step, layer, op, depth, t_ns, ns,
 * self_ns, flops, bytes_weights, bytes_cache_read, bytes_cache_write, bytes_act, remat. */
static inline void prof_op_fields(const prof_op_rec *r, int64_t f[PROF_OP_FIELDS])
{
    const int64_t v[PROF_OP_FIELDS] = {r->step,
                                       r->layer,
                                       r->op,
                                       r->depth,
                                       r->t_ns,
                                       r->ns,
                                       r->self_ns,
                                       r->cost.flops,
                                       r->cost.bytes_weights,
                                       r->cost.bytes_cache_read,
                                       r->cost.bytes_cache_write,
                                       r->cost.bytes_act,
                                       r->cost.remat};
    for (int i = 0; i < PROF_OP_FIELDS; i++)
        f[i] = v[i];
}

typedef struct prof_step_rec {
    int64_t index;
    int64_t t_ns, ns;
    int64_t ops_ns; /* time covered by depth-0 spans */
    int64_t n_tokens, n_ctx;
    int64_t cache_persistent, cache_residual, cache_transient; /* −1 when no cache is bound */
    int64_t counters[PROF_CTR_COUNT];                          /* −1 when not available */
    int32_t n_ops;
    uint8_t phase;
    prof_agg sum; /* totals of the step's ops (count, self time, FLOPs, bytes, rebuild) */
} prof_step_rec;

typedef struct prof_record {
    uint8_t kind; /* PROF_REC_OP or PROF_REC_STEP */
    union {
        prof_op_rec op;
        prof_step_rec step;
    };
} prof_record;

#endif
