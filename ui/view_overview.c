/* Overview: the trade at a glance — speed, where a step's time goes, the cache held against fp16 K/V, and
 * what the mode saved and paid. */
#include <curses.h>
#include <stdio.h>

#include "ui/charts.h"
#include "ui/view.h"

static void panel_decode(const ui_ctx *c, ui_rect r)
{
    const ui_data *d = c->d;
    ui_box(&c->style, r, "decode");
    ui_rect in = ui_inner(r);
    char a[32], b[32];
    double rate = ui_decode_rate(d);
    int used = ui_textf(in.y, in.x + 1, in.w - 1, A_BOLD, "%.1f tok/s ", rate);
    char span[32];
    snprintf(span, sizeof span, d->live ? " last %.0f s" : " per step", d->rate_span_s);
    int spark_w = in.w - 2 - used - (int)sizeof " last 60 s";
    if (spark_w > 2) ui_sparkline(&c->style, in.y, in.x + 1 + used, spark_w, d->rate, d->n_rate, UI_COL_SAVED);
    if (spark_w > 2) ui_text(in.y, in.x + 1 + used + spark_w, in.w - 1 - used - spark_w, 0, span);
    ui_fmt_ns(a, sizeof a, (double)ui_decode_percentile(d, 50));
    ui_fmt_ns(b, sizeof b, (double)ui_decode_percentile(d, 99));
    if (in.h > 1) ui_textf(in.y + 1, in.x + 1, in.w - 1, 0, "decode step p50 %s   p99 %s", a, b);
    double pf = ui_prefill_rate(d);
    if (in.h > 2) ui_textf(in.y + 2, in.x + 1, in.w - 1, 0, pf > 0 ? "prefill %.0f tok/s (last prompt)" : "prefill N/A (no prompt yet)", pf);
    if (in.h > 3) ui_textf(in.y + 3, in.x + 1, in.w - 1, 0, "context %lld / %lld tokens", (long long)d->ctx, (long long)d->n_ctx_max);
}

/* "memory-bound" when the class's FLOPs per byte sit below this device's measured ridge point. */
static const char *bound_of(const ui_data *d, ui_class k, ui_color *color)
{
    prof_agg sum = {0};
    for (int op = 0; op < OP_COUNT; op++) {
        if (ui_op_class((span_op)op) != k) continue;
        sum.flops += d->op[op].flops;
        sum.bytes_weights += ui_agg_bytes(&d->op[op]);
    }
    *color = UI_COL_NONE;
    if (d->peak_flops <= 0 || d->peak_bytes_per_s <= 0 || sum.bytes_weights <= 0) return "";
    bool mem = (double)sum.flops / (double)sum.bytes_weights < d->peak_flops / d->peak_bytes_per_s;
    *color = mem ? UI_COL_MEM : UI_COL_COMPUTE;
    return mem ? "memory-bound" : "compute-bound";
}

static void panel_split(const ui_ctx *c, ui_rect r)
{
    const ui_data *d = c->d;
    int64_t split[UI_CLASS_COUNT], total = 0;
    ui_class_split(d, split);
    for (int k = 0; k < UI_CLASS_COUNT; k++)
        total += split[k];
    int n = d->window_steps > 0 ? d->window_steps : 1;
    char t[32], title[96];
    ui_fmt_ns(t, sizeof t, (double)total / n);
    /* A mean over every step of the window, prefill included: it differs from the decode percentiles above. */
    snprintf(title, sizeof title, "where a step's %s go (mean of last %d steps)", t, d->window_steps);
    ui_box(&c->style, r, title);
    ui_rect in = ui_inner(r);
    int bar_w = in.w - 40;
    if (bar_w < 4) bar_w = 4;
    for (int k = 0; k < UI_CLASS_COUNT && k < in.h; k++) {
        double frac = total > 0 ? (double)split[k] / (double)total : 0;
        ui_color col;
        const char *bound = bound_of(d, (ui_class)k, &col);
        int y = in.y + k, x = in.x + 1;
        ui_text(y, x, 10, 0, ui_class_name((ui_class)k));
        ui_bar(&c->style, y, x + 10, bar_w, frac, col == UI_COL_NONE ? UI_COL_MEM : col);
        ui_fmt_ns(t, sizeof t, (double)split[k] / n);
        ui_textf(y, x + 11 + bar_w, in.w - 12 - bar_w, ui_attr(&c->style, col), "%3.0f%% %-13s %s", frac * 100,
                 bound, t);
    }
    if (in.h > UI_CLASS_COUNT && (d->peak_flops <= 0 || d->peak_bytes_per_s <= 0))
        ui_textf(in.y + UI_CLASS_COUNT, in.x + 1, in.w - 1, 0, "bound: N/A (%s)", d->peak_why);
    else if (in.h > UI_CLASS_COUNT && total == 0)
        ui_text(in.y + UI_CLASS_COUNT, in.x + 1, in.w - 1, 0, "warming up: no step measured yet");
}

static void cache_growth(const ui_data *d, double *v, int *n)
{
    *n = 0;
    for (int i = 0; i < d->n_steps; i++)
        if (d->step[i].cache_persistent >= 0) v[(*n)++] = (double)d->step[i].cache_persistent;
}

