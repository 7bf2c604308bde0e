#include "cli/charts.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/common.h"
#include "ui/plot.h"

static int check_one(const char *cmd, const char *flag, const char *path, plot_format want)
{
    plot_format fmt;
    xq_err err = {0};
    if (!path) return 0;
    if (ui_plot_format_of(path, &fmt, &err) || fmt != want)
        return cli_error(XQ_EINPUT, cmd, "%s %s: the file name must end in %s", flag, path,
                         want == PLOT_SVG ? ".svg" : ".png");
    return cli_check_output(cmd, flag, path);
}

int cli_chart_check(const char *cmd, const char *svg, const char *png)
{
    int rc = check_one(cmd, "--svg", svg, PLOT_SVG);
    return rc ? rc : check_one(cmd, "--png", png, PLOT_PNG);
}

static int draw(const char *cmd, const char *path, const plot_figure *fig)
{
    plot_format fmt;
    xq_err err = {0};
    int rc = ui_plot_format_of(path, &fmt, &err);
    if (!rc) rc = ui_plot_write(fig, path, fmt, &err);
    if (!rc) {
        fprintf(stderr, "%s: chart written to %s\n", cmd, path);
        return 0;
    }
    xq_err_prefix(&err, cmd);
    return cli_report(&err);
}

/* ---- eval ---------------------------------------------------------------------------------------------------- */

/* Δppl ≤ 0 has no place on a log axis: such modes sit on the floor, and their tag gives the value. */
static double dppl_floor(const cli_eval_point *pts, int n)
{
    double lo = INFINITY;
    for (int i = 0; i < n; i++)
        if (pts[i].dppl > 0 && pts[i].dppl < lo) lo = pts[i].dppl;
    return isfinite(lo) ? lo / 3.0 : 1e-3;
}

/* "xq-svd-4" → "xq-svd", "kv-q8_0" → "kv-q", "fp32" → "fp32": the mode without its bits. */
static void family_of(const char *mode, char *out, size_t size)
{
    snprintf(out, size, "%s", mode);
    char *dash = strrchr(out, '-');
    if (dash && dash[1] >= '0' && dash[1] <= '9') *dash = '\0';
    else if (!strncmp(out, "kv-q", 4)) out[4] = '\0';
}

enum { EVAL_MAX_FAMILIES = 16 };

typedef struct eval_family {
    char name[32];
    int n;
    double *x, *yd, *yk;
    const char **td, **tk;
} eval_family;

/* Points grouped by family (one colour each); Δppl ≤ 0 on the floor with its value in the tag. */
static int group_points(const cli_eval_point *pts, int n, eval_family *fam, char (*tags)[64])
{
    int n_fam = 0;
    double floor_d = dppl_floor(pts, n);
    for (int i = 0; i < n; i++) {
        char name[32];
        family_of(pts[i].mode, name, sizeof name);
        int f = 0;
        while (f < n_fam && strcmp(fam[f].name, name)) f++;
        if (f == n_fam && n_fam == EVAL_MAX_FAMILIES) f--; /* more families than colours: share the last */
        if (f == n_fam) snprintf(fam[n_fam++].name, sizeof fam[0].name, "%s", name);
        eval_family *e = &fam[f];
        e->x[e->n] = pts[i].savings;
        e->yd[e->n] = pts[i].dppl > 0 ? pts[i].dppl : floor_d;
        e->yk[e->n] = pts[i].kl > 0 ? pts[i].kl : NAN; /* KL 0 has no place on a log axis */
        snprintf(tags[i], sizeof tags[i], pts[i].dppl > 0 ? "%s" : "%s (Δppl %+.3g)", pts[i].mode, pts[i].dppl);
        e->td[e->n] = tags[i];
        e->tk[e->n] = pts[i].mode;
        e->n++;
    }
    return n_fam;
}

int cli_chart_eval(const char *cmd, const char *path, const char *title, const cli_eval_point *pts, int n)
{
    eval_family fam[EVAL_MAX_FAMILIES] = {0};
    char(*tags)[64] = calloc((size_t)n + 1, sizeof *tags);
    int rc = tags ? 0 : cli_error(XQ_ERUN, cmd, "out of memory");
    for (int f = 0; !rc && f < EVAL_MAX_FAMILIES; f++) {
        fam[f].x = calloc((size_t)n + 1, sizeof(double)), fam[f].yd = calloc((size_t)n + 1, sizeof(double));
        fam[f].yk = calloc((size_t)n + 1, sizeof(double));
        fam[f].td = calloc((size_t)n + 1, sizeof(char *)), fam[f].tk = calloc((size_t)n + 1, sizeof(char *));
        if (!fam[f].x || !fam[f].yd || !fam[f].yk || !fam[f].td || !fam[f].tk) rc = cli_error(XQ_ERUN, cmd, "out of memory");
    }
    if (!rc) {
        int n_fam = group_points(pts, n, fam, tags);
        plot_series sd[EVAL_MAX_FAMILIES], sk[EVAL_MAX_FAMILIES];
        for (int f = 0; f < n_fam; f++) {
            sd[f] = (plot_series){.name = fam[f].name, .n = fam[f].n, .x = fam[f].x, .y = fam[f].yd, .tags = fam[f].td};
            sk[f] = (plot_series){.name = fam[f].name, .n = fam[f].n, .x = fam[f].x, .y = fam[f].yk, .tags = fam[f].tk};
        }
        plot_panel panels[2] = {
            {.title = "Δppl against memory saved (Δppl ≤ 0 drawn on the floor)",
             .x_label = "memory saved (× fp16 K+V bytes per token)", .y_label = "Δppl vs fp16", .y_log = true,
             .kind = PLOT_POINTS, .series = sd, .n_series = n_fam},
            {.title = "KL(fp16 ‖ mode) against memory saved", .x_label = "memory saved (× fp16 K+V bytes per token)",
             .y_label = "mean KL per token (nats)", .y_log = true, .kind = PLOT_POINTS, .series = sk, .n_series = n_fam}};
        plot_figure fig = {.title = title, .panels = panels, .n_panels = 2};
        rc = draw(cmd, path, &fig);
    }
    for (int f = 0; f < EVAL_MAX_FAMILIES; f++) free(fam[f].x), free(fam[f].yd), free(fam[f].yk), free(fam[f].td), free(fam[f].tk);
    free(tags);
    return rc;
}

