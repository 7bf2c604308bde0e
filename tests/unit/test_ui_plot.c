/* Chart files (ui/plot.c): tick placement, file formats and sizes, something drawn in each series' colour, and
 * failed writes that leave nothing behind. */
#include <cairo.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"
#include "ui/plot.h"

static void test_ticks(void)
{
    double t[40];
    int n = ui_plot_ticks(0.0, 10.0, false, t, 40);
    CHECKF(n == 6 && t[0] == 0.0 && t[5] == 10.0, "linear 0..10: %d ticks", n); /* 0 2 4 6 8 10 */
    n = ui_plot_ticks(1000.0, 100000.0, true, t, 40);
    CHECKF(n == 7 && t[0] == 1000.0 && t[1] == 2000.0 && t[2] == 5000.0 && t[6] == 100000.0, "log 1k..100k: %d", n);
    n = ui_plot_ticks(1.0, 1e8, true, t, 40); /* 9 decades: decades only */
    CHECKF(n == 9 && t[1] == 10.0, "log 1..1e8: %d", n);
    CHECK(ui_plot_ticks(0.0, 10.0, true, t, 40) == 0); /* log of 0: no ticks, never a crash */
    CHECK(ui_plot_ticks(5.0, 5.0, false, t, 40) == 0);
    n = ui_plot_ticks(-3.0, 3.0, false, t, 40);
    CHECKF(n == 3 && t[0] == -2.0 && t[1] == 0.0 && t[2] == 2.0, "linear -3..3: %d", n); /* step nice(1.2) = 2 */
}

static void test_formats(void)
{
    plot_format f;
    xq_err err = {0};
    CHECK(ui_plot_format_of("a/b.svg", &f, &err) == XQ_OK && f == PLOT_SVG);
    CHECK(ui_plot_format_of("B.PNG", &f, &err) == XQ_OK && f == PLOT_PNG);
    CHECK(ui_plot_format_of("chart.pdf", &f, &err) == XQ_EINPUT && strstr(err.msg, ".svg or .png"));
    CHECK(ui_plot_format_of("noext", &f, &err) == XQ_EINPUT);
}

static const double XS[4] = {2048, 8192, 32768, 131072}, Y1[4] = {1.5, 2.0, 4.0, 12.0}, Y2[4] = {1.6, 1.9, 2.5, 4.0};

static plot_figure two_series(plot_panel *panel, plot_series *s)
{
    s[0] = (plot_series){.name = "h100-sxm fp16", .n = 4, .x = XS, .y = Y1};
    s[1] = (plot_series){.name = "h100-sxm xq-4", .n = 4, .x = XS, .y = Y2};
    *panel = (plot_panel){.title = "step time", .x_label = "context (tokens)", .y_label = "step (ms)", .x_log = true,
                          .y_log = true, .kind = PLOT_LINES, .series = s, .n_series = 2};
    return (plot_figure){.title = "test figure", .panels = panel, .n_panels = 1};
}

static long count_pixels(cairo_surface_t *img, uint8_t r, uint8_t g, uint8_t b)
{
    int w = cairo_image_surface_get_width(img), h = cairo_image_surface_get_height(img),
        stride = cairo_image_surface_get_stride(img);
    const unsigned char *data = cairo_image_surface_get_data(img);
    long n = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint32_t px = *(const uint32_t *)(data + y * stride + x * 4);
            n += abs((int)((px >> 16) & 255) - r) <= 2 && abs((int)((px >> 8) & 255) - g) <= 2 &&
                 abs((int)(px & 255) - b) <= 2;
        }
    return n;
}

static void test_png(const char *dir)
{
    plot_panel panel;
    plot_series s[2];
    plot_figure fig = two_series(&panel, s);
    char path[512];
    snprintf(path, sizeof path, "%s/chart.png", dir);
    xq_err err = {0};
    CHECKF(ui_plot_write(&fig, path, PLOT_PNG, &err) == XQ_OK, "%s", err.msg);
    cairo_surface_t *img = cairo_image_surface_create_from_png(path);
    CHECK(cairo_surface_status(img) == CAIRO_STATUS_SUCCESS);
    CHECK(cairo_image_surface_get_width(img) == 960 && cairo_image_surface_get_height(img) == 44 + 440);
    cairo_surface_flush(img);
    /* Each series leaves pixels of its palette colour (±2 per channel) (line, markers and legend swatch). */
    long first = count_pixels(img, 0, 115, 179), second = count_pixels(img, 230, 158, 0);
    CHECKF(first > 200 && second > 200, "series pixels %ld %ld", first, second);
    cairo_surface_destroy(img);
}

static void test_svg_and_failures(const char *dir)
{
    plot_panel panels[2];
    plot_series s[2];
    plot_figure fig = two_series(&panels[0], s);
    static const char *const cats[2] = {"a100-80g", "h100-sxm"};
    static const double bx[2] = {0, 1}, by[2] = {17000, -1};
    plot_series bars = {.name = "xq-4", .n = 2, .x = bx, .y = by};
    panels[1] = (plot_panel){.title = "break-even", .x_label = "GPU", .y_label = "tokens", .kind = PLOT_BARS,
                             .series = &bars, .n_series = 1, .categories = cats, .n_categories = 2};
    fig.n_panels = 2;
    char path[512], text[4096] = {0};
    snprintf(path, sizeof path, "%s/chart.svg", dir);
    xq_err err = {0};
    CHECKF(ui_plot_write(&fig, path, PLOT_SVG, &err) == XQ_OK, "%s", err.msg);
    FILE *f = fopen(path, "r");
    CHECK(f && fread(text, 1, sizeof text - 1, f) > 0);
    if (f) fclose(f);
    CHECK(strstr(text, "<svg") && strstr(text, "width=\"960") && strstr(text, "height=\"924"));

    snprintf(path, sizeof path, "%s/missing-dir/chart.svg", dir);
    CHECK(ui_plot_write(&fig, path, PLOT_SVG, &err) == XQ_ERUN && strstr(err.msg, "cannot write"));
    plot_figure empty = {.title = "x"};
    snprintf(path, sizeof path, "%s/empty.svg", dir);
    struct stat st;
    CHECK(ui_plot_write(&empty, path, PLOT_SVG, &err) == XQ_EINPUT && stat(path, &st) != 0);
}

int main(void)
{
    char dir[] = "/tmp/xq-plot-XXXXXX";
    if (!mkdtemp(dir)) SKIP("no temporary folder");
    test_ticks();
    test_formats();
    test_png(dir);
    test_svg_and_failures(dir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_report("test_ui_plot");
}
