/* Modes: the live run's stretches under each cache mode side by side (memory saved against fp16 vs rebuild
 * cost, with the fp16 probe's KL and top-1 when --probe is on). It says in one line why it is empty when its data
 * is absent (a recording has no live mode). Compare, two runs side by side, is view_compare.c.
 * The Modes table drops its less important columns, most detailed first, until the row fits the width. */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "ui/charts.h"
#include "ui/view.h"

/* One column of the Modes table: its header, width and a cell drawer; rank 1 is kept longest. */
typedef struct mode_col {
    const char *head;
    int w, rank;
    void (*cell)(const ui_ctx *c, const ui_mode_segment *g, int y, int x, int w);
} mode_col;

/* The share of fp16 K/V's bytes per token the mode does not need, as eval counts bytes (XQUANT.md §1): per token
 * rather than the bytes held, which at a short context leave out an fp16 ring of tokens still being grouped. */
static double saved_share(const ui_ctx *c, const ui_mode_segment *g)
{
    double fp16 = c->d->fp16_bytes_per_token;
    return fp16 > 0 && g->bytes_per_token > 0 ? 1.0 - g->bytes_per_token / fp16 : 0.0;
}

static void cell_mode(const ui_ctx *c, const ui_mode_segment *g, int y, int x, int w)
{
    bool now = g == &c->d->segment[c->d->n_segments - 1];
    ui_textf(y, x, w, now ? A_BOLD : 0, "%s %s", now ? (c->style.ascii ? ">" : "▶") : " ", g->mode);
}

static void cell_tokens(const ui_ctx *c, const ui_mode_segment *g, int y, int x, int w)
{
    (void)c;
    ui_textf(y, x, w, 0, "%*lld", w - 1, (long long)g->decode_tokens);
}

static void cell_rate(const ui_ctx *c, const ui_mode_segment *g, int y, int x, int w)
{
    (void)c;
    double rate = g->decode_ns > 0 ? (double)g->decode_tokens * 1e9 / (double)g->decode_ns : 0;
    if (g->decode_ns <= 0)
        ui_textf(y, x, w, 0, "%*s", w - 1, "-");
    else if (rate >= 1000)
        ui_textf(y, x, w, 0, "%*.1fK", w - 2, rate / 1000);
    else
        ui_textf(y, x, w, 0, "%*.1f", w - 1, rate);
}

static void cell_history(const ui_ctx *c, const ui_mode_segment *g, int y, int x, int w)
{
    double v[UI_SEGMENT_RATES];
    for (int i = 0; i < g->n_rate; i++)
        v[i] = g->rate[i];
    ui_sparkline(&c->style, y, x, w - 1, v, g->n_rate, UI_COL_NONE);
}

static void cell_held(const ui_ctx *c, const ui_mode_segment *g, int y, int x, int w)
{
    char b[32];
    (void)c;
    if (g->cache_persistent < 0) {
        ui_text(y, x, w, 0, "N/A");
        return;
    }
    ui_fmt_bytes(b, sizeof b, (double)g->cache_persistent);
    ui_textf(y, x, w, 0, "%s @%lld", b, (long long)g->ctx);
}

static void cell_saved(const ui_ctx *c, const ui_mode_segment *g, int y, int x, int w)
{
    char b[32];
    double fp16 = c->d->fp16_bytes_per_token, saved = (fp16 - g->bytes_per_token) * (double)g->ctx;
    if (fp16 <= 0 || g->bytes_per_token <= 0) {
        ui_text(y, x, w, 0, "N/A");
        return;
    }
    ui_fmt_bytes(b, sizeof b, saved < 0 ? -saved : saved);
    ui_textf(y, x, w - 1, ui_attr(&c->style, UI_COL_SAVED), "%s%s %.1fx", saved < 0 ? "-" : "", b,
             fp16 / g->bytes_per_token);
}

static void cell_rebuild(const ui_ctx *c, const ui_mode_segment *g, int y, int x, int w)
{
    char b[32];
    if (g->decode_tokens == 0) {
        ui_text(y, x, w, 0, "-");
    } else if (g->rebuild_tokens == 0) {
        ui_text(y, x, w, 0, "N/A (--trace)");
    } else if (g->rebuild_ns == 0) {
        ui_text(y, x, w, 0, "none");
    } else {
        ui_fmt_ns(b, sizeof b, (double)g->rebuild_ns / (double)g->rebuild_tokens);
        ui_textf(y, x, w - 1, ui_attr(&c->style, UI_COL_PAID), "%s %4.1f%%", b,
                 g->decode_ns > 0 ? 100.0 * (double)g->rebuild_ns / (double)g->decode_ns : 0.0);
    }
}

