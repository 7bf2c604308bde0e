/* Drawing on the curses screen: text clipped to a width, boxes, colours that only add meaning, and the two
 * character sets (UTF-8 glyphs, or ASCII under LANG=C / --ascii). Every view draws through these. */
#ifndef XQ_UI_DRAW_H
#define XQ_UI_DRAW_H

#include <stdbool.h>
#include <stdint.h>

#include "ui/layout.h"

typedef enum ui_color { UI_COL_NONE = 0, UI_COL_MEM, UI_COL_COMPUTE, UI_COL_SAVED, UI_COL_PAID, UI_COL_DIM,
                        UI_COL_COUNT } ui_color;

typedef struct ui_style {
    bool color; /* colour pairs in use (NO_COLOR / --no-color / a monochrome terminal turn them off) */
    bool ascii; /* ASCII charts and borders */
} ui_style;

/* Sets up the colour pairs over the terminal's default background when style->color. */
void ui_draw_init(ui_style *style);
/* The attribute of a meaning: a colour pair when colours are on, else A_NORMAL (or A_BOLD for emphasis). */
int ui_attr(const ui_style *s, ui_color c);

/* Text clipped to maxw columns (one column per code point: our glyphs are all narrow). Returns columns used. */
int ui_text(int y, int x, int maxw, int attr, const char *s);
int ui_textf(int y, int x, int maxw, int attr, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* A frame around r with a title in its top edge; the inside is cleared. */
void ui_box(const ui_style *s, ui_rect r, const char *title);
/* Clears a rectangle. */
void ui_clear(ui_rect r);
/* The inside of a box. */
ui_rect ui_inner(ui_rect r);

/* Human units: "42.2 MB", "24.3 ms", "225 GFLOP/s", "1.8K". */
void ui_fmt_bytes(char *buf, int size, double bytes);
void ui_fmt_ns(char *buf, int size, double ns);
void ui_fmt_rate(char *buf, int size, double per_s, const char *unit);
void ui_fmt_count(char *buf, int size, double n);

#endif
