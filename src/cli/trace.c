/* The --trace wiring of trace.h: store (SQLite file) ← writer thread ← profiler queue ← engine spans. */
#include "cli/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pool.h"
#include "base/runfiles.h"
#include "cli/common.h"
#include "prof/prof.h"
#include "store/store.h"
#include "store/writer.h"

enum { MAX_METRICS = 16 };

struct cli_trace {
    store *st;
    prof *prof;
    store_writer *writer;
    int64_t run;
    int threads; /* the session's, once bound */
    int64_t n_ctx;
    char cache_mode[64], cache_params[256];
    int n_metrics;
    char metric_names[MAX_METRICS][32];
    double metric_values[MAX_METRICS];
};

/* Shell-quotes args so that the recorded command can be pasted back into a shell. */
static char *command_line(int argc, char **argv)
{
    size_t size = 16;
    for (int i = 0; i < argc; i++)
        size += 4 * strlen(argv[i]) + 3;
    char *s = malloc(size), *p = s;
    if (!s) return NULL;
    p += sprintf(p, "xqprof");
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool plain =
            *a && strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./=:,+-@%") == strlen(a);
        *p++ = ' ';
        if (plain) {
            p += sprintf(p, "%s", a);
            continue;
        }
        *p++ = '\'';
        for (; *a; a++)
            p += *a == '\'' ? sprintf(p, "'\\''") : sprintf(p, "%c", *a);
        *p++ = '\'';
    }
    *p = 0;
    return s;
}

static void model_json(const model *m, char *buf, size_t size)
{
    const model_config *c = &m->cfg;
    snprintf(buf, size,
             "{\"n_layer\":%d,\"n_embd\":%d,\"n_ff\":%d,\"n_head\":%d,\"n_head_kv\":%d,\"head_dim\":%d,"
             "\"n_vocab\":%d,\"n_ctx_train\":%d,\"tied_output\":%s,\"n_params\":%llu,\"weight_bytes\":%llu}",
             c->n_layer, c->n_embd, c->n_ff, c->n_head, c->n_head_kv, c->head_dim, c->n_vocab, c->n_ctx_train,
             c->tied_output ? "true" : "false", (unsigned long long)m->n_params, (unsigned long long)m->weight_bytes);
}

static int begin_run(cli_trace *t, const cli_trace_info *in, xq_err *err)
{
    char config[512];
    model_json(in->m, config, sizeof config);
    char *cmd = command_line(in->argc, in->argv);
    if (!cmd) return xq_fail(err, XQ_ERUN, "out of memory");
    store_run_info ri = {.command = cmd,
                         .version = XQ_VERSION " (commit " XQ_COMMIT ")",
                         .model_file = in->model_path,
                         .model_name = in->m->name,
                         .model_config_json = config,
                         .cache_mode = in->cache_mode,
                         .cache_params_json = in->cache_params_json ? in->cache_params_json : "{}",
                         /* as the session resolves it: a run killed before its close keeps this value */
                         .threads = xq_threads_or_all(in->threads),
                         .n_ctx = in->n_ctx};
    int rc = store_run_begin(t->st, &ri, &t->run, err);
    free(cmd);
    return rc;
}

static int open_parts(cli_trace *t, const char *path, const cli_trace_info *in, xq_err *err)
{
    int rc = store_open(path, &t->st, err);
    if (rc) return rc;
    prof_params pp = {.n_layer = in->m->cfg.n_layer,
                      .n_threads = in->threads,
                      .calibrate = !getenv("XQPROF_NO_CALIBRATE"),
                      .counters = true};
    if ((rc = prof_create(&pp, &t->prof, err))) return rc;
    if ((rc = begin_run(t, in, err))) return rc;
    return store_writer_start(t->st, t->run, t->prof, in->model_path, &t->writer, err);
}

static void free_parts(cli_trace *t)
{
    store_close(t->st);
    prof_destroy(t->prof);
    free(t);
}

/* A name SQLite would take for something other than a file on disk: an empty name and ":memory:" make a
 * database that vanishes at exit, "file:..." is a URI (?mode=memory, ?vfs=...). */
