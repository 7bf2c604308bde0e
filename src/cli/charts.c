#include "cli/charts.h"

#include <math.h>
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

int cli_chart_eval(const char *cmd, const char *path, const char *title, const cli_eval_point *pts, int n)
{
    double *x = calloc((size_t)n + 1, sizeof *x), *yd = calloc((size_t)n + 1, sizeof *yd),
           *yk = calloc((size_t)n + 1, sizeof *yk);
    char (*tags_d)[64] = calloc((size_t)n + 1, sizeof *tags_d);
    const char **td = calloc((size_t)n + 1, sizeof *td), **tk = calloc((size_t)n + 1, sizeof *tk);
    int rc = !x || !yd || !yk || !tags_d || !td || !tk ? cli_error(XQ_ERUN, cmd, "out of memory") : 0;
    double floor_d = dppl_floor(pts, n);
    for (int i = 0; !rc && i < n; i++) {
        x[i] = pts[i].savings;
        yd[i] = pts[i].dppl > 0 ? pts[i].dppl : floor_d;
        yk[i] = pts[i].kl > 0 ? pts[i].kl : NAN; /* the baseline (KL 0) has no point on the KL panel */
        snprintf(tags_d[i], sizeof tags_d[i], pts[i].dppl > 0 ? "%s" : "%s (Δppl %+.3g)", pts[i].mode, pts[i].dppl);
        td[i] = tags_d[i];
        tk[i] = pts[i].mode;
    }
    if (!rc) {
        plot_series sd = {.name = "modes (Δppl)", .n = n, .x = x, .y = yd, .tags = td};
        plot_series sk = {.name = "modes (KL)", .n = n, .x = x, .y = yk, .tags = tk};
        plot_panel panels[2] = {
            {.title = "Δppl against memory saved (Δppl ≤ 0 drawn on the floor)", .x_label = "memory saved (× fp16 K+V bytes per token)",
             .y_label = "Δppl vs fp16", .y_log = true, .kind = PLOT_POINTS, .series = &sd, .n_series = 1},
            {.title = "KL(fp16 ‖ mode) against memory saved", .x_label = "memory saved (× fp16 K+V bytes per token)",
             .y_label = "mean KL per token (nats)", .y_log = true, .kind = PLOT_POINTS, .series = &sk, .n_series = 1}};
        plot_figure fig = {.title = title, .panels = panels, .n_panels = 2};
        rc = draw(cmd, path, &fig);
    }
    free(x), free(yd), free(yk), free(tags_d), free(td), free(tk);
    return rc;
}
