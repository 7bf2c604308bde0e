/* xqprof bench: prefill (ppN) and decode (tgN) tokens/s as median ± standard deviation of -r runs. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/trace.h"
#include "engine/session.h"
#include "model/qtypes.h"

static const char *const CMD = "bench";

typedef struct bench_opts {
    const char *model, *cache, *trace;
    long long n_prompt, n_gen, threads, reps;
    int argc; /* the command line, recorded by --trace */
    char **argv;
} bench_opts;

static void help(void)
{
    printf("usage: xqprof bench [-m MODEL] [-p 512] [-n 128] [-t N] [-r 5] [--cache MODE]\n\n"
           "Measures prefill (ppP: P prompt tokens in one batch) and decode (tgN: N tokens one at a time from\n"
           "an empty cache) speed in tokens/s, as the median and standard deviation of R runs after a warm-up,\n"
           "on random token ids. Prints a table like llama-bench's.\n\n"
           "  -m, --model FILE   GGUF model (default: models/default.gguf)\n"
           "  -p, --n-prompt P   prompt tokens for the pp test; 0 skips it (default 512)\n"
           "  -n, --n-gen N      generated tokens for the tg test; 0 skips it (default 128)\n"
           "  -t, --threads N    threads (default: all cores)\n"
           "  -r, --repetitions R  runs per test (default 5)\n"
           "      --cache MODE   KV cache mode (default fp16)\n"
           "      --trace FILE   record time, FLOPs and bytes per step, layer and op into FILE (SQLite)\n");
}

