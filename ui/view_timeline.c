/* Timeline: one column per step, newest on the right, stacked by op class; prefill steps are marked below the
 * axis and, being much longer than decode steps, clipped at the top (^) so that decode stays readable. */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>

#include "ui/charts.h"
#include "ui/view.h"

static const char *const UTF[UI_CLASS_COUNT] = {"█", "▓", "▒", "░"};
static const char *const ASC[UI_CLASS_COUNT] = {"#", "=", "+", "o"};
static const ui_color COLOR[UI_CLASS_COUNT] = {UI_COL_MEM, UI_COL_SAVED, UI_COL_PAID, UI_COL_DIM};

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The top of the scale: the 90th percentile of the decode steps shown, so that one slow step (a preemption, a
 * prefill) is clipped with ^ instead of flattening every other column. */
static int64_t scale_top(const ui_data *d, int first)
{
    int64_t ns[UI_MAX_STEPS];
    int n = 0;
    for (int i = first; i < d->n_steps; i++)
        if (!d->step[i].prefill || d->n_steps - first == 1) ns[n++] = d->step[i].ns;
    if (!n)
        for (int i = first; i < d->n_steps; i++)
            ns[n++] = d->step[i].ns;
    qsort(ns, (size_t)n, sizeof ns[0], cmp_i64);
    return n ? ns[(n - 1) * 9 / 10] : 0;
}

static void column(const ui_ctx *c, const ui_step *s, int x, int y_base, int h, int64_t max)
{
    int filled = 0;
    int64_t cum = 0;
    for (int k = 0; k < UI_CLASS_COUNT; k++) {
        /* Rows are assigned cumulatively so that rounding never loses the total height. */
        cum += s->classes_known ? s->class_ns[k] : k == 0 ? s->ns : 0;
        int top = (int)((double)cum / (double)max * h + 0.5);
        if (top > h) top = h;
        for (int r = filled; r < top; r++)
            ui_text(y_base - r, x, 1, ui_attr(&c->style, COLOR[k]), c->style.ascii ? ASC[k] : UTF[k]);
        if (top > filled) filled = top;
    }
    if (filled == 0) ui_text(y_base, x, 1, 0, "_");
    if (s->ns > max) ui_text(y_base - h + 1, x, 1, A_BOLD, "^");
    ui_text(y_base + 1, x, 1, s->prefill ? A_BOLD : 0, s->prefill ? "P" : c->style.ascii ? "." : "·");
}

static void legend(const ui_ctx *c, int y, int x, int w, int64_t max, bool known)
{
    char t[32], line[256];
    ui_fmt_ns(t, sizeof t, (double)max);
    int n = snprintf(line, sizeof line, "top = %s (^ clipped) · P prefill, %s decode · ", t, c->style.ascii ? "." : "·");
    for (int k = 0; k < UI_CLASS_COUNT && known; k++)
        n += snprintf(line + n, sizeof line - (size_t)n, "%s %s  ", c->style.ascii ? ASC[k] : UTF[k],
                      ui_class_name((ui_class)k));
    if (!known) snprintf(line + n, sizeof line - (size_t)n, "step time only (per-class split: xqprof view TRACE)");
    ui_text(y, x, w, 0, line);
}

void ui_view_timeline(ui_ctx *c)
{
    const ui_data *d = c->d;
    if (d->n_steps == 0) {
        ui_view_empty(c, "Timeline", "warming up: no step measured yet (steps appear as the model runs)");
        return;
    }
    ui_rect b = c->lay.body;
    ui_box(&c->style, b, "Timeline (steps, newest right; stacked by op class)");
    ui_rect in = ui_inner(b);
    int w = in.w - 2, h = in.h - 3, first = d->n_steps > w ? d->n_steps - w : 0;
    int64_t max = scale_top(d, first);
    if (h < 1 || max <= 0) return;
    bool known = true;
    for (int i = first; i < d->n_steps; i++) {
        column(c, &d->step[i], in.x + 1 + i - first, in.y + h - 1, h, max);
        known = known && d->step[i].classes_known;
    }
    ui_textf(in.y + h + 1, in.x + 1, w, 0, "steps %lld .. %lld", (long long)d->step[first].index,
             (long long)d->step[d->n_steps - 1].index);
    legend(c, in.y + h + 2, in.x + 1, w, max, known);
}
