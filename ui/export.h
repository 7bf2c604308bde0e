/* --once: the data of one view as JSON or CSV, for scripts. Deterministic for a given ui_data: keys in a fixed
 * order, integers as integers, every derived number with 3 decimals, no clocks, no locale. JSON is one object
 * (summary fields, then "rows" for the views that are tables); CSV is the table of a table view (header, then
 * one line per row), else "key,value" lines. */
#ifndef XQ_UI_EXPORT_H
#define XQ_UI_EXPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "ui/compare.h"
#include "ui/data.h"

typedef enum ui_format { UI_FORMAT_JSON = 0, UI_FORMAT_CSV } ui_format;

typedef struct ui_export_req {
    ui_format format;
    int view; /* 0-based, as view.h numbers them */
    const ui_data *d;
    const ui_compare *cmp; /* Compare's two runs aligned, or NULL */
    const char *other_why; /* why there is none */
    const char *filter;    /* Layers: the filter text (layer_rows.h), or NULL */
    int layer;             /* Layers, Compare: ≥ 0 exports that layer's ops instead of the layer table */
    const char *gpus;      /* Roofline: the overlaid GPU ids as given */
} ui_export_req;

/* 0, or XQ_ERUN when the stream could not be written. */
int ui_export(FILE *f, const ui_export_req *r);

#endif
