/* The layout is a pure function of the terminal size: at every size 1..300 × 1..120 its rectangles stay on the
 * screen and never overlap; below 60×20 it asks for the "too small" message, at ≥ 80×24 the full layout. */
#include <stdio.h>

#include "testlib.h"
#include "ui/layout.h"

static bool on_screen(ui_rect r, int w, int h)
{
    return !ui_rect_empty(r) && ui_rect_inside(r, (ui_rect){0, 0, w, h});
}

static void check_size(int w, int h)
{
    ui_layout l = ui_layout_for(w, h);
    if (w < UI_MIN_W || h < UI_MIN_H) {
        CHECKF(l.fit == UI_TOO_SMALL, "%dx%d", w, h);
        CHECKF(ui_rect_empty(l.body) && ui_rect_empty(l.header), "%dx%d: rectangles when too small", w, h);
        return;
    }
    CHECKF(l.fit == (w >= UI_FULL_W && h >= UI_FULL_H ? UI_FULL : UI_COMPACT), "%dx%d: fit %d", w, h, l.fit);
    ui_rect top[4] = {l.header, l.tabs, l.body, l.footer};
    for (int i = 0; i < 4; i++) {
        CHECKF(on_screen(top[i], w, h), "%dx%d: part %d off screen", w, h, i);
        for (int j = i + 1; j < 4; j++)
            CHECKF(!ui_rect_overlap(top[i], top[j]), "%dx%d: parts %d and %d overlap", w, h, i, j);
    }
    for (int i = 0; i < UI_PANELS; i++) {
        CHECKF(on_screen(l.panel[i], w, h) && ui_rect_inside(l.panel[i], l.body), "%dx%d: panel %d", w, h, i);
        CHECKF(l.panel[i].w >= 20 && l.panel[i].h >= 4, "%dx%d: panel %d too small for a box", w, h, i);
        for (int j = i + 1; j < UI_PANELS; j++)
            CHECKF(!ui_rect_overlap(l.panel[i], l.panel[j]), "%dx%d: panels %d, %d overlap", w, h, i, j);
    }
}

int main(void)
{
    for (int w = 1; w <= 300; w++)
        for (int h = 1; h <= 120; h++)
            check_size(w, h);
    return test_report("test_ui_layout");
}
