/* The curses loop (ui.h): polls the source at the refresh interval, redraws only when something changed, and
 * answers keys as they come through the one key table. */
#include "ui/ui.h"

#include <curses.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ui/keys.h"
#include "ui/view.h"

typedef struct app {
    ui_ctx ctx;
    ui_data *data;
    ui_source *src;
    int view;
    bool help, quit, dirty;
} app;

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig) { stop_signal = sig; }

static void on_crash(int sig)
{
    endwin(); /* not async-signal-safe, but the process is dying and a raw terminal is worse */
    signal(sig, SIG_DFL);
    raise(sig);
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_crash;
    int crash[] = {SIGSEGV, SIGBUS, SIGFPE, SIGABRT, SIGILL};
    for (size_t i = 0; i < sizeof crash / sizeof crash[0]; i++)
        sigaction(crash[i], &sa, NULL);
}

bool ui_env_no_color(void)
{
    const char *v = getenv("NO_COLOR");
    return v && *v;
}

static void load_roofs(ui_ctx *c, const char *ids)
{
    gpu_catalogue *cat = gpu_catalogue_create();
    if (!cat || !ids) goto done;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", ids);
    for (char *save = NULL, *id = strtok_r(buf, ",", &save); id && c->n_roofs < UI_MAX_ROOFS;
         id = strtok_r(NULL, ",", &save)) {
        const gpu_spec *g = gpu_catalogue_find(cat, id);
        if (g) c->roofs[c->n_roofs++] = *g;
    }
done:
    gpu_catalogue_destroy(cat);
}

static void draw_header(const app *a)
{
    const ui_data *d = a->data;
    char f[32], b[32], peaks[96];
    if (d->peak_flops > 0) {
        ui_fmt_rate(f, sizeof f, d->peak_flops, "FLOP/s");
        ui_fmt_rate(b, sizeof b, d->peak_bytes_per_s, "B/s");
        snprintf(peaks, sizeof peaks, "measured %s, %s", f, b);
    } else {
        snprintf(peaks, sizeof peaks, "peaks N/A: %s", d->peak_why);
    }
    const char *sep = a->ctx.style.ascii ? "-" : "─";
    ui_rect r = a->ctx.lay.header;
    /* The state flag outranks the header text: the text is cut short to keep room for it. */
    const char *flag = a->ctx.frozen ? "PAUSED (p)" : d->n_steps == 0 ? "warming up" : "";
    int fl = (int)strlen(flag);
    int text_w = fl && r.w > fl + 2 ? r.w - fl - 2 : r.w;
    ui_textf(r.y, 0, text_w, A_BOLD, " xqprof %s %s %s cpu %d thr (%s) %s %s %s ctx %lld/%lld ", sep, d->title, sep,
             d->threads, peaks, sep, d->mode, sep, (long long)d->ctx, (long long)d->n_ctx_max);
    if (fl && r.w > fl + 2) ui_text(r.y, r.w - fl - 1, fl, A_REVERSE, flag);
}

static void draw_tabs(const app *a)
{
    ui_rect r = a->ctx.lay.tabs;
    int x = 1;
    for (int v = 0; v < UI_VIEW_COUNT && x < r.w; v++)
        x += ui_textf(r.y, x, r.w - x, v == a->view ? A_REVERSE : 0, "[%d]%s", v + 1, ui_view_name(v)) + 1;
    const char *keys = "? help  q quit";
    int kw = (int)strlen(keys);
    if (r.w - kw - 1 > x) ui_text(r.y, r.w - kw - 1, kw, 0, keys);
}

static void draw_footer(const app *a)
{
    const ui_data *d = a->data;
    ui_rect r = a->ctx.lay.footer;
    if (d->error[0]) ui_textf(r.y, 1, r.w - 2, ui_attr(&a->ctx.style, UI_COL_PAID), "error: %s", d->error);
    else ui_textf(r.y, 1, r.w - 2, ui_attr(&a->ctx.style, UI_COL_DIM), "%s", d->status);
}

/* The message wrapped at word boundaries to the screen's width, so that it fits even at 20×5. */
static void draw_too_small(int w, int h)
{
    char msg[160];
    snprintf(msg, sizeof msg, "terminal too small: have %dx%d, need %dx%d (q quits)", w, h, UI_MIN_W, UI_MIN_H);
    int y = 0, len = (int)strlen(msg);
    for (int i = 0; i < len && y < h;) {
        while (msg[i] == ' ')
            i++;
        int n = len - i < w ? len - i : w;
        if (i + n < len)
            for (int k = n; k > 0; k--)
                if (msg[i + k] == ' ') {
                    n = k;
                    break;
                }
        mvaddnstr(y++, 0, msg + i, n);
        i += n;
    }
}

