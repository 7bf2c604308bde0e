/* The figures of `eval --svg/--png` and `project --svg/--png`, built from the commands' results and drawn by
 * ui/plot. */
#ifndef XQ_CLI_CHARTS_H
#define XQ_CLI_CHARTS_H

#include <stdint.h>

#include "base/status.h"

/* Checks the --svg and --png paths' extensions before a long run (one-line error, XQ_EINPUT). NULL passes. */
int cli_chart_check(const char *cmd, const char *svg, const char *png);

/* eval: memory saved against Δppl and against KL, one point per mode (the baseline included). */
typedef struct cli_eval_point {
    const char *mode;
    double savings; /* fp16 K+V bytes ÷ the mode's bytes */
    double dppl, kl;
} cli_eval_point;
int cli_chart_eval(const char *cmd, const char *path, const char *title, const cli_eval_point *pts, int n);

/* project: step time against context per GPU and mode (one panel per batch, first TP), and the break-even
 * context per GPU and rebuilding mode (first batch). Arrays are indexed [gpu][mode][batch][ctx] and
 * [gpu][mode][batch]; a break-even < 0 means none. */
typedef struct cli_project_chart {
    int n_gpus, n_modes, n_batch, n_ctx;
    const char *const *gpus, *const *modes;
    const int64_t *batch, *ctx;
    const double *step_ms;
    const double *break_even;
} cli_project_chart;
int cli_chart_project(const char *cmd, const char *path, const char *title, const cli_project_chart *c);

#endif
