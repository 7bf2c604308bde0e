/* The terminal UI's entry point: a curses loop over one data source (a live run or a recorded trace), with the
 * views of view.h, the keys of keys.h and the layout of layout.h. Nothing is printed while curses is active; the
 * terminal is restored on return, on SIGINT/SIGTERM (which end the loop) and on a crash (handlers restore the
 * terminal, then re-raise). */
#ifndef XQ_UI_UI_H
#define XQ_UI_UI_H

#include <stdbool.h>

#include "base/status.h"
#include "ui/compare.h"
#include "ui/data.h"

typedef struct ui_source {
    void *self;
    /* Fills d with the latest data (d keeps its previous contents otherwise); true when anything changed. */
    bool (*poll)(void *self, ui_data *d);
    /* A key's request (keys.h ui_request), from the Modes view; NULL: the source takes none (a recording). */
    void (*request)(void *self, int what);
} ui_source;

typedef struct ui_opts {
    bool color;          /* false: NO_COLOR or --no-color */
    bool ascii;          /* --ascii; a non-UTF-8 locale implies it */
    int interval_ms;     /* refresh period */
    long max_iterations; /* > 0: leave after this many loop turns (tests) */
    int first_view;      /* 0-based */
    const char *gpus;    /* comma-separated catalogue ids whose roofs the Roofline view overlays */
    const char *filter;  /* Layers: the filter to start with (layer_rows.h), or NULL */
    int layer;           /* Layers: ≥ 0 starts on that layer's ops */
    bool once;           /* --once: print the view's data (export.h) instead of the screen */
    int format;          /* --format: ui_format of export.h */
} ui_opts;

/* Runs until q/F10 (0), SIGINT/SIGTERM (130) or max_iterations (0). cmp: two runs aligned for Compare, or NULL
 * with other_why saying why there are none. XQ_ERUN with a message if the terminal cannot be used. */
int ui_run(const ui_opts *o, ui_source *src, const ui_compare *cmp, const char *other_why, xq_err *err);

/* NO_COLOR set (to anything non-empty, as no-color.org asks). */
bool ui_env_no_color(void);

#endif
