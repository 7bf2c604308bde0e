/* Small charts drawn into the curses screen: a horizontal bar (eighth blocks, or # and . in ASCII), a one-row
 * sparkline, and a dot canvas (braille 2×4 dots per cell, or one character per cell in ASCII) for the
 * roofline. None of them is ever empty: a zero still shows its baseline. */
#ifndef XQ_UI_CHARTS_H
#define XQ_UI_CHARTS_H

#include <stdint.h>

#include "ui/draw.h"

/* A bar of w columns filled to frac (0..1) with the fill glyph of its colour, the rest shown as empty. */
void ui_bar(const ui_style *s, int y, int x, int w, double frac, ui_color color);
/* The last w of n values (oldest first) scaled to their maximum. */
void ui_sparkline(const ui_style *s, int y, int x, int w, const double *v, int n, ui_color color);

/* A canvas of cw × ch cells; dots are addressed in pixels (braille: 2 per column, 4 per row). */
enum { UI_CANVAS_MAX = 64 * 300, UI_MARK_NONE = 0, UI_MARK_OTHER = 1, UI_MARK_ROOF = 2, UI_MARK_POINT = 3 };
typedef struct ui_canvas {
    int cw, ch, px_w, px_h;
    uint8_t dots[UI_CANVAS_MAX]; /* braille bits per cell */
    uint8_t mark[UI_CANVAS_MAX]; /* the most important mark in the cell */
} ui_canvas;

void ui_canvas_init(ui_canvas *c, const ui_style *s, int cw, int ch);
/* px from the left, py from the bottom; out of range is ignored. */
void ui_canvas_dot(ui_canvas *c, int px, int py, int mark);
void ui_canvas_draw(const ui_canvas *c, const ui_style *s, int y, int x);

#endif
