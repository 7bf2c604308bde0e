#include "ui/plot.h"

#include <cairo-svg.h>
#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/outfile.h"

enum { PANEL_W = 960, PANEL_H = 440, TITLE_H = 44, LEFT = 86, RIGHT = 250, TOP = 40, BOTTOM = 62, MAX_TICKS = 40 };

/* Eight colours that stay apart in print and for common colour-vision deficiencies (Okabe–Ito order). */
static const double PALETTE[8][3] = {{0.00, 0.45, 0.70}, {0.90, 0.62, 0.00}, {0.00, 0.62, 0.45}, {0.80, 0.47, 0.65},
                                     {0.34, 0.71, 0.91}, {0.84, 0.37, 0.00}, {0.94, 0.89, 0.26}, {0.00, 0.00, 0.00}};
/* Dash patterns cycle after the colours do, so series 9+ still differ from series 1+. */
static const double DASHES[3][2] = {{1, 0}, {7, 4}, {2, 3}};

int ui_plot_format_of(const char *path, plot_format *out, xq_err *err)
{
    const char *dot = strrchr(path, '.');
    if (dot && !strcasecmp(dot, ".svg")) *out = PLOT_SVG;
    else if (dot && !strcasecmp(dot, ".png")) *out = PLOT_PNG;
    else return xq_fail(err, XQ_EINPUT, "%s: chart files end in .svg or .png", path);
    return XQ_OK;
}

/* ---- axes ---------------------------------------------------------------------------------------------------- */

static double nice_step(double raw)
{
    double mag = pow(10.0, floor(log10(raw))), f = raw / mag;
    return (f <= 1.0 ? 1.0 : f <= 2.0 ? 2.0 : f <= 5.0 ? 5.0 : 10.0) * mag;
}

int ui_plot_ticks(double lo, double hi, bool log_scale, double *ticks, int max)
{
    int n = 0;
    if (!(hi > lo) || max <= 0) return 0;
    if (!log_scale) {
        double step = nice_step((hi - lo) / 5.0);
        for (double t = ceil(lo / step - 1e-9) * step; t <= hi * (1 + 1e-12) + step * 1e-9 && n < max; t += step)
            ticks[n++] = fabs(t) < step * 1e-9 ? 0.0 : t;
        return n;
    }
    if (lo <= 0) return 0;
    int d0 = (int)floor(log10(lo)), d1 = (int)ceil(log10(hi));
    bool decades_only = d1 - d0 > 4; /* 1-2-5 over many decades would crowd the axis */
    for (int d = d0; d <= d1; d++)
        for (int m = 0; m < 3; m++) {
            double t = (m == 0 ? 1.0 : m == 1 ? 2.0 : 5.0) * pow(10.0, d);
            if ((decades_only && m) || t < lo * (1 - 1e-9) || t > hi * (1 + 1e-9) || n >= max) continue;
            ticks[n++] = t;
        }
    return n;
}

/* 2048 → "2.05k", 0.5 → "0.5", 1e6 → "1M", 500 → "500". */
static void format_number(double v, char *buf, size_t size)
{
    double a = fabs(v);
    if (a >= 1e9) snprintf(buf, size, "%.3gG", v / 1e9);
    else if (a >= 1e6) snprintf(buf, size, "%.3gM", v / 1e6);
    else if (a >= 1e3) snprintf(buf, size, "%.3gk", v / 1e3);
    else snprintf(buf, size, "%.3g", v);
}

typedef struct axis {
    double lo, hi;
    bool log;
} axis;

static bool usable(double v, bool log_scale) { return isfinite(v) && (!log_scale || v > 0); }

static void widen(axis *a, double v)
{
    if (!usable(v, a->log)) return;
    a->lo = v < a->lo ? v : a->lo;
    a->hi = v > a->hi ? v : a->hi;
}

