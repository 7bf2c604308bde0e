/* View dispatch and the shared "nothing to show" message (view.h). */
#include "ui/view.h"

#include <curses.h>

static const char *const NAMES[UI_VIEW_COUNT] = {"Overview", "Layers", "Roofline", "Timeline", "Modes", "Compare"};

const char *ui_view_name(int view)
{
    return view >= 0 && view < UI_VIEW_COUNT ? NAMES[view] : "?";
}

void ui_view_draw(ui_ctx *c, int view)
{
    static void (*const DRAW[UI_VIEW_COUNT])(ui_ctx *) = {ui_view_overview, ui_view_layers, ui_view_roofline,
                                                          ui_view_timeline, ui_view_modes,  ui_view_compare};
    if (view >= 0 && view < UI_VIEW_COUNT) DRAW[view](c);
}

void ui_view_empty(const ui_ctx *c, const char *title, const char *why)
{
    ui_rect b = c->lay.body;
    ui_box(&c->style, b, title);
    ui_text(b.y + b.h / 2, b.x + 2, b.w - 4, 0, why);
}
