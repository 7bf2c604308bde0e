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
    int help_top;      /* the help's first line shown, when it is longer than the screen (Up/Down scroll it) */
    bool headless;     /* no terminal: drawn into /dev/null (--max-iterations without a tty, for tests) */
    SCREEN *screen;
    FILE *tty_out, *tty_in; /* headless: /dev/null */
    long redraws, turns, keys; /* reported on stderr at exit under XQ_UI_STATS (make bench) */
    int64_t first_redraw_ms, last_redraw_ms;
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

/* The help as display lines: each key of the table, a blank line, then the legend; a meaning longer than the
 * width is wrapped at spaces onto lines of its own under it. */
enum { HELP_MAX_LINES = 96, HELP_LABEL_W = 13 };
typedef struct help_text {
    int n;
    const char *label[HELP_MAX_LINES]; /* "" on continuation and blank lines */
    const char *text[HELP_MAX_LINES];
    int len[HELP_MAX_LINES];           /* bytes of text on the line */
} help_text;

static void help_add(help_text *h, const char *label, const char *text, int w)
{
    int len = (int)strlen(text);
    if (w < 8) w = 8;
    for (int i = 0; (i < len || i == 0) && h->n < HELP_MAX_LINES;) {
        while (i > 0 && text[i] == ' ')
            i++;
        int n = len - i <= w ? len - i : w; /* bytes; the meanings are ASCII save a few glyphs, so at worst short */
        if (i + n < len)
            for (int k = n; k > 0; k--)
                if (text[i + k] == ' ') {
                    n = k;
                    break;
                }
        h->label[h->n] = i == 0 ? label : "";
        h->text[h->n] = text + i;
        h->len[h->n++] = n;
        i += n;
        if (n == 0) break;
    }
}

static void help_build(const app *a, int w, help_text *h)
{
    int n_keys, n_leg;
    const ui_key *keys = ui_keys(&n_keys);
    const ui_legend *leg = ui_legends(&n_leg);
    h->n = 0;
    for (int k = 0; k < n_keys; k++)
        if (keys[k].label) help_add(h, keys[k].label, keys[k].what, w - HELP_LABEL_W);
    help_add(h, "", "", w);
    for (int i = 0; i < n_leg; i++)
        help_add(h, a->ctx.style.ascii ? leg[i].ascii : leg[i].utf8, leg[i].meaning, w - HELP_LABEL_W);
}

/* Scrolled by Up/Down when it is longer than the body (80×24 and below); the title says so and which lines show. */
static void draw_help(app *a)
{
    ui_rect body = a->ctx.lay.body;
    ui_rect r = {body.x + 2, body.y, body.w - 4, body.h};
    ui_rect in = ui_inner(r);
    static help_text h;
    help_build(a, in.w - 1, &h);
    int rows = in.h, last_top = h.n > rows ? h.n - rows : 0;
    a->help_top = a->help_top < 0 ? 0 : a->help_top > last_top ? last_top : a->help_top;
    char title[96];
    if (last_top)
        snprintf(title, sizeof title, "help (Esc closes) %s Up/Down scroll: lines %d-%d of %d",
                 a->ctx.style.ascii ? "-" : "·", a->help_top + 1, a->help_top + rows, h.n);
    else
        snprintf(title, sizeof title, "help (Esc closes)");
    ui_box(&a->ctx.style, r, title);
    for (int i = 0; i < rows && a->help_top + i < h.n; i++) {
        int k = a->help_top + i, y = in.y + i;
        /* Two calls, because printf pads by bytes and the glyphs are multi-byte. */
        ui_text(y, in.x + 1, HELP_LABEL_W - 1, 0, h.label[k]);
        ui_textf(y, in.x + 1 + HELP_LABEL_W, in.w - 1 - HELP_LABEL_W, 0, "%.*s", h.len[k], h.text[k]);
    }
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
    a->last_redraw_ms = now_ms();
    if (!a->redraws++) a->first_redraw_ms = a->last_redraw_ms;
}

