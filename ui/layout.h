/* The screen's geometry: a pure function from the terminal size to rectangles, so that it can be tested over
 * every size. Full layout at ≥ 80×24, compact down to 60×20, below that only a "too small" message. */
#ifndef XQ_UI_LAYOUT_H
#define XQ_UI_LAYOUT_H

#include <stdbool.h>

enum { UI_MIN_W = 60, UI_MIN_H = 20, UI_FULL_W = 80, UI_FULL_H = 24, UI_PANELS = 4 };

typedef struct ui_rect {
    int x, y, w, h;
} ui_rect;

typedef enum ui_fit { UI_TOO_SMALL = 0, UI_COMPACT, UI_FULL } ui_fit;

typedef struct ui_layout {
    ui_fit fit;
    int w, h;
    ui_rect header, tabs, body, footer; /* disjoint; empty when too small */
    ui_rect panel[UI_PANELS];           /* Overview's quadrants inside body: decode, time split, cache, trade */
} ui_layout;

ui_layout ui_layout_for(int w, int h);
bool ui_rect_empty(ui_rect r);
bool ui_rect_inside(ui_rect inner, ui_rect outer);
bool ui_rect_overlap(ui_rect a, ui_rect b);

#endif
