/* xqprof top: the model generates in a worker thread (a prompt, or the sample prompts in a loop) while the
 * terminal UI shows the profiler's live snapshot. The worker owns the engine: the profiler must be created on
 * the thread that evaluates (prof.h), so the worker sets everything up and reports back before the screen
 * starts, which keeps every setup error a plain one-line message.
 *
 * Modes view: keys ask for another cache mode; between two tokens the worker builds it, re-prefills the text so
 * far (engine/mode_switch.h) and carries on, announcing each stretch under one mode to the screen. With --probe N
 * an fp16 shadow session (engine/probe.h) is fed the same tokens and compared every N tokens; it has no span
 * sink, so its time stays out of the step timings. One lock (worker.lock) covers what both threads touch: the
 * status, the stretches, the switch request, and the cache the screen reads while the worker replaces it. */
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/progress.h"
#include "cli/cache_opts.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/trace.h"
#include "cli/ui_opts.h"
#include "engine/mode_switch.h"
#include "engine/probe.h"
#include "engine/sample.h"
#include "engine/session.h"
#include "prof/prof.h"
#include "ui/keys.h"
#include "ui/export.h"
#include "ui/live.h"

static const char *const CMD = "top";
enum { MAX_PROMPTS = 64 };

typedef struct top_opts {
    const char *model, *prompt, *prompts_file, *cache, *trace;
    long long n_predict, n_ctx, threads;
    long long probe_every;  /* --probe N; 0: off */
    long long switch_after; /* --switch-after N:MODE: once N tokens are generated, switch to switch_mode */
    const char *switch_mode;
    cli_cache_opts copts;
    ui_opts ui;
    int argc;
    char **argv;
} top_opts;

typedef struct worker {
    const top_opts *o;
    const model *m;
    cache_params cp;
    char *prompts[MAX_PROMPTS];
    int n_prompts;
    prof *own_prof; /* without --trace */
    cli_trace *tr;  /* with --trace: it owns the profiler */
    prof *p;
    session *s;
    sampler *smp;
    probe *pr;       /* --probe: the fp16 shadow, else NULL */
    int32_t *text;   /* the tokens evaluated so far for the current prompt (re-prefilled on a switch) */
    int64_t n_text, generated;
    pthread_mutex_t lock;
    pthread_cond_t ready_cv;
    int ready;    /* 0 while setting up, 1 ready, −1 failed (the error was printed, setup_rc its code) */
    int setup_rc;
    char status[128], error[512];
    atomic_bool stop;
    atomic_bool done; /* the worker returned (top --once waits for it) */
    /* under lock: */
    const cache *ui_cache; /* the cache the screen may read (replaced under the lock, destroyed after) */
    char mode[48];         /* the mode running now */
    bool want_switch;      /* a key (or --switch-after) asked for want_mode */
    char want_mode[48], mode_note[160];
    int n_seg;
    ui_mode_segment seg[UI_MAX_SEGMENTS]; /* the worker's fields of each stretch (ui_live_segment) */
    int64_t seg_generated[UI_MAX_SEGMENTS];
} worker;

