/* Bars, sparklines and the dot canvas (charts.h). */
#include "ui/charts.h"

#include <curses.h>
#include <string.h>

static const char *const EIGHTHS[9] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉", "█"};

static const char *fill_glyph(const ui_style *s, ui_color color)
{
    /* Without colour, memory- and compute-bound bars still differ by their glyph. */
    if (color == UI_COL_COMPUTE) return s->ascii ? "=" : "▓";
    return s->ascii ? "#" : "█";
}

void ui_bar(const ui_style *s, int y, int x, int w, double frac, ui_color color)
{
    if (w <= 0) return;
    if (!(frac > 0)) frac = 0;
    if (frac > 1) frac = 1;
    int eighths = (int)(frac * w * 8 + 0.5), full = eighths / 8, part = eighths % 8;
    int attr = ui_attr(s, color);
    bool eighth_ok = !s->ascii && color != UI_COL_COMPUTE;
    for (int i = 0; i < w; i++) {
        if (i < full) ui_text(y, x + i, 1, attr, fill_glyph(s, color));
        else if (i == full && part && eighth_ok) ui_text(y, x + i, 1, attr, EIGHTHS[part]);
        else ui_text(y, x + i, 1, ui_attr(s, UI_COL_DIM), s->ascii ? "." : "░");
    }
}

void ui_sparkline(const ui_style *s, int y, int x, int w, const double *v, int n, ui_color color)
{
    static const char *const UTF[8] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    static const char ASC[] = "_.-:=+*#";
    int first = n > w ? n - w : 0;
    double max = 0;
    for (int i = first; i < n; i++)
        if (v[i] > max) max = v[i];
    int attr = ui_attr(s, color);
    for (int i = 0; i < w; i++) {
        int k = first + i;
        if (k >= n) {
            ui_text(y, x + i, 1, 0, " ");
            continue;
        }
        int level = max > 0 ? (int)(v[k] / max * 7 + 0.5) : 0;
        if (level < 0) level = 0;
        char a[2] = {ASC[level], 0};
        ui_text(y, x + i, 1, attr, s->ascii ? a : UTF[level]);
    }
}

void ui_canvas_init(ui_canvas *c, const ui_style *s, int cw, int ch)
{
    if (cw < 0) cw = 0;
    if (ch < 0) ch = 0;
    if (cw * ch > UI_CANVAS_MAX) ch = UI_CANVAS_MAX / (cw ? cw : 1);
    c->cw = cw;
    c->ch = ch;
    c->px_w = s->ascii ? cw : cw * 2;
    c->px_h = s->ascii ? ch : ch * 4;
    memset(c->dots, 0, sizeof c->dots);
    memset(c->mark, 0, sizeof c->mark);
}

void ui_canvas_dot(ui_canvas *c, int px, int py, int mark)
{
    if (px < 0 || py < 0 || px >= c->px_w || py >= c->px_h) return;
    int row_from_top = c->px_h - 1 - py;
    bool braille = c->px_w == c->cw * 2 && c->cw > 0 && c->px_h == c->ch * 4;
    int cx = braille ? px / 2 : px, cy = braille ? row_from_top / 4 : row_from_top;
    int cell = cy * c->cw + cx;
    if (braille) {
        /* Braille dot numbering: left column 1,2,3,7, right column 4,5,6,8 (bits 0..7). */
        static const uint8_t BIT[4][2] = {{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80}};
        c->dots[cell] |= BIT[row_from_top % 4][px % 2];
    }
    if (mark > c->mark[cell]) c->mark[cell] = (uint8_t)mark;
}

static void draw_cell(const ui_canvas *c, const ui_style *s, int cell, int y, int x)
{
    static const ui_color COLOR[4] = {UI_COL_NONE, UI_COL_DIM, UI_COL_SAVED, UI_COL_COMPUTE};
    static const char ASC[4] = {' ', ':', '-', '*'};
    int m = c->mark[cell];
    if (!m) return;
    if (s->ascii) {
        char a[2] = {ASC[m], 0};
        ui_text(y, x, 1, ui_attr(s, COLOR[m]), a);
        return;
    }
    unsigned cp = 0x2800u + c->dots[cell]; /* U+2800 + dot bits, as UTF-8 (three bytes) */
    char u[4] = {(char)(0xE0 | (cp >> 12)), (char)(0x80 | ((cp >> 6) & 0x3F)), (char)(0x80 | (cp & 0x3F)), 0};
    ui_text(y, x, 1, ui_attr(s, COLOR[m]), u);
}

void ui_canvas_draw(const ui_canvas *c, const ui_style *s, int y, int x)
{
    for (int cy = 0; cy < c->ch; cy++)
        for (int cx = 0; cx < c->cw; cx++)
            draw_cell(c, s, cy * c->cw + cx, y + cy, x + cx);
}
