/* Charts as files: a figure of stacked panels (lines, points or grouped bars) with axes, ticks, units, a legend
 * and a title, drawn with cairo into SVG or PNG by one code path (only the surface differs). Used by
 * `project --svg/--png` and `eval --svg/--png`. The file is written to a temporary name and renamed when
 * complete, so a failed draw never leaves a half-written chart. */
#ifndef XQ_UI_PLOT_H
#define XQ_UI_PLOT_H

#include <stdbool.h>

#include "base/status.h"

typedef enum { PLOT_LINES, PLOT_POINTS, PLOT_BARS } plot_kind;

typedef struct plot_series {
    const char *name; /* legend entry */
    int n;
    const double *x, *y;    /* PLOT_BARS: x[i] is the category index; y ≤ 0 (or not finite) is drawn as "none" */
    const char *const *tags; /* optional per-point text (PLOT_POINTS) */
    int style;               /* 0: by position; k > 0: colour (k − 1) mod 8, dash pattern (k − 1) / 8 */
} plot_series;

typedef struct plot_panel {
    const char *title;
    const char *x_label, *y_label; /* with units, e.g. "context (tokens)" */
    bool x_log, y_log;
    plot_kind kind;
    const plot_series *series;
    int n_series;
    const char *const *categories; /* PLOT_BARS: the x categories */
    int n_categories;
} plot_panel;

typedef struct plot_figure {
    const char *title; /* names model, context and batch */
    const plot_panel *panels;
    int n_panels;
} plot_figure;

typedef enum { PLOT_SVG, PLOT_PNG } plot_format;

/* PLOT_SVG or PLOT_PNG from the file name's extension; XQ_EINPUT for anything else. */
int ui_plot_format_of(const char *path, plot_format *out, xq_err *err);
/* Draws the figure into path. XQ_EINPUT for an empty figure; XQ_ERUN when the file cannot be written. */
int ui_plot_write(const plot_figure *fig, const char *path, plot_format fmt, xq_err *err);

/* Tick positions for an axis over [lo, hi]: 1-2-5 steps (linear) or 1-2-5 within decades (log). Returns the
 * count (≤ max). Exposed for tests. */
int ui_plot_ticks(double lo, double hi, bool log_scale, double *ticks, int max);

#endif
