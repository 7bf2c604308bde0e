/* Roofline: each op class of the recent steps as a point (FLOPs per byte moved, FLOP/s achieved) under this
 * CPU's measured roof, log-log, with the catalogue roofs of other GPUs dotted for scale. */
#include <curses.h>
#include <math.h>
#include <stdio.h>

#include "ui/charts.h"
#include "ui/view.h"

enum { AXIS_W = 9, LIST_W = 36 };

typedef struct axes {
    double x0, x1, y0, y1; /* log10 ranges */
} axes;

static int px_of(const ui_canvas *cv, const axes *a, double ai)
{
    return (int)((log10(ai) - a->x0) / (a->x1 - a->x0) * (cv->px_w - 1) + 0.5);
}

static int py_of(const ui_canvas *cv, const axes *a, double flops)
{
    return (int)((log10(flops) - a->y0) / (a->y1 - a->y0) * (cv->px_h - 1) + 0.5);
}

static void roof(ui_canvas *cv, const axes *a, double peak, double bw, int mark, bool dotted)
{
    for (int px = 0; px < cv->px_w; px++) {
        if (dotted && px % 3 == 2) continue;
        double ai = pow(10, a->x0 + (a->x1 - a->x0) * px / (cv->px_w > 1 ? cv->px_w - 1 : 1));
        double perf = fmin(peak, bw * ai);
        ui_canvas_dot(cv, px, py_of(cv, a, perf), mark);
    }
}

static axes pick_axes(const ui_ctx *c)
{
    axes a = {-2, 4, 8, 12};
    double top = c->d->peak_flops;
    for (int i = 0; i < c->n_roofs; i++)
        if (c->roofs[i].tensor_tflops * 1e12 > top) top = c->roofs[i].tensor_tflops * 1e12;
    if (top > 0) a.y1 = ceil(log10(top) + 0.2);
    return a;
}

static int list_ops(const ui_ctx *c, int y, int x, int w, int h)
{
    const ui_data *d = c->d;
    int line = 0;
    ui_text(y, x, w, A_BOLD, "op          FLOP/B   achieved");
    for (int op = 0; op < OP_COUNT && line + 1 < h; op++) {
        const prof_agg *g = &d->op[op];
        double bytes = (double)ui_agg_bytes(g);
        if (g->flops <= 0 || bytes <= 0 || g->self_ns <= 0) continue;
        char r[32];
        ui_fmt_rate(r, sizeof r, (double)g->flops * 1e9 / (double)g->self_ns, "FLOP/s");
        ui_textf(y + 1 + line++, x, w, 0, "%-11s %6.2f %12s", span_op_name((span_op)op), (double)g->flops / bytes, r);
    }
    return line;
}

static void legend(const ui_ctx *c, int y, int x, int w)
{
    char f[32], b[32], line[256];
    int n = 0;
    if (c->d->peak_flops > 0) {
        ui_fmt_rate(f, sizeof f, c->d->peak_flops, "FLOP/s");
        ui_fmt_rate(b, sizeof b, c->d->peak_bytes_per_s, "B/s");
        n = snprintf(line, sizeof line, "solid: this CPU, measured %s, %s", f, b);
    } else {
        n = snprintf(line, sizeof line, "this CPU's roof: N/A (%s)", c->d->peak_why);
    }
    for (int i = 0; i < c->n_roofs && n < (int)sizeof line - 40; i++)
        n += snprintf(line + n, sizeof line - (size_t)n, "%s %s", i ? "," : " · dotted:", c->roofs[i].id);
    ui_text(y, x, w, 0, line);
}

void ui_view_roofline(ui_ctx *c)
{
    ui_rect b = c->lay.body;
    ui_box(&c->style, b, "Roofline (log-log: FLOP/s vs FLOPs per byte moved)");
    ui_rect in = ui_inner(b);
    bool side = in.w >= 80;
    int plot_w = in.w - AXIS_W - (side ? LIST_W + 1 : 0), plot_h = in.h - 2 - (side ? 0 : 5);
    if (plot_w < 8 || plot_h < 3) return;
    static ui_canvas cv;
    ui_canvas_init(&cv, &c->style, plot_w, plot_h);
    axes a = pick_axes(c);
    for (int i = 0; i < c->n_roofs; i++)
        roof(&cv, &a, c->roofs[i].tensor_tflops * 1e12, c->roofs[i].bw_tbs * 1e12, UI_MARK_OTHER, true);
    if (c->d->peak_flops > 0) roof(&cv, &a, c->d->peak_flops, c->d->peak_bytes_per_s, UI_MARK_ROOF, false);
    for (int op = 0; op < OP_COUNT; op++) {
        const prof_agg *g = &c->d->op[op];
        double bytes = (double)ui_agg_bytes(g);
        if (g->flops <= 0 || bytes <= 0 || g->self_ns <= 0) continue;
        int px = px_of(&cv, &a, (double)g->flops / bytes), py = py_of(&cv, &a, (double)g->flops * 1e9 / (double)g->self_ns);
        for (int dx = 0; dx < 2; dx++)
            for (int dy = 0; dy < 2; dy++)
                ui_canvas_dot(&cv, px + dx, py + dy, UI_MARK_POINT);
    }
    for (int row = 0; row < plot_h; row += plot_h > 6 ? plot_h / 4 : plot_h) {
        char r[32];
        ui_fmt_rate(r, sizeof r, pow(10, a.y1 - (a.y1 - a.y0) * row / (plot_h - 1)), "");
        ui_textf(in.y + row, in.x, AXIS_W - 1, 0, "%7s", r);
    }
    ui_canvas_draw(&cv, &c->style, in.y, in.x + AXIS_W);
    ui_textf(in.y + plot_h, in.x + AXIS_W, plot_w, 0, "%-*s%s", plot_w - 6, "0.01 FLOP/B", "10^4");
    legend(c, in.y + plot_h + 1, in.x + 1, in.w - 2);
    if (side) list_ops(c, in.y, in.x + AXIS_W + plot_w + 1, LIST_W, in.h - 2);
    else list_ops(c, in.y + plot_h + 2, in.x + 1, in.w - 2, 4);
}
