/* The views: each draws one screen's body from a ui_data. They share the context below (style, layout,
 * navigation state), read-only except for the selection they clamp. */
#ifndef XQ_UI_VIEW_H
#define XQ_UI_VIEW_H

#include <stdbool.h>

#include "gpu/catalogue.h"
#include "ui/compare.h"
#include "ui/data.h"
#include "ui/draw.h"
#include "ui/layer_rows.h"
#include "ui/layout.h"

enum { UI_VIEW_OVERVIEW = 0, UI_VIEW_LAYERS, UI_VIEW_ROOFLINE, UI_VIEW_TIMELINE, UI_VIEW_MODES, UI_VIEW_COMPARE,
       UI_VIEW_COUNT, UI_MAX_ROOFS = 4 };

typedef struct ui_ctx {
    ui_style style;
    ui_layout lay;
    const ui_data *d;
    const ui_compare *cmp; /* the two runs of `view A B` (or --run-b) aligned, else NULL */
    const char *other_why; /* why there is no second run to compare (NULL when there is) */
    bool frozen;
    bool sort_by_layer; /* Layers: by layer index instead of by time */
    int sel;            /* Layers: selected row */
    char filter[UI_FILTER_MAX]; /* Layers: the filter (layer_rows.h) */
    bool typing;                /* Layers: the filter is being typed */
    bool drilled;               /* Layers: showing the ops of drill_layer */
    int drill_layer, drill_sel;
    int sel_layer;              /* Layers: the layer under the selection when last drawn, −1 if none */
    int cmp_sel, cmp_drill_sel; /* Compare: selected layer row, selected op row */
    bool cmp_drilled;           /* Compare: showing the ops of cmp_layer */
    int cmp_layer;
    int cmp_sel_layer;          /* Compare: the layer under the selection when last drawn; STORE_ALL_LAYERS: none */
    int n_roofs;
    gpu_spec roofs[UI_MAX_ROOFS]; /* other devices' roofs for the Roofline view */
} ui_ctx;

const char *ui_view_name(int view);
void ui_view_draw(ui_ctx *c, int view);

void ui_view_overview(ui_ctx *c);
void ui_view_layers(ui_ctx *c);
void ui_view_roofline(ui_ctx *c);
void ui_view_timeline(ui_ctx *c);
void ui_view_modes(ui_ctx *c);
/* Layers' keys (dispatched by app.c through the key table): / starts typing a filter, Enter opens the selected
 * layer's ops, Esc/Backspace go back (out of the ops first, then the filter is cleared). */
void ui_layers_start_filter(ui_ctx *c);
/* While the filter is typed: printable keys, Backspace, Enter (keep) and Esc (clear) edit it. False for any
 * other key, which ends typing and is then handled as usual. */
bool ui_layers_type(ui_ctx *c, int ch);
void ui_layers_open(ui_ctx *c);
/* False when there was nothing to go back from. */
bool ui_layers_back(ui_ctx *c);
void ui_view_compare(ui_ctx *c);
/* Compare's keys: Enter opens the selected layer's ops, Esc/Backspace come back (false: nothing to go back from). */
void ui_compare_open(ui_ctx *c);
bool ui_compare_back(ui_ctx *c);
/* One line in the middle of the body saying why a view is empty and what would fill it. */
void ui_view_empty(const ui_ctx *c, const char *title, const char *why);

#endif