/* The trade at a glance: the share of fp16's bytes saved beside the share of the decode step spent rebuilding. */
static void cell_bars(const ui_ctx *c, const ui_mode_segment *g, int y, int x, int w)
{
    double saved = saved_share(c, g);
    double paid = g->decode_ns > 0 && g->rebuild_tokens > 0 ? (double)g->rebuild_ns / (double)g->decode_ns : 0;
    int bw = (w - 4) / 2;
    ui_bar(&c->style, y, x, bw, saved, UI_COL_SAVED);
    ui_text(y, x + bw, 3, 0, " | ");
    ui_bar(&c->style, y, x + bw + 3, bw, paid, UI_COL_PAID);
}

static void cell_switch(const ui_ctx *c, const ui_mode_segment *g, int y, int x, int w)
{
    char b[32];
    (void)c;
    if (!g->build_ns && !g->switch_tokens) {
        ui_text(y, x, w, 0, "start");
        return;
    }
    ui_fmt_ns(b, sizeof b, (double)(g->build_ns + g->switch_ns));
    ui_textf(y, x, w, 0, "%s/%lld", b, (long long)g->switch_tokens);
}

static void cell_kl(const ui_ctx *c, const ui_mode_segment *g, int y, int x, int w)
{
    if (!c->d->probe_every)
        ui_text(y, x, w, 0, "off");
    else if (!g->probe_checks)
        ui_text(y, x, w, 0, "-");
    else {
        double kl = g->probe_kl_sum / (double)g->probe_checks;
        ui_textf(y, x, w, 0, kl > 0 && kl < 1e-4 ? "%.1e" : "%.4f", kl);
    }
}

static void cell_top1(const ui_ctx *c, const ui_mode_segment *g, int y, int x, int w)
{
    if (!c->d->probe_every)
        ui_text(y, x, w, 0, "off");
    else if (!g->probe_checks)
        ui_text(y, x, w, 0, "-");
    else
        ui_textf(y, x, w, 0, "%5.1f%%", 100.0 * (double)g->probe_top1_same / (double)g->probe_checks);
}

static const mode_col MODE_COLS[] = {
    {"  mode", 13, 1, cell_mode},
    {"tokens", 7, 9, cell_tokens},
    {" tok/s", 7, 4, cell_rate},
    {"history", 13, 11, cell_history},
    {"held @ctx", 14, 7, cell_held},
    {"saved vs fp16", 15, 2, cell_saved},
    {"rebuild/token", 15, 3, cell_rebuild},
    {"saved | rebuild", 18, 10, cell_bars},
    {"switch/tokens", 14, 8, cell_switch},
    {"KL", 9, 5, cell_kl},
    {"top-1", 7, 6, cell_top1},
};
enum { N_COLS = sizeof MODE_COLS / sizeof MODE_COLS[0] };

/* Which columns fit in w: the best-ranked first. */
static void pick_columns(int w, bool keep[N_COLS])
{
    int used = 0;
    for (int rank = 1; rank <= 11; rank++)
        for (int i = 0; i < N_COLS; i++)
            if (MODE_COLS[i].rank == rank) {
                keep[i] = used + MODE_COLS[i].w <= w;
                if (keep[i]) used += MODE_COLS[i].w;
            }
}

static void draw_row(const ui_ctx *c, const ui_mode_segment *g, const bool keep[N_COLS], int y, int x)
{
    for (int i = 0; i < N_COLS; i++)
        if (keep[i]) {
            if (g)
                MODE_COLS[i].cell(c, g, y, x, MODE_COLS[i].w);
            else
                ui_text(y, x, MODE_COLS[i].w - 1, A_UNDERLINE, MODE_COLS[i].head);
            x += MODE_COLS[i].w;
        }
}

/* The stretches, newest at the bottom; the oldest go first when rows run out. */
static void draw_table(const ui_ctx *c, int y, int x, int w, int rows)
{
    bool keep[N_COLS];
    pick_columns(w, keep);
    draw_row(c, NULL, keep, y, x);
    int n = c->d->n_segments, first = n > rows - 1 ? n - (rows - 1) : 0;
    for (int i = first; i < n; i++)
        draw_row(c, &c->d->segment[i], keep, y + 1 + i - first, x);
}

