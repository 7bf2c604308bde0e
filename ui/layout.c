/* Screen geometry (layout.h). */
#include "ui/layout.h"

bool ui_rect_empty(ui_rect r) { return r.w <= 0 || r.h <= 0; }

bool ui_rect_inside(ui_rect in, ui_rect out)
{
    return in.x >= out.x && in.y >= out.y && in.x + in.w <= out.x + out.w && in.y + in.h <= out.y + out.h;
}

bool ui_rect_overlap(ui_rect a, ui_rect b)
{
    if (ui_rect_empty(a) || ui_rect_empty(b)) return false;
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

static void split_body(ui_layout *l)
{
    ui_rect b = l->body;
    /* The top panels hold a few lines of figures; the bottom ones get the rest (charts grow with height). */
    int top_h = b.h / 2, left_w = b.w / 2;
    l->panel[0] = (ui_rect){b.x, b.y, left_w, top_h};
    l->panel[1] = (ui_rect){b.x + left_w, b.y, b.w - left_w, top_h};
    l->panel[2] = (ui_rect){b.x, b.y + top_h, left_w, b.h - top_h};
    l->panel[3] = (ui_rect){b.x + left_w, b.y + top_h, b.w - left_w, b.h - top_h};
}

ui_layout ui_layout_for(int w, int h)
{
    ui_layout l = {.fit = UI_TOO_SMALL, .w = w, .h = h};
    if (w < UI_MIN_W || h < UI_MIN_H) return l;
    l.fit = w >= UI_FULL_W && h >= UI_FULL_H ? UI_FULL : UI_COMPACT;
    l.header = (ui_rect){0, 0, w, 1};
    l.tabs = (ui_rect){0, 1, w, 1};
    l.body = (ui_rect){0, 2, w, h - 3};
    l.footer = (ui_rect){0, h - 1, w, 1};
    split_body(&l);
    return l;
}