static void move_selection(app *a, int by)
{
    if (a->help) a->help_top += by; /* the help is on top: the arrows scroll it */
    else if (a->view == UI_VIEW_COMPARE && a->ctx.cmp_drilled) a->ctx.cmp_drill_sel += by;
    else if (a->view == UI_VIEW_COMPARE) a->ctx.cmp_sel += by;
    else if (a->view == UI_VIEW_LAYERS && a->ctx.drilled) a->ctx.drill_sel += by;
    else a->ctx.sel += by;
}

static void act(app *a, int ch)
{
    if (ch == KEY_RESIZE) a->dirty = true;
    /* A filter being typed takes the keys first: its text may hold q, digits and the other keys' letters. */
    if (a->ctx.typing && ch != KEY_RESIZE) {
        a->dirty = true;
        if (ui_layers_type(&a->ctx, ch)) return;
    }
    const ui_key *k = ui_key_find(ch);
    if (!k) return;
    bool layers = a->view == UI_VIEW_LAYERS, compare = a->view == UI_VIEW_COMPARE;
    a->dirty = true;
    switch (k->action) {
    case UI_ACT_QUIT: a->quit = true; break;
    case UI_ACT_HELP:
        a->help = !a->help;
        a->help_top = 0;
        break;
    case UI_ACT_CLOSE:
        if (a->help) a->help = false;
        else if (layers) ui_layers_back(&a->ctx);
        else if (compare) ui_compare_back(&a->ctx);
        break;
    case UI_ACT_NEXT_VIEW: a->view = (a->view + 1) % UI_VIEW_COUNT; break;
    case UI_ACT_PREV_VIEW: a->view = (a->view + UI_VIEW_COUNT - 1) % UI_VIEW_COUNT; break;
    case UI_ACT_VIEW: a->view = k->arg; break;
    case UI_ACT_FREEZE: a->ctx.frozen = !a->ctx.frozen; break;
    case UI_ACT_SORT: a->ctx.sort_by_layer = !a->ctx.sort_by_layer; break;
    case UI_ACT_UP: move_selection(a, -1); break;
    case UI_ACT_DOWN: move_selection(a, +1); break;
    case UI_ACT_FILTER:
        if (layers) ui_layers_start_filter(&a->ctx);
        break;
    case UI_ACT_OPEN:
        if (layers) ui_layers_open(&a->ctx);
        else if (compare) ui_compare_open(&a->ctx);
        break;
    case UI_ACT_BACK:
        if (layers) ui_layers_back(&a->ctx);
        else if (compare) ui_compare_back(&a->ctx);
        break;
    case UI_ACT_REQUEST:
        if (a->view == UI_VIEW_MODES && a->src->request) a->src->request(a->src->self, k->arg);
        break;
    default: break;
    }
}

static void loop(app *a, const ui_opts *o)
{
    int64_t next_poll = 0;
    for (long it = 0; !a->quit && !stop_signal && (o->max_iterations <= 0 || it < o->max_iterations); it++) {
        int64_t t = now_ms();
        if (t >= next_poll) {
            if (!a->ctx.frozen && a->src->poll(a->src->self, a->data)) a->dirty = true;
            /* On a fixed grid, so that late wake-ups do not stretch the period (4 Hz stays 4 Hz). */
            next_poll = next_poll + o->interval_ms > t ? next_poll + o->interval_ms : t + o->interval_ms;
        }
        if (a->dirty) redraw(a);
        a->turns++;
        int wait = (int)(next_poll - now_ms());
        if (a->headless && wait > 0) napms(wait); /* /dev/null never blocks: keep the refresh pace anyway */
        timeout(wait > 0 && !a->headless ? wait : 0);
        int ch = getch();
        if (ch != ERR) {
            a->keys++;
            act(a, ch);
        }
    }
}

/* Without a terminal, --max-iterations still runs the whole loop (tests under sanitizers): curses draws into
 * /dev/null, sized by $COLUMNS × $LINES (else the terminal type's default), reading no keys. */