/* The 1-2-5 value at or above (up) or below (!up) v > 0. */
static double step125(double v, bool up)
{
    double mag = pow(10.0, floor(log10(v))), f = v / mag;
    if (up) return (f <= 1.0 + 1e-9 ? 1.0 : f <= 2.0 + 1e-9 ? 2.0 : f <= 5.0 + 1e-9 ? 5.0 : 10.0) * mag;
    return (f >= 5.0 - 1e-9 ? 5.0 : f >= 2.0 - 1e-9 ? 2.0 : 1.0) * mag;
}

/* A degenerate or empty range becomes a visible one around its value; data never sits on the frame. */
static void settle(axis *a, bool from_zero)
{
    if (!(a->lo <= a->hi)) a->lo = a->log ? 1.0 : 0.0, a->hi = a->log ? 10.0 : 1.0;
    if (a->hi <= a->lo) a->log ? (a->lo /= 2.0, a->hi *= 2.0) : (a->lo -= 1.0, a->hi += 1.0);
    if (a->log) {
        a->lo = step125(a->lo / 1.25, false);
        a->hi = step125(a->hi * 1.25, true);
        return;
    }
    double pad = (a->hi - a->lo) * 0.05;
    a->lo = from_zero && a->lo >= 0 ? 0.0 : a->lo - pad;
    a->hi += pad;
    double step = nice_step((a->hi - a->lo) / 5.0);
    a->lo = floor(a->lo / step) * step;
    a->hi = ceil(a->hi / step) * step;
}

static double frac_of(const axis *a, double v)
{
    return a->log ? (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo)) : (v - a->lo) / (a->hi - a->lo);
}

/* ---- drawing ------------------------------------------------------------------------------------------------- */

typedef struct frame {
    double x0, y0, w, h; /* plot area, y0 at the top */
    axis ax, ay;
} frame;

static double px(const frame *f, double x) { return f->x0 + frac_of(&f->ax, x) * f->w; }
static double py(const frame *f, double y) { return f->y0 + (1.0 - frac_of(&f->ay, y)) * f->h; }

static void text_at(cairo_t *cr, double x, double y, const char *s, double size, double align_x, double align_y)
{
    cairo_text_extents_t e;
    cairo_set_font_size(cr, size);
    cairo_text_extents(cr, s, &e);
    cairo_move_to(cr, x - e.x_advance * align_x, y + e.height * align_y);
    cairo_show_text(cr, s);
}

static void set_series_style(cairo_t *cr, int i)
{
    i = i < 0 ? 0 : i;
    const double *c = PALETTE[i % 8];
    cairo_set_source_rgb(cr, c[0], c[1], c[2]);
    const double *d = DASHES[(i / 8) % 3];
    cairo_set_dash(cr, d, d[1] > 0 ? 2 : 0, 0);
}

static void fit_axes(const plot_panel *p, frame *f)
{
    f->ax = (axis){INFINITY, -INFINITY, p->x_log && p->kind != PLOT_BARS};
    f->ay = (axis){INFINITY, -INFINITY, p->y_log};
    for (int s = 0; s < p->n_series; s++)
        for (int i = 0; i < p->series[s].n; i++) {
            widen(&f->ax, p->series[s].x[i]);
            widen(&f->ay, p->series[s].y[i]);
        }
    if (p->kind == PLOT_BARS) f->ax = (axis){-0.5, p->n_categories - 0.5, false};
    else settle(&f->ax, false);
    settle(&f->ay, p->kind == PLOT_BARS);
}

static void draw_grid_and_ticks(cairo_t *cr, const plot_panel *p, const frame *f)
{
    double ticks[MAX_TICKS];
    char label[32];
    cairo_set_line_width(cr, 1.0);
    int n = ui_plot_ticks(f->ay.lo, f->ay.hi, f->ay.log, ticks, MAX_TICKS);
    for (int i = 0; i < n; i++) {
        double y = py(f, ticks[i]);
        cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
        cairo_move_to(cr, f->x0, y), cairo_line_to(cr, f->x0 + f->w, y), cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        format_number(ticks[i], label, sizeof label);
        text_at(cr, f->x0 - 6, y, label, 11, 1.0, 0.5);
    }
    if (p->kind == PLOT_BARS) {
        for (int c = 0; c < p->n_categories; c++) text_at(cr, px(f, c), f->y0 + f->h + 16, p->categories[c], 11, 0.5, 0.5);
        return;
    }
    n = ui_plot_ticks(f->ax.lo, f->ax.hi, f->ax.log, ticks, MAX_TICKS);
    for (int i = 0; i < n; i++) {
        double x = px(f, ticks[i]);
        cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
        cairo_move_to(cr, x, f->y0), cairo_line_to(cr, x, f->y0 + f->h), cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        format_number(ticks[i], label, sizeof label);
        text_at(cr, x, f->y0 + f->h + 16, label, 11, 0.5, 0.5);
    }
}