static int check_trace_name(const char *path, xq_err *err)
{
    if (!*path) return xq_fail(err, XQ_EINPUT, "--trace: empty file name");
    if (!strcmp(path, ":memory:") || !strncmp(path, "file:", 5))
        return xq_fail(err, XQ_EINPUT,
                       "--trace '%s': not a file on disk (SQLite would keep nothing; for a file of that "
                       "name, write ./%s)",
                       path, path);
    return XQ_OK;
}

int cli_trace_check(const char *cmd, const char *path)
{
    xq_err err = {0};
    if (!path) return 0;
    if (check_trace_name(path, &err)) {
        xq_err_prefix(&err, cmd);
        return cli_report(&err);
    }
    return cli_check_output(cmd, "--trace", path);
}

int cli_trace_open(const char *path, const cli_trace_info *info, cli_trace **out)
{
    *out = NULL;
    if (!path) return 0;
    xq_err err = {0};
    if (check_trace_name(path, &err) || xq_files_check_output(path, &err)) {
        xq_err_prefix(&err, "trace");
        return cli_report(&err);
    }
    cli_trace *t = calloc(1, sizeof *t);
    if (!t) return cli_error(XQ_ERUN, "trace", "out of memory");
    int rc = open_parts(t, path, info, &err);
    if (rc) {
        free_parts(t);
        xq_err_prefix(&err, "trace");
        return cli_report(&err);
    }
    cli_catch_signals();
    *out = t;
    return 0;
}

const span_sink *cli_trace_sink(cli_trace *t)
{
    return t ? prof_sink(t->prof) : NULL;
}

prof *cli_trace_prof(cli_trace *t)
{
    return t ? t->prof : NULL;
}

void cli_trace_bind(cli_trace *t, const session *s)
{
    if (!t || !s) return;
    const cache *c = session_cache(s);
    prof_bind_cache(t->prof, c);
    t->threads = session_n_threads(s);
    t->n_ctx = session_n_ctx(s);
    const cache_params *p = &c->params;
    cache_params_name(p, t->cache_mode, sizeof t->cache_mode);
    snprintf(t->cache_params, sizeof t->cache_params,
             "{\"bits\":%d,\"group\":%d,\"window\":%d,\"hi_layers\":%d,\"fp16_ch0\":%s,\"absorb_v\":%s,"
             "\"tile_tokens\":%d}",
             p->bits, p->group, p->window, p->hi_layers, p->fp16_ch0 ? "true" : "false", p->absorb_v ? "true" : "false",
             p->tile_tokens);
}

void cli_trace_metric(cli_trace *t, const char *name, double value)
{
    if (!t || t->n_metrics == MAX_METRICS) return;
    snprintf(t->metric_names[t->n_metrics], sizeof t->metric_names[0], "%s", name);
    t->metric_values[t->n_metrics++] = value;
}

int cli_trace_close(cli_trace *t, int rc)
{
    if (!t) return rc;
    const char *status = cli_interrupted() ? "interrupted" : rc == 0 ? "done" : "failed";
    prof_publish(t->prof);
    xq_err err = {0};
    prof_stats before;
    prof_get_stats(t->prof, &before);
    if (store_writer_packing(t->writer) && before.spans >= 1000000) /* ~0.5 s a million: say what the wait is */
        fprintf(stderr, "trace: %s: writing the op rows of the run's %lld spans…\n", store_path(t->st),
                (long long)before.spans);
    int trc = store_writer_finish(t->writer, status, &err);
    if (!trc && t->n_ctx > 0)
        trc = store_run_set_session(t->st, t->run, t->threads, t->n_ctx, t->cache_mode, t->cache_params, &err);
    for (int i = 0; !trc && i < t->n_metrics; i++)
        trc = store_metric(t->st, t->run, t->metric_names[i], t->metric_values[i], &err);
    prof_stats stats;
    prof_get_stats(t->prof, &stats);
    if (!trc)
        fprintf(stderr, "trace: %s run %lld: %lld steps, %lld spans, %lld dropped\n", store_path(t->st),
                (long long)t->run, (long long)stats.steps, (long long)stats.spans, (long long)stats.spans_dropped);
    free_parts(t);
    if (!trc) return rc;
    xq_err_prefix(&err, "trace");
    cli_report(&err);
    return rc ? rc : XQ_ERUN;
}
