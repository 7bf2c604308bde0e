/* Compare: two recorded runs side by side (compare.h). Which runs; their step totals (decode ms/token, tokens/s,
 * cache held) with the speedup and Δ%; then one row per layer — baseline and compare self time per step, speedup,
 * Δ% and the two times as bars against the slowest row — and, on Enter, the selected layer's ops (Esc: back).
 * One line instead when there is nothing to compare (one trace, runs of different models). */
#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ui/charts.h"
#include "ui/view.h"

enum { LABEL_W = 13, TOTAL_LABEL_W = 23, TIME_W = 11, SPEEDUP_W = 10, DELTA_W = 10, BAR_MAX = 14 };

static const char *times_sign(const ui_ctx *c) { return c->style.ascii ? "x" : "×"; }

/* Times to 4 significant digits or so: a comparison needs more than the 2 of ui_fmt_ns (1.25 vs 1.2 ms). */
static void fmt_time(char *buf, size_t size, double ns)
{
    if (ns < 1e6)
        snprintf(buf, size, "%.1f us", ns / 1e3);
    else if (ns < 1e9)
        snprintf(buf, size, "%.3f ms", ns / 1e6);
    else
        snprintf(buf, size, "%.3f s", ns / 1e9);
}

/* Better for the compare run: lower times and bytes, higher rates. Colour only repeats what the sign says. */
static int delta_attr(const ui_ctx *c, double delta_pct, bool higher_is_better)
{
    if (!isfinite(delta_pct) || delta_pct == 0) return 0;
    bool better = higher_is_better ? delta_pct > 0 : delta_pct < 0;
    return ui_attr(&c->style, better ? UI_COL_SAVED : UI_COL_PAID);
}

/* "  1.25×" right-aligned in w columns (× is one column but two bytes, so it is drawn on its own). */
static void cell_times(const ui_ctx *c, int y, int x, int w, double v, const char *none)
{
    if (!isfinite(v)) {
        ui_textf(y, x, w, 0, "%*s", w - 1, none);
        return;
    }
    ui_textf(y, x, w - 2, 0, "%*.2f", w - 2, v);
    ui_text(y, x + w - 2, 1, 0, times_sign(c));
}

static void cell_delta(const ui_ctx *c, int y, int x, int w, double pct, bool higher_is_better)
{
    if (!isfinite(pct))
        ui_textf(y, x, w, 0, "%*s", w - 1, "-");
    else
        ui_textf(y, x, w, delta_attr(c, pct, higher_is_better), "%+*.1f%%", w - 2, pct);
}

/* ---- the runs and the totals ------------------------------------------------------------------------------ */

static void draw_run(const ui_ctx *c, int y, int x, int w, const char *label, const ui_compare_run *r)
{
    const char *dot = c->style.ascii ? "-" : "·";
    const char *steps = c->cmp->phase == STORE_PHASE_DECODE ? "decode steps" : "steps (all phases)";
    int used = ui_textf(y, x, w, A_BOLD, "%-11s", label);
    ui_textf(y, x + used, w - used, 0, "%s run %lld %s %s %s %d threads %s %lld %s, %lld tokens, mean ctx %.1f",
             r->file, (long long)r->run, dot, r->mode, dot, r->threads, dot, (long long)r->steps, steps,
             (long long)r->tokens, r->mean_ctx);
}

static void total_row(const ui_ctx *c, int y, int x, int w, const char *label, const char *va, const char *vb,
                      double gain, double delta_pct, bool higher_is_better)
{
    (void)w;
    ui_textf(y, x, TOTAL_LABEL_W, 0, "%s", label);
    ui_textf(y, x + TOTAL_LABEL_W, TIME_W, 0, "%*s", TIME_W - 1, va);
    ui_textf(y, x + TOTAL_LABEL_W + TIME_W, TIME_W, 0, "%*s", TIME_W - 1, vb);
    cell_times(c, y, x + TOTAL_LABEL_W + 2 * TIME_W, SPEEDUP_W, gain, "-");
    cell_delta(c, y, x + TOTAL_LABEL_W + 2 * TIME_W + SPEEDUP_W, DELTA_W, delta_pct, higher_is_better);
}

static double inverse(double r) { return isfinite(r) && r != 0 ? 1.0 / r : NAN; }

