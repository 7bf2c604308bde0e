/* Layers: one row per layer, the `nsys stats`-style table — time, bandwidth, FLOP rate, intensity, bound,
 * rebuild time, cache bytes — with a memory/compute utilization bar pair against this CPU's measured peaks.
 * `/` filters (layer numbers, ranges, op names), Enter drills into one layer's ops, Esc/Backspace come back.
 * The rows themselves come from layer_rows.c, which --once shares. */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "ui/charts.h"
#include "ui/view.h"

enum { KEY_CTRL_H = 8, KEY_DEL = 127, KEY_ESC = 27 };

static void peaks_hint(const ui_ctx *c, char *buf, size_t size)
{
    const ui_data *d = c->d;
    char f[32], b[32];
    /* The sort and the keys first: at 80 columns the end of the line is cut. */
    int n = snprintf(buf, size, "sorted by %s (s) · %s · ", c->sort_by_layer ? (c->drilled ? "op" : "layer") : "time",
                     c->drilled ? "Esc: back" : "/ filter · Enter: ops");
    if (n < 0 || (size_t)n >= size) return;
    if (d->peak_flops > 0 && d->peak_bytes_per_s > 0) {
        ui_fmt_rate(f, sizeof f, d->peak_flops, "FLOP/s");
        ui_fmt_rate(b, sizeof b, d->peak_bytes_per_s, "B/s");
        snprintf(buf + n, size - (size_t)n, "bars: %% of measured %s (mem) | %% of measured %s (cmp) · last %d steps",
                 b, f, d->window_steps);
    } else {
        snprintf(buf + n, size - (size_t)n, "bars, bound: N/A (%s)", d->peak_why);
    }
}

/* The last line of the box: the filter being typed, else what the bars mean and the keys of this view. */
static void hint(const ui_ctx *c, ui_rect in)
{
    char line[320];
    if (c->typing)
        snprintf(line, sizeof line, "filter: %s_   (layer 3, range 3-7 or op name; Enter keeps, Esc clears)",
                 c->filter);
    else
        peaks_hint(c, line, sizeof line);
    ui_text(in.y + in.h - 1, in.x + 1, in.w - 1, c->typing ? A_BOLD : 0, line);
}

static void bar_pair(const ui_ctx *c, int y, int x, int w, const ui_figures *g)
{
    int bw_w = (w - 3) / 2;
    if (bw_w > 10) bw_w = 10;
    if (bw_w < 2) return;
    ui_bar(&c->style, y, x, bw_w, g->mem_of_peak, UI_COL_MEM);
    ui_text(y, x + bw_w, 3, 0, " | ");
    ui_bar(&c->style, y, x + bw_w + 3, bw_w, g->cmp_of_peak, UI_COL_COMPUTE);
}

static void layer_row(const ui_ctx *c, int y, int x, int w, const ui_row *r, int64_t total, bool selected)
{
    ui_figures g = ui_row_figures(c->d, r, total);
    char t[32], rb[32], cb[32];
    ui_fmt_ns(t, sizeof t, g.ns_per_step);
    ui_fmt_ns(rb, sizeof rb, g.rebuild_ns_per_step);
    if (r->cache_bytes >= 0)
        ui_fmt_bytes(cb, sizeof cb, (double)r->cache_bytes);
    else
        snprintf(cb, sizeof cb, "N/A");
    int used = ui_textf(y, x, w, selected ? A_REVERSE : 0, "%5d %9s %5.1f %8.2f %9.2f %6.2f %-7s %9s %9s  ", r->id, t,
                        100 * g.share, g.bytes_per_s / 1e9, g.flops_per_s / 1e9, g.flops_per_byte,
                        ui_bound_name(g.bound), rb, cb);
    bar_pair(c, y, x + used, w - used, &g);
}

static void op_row(const ui_ctx *c, int y, int x, int w, const ui_row *r, int64_t total, bool selected)
{
    ui_figures g = ui_row_figures(c->d, r, total);
    char t[32];
    ui_fmt_ns(t, sizeof t, g.ns_per_step);
    int used = ui_textf(y, x, w, selected ? A_REVERSE : 0, "%-12s %6.1f %9s %5.1f %8.2f %9.2f %6.2f %-7s  ",
                        span_op_name((span_op)r->id), g.calls_per_step, t, 100 * g.share, g.bytes_per_s / 1e9,
                        g.flops_per_s / 1e9, g.flops_per_byte, ui_bound_name(g.bound));
    bar_pair(c, y, x + used, w - used, &g);
}

static int clamp_sel(int sel, int n)
{
    return sel >= n ? n - 1 : sel < 0 ? 0 : sel;
}

/* Why a filtered table is empty, or what an op filter cannot do here; NULL when the rows speak for themselves. */
static const char *filter_note(const ui_ctx *c, const ui_filter *f, int n, char *buf, size_t size)
{
    if (f->unmatched[0])
        snprintf(buf, size, "no op name contains '%s' (ops: matmul_q, attend, remat …)", f->unmatched);
    else if (f->by_op && !c->d->layer_ops_known)
        snprintf(buf, size,
                 "op filter: N/A while top --trace F records (the trace takes the op stream: xqprof view F has "
                 "the ops per layer); rows are whole layers");
    else if (n == 0)
        snprintf(buf, size, "no layer matches '%s' (layers 0-%d)", c->filter, c->d->n_layer - 1);
    else
        return NULL;
    return buf;
}