static void help(void)
{
    printf("usage: xqprof top [-m MODEL] [-p PROMPT] [--cache MODE] [--trace FILE] [options]\n\n"
           "Runs the model in the background, prompt after prompt, while the screen shows where each step's time\n"
           "and bytes go: 1 Overview, 2 Layers, 3 Roofline, 4 Timeline, 5 Modes (switch the cache mode live),\n"
           "6 Compare (two recorded runs: xqprof view A.db B.db). Keys 1-6 or Tab, ? help, q quit.\n\n"
           "  -m, --model FILE        GGUF model (default: $XQPROF_MODEL, else models/default.gguf)\n"
           "  -p, --prompt TEXT       the prompt, generated from again and again (default: the lines of\n"
           "                          samples/prompts.txt in a loop)\n"
           "      --prompts FILE      prompts, one per line, in a loop\n"
           "  -n, --n-predict N       tokens per prompt (default 128)\n"
           "  -c, --ctx-size N        context length (default 1024)\n"
           "  -t, --threads N         threads (default: all cores)\n"
           "      --cache MODE        cache mode (default fp16): see `xqprof ppl --help`; with --group, --window,\n"
           "                          --hi-layers, --fp16-ch0, --absorb-v\n"
           "      --trace FILE        also record everything into FILE (SQLite; open later with xqprof view)\n"
           "      --probe N           keep an fp16 shadow cache and compare logits every N tokens: live\n"
           "                          KL(fp16||mode) and top-1 agreement in the Modes view (doubles cache memory;\n"
           "                          the shadow's time is left out of the step timings)\n"
           "      --switch-after N:MODE  after N generated tokens switch the cache to MODE, as the Modes view's\n"
           "                          keys m/M (mode) and b/B (bits) do (for tests and benchmarks)\n"
           "%s"
           "  -h, --help              this help\n",
           CLI_UI_HELP);
}

/* N:MODE; the mode's name is checked here, its fit to the model once the model is loaded. */
static int parse_switch_after(char *arg, top_opts *o)
{
    char *colon = strchr(arg, ':');
    if (!colon || !colon[1])
        return cli_error(XQ_EINPUT, CMD, "--switch-after '%s': expected N:MODE, e.g. 32:kv-8", arg);
    *colon = 0;
    o->switch_mode = colon + 1;
    cache_params p;
    if (cli_cache_params(CMD, o->switch_mode, &o->copts, &p)) return XQ_EINPUT;
    return cli_int(CMD, "--switch-after", arg, 1, 1 << 24, &o->switch_after);
}

static int parse(int argc, char **argv, top_opts *o)
{
    static const struct option longs[] = {
        {"model", 1, 0, 'm'}, {"prompt", 1, 0, 'p'}, {"n-predict", 1, 0, 'n'}, {"ctx-size", 1, 0, 'c'},
        {"threads", 1, 0, 't'}, {"cache", 1, 0, 1}, {"trace", 1, 0, 2}, {"prompts", 1, 0, 3},
        {"probe", 1, 0, 4}, {"switch-after", 1, 0, 5}, {"help", 0, 0, 'h'}, CLI_CACHE_LONG_OPTIONS,
        CLI_UI_LONG_OPTIONS, {0, 0, 0, 0}};
    *o = (top_opts){.model = cli_default_model(), .cache = "fp16", .n_predict = 128, .n_ctx = 1024};
    cli_cache_opts_init(&o->copts);
    cli_ui_opts_init(&o->ui);
    opterr = 0;
    optind = 1;
    int ch, rc = 0;
    while (!rc && (ch = getopt_long(argc, argv, ":m:p:n:c:t:h", longs, NULL)) != -1) {
        switch (ch) {
        case 'm': o->model = optarg; break;
        case 'p': o->prompt = optarg; break;
        case 'n': rc = cli_int(CMD, "-n", optarg, 1, 1 << 24, &o->n_predict); break;
        case 'c': rc = cli_int(CMD, "-c", optarg, 1, 1 << 24, &o->n_ctx); break;
        case 't': rc = cli_int(CMD, "-t", optarg, 1, 1024, &o->threads); break;
        case 1: o->cache = optarg; break;
        case 2: o->trace = optarg; break;
        case 3: o->prompts_file = optarg; break;
        case 4: rc = cli_int(CMD, "--probe", optarg, 1, 1 << 20, &o->probe_every); break;
        case 5: rc = parse_switch_after(optarg, o); break;
        case 'h': help(); return -1;
        default:
            if (cli_cache_opt(CMD, ch, optarg, &o->copts, &rc) || cli_ui_opt(CMD, ch, optarg, &o->ui, &rc)) break;
            return cli_bad_option(CMD, ch, argv);
        }
    }
    if (rc) return rc;
    if (optind < argc) return cli_error(XQ_EINPUT, CMD, "unexpected argument '%s'", argv[optind]);
    return 0;
}