static int parse(int argc, char **argv, bench_opts *o)
{
    static const struct option longs[] = {{"model", 1, 0, 'm'},   {"n-prompt", 1, 0, 'p'},    {"n-gen", 1, 0, 'n'},
                                          {"threads", 1, 0, 't'}, {"repetitions", 1, 0, 'r'}, {"cache", 1, 0, 1},
                                          {"trace", 1, 0, 2},     {"help", 0, 0, 'h'},        {0, 0, 0, 0}};
    *o = (bench_opts){.model = cli_default_model(), .cache = "fp16", .n_prompt = 512, .n_gen = 128, .reps = 5};
    opterr = 0;
    optind = 1;
    int ch, rc = 0;
    while (!rc && (ch = getopt_long(argc, argv, ":m:p:n:t:r:h", longs, NULL)) != -1) {
        switch (ch) {
        case 'm': o->model = optarg; break;
        case 'p': rc = cli_int(CMD, "-p", optarg, 0, 1 << 20, &o->n_prompt); break;
        case 'n': rc = cli_int(CMD, "-n", optarg, 0, 1 << 20, &o->n_gen); break;
        case 't': rc = cli_int(CMD, "-t", optarg, 1, 1024, &o->threads); break;
        case 'r': rc = cli_int(CMD, "-r", optarg, 1, 1000, &o->reps); break;
        case 1: o->cache = optarg; break;
        case 2: o->trace = optarg; break;
        case 'h': help(); return -1;
        case ':': return cli_error(XQ_EINPUT, CMD, "option %s needs a value", argv[optind - 1]);
        default: return cli_error(XQ_EINPUT, CMD, "unknown option '%s' (see --help)", argv[optind - 1]);
        }
    }
    if (rc) return rc;
    if (optind < argc) return cli_error(XQ_EINPUT, CMD, "unexpected argument '%s'", argv[optind]);
    if (o->n_prompt == 0 && o->n_gen == 0) return cli_error(XQ_EINPUT, CMD, "-p and -n are both 0: nothing to run");
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One timed run: pp evaluates all ids in one call, tg one at a time. Returns tokens/s or < 0 on error. */
static double timed_run(session *s, const int32_t *ids, int64_t n, bool one_by_one, xq_err *err)
{
    session_reset(s);
    int64_t t0 = xq_now_ns();
    for (int64_t i = 0; i < n; i += one_by_one ? 1 : n) {
        if (cli_interrupted()) { /* --trace catches SIGINT/SIGTERM: stop here, the trace is closed after */
            xq_fail(err, XQ_ERUN, "bench: interrupted");
            return -1;
        }
        if (session_eval(s, ids + i, one_by_one ? 1 : n, err)) return -1;
    }
    return (double)n / ((double)(xq_now_ns() - t0) / 1e9);
}

static int run_test(session *s, const model *m, const char *test, const int32_t *ids, int64_t n, bool tg,
                    const bench_opts *o, xq_err *err)
{
    double *tps = calloc((size_t)o->reps, sizeof *tps);
    if (!tps) return xq_fail(err, XQ_ERUN, "bench: out of memory");
    if (timed_run(s, ids, n, tg, err) < 0) { /* warm-up: page in the weights */
        free(tps);
        return err->code;
    }
    for (long long r = 0; r < o->reps; r++) {
        cli_progress(test, r, o->reps, NULL);
        if ((tps[r] = timed_run(s, ids, n, tg, err)) < 0) {
            free(tps);
            return err->code;
        }
    }
    cli_progress_done();
    double mean = 0, var = 0;
    for (long long r = 0; r < o->reps; r++) mean += tps[r] / (double)o->reps;
    for (long long r = 0; r < o->reps; r++) var += (tps[r] - mean) * (tps[r] - mean);
    double sd = o->reps > 1 ? sqrt(var / (double)(o->reps - 1)) : 0.0;
    qsort(tps, (size_t)o->reps, sizeof *tps, cmp_double);
    double median = o->reps % 2 ? tps[o->reps / 2] : 0.5 * (tps[o->reps / 2 - 1] + tps[o->reps / 2]);
    printf("| %-28.28s | %9.2f MiB | %8.2f M | CPU     | %7d | %-6s | %8s | %14.2f ± %.2f |\n", m->name,
           (double)m->weight_bytes / (1 << 20), (double)m->n_params / 1e6, session_n_threads(s), test, o->cache,
           median, sd);
    fflush(stdout);
    free(tps);
    return XQ_OK;
}

static int run(const bench_opts *o)
{
    xq_err err = {0};
    cache_params cp;
    if (cache_params_parse(o->cache, &cp, &err)) return cli_report(&err);
    model *m;
    int rc = cli_load_model(o->model, false, &m);
    if (rc) return rc;
    int64_t n_max = o->n_prompt > o->n_gen ? o->n_prompt : o->n_gen;
    int32_t *ids = malloc((size_t)n_max * sizeof *ids);
    uint64_t state = 12345;
    for (int64_t i = 0; i < n_max; i++) { /* random ids, as llama-bench uses */
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        ids[i] = (int32_t)((state >> 33) % (uint64_t)m->cfg.n_vocab);
    }
    session_params sp = {.n_ctx = n_max, .n_batch = o->n_prompt > 0 ? o->n_prompt : 1, .n_threads = (int)o->threads,
                         .cache = cp};
    session *s = NULL;
    cli_trace *tr = NULL;
    cli_trace_info ti = {o->argc, o->argv, m, o->model, o->cache, NULL, (int)o->threads, n_max};
    if ((rc = cli_trace_open(o->trace, &ti, &tr))) goto done;
    sp.sink = cli_trace_sink(tr);
    if ((rc = session_create(m, &sp, &s, &err))) goto report;
    cli_trace_bind(tr, s);
    printf("| %-28s | %13s | %10s | backend | threads | test   | cache    | %19s |\n", "model", "size", "params",
           "t/s (median ± sd)");
    printf("| %.28s | %.13s | %.10s | ------- | ------: | ------ | -------- | %.19s |\n",
           "----------------------------", "------------:", "---------:", "------------------:");
    char name[32];
    if (o->n_prompt > 0) {
        snprintf(name, sizeof name, "pp%lld", o->n_prompt);
        if ((rc = run_test(s, m, name, ids, o->n_prompt, false, o, &err))) goto report;
    }
    if (o->n_gen > 0) {
        snprintf(name, sizeof name, "tg%lld", o->n_gen);
        if ((rc = run_test(s, m, name, ids, o->n_gen, true, o, &err))) goto report;
    }
    goto done;
report:
    rc = cli_interrupted() ? 130 : cli_report(&err);
done:
    rc = cli_trace_close(tr, rc);
    session_destroy(s);
    free(ids);
    model_free(m);
    return rc;
}

int cmd_bench(int argc, char **argv)
{
    bench_opts o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    o.argc = argc;
    o.argv = argv;
    return run(&o);
}