static void layer_table(ui_ctx *c, ui_rect in, const ui_filter *f)
{
    const ui_data *d = c->d;
    static ui_row rows[UI_MAX_LAYERS];
    int n = ui_layer_rows(d, f, c->sort_by_layer, rows);
    int64_t total = 0;
    for (int i = 0; i < d->n_layer; i++)
        total += d->layer[i].agg.self_ns;
    c->sel = clamp_sel(c->sel, n);
    c->sel_layer = n ? rows[c->sel].id : -1;
    ui_textf(in.y, in.x + 1, in.w - 1, A_BOLD, "%5s %9s %5s %8s %9s %6s %-7s %9s %9s  %s", "layer", "time/step", "%",
             "GB/s", "GFLOP/s", "FLOP/B", "bound", "rebuild", "cache", "mem | cmp");
    char note[256];
    int top = in.y + 1, visible = in.h - 2;
    if (filter_note(c, f, n, note, sizeof note)) {
        ui_text(top++, in.x + 1, in.w - 1, 0, note);
        visible--;
    }
    int first = c->sel >= visible ? c->sel - visible + 1 : 0;
    for (int i = 0; i < visible && first + i < n; i++)
        layer_row(c, top + i, in.x + 1, in.w - 1, &rows[first + i], total, first + i == c->sel);
}

static void op_table(ui_ctx *c, ui_rect in, const ui_filter *f)
{
    const ui_data *d = c->d;
    if (!d->layer_ops_known) {
        ui_text(in.y + in.h / 2, in.x + 1, in.w - 1, 0,
                "ops of one layer: N/A while top --trace F records (the trace takes the op stream: xqprof view F "
                "has them) · Esc: back");
        return;
    }
    ui_row rows[OP_COUNT];
    int n = ui_op_rows(d, c->drill_layer, f, c->sort_by_layer, rows);
    int64_t total = c->drill_layer < d->n_layer ? d->layer[c->drill_layer].agg.self_ns : 0;
    c->drill_sel = clamp_sel(c->drill_sel, n);
    ui_textf(in.y, in.x + 1, in.w - 1, A_BOLD, "%-12s %6s %9s %5s %8s %9s %6s %-7s  %s", "op", "calls", "time/step",
             "%", "GB/s", "GFLOP/s", "FLOP/B", "bound", "mem | cmp");
    if (!n) ui_textf(in.y + 1, in.x + 1, in.w - 1, 0, "no op of layer %d matches '%s'", c->drill_layer, c->filter);
    int visible = in.h - 2, first = c->drill_sel >= visible ? c->drill_sel - visible + 1 : 0;
    for (int i = 0; i < visible && first + i < n; i++)
        op_row(c, in.y + 1 + i, in.x + 1, in.w - 1, &rows[first + i], total, first + i == c->drill_sel);
}

void ui_view_layers(ui_ctx *c)
{
    const ui_data *d = c->d;
    c->sel_layer = -1;
    if (d->n_layer == 0 || d->window_steps == 0) {
        ui_view_empty(c, "Layers", "warming up: no step measured yet (layers appear after the first step)");
        return;
    }
    ui_filter f;
    ui_filter_parse(c->filter, &f);
    char title[96];
    int n = c->drilled ? snprintf(title, sizeof title, "Layers %s layer %d: ops (Esc: back)",
                                  c->style.ascii ? ">" : "›", c->drill_layer)
                       : snprintf(title, sizeof title, "Layers");
    if (c->filter[0]) snprintf(title + n, sizeof title - (size_t)n, " · filter: %s", c->filter);
    ui_box(&c->style, c->lay.body, title);
    ui_rect in = ui_inner(c->lay.body);
    if (c->drilled)
        op_table(c, in, &f);
    else
        layer_table(c, in, &f);
    hint(c, in);
}

void ui_layers_start_filter(ui_ctx *c)
{
    c->typing = true;
}

bool ui_layers_type(ui_ctx *c, int ch)
{
    size_t len = strlen(c->filter);
    if (ch == KEY_ESC)
        c->filter[0] = 0;
    else if (ch == KEY_BACKSPACE || ch == KEY_DEL || ch == KEY_CTRL_H) {
        if (len) c->filter[len - 1] = 0;
        return true;
    } else if (ch >= ' ' && ch <= '~') {
        if (len + 1 < sizeof c->filter) {
            c->filter[len] = (char)ch;
            c->filter[len + 1] = 0;
        }
        c->sel = c->drill_sel = 0; /* the rows changed: start from the top */
        return true;
    } else if (ch != '\n' && ch != '\r' && ch != KEY_ENTER) {
        c->typing = false;
        return false;
    }
    c->typing = false;
    return true;
}

void ui_layers_open(ui_ctx *c)
{
    if (c->drilled || c->sel_layer < 0) return;
    c->drilled = true;
    c->drill_layer = c->sel_layer;
    c->drill_sel = 0;
}

bool ui_layers_back(ui_ctx *c)
{
    if (c->drilled)
        c->drilled = false;
    else if (c->filter[0])
        c->filter[0] = 0;
    else
        return false;
    return true;
}