/* samples/prompts.txt of the project the binary was built in, else of the current folder. */
static const char *default_prompts(void)
{
    static char path[PATH_MAX];
    char exe[PATH_MAX - 64];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
        snprintf(path, sizeof path, "%s/../samples/prompts.txt", exe);
        if (access(path, R_OK) == 0) return path;
    }
    return access("samples/prompts.txt", R_OK) == 0 ? "samples/prompts.txt" : NULL;
}

/* Every prompt tokenizes (valid UTF-8), checked before the screen starts rather than failing under it. */
static int check_prompts(const worker *w)
{
    for (int i = 0; i < w->n_prompts; i++) {
        if (!w->prompts[i]) return cli_error(XQ_ERUN, CMD, "out of memory");
        int32_t *ids = NULL;
        int64_t n = 0;
        xq_err err = {0};
        int rc = cli_tokenize(w->m, w->prompts[i], strlen(w->prompts[i]), false, true, &ids, &n, &err);
        free(ids);
        if (rc && w->o->prompt) return cli_error(rc, CMD, "-p: %s", err.msg);
        if (rc) return cli_error(rc, CMD, "--prompts %s: prompt %d: %s", w->o->prompts_file, i + 1, err.msg);
    }
    return 0;
}

static int read_prompts(worker *w)
{
    if (w->o->prompt) return (w->prompts[w->n_prompts++] = strdup(w->o->prompt)) ? 0 : XQ_ERUN;
    const char *path = w->o->prompts_file ? w->o->prompts_file : default_prompts();
    char *text = NULL;
    size_t len = 0;
    xq_err err = {0};
    if (path && cli_read_file(path, &text, &len, &err)) {
        xq_err_prefix(&err, CMD);
        return cli_report(&err);
    }
    const char *nul = text ? memchr(text, 0, len) : NULL;
    if (nul) {
        size_t at = (size_t)(nul - text);
        free(text);
        return cli_error(XQ_EINPUT, CMD, "--prompts %s: not a text file (a NUL byte at offset %zu)", path, at);
    }
    for (char *save = NULL, *line = text ? strtok_r(text, "\n", &save) : NULL; line && w->n_prompts < MAX_PROMPTS;
         line = strtok_r(NULL, "\n", &save))
        if (*line) w->prompts[w->n_prompts++] = strdup(line);
    free(text);
    if (!w->n_prompts && w->o->prompts_file)
        return cli_error(XQ_EINPUT, CMD, "--prompts %s: no prompts in it (one per line)", w->o->prompts_file);
    if (!w->n_prompts) w->prompts[w->n_prompts++] = strdup("Once upon a time");
    return 0;
}

static int load_prompts(worker *w)
{
    int rc = read_prompts(w);
    return rc ? rc : check_prompts(w);
}

static void set_status(worker *w, const char *fmt, long long a, long long b, long long c)
{
    pthread_mutex_lock(&w->lock);
    snprintf(w->status, sizeof w->status, fmt, a, b, c);
    pthread_mutex_unlock(&w->lock);
}

static int setup_profiler(worker *w)
{
    const top_opts *o = w->o;
    cli_trace_info ti = {o->argc, o->argv, w->m, o->model, o->cache, NULL, (int)o->threads, o->n_ctx};
    int rc = cli_trace_open(o->trace, &ti, &w->tr);
    if (rc || w->tr) {
        w->p = w->tr ? cli_trace_prof(w->tr) : NULL;
        return rc;
    }
    xq_err err = {0};
    prof_params pp = {.n_layer = w->m->cfg.n_layer, .n_threads = (int)o->threads,
                      .calibrate = !getenv("XQPROF_NO_CALIBRATE"), .counters = false};
    if ((rc = prof_create(&pp, &w->own_prof, &err))) {
        xq_err_prefix(&err, CMD);
        return cli_report(&err);
    }
    w->p = w->own_prof;
    return 0;
}

