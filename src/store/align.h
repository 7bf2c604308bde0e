/* Run alignment: one run of a trace as per-(layer, op) aggregates over a phase of its steps, with the run's
 * metadata and step totals (a "profile"); and two profiles aligned row by row for a comparison. Used by
 * `xqprof compare`, `xqprof project RUN.db` and the TUI's Compare view, so it prints nothing and knows no UI.
 *
 * Invariants: a profile's rows are sorted by (layer, op id) and unique; every per-step value is a sum over the
 * selected steps divided by their number, so rows add up to the selected steps' mean; nested ops count once
 * (self time, and FLOPs and bytes recorded by the op that did the work). Two profiles align only when they are
 * runs of one model: model_sha256 when both runs have it, else model_config. */
#ifndef XQ_STORE_ALIGN_H
#define XQ_STORE_ALIGN_H

#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"
#include "store/reader.h"

typedef enum store_phase { STORE_PHASE_DECODE, STORE_PHASE_PREFILL, STORE_PHASE_ALL } store_phase;

/* "decode", "prefill", "all"; -1 for anything else. */
int store_phase_parse(const char *name);
const char *store_phase_name(store_phase p);

/* The device row of a run (CPU: measured peaks). present is false when the run has none. */
typedef struct store_device_info {
    bool present;
    char name[128], kind[8], source[32];
    int cores, threads;
    double peak_flops;       /* FLOP/s */
    double read_bytes_per_s; /* streaming read bandwidth */
    double memory_bytes;
} store_device_info;

/* Text fields are "" when NULL in the trace (long values are cut to the buffer). */
typedef struct store_run_meta {
    int64_t id;
    char path[1024]; /* the trace file */
    char started[32], status[16], version[64];
    char model_file[512], model_sha256[72], model_name[128];
    char model_config[2048]; /* JSON: n_layer, n_embd, n_ff, n_head, n_head_kv, head_dim, n_vocab … */
    char cache_mode[32];
    char cache_params[512]; /* JSON: bits, group, window, hi_layers, tile_tokens … */
    int threads;
    int64_t n_ctx;
    store_device_info device;
} store_run_meta;

/* One (layer, op) over the selected steps; values per step. */
typedef struct store_op_row {
    int layer; /* -1: not in a layer (embed, final norm, lm_head) */
    int op;    /* op_kind id: the engine's order of ops within a layer */
    char name[24];
    bool remat;   /* rebuild work (rematerialization, dequantization) */
    double count; /* spans per step */
    double self_ns, flops, bytes_weights, bytes_cache_read, bytes_cache_write, bytes_act;
} store_op_row;

/* Step-level totals of the selected steps. */
typedef struct store_step_totals {
    int64_t steps_in_phase; /* steps of the phase in the run */
    int64_t steps;          /* steps selected (all of the phase unless keep_fastest < 1) */
    int64_t tokens;
    double ns;           /* wall time summed */
    double ms_per_token; /* ns / tokens */
    double tokens_per_s;
    double mean_ctx;  /* mean tokens in the cache after a step */
    int64_t last_ctx; /* after the phase's last step */
    /* Bytes held at the phase's last step; < 0 when the trace does not know. */
    double cache_persistent, cache_residual, cache_transient;
} store_step_totals;

typedef struct store_profile {
    store_run_meta meta;
    store_phase phase;
    store_step_totals totals;
    store_op_row *rows;
    int n_rows;
} store_profile;

typedef struct store_profile_opts {
    store_phase phase;
    /* 1: every step of the phase. Less: only the fastest share of them by wall time (at least one), a robust
     * choice on a loaded machine where some steps wait for the CPU. */
    double keep_fastest;
} store_profile_opts;

/* run ≤ 0: the latest. XQ_EINPUT: no such run, or no step of that phase (the message says which). */
int store_profile_load(store_reader *r, int64_t run, const store_profile_opts *o, store_profile **out, xq_err *err);
void store_profile_free(store_profile *p);

/* XQ_EINPUT with a one-line message naming both runs when they are not runs of one model. */
int store_runs_same_model(const store_run_meta *a, const store_run_meta *b, xq_err *err);

/* A number from the flat JSON objects of the run table ("\"key\": value"); false if absent or not a number. */
bool store_json_number(const char *json, const char *key, double *out);

/* ---- alignment ------------------------------------------------------------------------------------------- */

typedef enum store_align_by {
    STORE_BY_LAYER_OP, /* one row per (layer, op) */
    STORE_BY_OP,       /* one row per op name, summed over layers */
    STORE_BY_LAYER     /* one row per layer, summed over its ops */
} store_align_by;

enum { STORE_ALL_LAYERS = -1000, STORE_ALL_OPS = -1 };

/* Baseline a, compare b; ratio = b / a (×) and delta_pct = 100·(b − a) / a, both NAN when a is 0. */
typedef struct store_delta {
    double a, b, ratio, delta_pct;
} store_delta;

typedef struct store_aligned_row {
    int layer;     /* STORE_ALL_LAYERS for rows by op */
    int op;        /* op_kind id; STORE_ALL_OPS for rows by layer */
    char name[24]; /* op name; "" for rows by layer */
    bool in_a, in_b;
    store_delta self_ns;       /* self time per step */
    store_op_row sum_a, sum_b; /* everything else per step, summed over the row's members (zero if absent) */
} store_aligned_row;

typedef struct store_alignment {
    store_aligned_row *rows;
    int n_rows;
    store_delta ops_ns;       /* self time of all ops per step */
    store_delta ms_per_token; /* wall time per token of the phase */
    store_delta tokens_per_s;
    store_delta cache_bytes; /* persistent + residual at the phase's last step (NAN when unknown) */
    store_delta mean_ctx;
} store_alignment;

/* Rows of both profiles, union by key, ordered by layer then op id. Refuses runs of different models. */
int store_align(const store_profile *a, const store_profile *b, store_align_by by, store_alignment *out, xq_err *err);
void store_alignment_free(store_alignment *al);

store_delta store_delta_of(double a, double b);

#endif
