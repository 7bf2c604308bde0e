/* The profiler: a span sink (base/span.h) that times each op on the engine thread, costs it (cost.h),
 * aggregates per step, layer and op, publishes a live snapshot (snapshot.h) and hands every span and step to a
 * bounded queue for a consumer thread (the trace writer). The engine never waits and the sink never allocates:
 * everything is sized at prof_create; a full queue drops the span and counts it.
 *
 * Spans must come from the thread that created the profiler (the one that calls session_eval); spans from
 * other threads are counted as foreign and ignored. Ops nest (a cache policy's remat inside attend): a span's
 * self time excludes its nested spans, and a step's ops_ns sums its depth-0 spans, so ops_ns ≤ step ns. */
#ifndef XQ_PROF_PROF_H
#define XQ_PROF_PROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/span.h"
#include "base/status.h"
#include "cache/cache.h"
#include "prof/record.h"
#include "prof/roofline.h"
#include "prof/snapshot.h"

typedef struct prof_params {
    int n_layer;          /* layers of the model (aggregates, per-layer cache bytes) */
    int n_threads;        /* the engine's threads (roofline calibration); 0 → all cores */
    bool calibrate;       /* measure (or load) the CPU roofline on a background thread */
    bool counters;        /* open perf_event counters */
    size_t queue_records; /* op records the queue holds (and an eighth as many steps); 0 → 1 << 17 */
} prof_params;

typedef struct prof_stats {
    int64_t spans, steps;                 /* recorded (queued) */
    int64_t spans_dropped, steps_dropped; /* queue full */
    int64_t spans_foreign;                /* from another thread, ignored */
    int64_t spans_unmatched;              /* end without begin, or outside a step */
} prof_stats;

typedef struct prof prof;

int prof_create(const prof_params *p, prof **out, xq_err *err);
void prof_destroy(prof *p);
const span_sink *prof_sink(prof *p);
/* The engine's threads as given in the parameters (all cores when 0 was given). */
int prof_engine_threads(const prof *p);
/* The cache whose bytes each step reports (may be NULL). Call after the session exists, before evaluating. */
void prof_bind_cache(prof *p, const cache *c);

/* Consumer side: up to max records, oldest first. */
size_t prof_drain(prof *p, prof_record *out, size_t max);
/* The same without a copy (one consumer: drain or peek, not both). prof_peek gives the oldest op records that
 * lie contiguously in the queue (*first, count returned), in order; a record whose op is OP_STEP marks where a
 * step ended, and its step record is the oldest unreleased one, prof_peek_step. prof_release frees the first n
 * op records (markers included) and `steps` step records; until then they may be read in place. */
size_t prof_peek(prof *p, const prof_op_rec **first);
const prof_step_rec *prof_peek_step(prof *p);
void prof_release(prof *p, size_t n, size_t steps);
/* True when every pushed record has been drained. */
bool prof_queue_empty(prof *p);
/* Consumer side: sleeps timeout_ns, or less: until the engine finds the queue half full (it never waits itself).
 * Returns whether the queue is half full (the consumer is falling behind). */
bool prof_queue_wait(prof *p, int64_t timeout_ns);
void prof_get_stats(const prof *p, prof_stats *out);
const char *prof_counters_status(const prof *p);
/* The roofline once calibration finished (false before, or when calibration was not asked for or failed). */
bool prof_get_roofline(prof *p, prof_roofline *out);
/* Once the engine is done: waits for the background calibration, re-measuring if it was contended. */
bool prof_finish_roofline(prof *p, int64_t timeout_ns, prof_roofline *out);

/* A consistent copy of the live snapshot; never blocks the engine. Returns 0, or −1 if the engine kept
 * publishing while the copy was being taken (retry later). */
int prof_snapshot_read(const prof *p, prof_snapshot *out);
/* Publishes the latest aggregates now (the engine publishes at most every PROF_PUBLISH_NS otherwise). */
void prof_publish(prof *p);

#endif
