/* Drawing primitives (draw.h). */
#include "ui/draw.h"

#include <curses.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const short PAIR_FG[UI_COL_COUNT] = {-1, COLOR_CYAN, COLOR_YELLOW, COLOR_GREEN, COLOR_RED, COLOR_BLUE};

/* ASCII mode: every text goes through to_ascii, so that no view's separator or arrow escapes as UTF-8. */
static bool ascii_only;

void ui_draw_init(ui_style *style)
{
    ascii_only = style->ascii;
    if (!style->color) return;
    if (!has_colors() || start_color() == ERR) {
        style->color = false;
        return;
    }
    use_default_colors(); /* keep the terminal's own background */
    for (int c = 1; c < UI_COL_COUNT; c++)
        init_pair((short)c, PAIR_FG[c], -1);
}

int ui_attr(const ui_style *s, ui_color c)
{
    if (c == UI_COL_NONE) return A_NORMAL;
    if (!s->color) return c == UI_COL_DIM ? A_NORMAL : A_BOLD;
    return (int)COLOR_PAIR(c);
}

/* Bytes of the first n code points of s (stopping at its end); *cols gets how many there were. */
static size_t prefix_bytes(const char *s, int n, int *cols)
{
    size_t i = 0;
    int c = 0;
    while (s[i] && c < n) {
        i++;
        while ((s[i] & 0xC0) == 0x80) /* continuation bytes of a UTF-8 sequence */
            i++;
        c++;
    }
    *cols = c;
    return i;
}

/* The ASCII stand-in of one UTF-8 sequence (the glyphs our texts use; '?' for any other). */
static char ascii_of(const char *s, size_t *len)
{
    static const struct {
        const char *utf8;
        char ascii;
    } MAP[] = {{"·", '.'}, {"─", '-'}, {"│", '|'}, {"›", '>'}, {"▶", '>'}, {"×", 'x'}, {"…", '.'}, {"→", '>'},
               {"←", '<'}, {"Δ", 'D'}, {"≥", '>'}, {"≤", '<'}, {"—", '-'}, {"–", '-'}, {"µ", 'u'}};
    *len = 1;
    while ((s[*len] & 0xC0) == 0x80)
        (*len)++;
    for (size_t i = 0; i < sizeof MAP / sizeof MAP[0]; i++)
        if (strlen(MAP[i].utf8) == *len && !memcmp(MAP[i].utf8, s, *len)) return MAP[i].ascii;
    return '?';
}

static void to_ascii(const char *s, char *out, size_t size)
{
    size_t o = 0, len;
    for (; *s && o + 1 < size; s += len) {
        len = 1;
        out[o++] = (unsigned char)*s < 0x80 ? *s : ascii_of(s, &len);
    }
    out[o] = 0;
}

int ui_text(int y, int x, int maxw, int attr, const char *s)
{
    char plain[512];
    if (ascii_only) {
        to_ascii(s, plain, sizeof plain);
        s = plain;
    }
    if (maxw <= 0 || y < 0 || x < 0 || y >= LINES || x >= COLS) return 0;
    if (x + maxw > COLS) maxw = COLS - x;
    int cols;
    size_t n = prefix_bytes(s, maxw, &cols);
    if (attr) attron(attr);
    mvaddnstr(y, x, s, (int)n);
    if (attr) attroff(attr);
    return cols;
}

int ui_textf(int y, int x, int maxw, int attr, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return ui_text(y, x, maxw, attr, buf);
}

void ui_clear(ui_rect r)
{
    for (int y = r.y; y < r.y + r.h; y++) {
        move(y, r.x);
        for (int x = 0; x < r.w; x++)
            addch(' ');
    }
}

ui_rect ui_inner(ui_rect r)
{
    return (ui_rect){r.x + 1, r.y + 1, r.w - 2, r.h - 2};
}

static void edge_line(int y, int x, int w, const char *g)
{
    for (int i = 0; i < w; i++)
        ui_text(y, x + i, 1, 0, g);
}

void ui_box(const ui_style *s, ui_rect r, const char *title)
{
    if (r.w < 2 || r.h < 2) return;
    const char *h = s->ascii ? "-" : "─", *v = s->ascii ? "|" : "│";
    ui_clear(r);
    ui_text(r.y, r.x, 1, 0, s->ascii ? "+" : "┌");
    ui_text(r.y, r.x + r.w - 1, 1, 0, s->ascii ? "+" : "┐");
    ui_text(r.y + r.h - 1, r.x, 1, 0, s->ascii ? "+" : "└");
    ui_text(r.y + r.h - 1, r.x + r.w - 1, 1, 0, s->ascii ? "+" : "┘");
    edge_line(r.y, r.x + 1, r.w - 2, h);
    edge_line(r.y + r.h - 1, r.x + 1, r.w - 2, h);
    for (int y = r.y + 1; y < r.y + r.h - 1; y++) {
        ui_text(y, r.x, 1, 0, v);
        ui_text(y, r.x + r.w - 1, 1, 0, v);
    }
    if (title && *title) ui_textf(r.y, r.x + 1, r.w - 2, A_BOLD, " %s ", title);
}

static void fmt_scaled(char *buf, int size, double v, const char *const *units, int n_units, double base)
{
    int u = 0;
    while (u + 1 < n_units && v >= base * 0.9995) {
        v /= base;
        u++;
    }
    snprintf(buf, (size_t)size, v < 10 && u ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

void ui_fmt_bytes(char *buf, int size, double bytes)
{
    static const char *const u[] = {"B", "KB", "MB", "GB", "TB"};
    fmt_scaled(buf, size, bytes, u, 5, 1000.0);
}

void ui_fmt_ns(char *buf, int size, double ns)
{
    if (ns < 1e3) snprintf(buf, (size_t)size, "%.0f ns", ns);
    else if (ns < 1e6) snprintf(buf, (size_t)size, "%.1f us", ns / 1e3);
    else if (ns < 1e9) snprintf(buf, (size_t)size, "%.1f ms", ns / 1e6);
    else snprintf(buf, (size_t)size, "%.2f s", ns / 1e9);
}

void ui_fmt_rate(char *buf, int size, double per_s, const char *unit)
{
    static const char *const p[] = {"", "K", "M", "G", "T", "P"};
    int i = 0;
    while (i < 5 && per_s >= 999.5) {
        per_s /= 1000.0;
        i++;
    }
    snprintf(buf, (size_t)size, per_s < 10 ? "%.1f %s%s" : "%.0f %s%s", per_s, p[i], unit);
}

void ui_fmt_count(char *buf, int size, double n)
{
    if (n < 1000) snprintf(buf, (size_t)size, "%.0f", n);
    else if (n < 1e6) snprintf(buf, (size_t)size, "%.1fK", n / 1e3);
    else snprintf(buf, (size_t)size, "%.1fM", n / 1e6);
}