/* ---- mode stretches, switches and the probe ---------------------------------------------------------------- */

/* The profiler's index of its next step (engine thread, between steps: every step is recorded or dropped). */
static int64_t next_step_index(prof *p)
{
    prof_stats st;
    prof_get_stats(p, &st);
    return st.steps + st.steps_dropped;
}

/* A new stretch under c's mode from the profiler's next step on; c becomes the cache the screen reads. Lock held. */
static void begin_segment(worker *w, const cache *c)
{
    if (w->n_seg == UI_MAX_SEGMENTS) {
        memmove(w->seg, w->seg + 1, sizeof w->seg[0] * (UI_MAX_SEGMENTS - 1));
        memmove(w->seg_generated, w->seg_generated + 1, sizeof w->seg_generated[0] * (UI_MAX_SEGMENTS - 1));
        w->n_seg--;
    }
    ui_mode_segment *g = &w->seg[w->n_seg];
    *g = (ui_mode_segment){.first_step = next_step_index(w->p), .bytes_per_token = cache_bytes_per_token(c),
                           .cache_persistent = -1};
    cache_params_name(&c->params, g->mode, sizeof g->mode);
    w->seg_generated[w->n_seg++] = 0;
    snprintf(w->mode, sizeof w->mode, "%s", g->mode);
    w->ui_cache = c;
}

/* mode_switch_apply's callback: the new cache is in place, the old one not yet destroyed. */
static void on_installed(void *user, const cache *fresh, const cache *old)
{
    worker *w = user;
    (void)old;
    pthread_mutex_lock(&w->lock);
    begin_segment(w, fresh); /* after this the screen no longer reads the old cache */
    pthread_mutex_unlock(&w->lock);
    prof_bind_cache(w->p, fresh);
}

/* A mode name with the command's --group, --window … applied, checked against the model; nothing printed (the
 * screen may be up). */
static int mode_params(const worker *w, const char *name, cache_params *out, xq_err *err)
{
    const cli_cache_opts *o = &w->o->copts;
    int rc = cache_params_parse(name, out, err);
    if (rc) return rc;
    if (o->group > 0) out->group = (int)o->group;
    if (o->window >= 0) out->window = (int)o->window;
    if (o->hi_layers >= 0) out->hi_layers = (int)o->hi_layers;
    out->fp16_ch0 = o->fp16_ch0;
    out->absorb_v = o->absorb_v;
    return cache_params_check(out, &w->m->cfg, err);
}

/* Applies a pending switch between two tokens. A mode that cannot be built is reported in the Modes view and the
 * run carries on in the old one; a failed re-prefill is an engine failure. */
/* Switches the cache mode if the screen asked; *switched tells whether it did (the logits are then the new
 * mode's). */
static int switch_if_asked(worker *w, bool *switched, xq_err *err)
{
    *switched = false;
    char name[48];
    pthread_mutex_lock(&w->lock);
    bool asked = w->want_switch && strcmp(w->want_mode, w->mode) != 0;
    w->want_switch = false;
    snprintf(name, sizeof name, "%s", w->want_mode);
    if (asked)
        snprintf(w->mode_note, sizeof w->mode_note, "switching to %s: rebuilding the cache, re-prefilling %lld tokens",
                 name, (long long)w->n_text);
    pthread_mutex_unlock(&w->lock);
    if (!asked) return 0;
    cache_params p;
    mode_switch_cost cost = {0};
    int rc = mode_params(w, name, &p, err);
    if (!rc) rc = mode_switch_apply(w->s, &p, w->text, w->n_text, on_installed, w, &cost, err);
    pthread_mutex_lock(&w->lock);
    bool installed = strcmp(w->mode, name) == 0;
    if (installed) {
        ui_mode_segment *g = &w->seg[w->n_seg - 1];
        g->build_ns = cost.build_ns;
        g->switch_ns = cost.prefill_ns;
        g->switch_tokens = cost.prefill_tokens;
        w->mode_note[0] = 0;
    } else {
        snprintf(w->mode_note, sizeof w->mode_note, "cannot switch to %.40s: %.100s", name, err->msg);
    }
    pthread_mutex_unlock(&w->lock);
    *switched = installed && !rc;
    return installed ? rc : 0;
}

