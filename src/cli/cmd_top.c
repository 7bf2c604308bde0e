/* xqprof top: the model generates in a worker thread (a prompt, or the sample prompts in a loop) while the
 * terminal UI shows the profiler's live snapshot. The worker owns the engine: the profiler must be created on
 * the thread that evaluates (prof.h), so the worker sets everything up and reports back before the screen
 * starts, which keeps every setup error a plain one-line message. */
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cache_opts.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/trace.h"
#include "cli/ui_opts.h"
#include "engine/sample.h"
#include "engine/session.h"
#include "prof/prof.h"
#include "ui/live.h"

static const char *const CMD = "top";
enum { MAX_PROMPTS = 64 };

typedef struct top_opts {
    const char *model, *prompt, *prompts_file, *cache, *trace;
    long long n_predict, n_ctx, threads;
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
    pthread_mutex_t lock;
    pthread_cond_t ready_cv;
    int ready;    /* 0 while setting up, 1 ready, −1 failed (the error was printed, setup_rc its code) */
    int setup_rc;
    char status[128], error[512];
    atomic_bool stop;
} worker;

static void help(void)
{
    printf("usage: xqprof top [-m MODEL] [-p PROMPT] [--cache MODE] [--trace FILE] [options]\n\n"
           "Runs the model in the background, prompt after prompt, while the screen shows where each step's time\n"
           "and bytes go: Overview, Layers, Roofline, Timeline (keys 1-6 or Tab, ? help, q quit).\n\n"
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
           "%s"
           "  -h, --help              this help\n",
           CLI_UI_HELP);
}

static int parse(int argc, char **argv, top_opts *o)
{
    static const struct option longs[] = {
        {"model", 1, 0, 'm'}, {"prompt", 1, 0, 'p'}, {"n-predict", 1, 0, 'n'}, {"ctx-size", 1, 0, 'c'},
        {"threads", 1, 0, 't'}, {"cache", 1, 0, 1}, {"trace", 1, 0, 2}, {"prompts", 1, 0, 3},
        {"help", 0, 0, 'h'}, CLI_CACHE_LONG_OPTIONS, CLI_UI_LONG_OPTIONS, {0, 0, 0, 0}};
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
        case 'h': help(); return -1;
        case ':': return cli_error(XQ_EINPUT, CMD, "option %s needs a value", argv[optind - 1]);
        default:
            if (cli_cache_opt(CMD, ch, optarg, &o->copts, &rc) || cli_ui_opt(CMD, ch, optarg, &o->ui, &rc)) break;
            return cli_error(XQ_EINPUT, CMD, "unknown option '%s' (see --help)", argv[optind - 1]);
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

static int load_prompts(worker *w)
{
    if (w->o->prompt) return (w->prompts[w->n_prompts++] = strdup(w->o->prompt)) ? 0 : XQ_ERUN;
    const char *path = w->o->prompts_file ? w->o->prompts_file : default_prompts();
    char *text = NULL;
    size_t len;
    xq_err err = {0};
    if (path && cli_read_file(path, &text, &len, &err)) {
        xq_err_prefix(&err, CMD);
        return cli_report(&err);
    }
    for (char *save = NULL, *line = text ? strtok_r(text, "\n", &save) : NULL; line && w->n_prompts < MAX_PROMPTS;
         line = strtok_r(NULL, "\n", &save))
        if (*line) w->prompts[w->n_prompts++] = strdup(line);
    free(text);
    if (!w->n_prompts) w->prompts[w->n_prompts++] = strdup("Once upon a time");
    return 0;
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
    return 0;
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
    set_status(w, "prompt %lld/%lld: prefill of %lld tokens", which + 1, w->n_prompts, n_ids);
    if (!rc && n_ids) rc = session_eval(w->s, ids, n_ids, &err);
    for (long long i = 0; !rc && i < w->o->n_predict && !atomic_load(&w->stop); i++) {
        int32_t next = sampler_sample(w->smp, session_logits(w->s, 0));
        if (tokenizer_is_eog(w->m->tok, next) || session_pos(w->s) >= session_n_ctx(w->s)) break;
        set_status(w, "prompt %lld/%lld: generating token %lld", which + 1, w->n_prompts, i + 1);
        rc = session_eval(w->s, &next, 1, &err);
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
    for (int i = 0; !rc && !atomic_load(&w->stop); i = (i + 1) % w->n_prompts)
        rc = run_prompt(w, i);
    if (!rc) set_status(w, "stopped", 0, 0, 0);
    return NULL;
}

typedef struct top_source {
    worker *w;
    ui_live *live;
    char title[128], mode[48];
} top_source;

static bool top_poll(void *self, ui_data *d)
{
    top_source *t = self;
    const worker *w = t->w;
    const model_config *c = &w->m->cfg;
    bool changed = ui_live_poll(t->live, d);
    pthread_mutex_lock(&t->w->lock);
    changed |= strcmp(d->status, w->status) || strcmp(d->error, w->error);
    snprintf(d->status, sizeof d->status, "%s", w->status);
    snprintf(d->error, sizeof d->error, "%s", w->error);
    pthread_mutex_unlock(&t->w->lock);
    snprintf(d->title, sizeof d->title, "%s", t->title);
    snprintf(d->mode, sizeof d->mode, "%s", t->mode);
    d->threads = session_n_threads(w->s);
    d->n_ctx_max = session_n_ctx(w->s);
    d->fp16_bytes_per_token = 2.0 * 2.0 * c->n_layer * c->n_head_kv * c->head_dim; /* K and V, 2 bytes each */
    return changed;
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
    top_source t = {.w = w, .live = ui_live_create(w->p, session_cache(w->s), w->tr == NULL)};
    if (!t.live) return cli_error(XQ_ERUN, CMD, "out of memory");
    snprintf(t.title, sizeof t.title, "%s", w->m->name[0] ? w->m->name : o->model);
    cache_params_name(&w->cp, t.mode, sizeof t.mode);
    ui_source src = {&t, top_poll};
    xq_err err = {0};
    int rc = ui_run(&o->ui, &src, NULL, "Compare: needs two recorded runs (xqprof view A.db B.db)", &err);
    ui_live_destroy(t.live);
    if (rc && err.msg[0]) {
        xq_err_prefix(&err, CMD);
        return cli_report(&err);
    }
    return rc;
}

static int run(const top_opts *o)
{
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        return cli_error(XQ_EINPUT, CMD, "not a terminal (xqprof generate prints plain text without one)");
    static worker w;
    w = (worker){.o = o, .lock = PTHREAD_MUTEX_INITIALIZER, .ready_cv = PTHREAD_COND_INITIALIZER};
    if (cli_cache_params(CMD, o->cache, &o->copts, &w.cp)) return XQ_EINPUT;
    model *m;
    int rc = cli_load_model(o->model, true, &m);
    if (rc) return rc;
    w.m = m;
    pthread_t th;
    if (!(rc = load_prompts(&w)) && !(rc = cli_cache_check(CMD, &w.cp, m))) {
        if (pthread_create(&th, NULL, worker_main, &w)) rc = cli_error(XQ_ERUN, CMD, "cannot start the engine thread");
        else {
            rc = wait_ready(&w) > 0 ? show(&w, o) : w.setup_rc;
            atomic_store(&w.stop, true);
            pthread_join(th, NULL);
        }
    }
    if (w.error[0]) fprintf(stderr, "xqprof: %s: %s\n", CMD, w.error);
    rc = cli_trace_close(w.tr, rc);
    prof_destroy(w.own_prof);
    sampler_destroy(w.smp);
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