static int open_headless(app *a, xq_err *err)
{
    a->headless = true;
    a->tty_out = fopen("/dev/null", "w");
    a->tty_in = fopen("/dev/null", "r");
    if (!a->tty_out || !a->tty_in) return xq_fail(err, XQ_ERUN, "cannot open /dev/null");
    const char *term = getenv("TERM");
    if (term && *term && strcmp(term, "dumb") != 0) a->screen = newterm(term, a->tty_out, a->tty_in);
    if (!a->screen) a->screen = newterm("xterm", a->tty_out, a->tty_in);
    return a->screen ? 0 : xq_fail(err, XQ_ERUN, "no terminal, and no 'xterm' terminfo entry to draw headless");
}

static int open_screen(app *a, const ui_opts *o, xq_err *err)
{
    if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
        a->screen = newterm(NULL, stdout, stdin);
        return a->screen ? 0 : xq_fail(err, XQ_ERUN, "cannot use terminal '%s'", getenv("TERM"));
    }
    if (o->max_iterations > 0) return open_headless(a, err);
    return xq_fail(err, XQ_EINPUT, "not a terminal (the screen needs one; --once prints the data; `xqprof generate` "
                                   "prints plain text)");
}

static void close_screen(app *a)
{
    if (a->screen) {
        endwin();
        delscreen(a->screen);
    }
    if (a->tty_out) fclose(a->tty_out);
    if (a->tty_in) fclose(a->tty_in);
}

/* The rate counts the intervals between the first and the last redraw, so start-up does not dilute it. */
static void report_stats(const app *a, int64_t ms)
{
    if (!getenv("XQ_UI_STATS")) return;
    int64_t span = a->last_redraw_ms - a->first_redraw_ms;
    fprintf(stderr, "xqprof ui: %ld redraws, %ld loop turns, %ld keys in %.3f s (%.2f redraws/s)\n", a->redraws,
            a->turns, a->keys, (double)ms / 1e3, span > 0 ? (double)(a->redraws - 1) * 1e3 / (double)span : 0.0);
}

static int start_curses(app *a, const ui_opts *o, xq_err *err)
{
    ui_style *style = &a->ctx.style;
    setlocale(LC_CTYPE, ""); /* only the character set: numbers keep their '.' */
    const char *cs = nl_langinfo(CODESET);
    style->ascii = o->ascii || !cs || strcmp(cs, "UTF-8") != 0;
    style->color = o->color;
    set_escdelay(25); /* Esc closes overlays at once instead of after a second */
    int rc = open_screen(a, o, err);
    if (rc) return rc;
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    curs_set(0);
    ui_draw_init(style);
    catch_signals();
    return 0;
}

int ui_run(const ui_opts *o, ui_source *src, const ui_compare *cmp, const char *other_why, xq_err *err)
{
    app *a = calloc(1, sizeof *a);
    ui_data *d = calloc(1, sizeof *d);
    if (!a || !d) {
        free(a);
        free(d);
        return xq_fail(err, XQ_ERUN, "out of memory");
    }
    *a = (app){.data = d, .src = src, .view = o->first_view, .dirty = true};
    a->ctx.cmp = cmp;
    a->ctx.cmp_sel_layer = STORE_ALL_LAYERS;
    a->ctx.other_why = other_why;
    snprintf(a->ctx.filter, sizeof a->ctx.filter, "%s", o->filter ? o->filter : "");
    a->ctx.drilled = a->ctx.cmp_drilled = o->layer >= 0;
    a->ctx.drill_layer = a->ctx.cmp_layer = o->layer;
    load_roofs(&a->ctx, o->gpus);
    int64_t t0 = now_ms();
    int rc = start_curses(a, o, err);
    if (!rc) {
        loop(a, o);
        rc = stop_signal ? 130 : 0;
    }
    close_screen(a);
    if (!rc) report_stats(a, now_ms() - t0);
    free(d);
    free(a);
    return rc;
}