static int feed_probe(worker *w, const int32_t *ids, int64_t n, xq_err *err)
{
    probe_check chk;
    int rc = probe_feed(w->pr, ids, n, session_logits(w->s, 0), &chk, err);
    if (rc || !chk.checked) return rc;
    pthread_mutex_lock(&w->lock);
    ui_mode_segment *g = &w->seg[w->n_seg - 1];
    g->probe_checks++;
    g->probe_top1_same += chk.match.same_top1;
    g->probe_kl_sum += chk.match.kl;
    g->probe_kl_last = chk.match.kl;
    g->probe_ns += chk.ns;
    pthread_mutex_unlock(&w->lock);
    return 0;
}

/* Evaluates tokens under the running mode, keeps them as the text so far, and feeds the probe. */
/* Evaluates ids and draws *next inside the same step (a traced OP_SAMPLE). ids may be next: it is written last. */
static int eval_tokens(worker *w, const int32_t *ids, int64_t n, int32_t *next, xq_err *err)
{
    int32_t drawn = 0;
    int rc = session_eval_sample(w->s, ids, n, w->smp, &drawn, err);
    if (rc) return rc;
    memcpy(w->text + w->n_text, ids, (size_t)n * sizeof *ids);
    w->n_text += n;
    if (w->pr && (rc = feed_probe(w, ids, n, err))) return rc;
    *next = drawn;
    return 0;
}

static void count_generated(worker *w)
{
    pthread_mutex_lock(&w->lock);
    w->seg_generated[w->n_seg - 1]++;
    if (++w->generated == w->o->switch_after) {
        snprintf(w->want_mode, sizeof w->want_mode, "%s", w->o->switch_mode);
        w->want_switch = true;
    }
    pthread_mutex_unlock(&w->lock);
}

/* The text buffer, the probe and the first stretch. */
static int setup_modes(worker *w)
{
    int64_t n_ctx = session_n_ctx(w->s);
    if (!(w->text = malloc((size_t)n_ctx * sizeof *w->text))) return cli_error(XQ_ERUN, CMD, "out of memory");
    if (w->o->probe_every) {
        xq_err err = {0};
        probe_params pp = {.n_ctx = n_ctx, .n_threads = (int)w->o->threads, .every = (int)w->o->probe_every};
        int rc = probe_create(w->m, &pp, &w->pr, &err);
        if (rc) {
            xq_err_prefix(&err, CMD);
            return cli_report(&err);
        }
    }
    pthread_mutex_lock(&w->lock);
    begin_segment(w, session_cache(w->s));
    pthread_mutex_unlock(&w->lock);
    return 0;
}

/* ---- the worker -------------------------------------------------------------------------------------------- */

static int setup_engine(worker *w)
{
    int rc = setup_profiler(w);
    if (rc) return rc;
    xq_err err = {0};
    session_params sp = {.n_ctx = w->o->n_ctx, .n_threads = (int)w->o->threads, .cache = w->cp,
                         .sink = prof_sink(w->p)};
    if ((rc = session_create(w->m, &sp, &w->s, &err))) {
        xq_err_prefix(&err, CMD);
        return cli_report(&err);
    }
    if (w->tr) cli_trace_bind(w->tr, w->s);
    else prof_bind_cache(w->p, session_cache(w->s));
    sampler_params smp_p = {0.8f, 40, 0.95f, 42};
    if (!(w->smp = sampler_create(w->m->cfg.n_vocab, &smp_p))) return cli_error(XQ_ERUN, CMD, "out of memory");
    return setup_modes(w);
}

static void fail(worker *w, const xq_err *err)
{
    pthread_mutex_lock(&w->lock);
    snprintf(w->error, sizeof w->error, "%s", err->msg);
    pthread_mutex_unlock(&w->lock);
}

