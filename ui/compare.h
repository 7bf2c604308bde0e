/* The Compare view's data: two recorded runs aligned by src/store/align.h (the code `xqprof compare` uses) per
 * layer and per (layer, op), over their decode steps (all their steps when either run has no decode step), with
 * the step totals. Built once, before the screen starts, and only read afterwards. Runs whose model differs
 * are not aligned: `why` then says so in one line and the view shows only that line. */
#ifndef XQ_UI_COMPARE_H
#define XQ_UI_COMPARE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"
#include "store/align.h"

/* One side, as the view names it (the file without its folder, so that --once stays the same across folders). */
typedef struct ui_compare_run {
    char file[256];
    int64_t run;
    char model[128], mode[32];
    int threads;
    int64_t steps, tokens; /* steps of the phase, and their tokens */
    double mean_ctx;
} ui_compare_run;

typedef struct ui_compare {
    char why[512]; /* non-empty: nothing aligned, and why (runs of different models, a run without steps) */
    bool refused;  /* why: the runs are of different models */
    char differ[320]; /* refused: how, "baseline fixture-4L, compare fixture-2L" (no paths) */
    store_phase phase;
    ui_compare_run a, b;      /* baseline, compare */
    store_alignment layers;   /* by layer, 0 up, then layer −1: the ops outside layers (embed, lm_head …) */
    store_alignment ops;      /* by (layer, op), ordered by layer then op */
} ui_compare;

/* Baseline run_a of file_a, compare run_b of file_b (runs ≤ 0: the latest; the files may be one). Fails (XQ_EINPUT,
 * one line) only when a file cannot be read as a trace or has no such run; runs that cannot be compared give a
 * ui_compare whose why says so. */
int ui_compare_load(const char *file_a, int64_t run_a, const char *file_b, int64_t run_b, ui_compare **out,
                    xq_err *err);
void ui_compare_free(ui_compare *c);

/* The (layer, op) rows of one layer: their count, the first at *first. */
int ui_compare_layer_ops(const ui_compare *c, int layer, int *first);

/* How much faster the compare run is on a row of times: baseline ÷ compare; NAN when either is absent or 0. */
double ui_compare_speedup(const store_aligned_row *r);

#endif
