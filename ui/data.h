/* What the screens show, independent of where it comes from: a live profiler snapshot (data_live.c) or a
 * recorded trace (data_trace.c). Views only read a ui_data; sources only fill one. Fixed size, no pointers, so
 * that a copy is a consistent frame. */
#ifndef XQ_UI_DATA_H
#define XQ_UI_DATA_H

#include <stdbool.h>
#include <stdint.h>

#include "base/span.h"
#include "prof/record.h"

enum { UI_MAX_LAYERS = 256, UI_MAX_STEPS = 512, UI_RATE_HISTORY = 240 };

/* How a step's time splits, in the classes the Overview and Timeline stack. */
typedef enum ui_class { UI_WEIGHTS = 0, UI_ATTENTION, UI_REBUILD, UI_OTHER, UI_CLASS_COUNT } ui_class;

typedef struct ui_step {
    int64_t index, n_tokens, n_ctx, ns;
    int64_t cache_persistent; /* −1: unknown */
    int64_t cache_ring;       /* the policy's fp16 ring, allocated (window, groups not yet full); 0: none */
    int64_t class_ns[UI_CLASS_COUNT];
    bool classes_known; /* class_ns filled (live without the op stream: only ns) */
    bool prefill;
} ui_step;

typedef struct ui_layer {
    prof_agg agg;
    int64_t cache_bytes; /* −1: not recorded */
} ui_layer;

/* One op kind within one layer (the Layers view's drill-down and op-name filter). */
typedef struct ui_cell {
    int64_t count, self_ns, flops, bytes, remat_ns;
} ui_cell;

enum { UI_MAX_SEGMENTS = 12, UI_SEGMENT_RATES = 64 };

/* One stretch of a live run under one cache mode (Modes view). The worker that runs the engine fills the first
 * group of fields; the live source adds what the stretch's profiler steps show. */
typedef struct ui_mode_segment {
    char mode[48];
    int64_t first_step;               /* index of its first profiler step (the re-prefill, after a switch) */
    double bytes_per_token;           /* what the mode stores per token, all layers */
    int64_t build_ns;                 /* the cache built on the way in (0 for the first stretch) */
    int64_t switch_ns, switch_tokens; /* the text so far evaluated again under this mode (0: the first stretch) */
    int64_t probe_checks, probe_top1_same, probe_ns;
    double probe_kl_sum, probe_kl_last;
    /* from the steps: */
    int64_t decode_tokens, decode_ns;   /* decode steps */
    int64_t rebuild_ns, rebuild_tokens; /* decode steps whose op split is known (not with --trace) */
    int64_t ctx, cache_persistent;      /* at its latest step; cache −1 when not reported */
    int n_rate;                         /* decode tokens/s of its latest steps, oldest first */
    float rate[UI_SEGMENT_RATES];
} ui_mode_segment;

typedef struct ui_data {
    uint64_t version;        /* changes whenever anything below changed */
    bool live;               /* a running model, not a recording */
    char title[128];         /* model name */
    char mode[48];           /* cache mode as --cache spells it */
    char device[128];        /* CPU name */
    char status[128];        /* "generating prompt 2/5", "run 3 (done)" … */
    char error[512];         /* a failure of the engine, shown on every view */
    double peak_flops;       /* measured; 0 = not (yet) known */
    double peak_bytes_per_s; /* measured; 0 = not (yet) known */
    char peak_why[64];       /* why the peaks are unknown */
    int threads;
    int64_t n_ctx_max, ctx;
    double fp16_bytes_per_token; /* what an fp16 K/V cache holds per token, all layers */
    int n_layer;
    ui_layer layer[UI_MAX_LAYERS];
    prof_agg op[OP_COUNT];
    bool layer_ops_known; /* layer_op filled: recorded runs, and live ones whose op stream the UI drains (the
                           * profiler's snapshot has whole layers only, and with --trace the trace takes the stream) */
    ui_cell layer_op[UI_MAX_LAYERS][OP_COUNT];
    int window_steps; /* steps aggregated in layer/op (live: the last PROF_WINDOW; recorded: all) */
    int n_steps;      /* oldest first */
    ui_step step[UI_MAX_STEPS];
    int n_rate;       /* decode tokens/s sampled once per refresh (live) or per step (recorded), oldest first */
    double rate[UI_RATE_HISTORY];
    double rate_span_s; /* the time the rate history covers */
    /* Modes view (live only): the stretches of the run under each cache mode, oldest first. */
    int n_segments;
    ui_mode_segment segment[UI_MAX_SEGMENTS];
    int probe_every;     /* --probe N; 0: no fp16 shadow */
    char mode_note[160]; /* a switch under way, or why the last one failed; "" when none */
} ui_data;

ui_class ui_op_class(span_op op);
const char *ui_class_name(ui_class c);
/* Bytes an op moves to or from memory (weights, cache, activations). */
int64_t ui_agg_bytes(const prof_agg *a);
/* Per-class self time over the op aggregates. */
void ui_class_split(const ui_data *d, int64_t out[UI_CLASS_COUNT]);
/* Decode tokens/s over the recent steps, 0 if none. */
double ui_decode_rate(const ui_data *d);
/* Prefill tokens/s of the latest prefill step, 0 if none. */
double ui_prefill_rate(const ui_data *d);
/* Percentile (0..100) of decode step times in ns, 0 if none. */
int64_t ui_decode_percentile(const ui_data *d, int pct);
/* Appends a rate sample, dropping the oldest when full. */
void ui_rate_push(ui_data *d, double rate);

#endif