/* One prompt: prefill, then up to n_predict tokens; returns non-zero on an engine failure (recorded). */
static int run_prompt(worker *w, int which)
{
    xq_err err = {0};
    int32_t *ids = NULL;
    int64_t n_ids = 0;
    const char *text = w->prompts[which];
    int rc = cli_tokenize(w->m, text, strlen(text), false, true, &ids, &n_ids, &err);
    int64_t room = session_n_ctx(w->s);
    if (!rc && n_ids > room) n_ids = room; /* a prompt longer than the context is cut, not fatal */
    session_reset(w->s);
    if (w->pr) probe_reset(w->pr);
    w->n_text = 0;
    set_status(w, "prompt %lld/%lld: prefill of %lld tokens", which + 1, w->n_prompts, n_ids);
    int32_t next = 0;
    if (!rc && n_ids) rc = eval_tokens(w, ids, n_ids, &next, &err);
    if (!rc && !n_ids) next = sampler_sample(w->smp, session_logits(w->s, 0));
    for (long long i = 0; !rc && i < w->o->n_predict && !atomic_load(&w->stop); i++) {
        bool switched = false;
        if ((rc = switch_if_asked(w, &switched, &err))) break;
        if (switched) next = sampler_sample(w->smp, session_logits(w->s, 0)); /* from the new mode's logits */
        if (tokenizer_is_eog(w->m->tok, next) || session_pos(w->s) >= session_n_ctx(w->s)) break;
        set_status(w, "prompt %lld/%lld: generating token %lld", which + 1, w->n_prompts, i + 1);
        if (!(rc = eval_tokens(w, &next, 1, &next, &err))) count_generated(w);
    }
    free(ids);
    if (rc) fail(w, &err);
    return rc;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    int rc = setup_engine(w);
    pthread_mutex_lock(&w->lock);
    w->ready = rc ? -1 : 1;
    w->setup_rc = rc;
    pthread_cond_signal(&w->ready_cv);
    pthread_mutex_unlock(&w->lock);
    for (int i = 0; !rc && !atomic_load(&w->stop); i = (i + 1) % w->n_prompts) {
        rc = run_prompt(w, i);
        if (w->o->ui.once) break; /* one prompt is the data --once prints */
    }
    if (!rc) set_status(w, "stopped", 0, 0, 0);
    atomic_store(&w->done, true);
    return NULL;
}

typedef struct top_source {
    worker *w;
    ui_live *live;
    char title[128];
} top_source;

static bool top_poll(void *self, ui_data *d)
{
    top_source *t = self;
    worker *w = t->w;
    const model_config *c = &w->m->cfg;
    uint64_t before = d->version;
    pthread_mutex_lock(&w->lock);
    /* Stretches before steps: a step polled now belongs to a stretch announced by now. */
    for (int i = 0; i < w->n_seg; i++)
        ui_live_segment(d, &w->seg[i]);
    ui_live_set_cache(t->live, w->ui_cache);
    bool changed = ui_live_poll(t->live, d) || d->version != before;
    changed |= strcmp(d->status, w->status) || strcmp(d->error, w->error) || strcmp(d->mode, w->mode) ||
               strcmp(d->mode_note, w->mode_note);
    snprintf(d->status, sizeof d->status, "%s", w->status);
    snprintf(d->error, sizeof d->error, "%s", w->error);
    snprintf(d->mode, sizeof d->mode, "%s", w->mode);
    snprintf(d->mode_note, sizeof d->mode_note, "%s", w->mode_note);
    pthread_mutex_unlock(&w->lock);
    snprintf(d->title, sizeof d->title, "%s", t->title);
    d->probe_every = (int)w->o->probe_every;
    d->threads = session_n_threads(w->s);
    d->n_ctx_max = session_n_ctx(w->s);
    d->fp16_bytes_per_token = 2.0 * 2.0 * c->n_layer * c->n_head_kv * c->head_dim; /* K and V, 2 bytes each */
    return changed;
}