static void draw_help(const app *a)
{
    int n_keys, n_leg;
    const ui_key *keys = ui_keys(&n_keys);
    const ui_legend *leg = ui_legends(&n_leg);
    ui_rect body = a->ctx.lay.body;
    ui_rect r = {body.x + 2, body.y, body.w - 4, body.h};
    ui_box(&a->ctx.style, r, "help (Esc closes)");
    ui_rect in = ui_inner(r);
    int y = in.y;
    for (int i = 0; i < n_keys && y < in.y + in.h; i++)
        if (keys[i].label) ui_textf(y++, in.x + 1, in.w - 1, 0, "%-12s %s", keys[i].label, keys[i].what);
    if (y < in.y + in.h) y++;
    for (int i = 0; i < n_leg && y < in.y + in.h; i++, y++) {
        /* Two calls, because printf pads by bytes and the glyphs are multi-byte. */
        ui_text(y, in.x + 1, 12, 0, a->ctx.style.ascii ? leg[i].ascii : leg[i].utf8);
        ui_text(y, in.x + 14, in.w - 14, 0, leg[i].meaning);
    }
}

static void redraw(app *a)
{
    a->ctx.lay = ui_layout_for(COLS, LINES);
    erase();
    if (a->ctx.lay.fit == UI_TOO_SMALL) {
        draw_too_small(COLS, LINES);
    } else {
        a->ctx.d = a->data;
        draw_header(a);
        draw_tabs(a);
        ui_view_draw(&a->ctx, a->view);
        draw_footer(a);
        if (a->help) draw_help(a);
    }
    refresh();
    a->dirty = false;
}

static void act(app *a, int ch)
{
    const ui_key *k = ui_key_find(ch);
    if (ch == KEY_RESIZE) a->dirty = true;
    if (!k) return;
    a->dirty = true;
    switch (k->action) {
    case UI_ACT_QUIT: a->quit = true; break;
    case UI_ACT_HELP: a->help = !a->help; break;
    case UI_ACT_CLOSE: a->help = false; break;
    case UI_ACT_NEXT_VIEW: a->view = (a->view + 1) % UI_VIEW_COUNT; break;
    case UI_ACT_PREV_VIEW: a->view = (a->view + UI_VIEW_COUNT - 1) % UI_VIEW_COUNT; break;
    case UI_ACT_VIEW: a->view = k->arg; break;
    case UI_ACT_FREEZE: a->ctx.frozen = !a->ctx.frozen; break;
    case UI_ACT_SORT: a->ctx.sort_by_layer = !a->ctx.sort_by_layer; break;
    case UI_ACT_UP: a->ctx.sel--; break;
    case UI_ACT_DOWN: a->ctx.sel++; break;
    default: break;
    }
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void loop(app *a, const ui_opts *o)
{
    int64_t next_poll = 0;
    for (long it = 0; !a->quit && !stop_signal && (o->max_iterations <= 0 || it < o->max_iterations); it++) {
        int64_t t = now_ms();
        if (t >= next_poll) {
            if (!a->ctx.frozen && a->src->poll(a->src->self, a->data)) a->dirty = true;
            next_poll = t + o->interval_ms;
        }
        if (a->dirty) redraw(a);
        int wait = (int)(next_poll - now_ms());
        timeout(wait > 0 ? wait : 0);
        int ch = getch();
        if (ch != ERR) act(a, ch);
    }
}

static int start_curses(const ui_opts *o, ui_style *style, xq_err *err)
{
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        return xq_fail(err, XQ_EINPUT, "not a terminal (the screen needs one; `xqprof generate` prints plain text)");
    setlocale(LC_CTYPE, ""); /* only the character set: numbers keep their '.' */
    const char *cs = nl_langinfo(CODESET);
    style->ascii = o->ascii || !cs || strcmp(cs, "UTF-8") != 0;
    style->color = o->color;
    set_escdelay(25); /* Esc closes overlays at once instead of after a second */
    if (!newterm(NULL, stdout, stdin)) return xq_fail(err, XQ_ERUN, "cannot use terminal '%s'", getenv("TERM"));
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    curs_set(0);
    ui_draw_init(style);
    catch_signals();
    return 0;
}

int ui_run(const ui_opts *o, ui_source *src, const ui_data *other, const char *other_why, xq_err *err)
{
    app *a = calloc(1, sizeof *a);
    ui_data *d = calloc(1, sizeof *d);
    if (!a || !d) {
        free(a);
        free(d);
        return xq_fail(err, XQ_ERUN, "out of memory");
    }
    *a = (app){.data = d, .src = src, .view = o->first_view, .dirty = true};
    a->ctx.other = other;
    a->ctx.other_why = other_why;
    load_roofs(&a->ctx, o->gpus);
    int rc = start_curses(o, &a->ctx.style, err);
    if (!rc) {
        loop(a, o);
        endwin();
        rc = stop_signal ? 130 : 0;
    }
    free(d);
    free(a);
    return rc;
}
