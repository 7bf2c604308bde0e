/* Layers: one row per layer, the `nsys stats`-style table — time, bandwidth, FLOP rate, intensity, bound,
 * rebuild time, cache bytes — with a memory/compute utilization bar pair against this CPU's measured peaks. */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>

#include "ui/charts.h"
#include "ui/view.h"

static const ui_data *sort_data; /* qsort has no context argument; the UI is single-threaded */

static int by_time(const void *a, const void *b)
{
    int64_t x = sort_data->layer[*(const int *)a].agg.self_ns, y = sort_data->layer[*(const int *)b].agg.self_ns;
    return (y > x) - (y < x);
}

static int order_rows(const ui_ctx *c, int *rows)
{
    int n = c->d->n_layer;
    for (int i = 0; i < n; i++)
        rows[i] = i;
    if (!c->sort_by_layer) {
        sort_data = c->d;
        qsort(rows, (size_t)n, sizeof rows[0], by_time);
    }
    return n;
}

static void header(const ui_ctx *c, ui_rect in)
{
    char f[32], b[32];
    const ui_data *d = c->d;
    ui_textf(in.y, in.x + 1, in.w - 1, A_BOLD, "%5s %9s %5s %8s %9s %6s %-7s %9s %9s  %s", "layer", "time/step",
             "%", "GB/s", "GFLOP/s", "FLOP/B", "bound", "rebuild", "cache", "mem | cmp");
    if (d->peak_flops > 0 && d->peak_bytes_per_s > 0) {
        ui_fmt_rate(f, sizeof f, d->peak_flops, "FLOP/s");
        ui_fmt_rate(b, sizeof b, d->peak_bytes_per_s, "B/s");
        ui_textf(in.y + in.h - 1, in.x + 1, in.w - 1, 0,
                 "bars: %% of measured %s (mem) | %% of measured %s (cmp) · sorted by %s (s) · last %d steps", b, f,
                 c->sort_by_layer ? "layer" : "time", d->window_steps);
    } else {
        ui_textf(in.y + in.h - 1, in.x + 1, in.w - 1, 0, "bars, bound: N/A (%s) · sorted by %s (s)", d->peak_why,
                 c->sort_by_layer ? "layer" : "time");
    }
}

static void row(const ui_ctx *c, int y, int x, int w, int layer, int64_t total, bool selected)
{
    const ui_data *d = c->d;
    const prof_agg *a = &d->layer[layer].agg;
    int n = d->window_steps > 0 ? d->window_steps : 1;
    double s = (double)a->self_ns / 1e9, bytes = (double)ui_agg_bytes(a);
    double bw = s > 0 ? bytes / s : 0, fl = s > 0 ? (double)a->flops / s : 0;
    double ai = bytes > 0 ? (double)a->flops / bytes : 0;
    bool peaks = d->peak_flops > 0 && d->peak_bytes_per_s > 0;
    bool mem = peaks && ai < d->peak_flops / d->peak_bytes_per_s;
    char t[32], r[32], cb[32];
    ui_fmt_ns(t, sizeof t, (double)a->self_ns / n);
    ui_fmt_ns(r, sizeof r, (double)a->remat_ns / n);
    if (d->layer[layer].cache_bytes >= 0) ui_fmt_bytes(cb, sizeof cb, (double)d->layer[layer].cache_bytes);
    else snprintf(cb, sizeof cb, "N/A");
    int attr = selected ? A_REVERSE : 0;
    int used = ui_textf(y, x, w, attr, "%5d %9s %5.1f %8.2f %9.2f %6.2f %-7s %9s %9s  ", layer, t,
                        total ? 100.0 * (double)a->self_ns / (double)total : 0.0, bw / 1e9, fl / 1e9, ai,
                        !peaks ? "N/A" : mem ? "memory" : "compute", r, cb);
    int bw_w = (w - used - 3) / 2;
    if (bw_w > 10) bw_w = 10;
    if (bw_w < 2) return;
    ui_bar(&c->style, y, x + used, bw_w, peaks ? bw / d->peak_bytes_per_s : 0, UI_COL_MEM);
    ui_text(y, x + used + bw_w, 3, 0, " | ");
    ui_bar(&c->style, y, x + used + bw_w + 3, bw_w, peaks ? fl / d->peak_flops : 0, UI_COL_COMPUTE);
}

void ui_view_layers(ui_ctx *c)
{
    const ui_data *d = c->d;
    if (d->n_layer == 0 || d->window_steps == 0) {
        ui_view_empty(c, "Layers", "warming up: no step measured yet (layers appear after the first step)");
        return;
    }
    ui_rect b = c->lay.body;
    ui_box(&c->style, b, "Layers");
    ui_rect in = ui_inner(b);
    int rows[UI_MAX_LAYERS], n = order_rows(c, rows);
    if (c->sel >= n) c->sel = n - 1;
    if (c->sel < 0) c->sel = 0;
    int64_t total = 0;
    for (int i = 0; i < n; i++)
        total += d->layer[i].agg.self_ns;
    header(c, in);
    int visible = in.h - 2, first = c->sel >= visible ? c->sel - visible + 1 : 0;
    for (int i = 0; i < visible && first + i < n; i++)
        row(c, in.y + 1 + i, in.x + 1, in.w - 1, rows[first + i], total, first + i == c->sel);
}