/* The Modes view's keys: the next mode is counted from the one already asked for, so m m m moves three families. */
static void top_request(void *self, int what)
{
    top_source *t = self;
    worker *w = t->w;
    int d_family = what == UI_REQ_MODE_NEXT ? 1 : what == UI_REQ_MODE_PREV ? -1 : 0;
    int d_bits = what == UI_REQ_BITS_NEXT ? 1 : what == UI_REQ_BITS_PREV ? -1 : 0;
    char next[48];
    pthread_mutex_lock(&w->lock);
    const char *from = w->want_switch ? w->want_mode : w->mode;
    if (mode_switch_neighbour(&w->m->cfg, from, d_family, d_bits, next, sizeof next) != 0) {
        snprintf(w->mode_note, sizeof w->mode_note, "%s: not a mode that can be switched from", from);
    } else if (strcmp(next, from) == 0) {
        snprintf(w->mode_note, sizeof w->mode_note, "%s offers no other bits", from);
    } else {
        w->want_switch = strcmp(next, w->mode) != 0;
        snprintf(w->want_mode, sizeof w->want_mode, "%s", next);
        snprintf(w->mode_note, sizeof w->mode_note, "%s%s%s", w->want_switch ? "switching to " : "",
                 w->want_switch ? next : "", w->want_switch ? " at the next token" : "");
    }
    pthread_mutex_unlock(&w->lock);
}

static int wait_ready(worker *w)
{
    pthread_mutex_lock(&w->lock);
    while (!w->ready)
        pthread_cond_wait(&w->ready_cv, &w->lock);
    int ready = w->ready;
    pthread_mutex_unlock(&w->lock);
    return ready;
}

static int show(worker *w, const top_opts *o)
{
    top_source t = {.w = w, .live = ui_live_create(w->p, NULL, w->tr == NULL)};
    if (!t.live) return cli_error(XQ_ERUN, CMD, "out of memory");
    snprintf(t.title, sizeof t.title, "%s", w->m->name[0] ? w->m->name : o->model);
    ui_source src = {&t, top_poll, top_request};
    xq_err err = {0};
    int rc = ui_run(&o->ui, &src, NULL, "Compare: needs two recorded runs (xqprof view A.db B.db)", &err);
    ui_live_destroy(t.live);
    if (rc && err.msg[0]) {
        xq_err_prefix(&err, CMD);
        return cli_report(&err);
    }
    return rc;
}

/* --once: the first prompt runs to its end while the screen's source drains its records, then the view's data
 * goes to stdout. */
static int print_once(worker *w, const top_opts *o)
{
    top_source t = {.w = w, .live = ui_live_create(w->p, NULL, w->tr == NULL)};
    ui_data *d = calloc(1, sizeof *d);
    if (!t.live || !d) {
        ui_live_destroy(t.live);
        free(d);
        return cli_error(XQ_ERUN, CMD, "out of memory");
    }
    snprintf(t.title, sizeof t.title, "%s", w->m->name[0] ? w->m->name : o->model);
    while (!atomic_load(&w->done)) {
        top_poll(&t, d);
        usleep(50 * 1000);
    }
    for (int i = 0; i < 1000 && top_poll(&t, d); i++) /* what the queue still holds */
        ;
    ui_export_req r = {.format = (ui_format)o->ui.format, .view = o->ui.first_view, .d = d,
                       .other_why = "Compare: needs two recorded runs (xqprof view A.db B.db)",
                       .filter = o->ui.filter, .layer = o->ui.layer, .gpus = o->ui.gpus};
    int rc = ui_export(stdout, &r) ? cli_error(XQ_ERUN, CMD, "cannot write the output") : 0;
    if (!rc && w->error[0]) rc = XQ_ERUN; /* the data is printed, but a script must see the engine failed */
    ui_live_destroy(t.live);
    free(d);
    return rc;
}

