/* A live source: fills a ui_data from a running profiler's snapshot and, when nobody else consumes its record
 * queue (no --trace), from its op records too, which give each step's split by op class for the Timeline and the
 * per-(layer, op) sums of the Layers view's op filter and drill-down (then layers and ops are summed over the last
 * PROF_WINDOW drained steps, the snapshot's own window, so that a layer's ops add up to the layer).
 *
 * Modes view: the engine's worker announces each stretch of the run under one cache mode (ui_live_segment) with
 * the index of its first profiler step; every step polled afterwards is added to the stretch it belongs to
 * (decode tokens/s, rebuild time, cache held). The worker may replace the cache between tokens: the caller
 * serializes ui_live_set_cache and ui_live_poll against the replacement with a lock of its own. */
#ifndef XQ_UI_LIVE_H
#define XQ_UI_LIVE_H

#include <stdbool.h>

#include "cache/cache.h"
#include "prof/prof.h"
#include "ui/data.h"

typedef struct ui_live ui_live;

/* drain: this source is the consumer of the profiler's queue (only when no trace writer is). cache may be NULL
 * (no per-layer cache bytes). NULL if out of memory. */
ui_live *ui_live_create(prof *p, const cache *c, bool drain);
void ui_live_destroy(ui_live *l);
/* Updates d from the latest snapshot; true when it changed. Also samples decode tokens/s into d's history. */
bool ui_live_poll(ui_live *l, ui_data *d);
/* The cache whose per-layer bytes poll reads (after a mode switch); NULL: none. */
void ui_live_set_cache(ui_live *l, const cache *c);
/* Adds or updates a stretch from the worker's fields of s (mode, first_step, bytes_per_token, build/switch cost,
 * probe sums), matched by first_step; the step fields of d's copy are kept. Stretches come in order of first_step;
 * beyond UI_MAX_SEGMENTS the oldest is dropped. */
void ui_live_segment(ui_data *d, const ui_mode_segment *s);

#endif