/* Text wrapped at spaces into at most max_lines lines of w columns (bytes: the notes are ASCII); lines drawn. */
static int wrap(int y, int x, int w, int max_lines, int attr, const char *text, bool draw)
{
    int lines = 0, len = (int)strlen(text);
    for (int i = 0; i < len && lines < max_lines && w > 0; lines++) {
        while (text[i] == ' ')
            i++;
        int n = len - i < w ? len - i : w;
        if (i + n < len)
            for (int k = n; k > 0; k--)
                if (text[i + k] == ' ') {
                    n = k;
                    break;
                }
        if (draw) ui_textf(y + lines, x, n, attr, "%.*s", n, text + i);
        i += n;
    }
    return lines;
}

/* The legend of the table and the probe's terms, wrapped, at the bottom of the box; returns its first row. */
static int draw_notes(const ui_ctx *c, int bottom, int x, int w, int max_lines)
{
    const ui_data *d = c->d;
    char probe[256], t[32];
    int64_t checks = 0, ns = 0;
    for (int i = 0; i < d->n_segments; i++) {
        checks += d->segment[i].probe_checks;
        ns += d->segment[i].probe_ns;
    }
    ui_fmt_ns(t, sizeof t, checks ? (double)ns / (double)checks : 0);
    if (d->probe_every)
        snprintf(probe, sizeof probe,
                 "probe: an fp16 shadow cache; every %d tokens KL(fp16||mode) and top-1 "
                 "agreement of the logits (means over the stretch). Its %s per check is left out of tok/s and step "
                 "times.",
                 d->probe_every, checks ? t : "time");
    else
        snprintf(probe, sizeof probe,
                 "probe off: xqprof top --probe N keeps an fp16 shadow cache and compares "
                 "logits every N tokens (KL, top-1).");
    char notes[640];
    snprintf(notes, sizeof notes,
             "%s held: the stored history, in whole quantizer groups, at the stretch's latest step. saved: fp16 "
             "K/V's bytes per token less the mode's, times the context (as xqprof eval counts them). "
             "rebuild: dequantize + rematerialize time per decode token (%% of the decode step). switch: cache built "
             "+ text re-prefilled, and its tokens.",
             probe);
    int n = wrap(0, x, w, max_lines, 0, notes, false);
    wrap(bottom - n + 1, x, w, n, ui_attr(&c->style, UI_COL_DIM), notes, true);
    return bottom - n + 1;
}

static void draw_current(const ui_ctx *c, int y, int x, int w)
{
    const ui_data *d = c->d;
    const ui_mode_segment *g = d->n_segments ? &d->segment[d->n_segments - 1] : NULL;
    int used = ui_textf(y, x, w, A_BOLD, "current mode: %s", d->mode);
    if (g && g->bytes_per_token > 0 && d->fp16_bytes_per_token > 0)
        ui_textf(y, x + used, w - used, 0, ", %.1f bytes/token, %.2fx less than fp16 K/V (%.0f bytes/token)",
                 g->bytes_per_token, d->fp16_bytes_per_token / g->bytes_per_token, d->fp16_bytes_per_token);
    ui_text(y + 1, x, w, 0,
            "m/M: next/previous mode, b/B: fewer/more bits (the text so far is re-prefilled under the new mode)");
    if (d->mode_note[0]) ui_text(y + 2, x, w, A_BOLD, d->mode_note);
}

void ui_view_modes(ui_ctx *c)
{
    const ui_data *d = c->d;
    if (!d->live) {
        ui_view_empty(c, "Modes",
                      "Modes: this is a recorded run, its mode is fixed; switching modes needs a live run "
                      "(xqprof top --cache MODE)");
        return;
    }
    ui_rect b = c->lay.body;
    ui_box(&c->style, b, "Modes");
    ui_rect in = ui_inner(b);
    draw_current(c, in.y, in.x + 1, in.w - 1);
    int notes_top = draw_notes(c, in.y + in.h - 1, in.x + 1, in.w - 1, (in.h - 6) / 2);
    int rows = notes_top - 1 - (in.y + 3);
    if (d->n_segments == 0)
        ui_text(in.y + 4, in.x + 1, in.w - 1, 0, "warming up: no step measured yet");
    else if (rows >= 2)
        draw_table(c, in.y + 3, in.x + 1, in.w - 1, rows);
}