/* After the screen closed: one stderr line per stretch when modes were switched or probed. */
static void print_modes(const worker *w)
{
    if (w->n_seg < 2 && !w->pr) return;
    for (int i = 0; i < w->n_seg; i++) {
        const ui_mode_segment *g = &w->seg[i];
        fprintf(stderr, "%s: mode %s: %lld tokens generated", CMD, g->mode, (long long)w->seg_generated[i]);
        if (g->build_ns || g->switch_tokens)
            fprintf(stderr, "; switched in %.1f ms (cache built in %.1f ms, %lld tokens re-prefilled)",
                    (double)(g->build_ns + g->switch_ns) / 1e6, (double)g->build_ns / 1e6,
                    (long long)g->switch_tokens);
        if (w->pr) {
            double n = g->probe_checks > 0 ? (double)g->probe_checks : 1.0;
            fprintf(stderr, "; probe: %lld checks, KL(fp16||mode) %.6f, top-1 %.3f", (long long)g->probe_checks,
                    g->probe_kl_sum / n, (double)g->probe_top1_same / n);
        }
        fputc('\n', stderr);
    }
}

/* Once the screen is up, work reported from below (a mode switch's SVD factors) goes to the status line. */
static void progress_to_status(void *ctx, const char *what, int64_t done, int64_t total)
{
    worker *w = ctx;
    pthread_mutex_lock(&w->lock);
    snprintf(w->status, sizeof w->status, "%s %lld/%lld", what, (long long)done, (long long)total);
    pthread_mutex_unlock(&w->lock);
}

/* --switch-after's mode, checked before the screen starts. */
static int check_switch_mode(const top_opts *o, const model *m)
{
    cache_params p;
    if (!o->switch_mode) return 0;
    return cli_cache_params(CMD, o->switch_mode, &o->copts, &p) ? XQ_EINPUT : cli_cache_check(CMD, &p, m);
}

static int run(const top_opts *o)
{
    /* Without a terminal only --once (data on stdout) and --max-iterations (the screen drawn into /dev/null) run. */
    if (!o->ui.once && o->ui.max_iterations <= 0 && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)))
        return cli_error(XQ_EINPUT, CMD, "not a terminal (xqprof generate prints plain text without one)");
    static worker w;
    w = (worker){.o = o, .lock = PTHREAD_MUTEX_INITIALIZER, .ready_cv = PTHREAD_COND_INITIALIZER};
    if (cli_cache_params(CMD, o->cache, &o->copts, &w.cp)) return XQ_EINPUT;
    model *m;
    int rc = cli_load_model(o->model, true, &m);
    if (rc) return rc;
    w.m = m;
    pthread_t th;
    if (!(rc = load_prompts(&w)) && !(rc = cli_cache_check(CMD, &w.cp, m)) && !(rc = check_switch_mode(o, m)) &&
        !(rc = cli_ui_check_layers(CMD, &o->ui, m->cfg.n_layer))) {
        if (pthread_create(&th, NULL, worker_main, &w)) rc = cli_error(XQ_ERUN, CMD, "cannot start the engine thread");
        else {
            if (wait_ready(&w) <= 0) rc = w.setup_rc;
            else {
                xq_progress_hook(progress_to_status, &w, NULL);
                rc = o->ui.once ? print_once(&w, o) : show(&w, o);
            }
            atomic_store(&w.stop, true);
            pthread_join(th, NULL);
        }
    }
    if (w.error[0]) fprintf(stderr, "xqprof: %s: %s\n", CMD, w.error);
    else if (!rc) print_modes(&w);
    rc = cli_trace_close(w.tr, rc);
    prof_destroy(w.own_prof);
    sampler_destroy(w.smp);
    probe_destroy(w.pr);
    free(w.text);
    session_destroy(w.s);
    for (int i = 0; i < w.n_prompts; i++)
        free(w.prompts[i]);
    model_free(m);
    return rc;
}

int cmd_top(int argc, char **argv)
{
    top_opts o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    o.argc = argc;
    o.argv = argv;
    return run(&o);
}
