/* Modes and Compare: what the current run's cache mode holds against fp16, and two runs side by side. Each says
 * in one line why it is empty when its data is absent (a recording has no live mode; Compare needs two runs). */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "ui/view.h"

void ui_view_modes(ui_ctx *c)
{
    const ui_data *d = c->d;
    if (!d->live) {
        ui_view_empty(c, "Modes", "Modes: this is a recorded run, its mode is fixed; switching modes needs a live run "
                                  "(xqprof top --cache MODE)");
        return;
    }
    ui_rect b = c->lay.body;
    ui_box(&c->style, b, "Modes");
    ui_rect in = ui_inner(b);
    char a[32], f[32];
    double held = d->n_steps ? (double)d->step[d->n_steps - 1].cache_persistent : -1;
    double per_tok = held >= 0 && d->ctx > 0 ? held / (double)d->ctx : 0;
    ui_fmt_bytes(a, sizeof a, per_tok);
    ui_fmt_bytes(f, sizeof f, d->fp16_bytes_per_token);
    ui_textf(in.y, in.x + 1, in.w - 1, A_BOLD, "current mode: %s", d->mode);
    ui_textf(in.y + 1, in.x + 1, in.w - 1, 0, "cache per token: %s (fp16 K/V: %s)", per_tok > 0 ? a : "N/A", f);
    ui_text(in.y + 3, in.x + 1, in.w - 1, 0,
            "Switching the mode live is not available yet: restart with xqprof top --cache MODE");
    ui_text(in.y + 4, in.x + 1, in.w - 1, 0, "(modes: xqprof ppl --help; to compare two: record each with --trace and "
                                             "xqprof view A.db B.db)");
}

static void side(const ui_ctx *c, const ui_data *d, int y, int x, int w, const char *label)
{
    char r[32], m[32];
    double held = d->n_steps ? (double)d->step[d->n_steps - 1].cache_persistent : -1;
    ui_fmt_bytes(m, sizeof m, held);
    snprintf(r, sizeof r, "%.1f tok/s", ui_decode_rate(d));
    ui_textf(y, x, w, A_BOLD, "%s: %s", label, d->status);
    ui_textf(y + 1, x, w, 0, "model %s · mode %s", d->title, d->mode);
    ui_textf(y + 2, x, w, 0, "decode %s", r);
    ui_textf(y + 3, x, w, 0, "cache held %s at ctx %lld", held >= 0 ? m : "N/A", (long long)d->ctx);
    (void)c;
}

void ui_view_compare(ui_ctx *c)
{
    if (!c->other) {
        ui_view_empty(c, "Compare", c->other_why ? c->other_why : "Compare: needs a second run (xqprof view A.db B.db)");
        return;
    }
    ui_rect b = c->lay.body;
    ui_box(&c->style, b, "Compare");
    ui_rect in = ui_inner(b);
    if (strcmp(c->d->title, c->other->title) != 0) {
        ui_textf(in.y + in.h / 2, in.x + 2, in.w - 4, 0, "Compare: the runs are of different models (%s, %s): refused",
                 c->d->title, c->other->title);
        return;
    }
    int half = in.w / 2;
    side(c, c->d, in.y, in.x + 1, half - 2, "baseline");
    side(c, c->other, in.y, in.x + half + 1, half - 2, "compare");
    double r0 = ui_decode_rate(c->d), r1 = ui_decode_rate(c->other);
    if (r0 > 0 && r1 > 0)
        ui_textf(in.y + 5, in.x + 1, in.w - 2, A_BOLD, "decode: %.2fx speedup (%+.1f%%)", r1 / r0, 100 * (r1 / r0 - 1));
}