/* Decode ms/token, tokens/s, cache held at the phase's last step; 4 rows. */
static void draw_totals(const ui_ctx *c, int y, int x, int w)
{
    const store_alignment *al = &c->cmp->layers;
    char a[32], b[32];
    const char *what = c->cmp->phase == STORE_PHASE_DECODE ? "decode" : "all steps";
    bool ascii = c->style.ascii; /* printf pads by bytes: × and Δ take two for one column */
    ui_textf(y, x, w, A_UNDERLINE, "%-*s%*s%*s%*s%*s", TOTAL_LABEL_W, "steps", TIME_W, "baseline ", TIME_W,
             "compare ", SPEEDUP_W + !ascii, ascii ? "x better " : "× better ", DELTA_W + !ascii,
             ascii ? "d% " : "Δ% ");
    char label[40];
    snprintf(label, sizeof label, "%s time/token", what);
    fmt_time(a, sizeof a, al->ms_per_token.a * 1e6);
    fmt_time(b, sizeof b, al->ms_per_token.b * 1e6);
    total_row(c, y + 1, x, w, label, a, b, inverse(al->ms_per_token.ratio), al->ms_per_token.delta_pct, false);
    snprintf(a, sizeof a, "%.1f", al->tokens_per_s.a);
    snprintf(b, sizeof b, "%.1f", al->tokens_per_s.b);
    total_row(c, y + 2, x, w, "tokens/s", a, b, al->tokens_per_s.ratio, al->tokens_per_s.delta_pct, true);
    const store_delta *m = &al->cache_bytes;
    if (isfinite(m->a)) ui_fmt_bytes(a, sizeof a, m->a);
    else snprintf(a, sizeof a, "N/A");
    if (isfinite(m->b)) ui_fmt_bytes(b, sizeof b, m->b);
    else snprintf(b, sizeof b, "N/A");
    total_row(c, y + 3, x, w, "cache held (last step)", a, b, inverse(m->ratio), m->delta_pct, false);
}

/* ---- the table of layers, or of one layer's ops ------------------------------------------------------------- */

static void row_label(const ui_ctx *c, const store_aligned_row *r, char *buf, size_t size)
{
    if (c->cmp_drilled)
        snprintf(buf, size, "%s", r->name);
    else if (r->layer < 0)
        snprintf(buf, size, "other");
    else
        snprintf(buf, size, "%5d", r->layer);
}

static void time_cell(int y, int x, bool present, double ns)
{
    char t[32];
    if (present) fmt_time(t, sizeof t, ns);
    else snprintf(t, sizeof t, "-");
    ui_textf(y, x, TIME_W, 0, "%*s", TIME_W - 1, t);
}

static void draw_bars(const ui_ctx *c, int y, int x, int w, const store_aligned_row *r, double max_ns)
{
    int bw = (w - 3) / 2;
    if (bw > BAR_MAX) bw = BAR_MAX;
    if (bw < 3 || !(max_ns > 0)) return;
    double speedup = ui_compare_speedup(r);
    ui_color faster = isfinite(speedup) && speedup < 1 ? UI_COL_PAID : UI_COL_SAVED;
    ui_bar(&c->style, y, x, bw, r->self_ns.a / max_ns, UI_COL_NONE);
    ui_text(y, x + bw, 3, 0, " | ");
    ui_bar(&c->style, y, x + bw + 3, bw, r->self_ns.b / max_ns, faster);
}

static void table_row(const ui_ctx *c, int y, int x, int w, const store_aligned_row *r, double max_ns, bool sel)
{
    char label[32];
    row_label(c, r, label, sizeof label);
    if (sel) ui_textf(y, x, w, A_REVERSE, "%*s", w, ""); /* the selection spans the row */
    ui_textf(y, x, LABEL_W, sel ? A_REVERSE : 0, "%-*s", LABEL_W - 1, label);
    int at = x + LABEL_W;
    time_cell(y, at, r->in_a, r->self_ns.a);
    time_cell(y, at + TIME_W, r->in_b, r->self_ns.b);
    at += 2 * TIME_W;
    cell_times(c, y, at, SPEEDUP_W, ui_compare_speedup(r), !r->in_a ? "new" : !r->in_b ? "gone" : "-");
    cell_delta(c, y, at + SPEEDUP_W, DELTA_W, r->in_a && r->in_b ? r->self_ns.delta_pct : NAN, false);
    at += SPEEDUP_W + DELTA_W + 2;
    draw_bars(c, y, at, x + w - at, r, max_ns);
}