/* ---- project ------------------------------------------------------------------------------------------------- */

enum { MAX_BATCH_PANELS = 3 };

typedef struct project_series_buf {
    char names[64][48];
    plot_series series[64];
    double *x, *y; /* n_series × n_ctx */
} project_series_buf;

/* One line per (gpu, mode) through the contexts at batch index b. */
static int step_panel(const cli_project_chart *c, int b, project_series_buf *buf, plot_panel *panel, char *title,
                      size_t title_size)
{
    int n = 0;
    for (int g = 0; g < c->n_gpus; g++)
        for (int m = 0; m < c->n_modes && n < 64; m++, n++) {
            snprintf(buf->names[n], sizeof buf->names[n], "%s %s", c->gpus[g], c->modes[m]);
            double *x = buf->x + (size_t)n * c->n_ctx, *y = buf->y + (size_t)n * c->n_ctx;
            for (int k = 0; k < c->n_ctx; k++) {
                x[k] = (double)c->ctx[k];
                y[k] = c->step_ms[(((size_t)g * c->n_modes + m) * c->n_batch + b) * c->n_ctx + k];
            }
            /* colour per mode, dash per GPU: one mode reads as one colour across GPUs */
            buf->series[n] = (plot_series){.name = buf->names[n], .n = c->n_ctx, .x = x, .y = y,
                                           .style = 1 + m % 8 + 8 * (g % 3)};
        }
    snprintf(title, title_size, "decode step time against context, batch %lld", (long long)c->batch[b]);
    *panel = (plot_panel){.title = title, .x_label = "context (tokens in the cache)", .y_label = "step time (ms)",
                          .x_log = true, .y_log = true, .kind = PLOT_LINES, .series = buf->series, .n_series = n};
    return n;
}

/* Bars: GPUs as categories, one series per mode that has a break-even somewhere. */
static void break_even_panel(const cli_project_chart *c, project_series_buf *buf, plot_panel *panel, double *bx,
                             double *by)
{
    int n = 0;
    for (int m = 0; m < c->n_modes && n < 64; m++) {
        bool any = false;
        for (int g = 0; g < c->n_gpus; g++) {
            bx[n * c->n_gpus + g] = g;
            by[n * c->n_gpus + g] = c->break_even[((size_t)g * c->n_modes + m) * c->n_batch];
            any = any || by[n * c->n_gpus + g] > 0;
        }
        if (!any) continue;
        buf->series[n] = (plot_series){.name = c->modes[m], .n = c->n_gpus, .x = bx + n * c->n_gpus,
                                       .y = by + n * c->n_gpus, .style = 1 + m % 8}; /* the lines' colours */
        n++;
    }
    *panel = (plot_panel){.title = "XQuant break-even context (raw peaks, XQUANT.md §4); none = the rebuild always hides",
                          .x_label = "GPU", .y_label = "break-even context (tokens)", .y_log = true,
                          .kind = PLOT_BARS, .series = buf->series, .n_series = n, .categories = c->gpus,
                          .n_categories = c->n_gpus};
}

int cli_chart_project(const char *cmd, const char *path, const char *title, const cli_project_chart *c)
{
    int n_panels = c->n_batch < MAX_BATCH_PANELS ? c->n_batch : MAX_BATCH_PANELS;
    size_t lines = (size_t)c->n_gpus * c->n_modes;
    project_series_buf *bufs = calloc((size_t)n_panels + 1, sizeof *bufs);
    double *bx = calloc(lines, sizeof *bx), *by = calloc(lines, sizeof *by);
    plot_panel panels[MAX_BATCH_PANELS + 1];
    char titles[MAX_BATCH_PANELS][96];
    int rc = bufs && bx && by ? 0 : cli_error(XQ_ERUN, cmd, "out of memory");
    for (int b = 0; !rc && b < n_panels; b++) {
        bufs[b].x = calloc(lines * (size_t)c->n_ctx, sizeof(double));
        bufs[b].y = calloc(lines * (size_t)c->n_ctx, sizeof(double));
        if (!bufs[b].x || !bufs[b].y) rc = cli_error(XQ_ERUN, cmd, "out of memory");
        else step_panel(c, b, &bufs[b], &panels[b], titles[b], sizeof titles[b]);
    }
    if (!rc) {
        break_even_panel(c, &bufs[n_panels], &panels[n_panels], bx, by);
        bool bars = panels[n_panels].n_series > 0; /* no rebuilding mode: no break-even panel */
        plot_figure fig = {.title = title, .panels = panels, .n_panels = n_panels + bars};
        rc = draw(cmd, path, &fig);
    }
    for (int b = 0; bufs && b < n_panels; b++) free(bufs[b].x), free(bufs[b].y);
    free(bufs), free(bx), free(by);
    return rc;
}
