/* The figures of `eval --svg/--png` and `project --svg/--png`, built from the commands' results and drawn by
 * ui/plot. */
#ifndef XQ_CLI_CHARTS_H
#define XQ_CLI_CHARTS_H

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

#endif