static int clamp(int v, int n) { return v >= n ? n - 1 : v < 0 ? 0 : v; }

static void draw_table(ui_ctx *c, int y, int x, int w, int h)
{
    const ui_compare *k = c->cmp;
    int first_row = 0, n = k->layers.n_rows;
    const store_aligned_row *rows = k->layers.rows;
    if (c->cmp_drilled) {
        n = ui_compare_layer_ops(k, c->cmp_layer, &first_row);
        rows = k->ops.rows + first_row;
    }
    double max_ns = 0;
    for (int i = 0; i < n; i++)
        max_ns = fmax(max_ns, fmax(rows[i].self_ns.a, rows[i].self_ns.b));
    int *sel = c->cmp_drilled ? &c->cmp_drill_sel : &c->cmp_sel;
    *sel = clamp(*sel, n);
    if (!c->cmp_drilled) c->cmp_sel_layer = n ? rows[*sel].layer : STORE_ALL_LAYERS;
    const char *per = k->phase == STORE_PHASE_DECODE ? "decode step" : "step";
    ui_textf(y, x, w, A_BOLD, "%-*s%*s%*s%*s%*s  self time per %s: baseline | compare", LABEL_W,
             c->cmp_drilled ? "op" : "layer", TIME_W, "baseline ", TIME_W, "compare ", SPEEDUP_W, "speedup ",
             DELTA_W + !c->style.ascii, c->style.ascii ? "d% " : "Δ% ", per);
    int visible = h - 1, first = *sel >= visible ? *sel - visible + 1 : 0;
    if (n == 0) ui_textf(y + 1, x, w, 0, "no op recorded in layer %d by either run", c->cmp_layer);
    for (int i = 0; i < visible && first + i < n; i++)
        table_row(c, y + 1 + i, x, w, &rows[first + i], max_ns, first + i == *sel);
}

static void hint(const ui_ctx *c, int y, int x, int w)
{
    bool a = c->style.ascii;
    ui_textf(y, x, w, ui_attr(&c->style, UI_COL_DIM),
             "%s %s speedup, %s better: baseline %s compare (tokens/s inverted), > 1: compare is better %s %s: vs "
             "baseline",
             c->cmp_drilled ? "Esc: back" : "Enter: ops", a ? "-" : "·", times_sign(c), a ? "/" : "÷",
             a ? "-" : "·", a ? "d%" : "Δ%");
}

void ui_view_compare(ui_ctx *c)
{
    c->cmp_sel_layer = STORE_ALL_LAYERS;
    if (!c->cmp || c->cmp->why[0]) {
        const char *why = c->cmp ? c->cmp->why : c->other_why;
        ui_view_empty(c, "Compare", why ? why : "Compare: needs a second run (xqprof view A.db B.db)");
        return;
    }
    char title[192];
    const char *into = c->style.ascii ? ">" : "›";
    if (c->cmp_drilled && c->cmp_layer < 0)
        snprintf(title, sizeof title, "Compare %s ops outside layers (Esc: back)", into);
    else if (c->cmp_drilled)
        snprintf(title, sizeof title, "Compare %s layer %d: ops (Esc: back)", into, c->cmp_layer);
    else
        snprintf(title, sizeof title, "Compare %s baseline A vs compare B %s %s", c->style.ascii ? "-" : "·",
                 c->style.ascii ? "-" : "·", c->cmp->a.model);
    ui_box(&c->style, c->lay.body, title);
    ui_rect in = ui_inner(c->lay.body);
    int x = in.x + 1, w = in.w - 1, y = in.y;
    draw_run(c, y, x, w, "baseline A", &c->cmp->a);
    draw_run(c, y + 1, x, w, "compare B", &c->cmp->b);
    draw_totals(c, y + 3, x, w);
    draw_table(c, y + 8, x, w, in.h - 9);
    hint(c, in.y + in.h - 1, x, w);
}

void ui_compare_open(ui_ctx *c)
{
    if (c->cmp_drilled || c->cmp_sel_layer == STORE_ALL_LAYERS) return;
    c->cmp_drilled = true;
    c->cmp_layer = c->cmp_sel_layer;
    c->cmp_drill_sel = 0;
}

bool ui_compare_back(ui_ctx *c)
{
    if (!c->cmp_drilled) return false;
    c->cmp_drilled = false;
    return true;
}