static void panel_cache(const ui_ctx *c, ui_rect r)
{
    const ui_data *d = c->d;
    char title[64], a[32];
    snprintf(title, sizeof title, "cache held at ctx %lld", (long long)d->ctx);
    ui_box(&c->style, r, title);
    ui_rect in = ui_inner(r);
    double fp16 = d->fp16_bytes_per_token * (double)d->ctx;
    const ui_step *last = d->n_steps ? &d->step[d->n_steps - 1] : NULL;
    double held = last ? (double)last->cache_persistent : -1;
    int bar_w = in.w - 24;
    ui_text(in.y, in.x + 1, 10, 0, "fp16 KV");
    ui_bar(&c->style, in.y, in.x + 11, bar_w, fp16 > 0 ? 1.0 : 0, UI_COL_PAID);
    ui_fmt_bytes(a, sizeof a, fp16);
    ui_textf(in.y, in.x + 12 + bar_w, 11, 0, "%s", a);
    if (in.h < 2) return;
    ui_text(in.y + 1, in.x + 1, 10, 0, d->mode);
    ui_bar(&c->style, in.y + 1, in.x + 11, bar_w, fp16 > 0 && held >= 0 ? held / fp16 : 0, UI_COL_SAVED);
    if (held >= 0) ui_fmt_bytes(a, sizeof a, held);
    ui_textf(in.y + 1, in.x + 12 + bar_w, 11, 0, "%s", held >= 0 ? a : "N/A");
    if (in.h < 3) return;
    static double v[UI_MAX_STEPS];
    int n;
    cache_growth(d, v, &n);
    ui_text(in.y + 2, in.x + 1, 10, 0, "growth");
    ui_sparkline(&c->style, in.y + 2, in.x + 11, bar_w, v, n, UI_COL_SAVED);
    ui_text(in.y + 2, in.x + 12 + bar_w, 11, 0, "this run");
    if (in.h > 3) ui_text(in.y + 3, in.x + 1, in.w - 1, 0, "bars: 100% = what fp16 K/V holds at this context");
    if (in.h > 4 && held >= 0 && last->cache_ring > 0) { /* at a short context it can outweigh the cache */
        ui_fmt_bytes(a, sizeof a, (double)last->cache_ring);
        ui_textf(in.y + 4, in.x + 1, in.w - 1, 0, "+ fp16 ring %s (not in the bar)", a);
    }
}

static void panel_trade(const ui_ctx *c, ui_rect r)
{
    const ui_data *d = c->d;
    ui_box(&c->style, r, "the trade");
    ui_rect in = ui_inner(r);
    double fp16 = d->fp16_bytes_per_token * (double)d->ctx;
    double held = d->n_steps ? (double)d->step[d->n_steps - 1].cache_persistent : -1;
    char a[32], b[32];
    if (held >= 0 && fp16 > 0) {
        ui_fmt_bytes(a, sizeof a, fp16 - held);
        ui_textf(in.y, in.x + 1, in.w - 1, ui_attr(&c->style, UI_COL_SAVED), "saved  %s of cache (%.1fx less)", a,
                 held > 0 ? fp16 / held : 0.0);
    } else {
        ui_text(in.y, in.x + 1, in.w - 1, 0, "saved  N/A (no cache bytes recorded yet)");
    }
    int64_t split[UI_CLASS_COUNT], total = 0;
    ui_class_split(d, split);
    for (int k = 0; k < UI_CLASS_COUNT; k++)
        total += split[k];
    int n = d->window_steps > 0 ? d->window_steps : 1;
    ui_fmt_ns(b, sizeof b, (double)split[UI_REBUILD] / n);
    if (in.h > 1)
        ui_textf(in.y + 1, in.x + 1, in.w - 1, ui_attr(&c->style, UI_COL_PAID), "paid   %s per step rebuilding (%.0f%%)",
                 b, total ? 100.0 * (double)split[UI_REBUILD] / (double)total : 0.0);
    if (in.h > 2 && d->peak_flops > 0 && d->peak_bytes_per_s > 0) {
        ui_fmt_rate(a, sizeof a, d->peak_flops, "FLOP/s");
        ui_fmt_rate(b, sizeof b, d->peak_bytes_per_s, "B/s");
        ui_textf(in.y + 2, in.x + 1, in.w - 1, 0, "CPU ridge %.1f FLOP/B (measured %s, %s)",
                 d->peak_flops / d->peak_bytes_per_s, a, b);
    } else if (in.h > 2) {
        ui_textf(in.y + 2, in.x + 1, in.w - 1, 0, "CPU ridge N/A (%s)", d->peak_why);
    }
    if (in.h > 3) ui_textf(in.y + 3, in.x + 1, in.w - 1, 0, "GPU projections: xqprof project");
}

void ui_view_overview(ui_ctx *c)
{
    panel_decode(c, c->lay.panel[0]);
    panel_split(c, c->lay.panel[1]);
    panel_cache(c, c->lay.panel[2]);
    panel_trade(c, c->lay.panel[3]);
}
