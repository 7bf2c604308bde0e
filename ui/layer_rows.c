/* Rows of the Layers view (layer_rows.h). */
#include "ui/layer_rows.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool parse_range(const char *t, long *lo, long *hi)
{
    char *end;
    if (!isdigit((unsigned char)*t)) return false;
    *lo = *hi = strtol(t, &end, 10);
    if (*end == '-' && isdigit((unsigned char)end[1])) *hi = strtol(end + 1, &end, 10);
    return *end == 0;
}

static void add_layers(ui_filter *f, long lo, long hi)
{
    f->by_layer = true;
    for (long i = lo < 0 ? 0 : lo; i <= hi && i < UI_MAX_LAYERS; i++)
        f->layers[i / 64] |= 1ull << (i % 64);
}

static void add_ops(ui_filter *f, const char *term)
{
    uint32_t found = 0;
    for (int op = 0; op < OP_COUNT; op++)
        if (strcasestr(span_op_name((span_op)op), term)) found |= 1u << op;
    f->by_op = true;
    f->ops |= found;
    if (!found && !f->unmatched[0]) snprintf(f->unmatched, sizeof f->unmatched, "%s", term);
}

void ui_filter_parse(const char *text, ui_filter *f)
{
    memset(f, 0, sizeof *f);
    char buf[UI_FILTER_MAX];
    snprintf(buf, sizeof buf, "%s", text ? text : "");
    for (char *save = NULL, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        long lo, hi;
        bool range = parse_range(t, &lo, &hi);
        if (isdigit((unsigned char)*t) && !(range && lo <= hi && hi < UI_MAX_LAYERS) && !f->bad_layers[0])
            snprintf(f->bad_layers, sizeof f->bad_layers, "%s", t);
        if (range)
            add_layers(f, lo, hi);
        else
            add_ops(f, t);
    }
}

bool ui_filter_empty(const ui_filter *f)
{
    return !f->by_layer && !f->by_op;
}

static bool keeps_layer(const ui_filter *f, int i)
{
    return !f->by_layer || (f->layers[i / 64] >> (i % 64) & 1);
}

static bool keeps_op(const ui_filter *f, int op)
{
    return !f->by_op || (f->ops >> op & 1);
}

static void add_cell(ui_row *r, const ui_cell *c)
{
    r->count += c->count;
    r->self_ns += c->self_ns;
    r->flops += c->flops;
    r->bytes += c->bytes;
    r->remat_ns += c->remat_ns;
}

static ui_row layer_row(const ui_data *d, const ui_filter *f, int i)
{
    ui_row r = {.id = i, .cache_bytes = d->layer[i].cache_bytes};
    if (f->by_op && d->layer_ops_known) {
        for (int op = 0; op < OP_COUNT; op++)
            if (keeps_op(f, op)) add_cell(&r, &d->layer_op[i][op]);
        return r;
    }
    const prof_agg *a = &d->layer[i].agg;
    r.count = a->count;
    r.self_ns = a->self_ns;
    r.flops = a->flops;
    r.bytes = ui_agg_bytes(a);
    r.remat_ns = a->remat_ns;
    return r;
}

static int by_time(const void *a, const void *b)
{
    const ui_row *x = a, *y = b;
    if (x->self_ns != y->self_ns) return x->self_ns < y->self_ns ? 1 : -1;
    return (x->id > y->id) - (x->id < y->id);
}

int ui_layer_rows(const ui_data *d, const ui_filter *f, bool by_index, ui_row *out)
{
    int n = 0;
    for (int i = 0; i < d->n_layer && i < UI_MAX_LAYERS; i++)
        if (keeps_layer(f, i)) out[n++] = layer_row(d, f, i);
    if (!by_index) qsort(out, (size_t)n, sizeof out[0], by_time);
    return n;
}

int ui_op_rows(const ui_data *d, int layer, const ui_filter *f, bool by_index, ui_row *out)
{
    int n = 0;
    if (!d->layer_ops_known || layer < 0 || layer >= d->n_layer) return 0;
    for (int op = 0; op < OP_COUNT; op++) {
        const ui_cell *c = &d->layer_op[layer][op];
        if (c->count <= 0 || !keeps_op(f, op)) continue;
        out[n] = (ui_row){.id = op, .cache_bytes = -1};
        add_cell(&out[n++], c);
    }
    if (!by_index) qsort(out, (size_t)n, sizeof out[0], by_time);
    return n;
}

const char *ui_bound_name(ui_bound b)
{
    return b == UI_BOUND_MEMORY ? "memory" : b == UI_BOUND_COMPUTE ? "compute" : "N/A";
}

ui_figures ui_row_figures(const ui_data *d, const ui_row *r, int64_t total_ns)
{
    ui_figures g = {0};
    double steps = d->window_steps > 0 ? d->window_steps : 1, s = (double)r->self_ns / 1e9;
    g.ns_per_step = (double)r->self_ns / steps;
    g.rebuild_ns_per_step = (double)r->remat_ns / steps;
    g.calls_per_step = (double)r->count / steps;
    g.share = total_ns > 0 ? (double)r->self_ns / (double)total_ns : 0;
    g.bytes_per_s = s > 0 ? (double)r->bytes / s : 0;
    g.flops_per_s = s > 0 ? (double)r->flops / s : 0;
    g.flops_per_byte = r->bytes > 0 ? (double)r->flops / (double)r->bytes : 0;
    if (d->peak_flops <= 0 || d->peak_bytes_per_s <= 0 || (r->flops <= 0 && r->bytes <= 0)) return g;
    g.mem_of_peak = g.bytes_per_s / d->peak_bytes_per_s;
    g.cmp_of_peak = g.flops_per_s / d->peak_flops;
    /* No bytes moved at all is as compute-bound as it gets. */
    bool mem = r->bytes > 0 && g.flops_per_byte < d->peak_flops / d->peak_bytes_per_s;
    g.bound = mem ? UI_BOUND_MEMORY : UI_BOUND_COMPUTE;
    return g;
}