static void draw_frame(cairo_t *cr, const plot_panel *p, const frame *f)
{
    draw_grid_and_ticks(cr, p, f);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1.2);
    cairo_rectangle(cr, f->x0, f->y0, f->w, f->h);
    cairo_stroke(cr);
    text_at(cr, f->x0 + f->w / 2, f->y0 + f->h + 44, p->x_label ? p->x_label : "", 12, 0.5, 0.0);
    cairo_save(cr);
    cairo_translate(cr, f->x0 - 62, f->y0 + f->h / 2);
    cairo_rotate(cr, -M_PI / 2);
    text_at(cr, 0, 0, p->y_label ? p->y_label : "", 12, 0.5, 0.0);
    cairo_restore(cr);
    text_at(cr, f->x0, f->y0 - 12, p->title ? p->title : "", 13, 0.0, 0.0);
}

static void draw_marker(cairo_t *cr, double x, double y)
{
    cairo_arc(cr, x, y, 3.5, 0, 2 * M_PI);
    cairo_fill(cr);
}

static void draw_series(cairo_t *cr, const plot_panel *p, const frame *f, int s)
{
    const plot_series *ser = &p->series[s];
    cairo_save(cr);
    cairo_rectangle(cr, f->x0, f->y0, f->w, f->h);
    cairo_clip(cr);
    set_series_style(cr, p->series[s].style > 0 ? p->series[s].style - 1 : s);
    cairo_set_line_width(cr, 2.0);
    bool pen_down = false;
    for (int i = 0; i < ser->n && p->kind == PLOT_LINES; i++) { /* unusable points break the line */
        bool ok = usable(ser->x[i], f->ax.log) && usable(ser->y[i], f->ay.log);
        if (ok && pen_down) cairo_line_to(cr, px(f, ser->x[i]), py(f, ser->y[i]));
        else if (ok) cairo_move_to(cr, px(f, ser->x[i]), py(f, ser->y[i]));
        pen_down = ok;
    }
    if (p->kind == PLOT_LINES) cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);
    for (int i = 0; i < ser->n && p->kind != PLOT_BARS; i++)
        if (usable(ser->x[i], f->ax.log) && usable(ser->y[i], f->ay.log)) draw_marker(cr, px(f, ser->x[i]), py(f, ser->y[i]));
    for (int i = 0; i < ser->n && p->kind == PLOT_POINTS && ser->tags; i++)
        if (ser->tags[i] && usable(ser->x[i], f->ax.log) && usable(ser->y[i], f->ay.log))
            text_at(cr, px(f, ser->x[i]) + 6, py(f, ser->y[i]) - 4, ser->tags[i], 10, 0.0, 0.0);
    cairo_restore(cr);
}

static void draw_bars(cairo_t *cr, const plot_panel *p, const frame *f)
{
    double slot = f->w / (p->n_categories > 0 ? p->n_categories : 1), bw = slot * 0.8 / (p->n_series > 0 ? p->n_series : 1);
    for (int s = 0; s < p->n_series; s++) {
        const plot_series *ser = &p->series[s];
        for (int i = 0; i < ser->n; i++) {
            double x = f->x0 + (ser->x[i] + 0.1) * slot + s * bw;
            if (!usable(ser->y[i], f->ay.log) || ser->y[i] <= 0) {
                cairo_set_source_rgb(cr, 0.45, 0.45, 0.45);
                text_at(cr, x + bw / 2, f->y0 + f->h - 6, "none", 9, 0.5, 0.0);
                continue;
            }
            double base = f->ay.log ? f->ay.lo : 0.0, top = py(f, fmin(ser->y[i], f->ay.hi)), bottom = py(f, base);
            set_series_style(cr, p->series[s].style > 0 ? p->series[s].style - 1 : s);
            cairo_rectangle(cr, x, top, bw * 0.92, bottom - top);
            cairo_fill(cr);
        }
    }
}

