/* The Layers view's rows as a pure function of a ui_data, a filter and a sort order, shared by the screen and
 * by --once: one row per layer, or one row per op kind of one layer (the drill-down).
 * A filter is space-separated terms: a layer number (7) or range (3-7) keeps only those layers; any other term
 * keeps the op kinds whose name contains it (case-insensitive), and each layer row then sums only those ops. */
#ifndef XQ_UI_LAYER_ROWS_H
#define XQ_UI_LAYER_ROWS_H

#include <stdbool.h>
#include <stdint.h>

#include "ui/data.h"

enum { UI_FILTER_MAX = 40 };

typedef struct ui_filter {
    bool by_layer;                       /* layer terms given: only the layers in `layers` */
    bool by_op;                          /* op terms given: only the op kinds in `ops` */
    uint64_t layers[UI_MAX_LAYERS / 64]; /* bit per layer */
    uint32_t ops;                        /* bit per span_op */
    char unmatched[UI_FILTER_MAX];       /* the first op term that names no op kind, "" if none */
    char bad_layers[UI_FILTER_MAX];      /* the first term that starts with a digit but is not N or N-M, N <= M */
} ui_filter;

typedef struct ui_row {
    int id; /* layer index (layer rows) or span_op (op rows) */
    int64_t count, self_ns, flops, bytes, remat_ns;
    int64_t cache_bytes; /* −1: unknown; op rows: always −1 */
} ui_row;

/* What a row's numbers mean per step and against this device's measured peaks. */
typedef enum ui_bound { UI_BOUND_NA = 0, UI_BOUND_MEMORY, UI_BOUND_COMPUTE } ui_bound;
typedef struct ui_figures {
    double ns_per_step, rebuild_ns_per_step, calls_per_step;
    double share; /* of total_ns, 0..1 */
    double bytes_per_s, flops_per_s, flops_per_byte;
    double mem_of_peak, cmp_of_peak; /* 0..: achieved ÷ measured peak; 0 without peaks */
    ui_bound bound;                  /* N/A without peaks, or for a row that did no work */
} ui_figures;

const char *ui_bound_name(ui_bound b); /* "memory", "compute", "N/A" */
ui_figures ui_row_figures(const ui_data *d, const ui_row *r, int64_t total_ns);

void ui_filter_parse(const char *text, ui_filter *f);
bool ui_filter_empty(const ui_filter *f);
/* Rows for the layers the filter keeps, by time (slowest first, ties by index) or by index; out holds
 * UI_MAX_LAYERS. An op filter needs d->layer_ops_known: without it, layer rows are whole layers. */
int ui_layer_rows(const ui_data *d, const ui_filter *f, bool by_index, ui_row *out);
/* Rows for the op kinds of one layer that ran and that the filter keeps (its layer terms are ignored: the
 * layer was chosen); out holds OP_COUNT. 0 when d has no per-layer ops. */
int ui_op_rows(const ui_data *d, int layer, const ui_filter *f, bool by_index, ui_row *out);

#endif