static void draw_legend(cairo_t *cr, const plot_panel *p, const frame *f)
{
    double x = f->x0 + f->w + 16, y = f->y0 + 8;
    for (int s = 0; s < p->n_series; s++, y += 18) {
        if (y > f->y0 + f->h) break;
        cairo_save(cr);
        set_series_style(cr, p->series[s].style > 0 ? p->series[s].style - 1 : s);
        cairo_set_line_width(cr, 2.0);
        if (p->kind == PLOT_BARS) cairo_rectangle(cr, x, y - 5, 20, 10), cairo_fill(cr);
        else if (p->kind == PLOT_POINTS) cairo_set_dash(cr, NULL, 0, 0), draw_marker(cr, x + 10, y);
        else cairo_move_to(cr, x, y), cairo_line_to(cr, x + 20, y), cairo_stroke(cr);
        cairo_restore(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        text_at(cr, x + 26, y, p->series[s].name ? p->series[s].name : "", 11, 0.0, 0.4);
    }
}

static void draw_panel(cairo_t *cr, const plot_panel *p, double top)
{
    frame f = {.x0 = LEFT, .y0 = top + TOP, .w = PANEL_W - LEFT - RIGHT, .h = PANEL_H - TOP - BOTTOM};
    fit_axes(p, &f);
    draw_frame(cr, p, &f);
    if (p->kind == PLOT_BARS) draw_bars(cr, p, &f);
    else
        for (int s = 0; s < p->n_series; s++) draw_series(cr, p, &f, s);
    draw_legend(cr, p, &f);
}

static void draw_figure(cairo_t *cr, const plot_figure *fig)
{
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text_at(cr, PANEL_W / 2.0, 28, fig->title ? fig->title : "", 16, 0.5, 0.0);
    for (int i = 0; i < fig->n_panels; i++) draw_panel(cr, &fig->panels[i], TITLE_H + (double)i * PANEL_H);
}

/* ---- files --------------------------------------------------------------------------------------------------- */

static cairo_status_t write_to_file(void *closure, const unsigned char *data, unsigned int length)
{
    return fwrite(data, 1, length, closure) == length ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

static cairo_status_t render(const plot_figure *fig, plot_format fmt, FILE *out)
{
    int w = PANEL_W, h = TITLE_H + fig->n_panels * PANEL_H;
    cairo_surface_t *surf = fmt == PLOT_SVG ? cairo_svg_surface_create_for_stream(write_to_file, out, w, h)
                                            : cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cairo_t *cr = cairo_create(surf);
    draw_figure(cr, fig);
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    if (st == CAIRO_STATUS_SUCCESS && fmt == PLOT_PNG) st = cairo_surface_write_to_png_stream(surf, write_to_file, out);
    cairo_surface_finish(surf); /* the SVG is written here */
    if (st == CAIRO_STATUS_SUCCESS) st = cairo_surface_status(surf);
    cairo_surface_destroy(surf);
    return st;
}

int ui_plot_write(const plot_figure *fig, const char *path, plot_format fmt, xq_err *err)
{
    if (!fig || fig->n_panels <= 0) return xq_fail(err, XQ_EINPUT, "%s: nothing to chart", path);
    xq_outfile of;
    int rc = xq_out_open(&of, path, err);
    if (rc) return rc;
    cairo_status_t st = render(fig, fmt, of.f);
    if (st != CAIRO_STATUS_SUCCESS) {
        xq_out_abort(&of);
        return xq_fail(err, XQ_ERUN, "%s: cannot draw the chart: %s", path, cairo_status_to_string(st));
    }
    return xq_out_commit(&of, err);
}
