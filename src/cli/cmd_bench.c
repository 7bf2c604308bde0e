/* xqprof bench: prefill (ppP) and decode (tgN) tokens/s as median ± standard deviation of -r runs, for every
 * combination of thread counts, cache modes and cache depths; the achieved DRAM bandwidth of decode against a
 * measured streaming-read bandwidth; optional CSV. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "cli/cache_opts.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/trace.h"
#include "engine/session.h"
#include "prof/roofline.h"

static const char *const CMD = "bench";

enum { MAX_LIST = 32 };

typedef struct int_list {
    int n;
    long long v[MAX_LIST];
} int_list;

typedef struct bench_opts {
    const char *model, *trace, *csv;
    const char *modes[MAX_LIST];
    int n_modes;
    char modes_buf[1024];
    int_list threads, ctx;
    long long n_prompt, n_gen, reps;
    cli_cache_opts cache;
    int argc; /* the command line, recorded by --trace */
    char **argv;
} bench_opts;

/* One measured row. */
typedef struct bench_row {
    const char *mode;
    char test[32];
    int threads;
    long long ctx;
    double median, sd, gb_per_s;
} bench_row;

static void help(void)
{
    printf("usage: xqprof bench [-m MODEL] [-p 512] [-n 128] [-t LIST] [-r 5] [--modes LIST] [--ctx LIST]\n"
           "                    [--csv FILE] [--trace FILE] [cache options]\n\n"
           "Measures prefill (ppP: P prompt tokens in one batch) and decode (tgN: N tokens one at a time) speed in\n"
           "tokens/s, as the median and standard deviation of R runs after a warm-up, on random token ids, for\n"
           "every combination of threads, cache mode and cache depth. Decode at --ctx L first fills the cache\n"
           "with L tokens and measures N tokens from there; later runs rewind the cache to L (exact: the caches\n"
           "address rows by position) instead of filling it again, when N is at most the batch size (512 or P).\n"
           "Decode also reports GB/s: weight bytes per token x tokens/s, against this machine's measured\n"
           "streaming-read bandwidth. \"peak RSS\" is the process's peak resident set (MiB) after each row: one\n"
           "mode per process isolates it (scripts/bench-modes).\n\n"
           "  -m, --model FILE     GGUF model (default: models/default.gguf)\n"
           "  -p, --n-prompt P     prompt tokens for the pp test; 0 skips it (default 512)\n"
           "  -n, --n-gen N        generated tokens for the tg test; 0 skips it (default 128)\n"
           "  -t, --threads LIST   thread counts, e.g. 1,2 (default: all cores)\n"
           "  -r, --repetitions R  runs per test (default 5)\n"
           "      --modes LIST     cache modes, e.g. fp16,kv-4,xq-4 (default fp16); --cache MODE is one mode\n"
           "      --ctx LIST       cache depths for the tg test, e.g. 0,2048,8192 (default 0)\n"
           "      --csv FILE       also write test,threads,mode,ctx,tokens_per_s,stddev,gb_per_s ('-' = stdout)\n"
           "      --trace FILE     record spans into FILE (SQLite); one setting only\n"
           "%s",
           CLI_CACHE_HELP);
}

static int parse_int_list(const char *flag, const char *s, long long lo, long long hi, int_list *out)
{
    out->n = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (out->n == MAX_LIST) return cli_error(XQ_EINPUT, CMD, "%s: at most %d values", flag, MAX_LIST);
        long long v;
        /* k/K suffix: 2k = 2048, as in the other commands' context lists */
        size_t len = strlen(tok);
        long long mult = 1;
        if (len > 1 && (tok[len - 1] == 'k' || tok[len - 1] == 'K')) {
            tok[len - 1] = 0;
            mult = 1024;
        }
        if (cli_int(CMD, flag, tok, lo, hi / mult, &v)) return XQ_EINPUT;
        out->v[out->n++] = v * mult;
    }
    return out->n ? 0 : cli_error(XQ_EINPUT, CMD, "%s: empty list", flag);
}

static int parse_modes(const char *s, bench_opts *o)
{
    snprintf(o->modes_buf, sizeof o->modes_buf, "%s", s);
    o->n_modes = 0;
    for (char *save = NULL, *tok = strtok_r(o->modes_buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (o->n_modes == MAX_LIST) return cli_error(XQ_EINPUT, CMD, "--modes: at most %d modes", MAX_LIST);
        o->modes[o->n_modes++] = tok;
    }
    return o->n_modes ? 0 : cli_error(XQ_EINPUT, CMD, "--modes: empty list");
}

/* Every mode and output, before the first row: a bad one found after minutes of measuring wastes them. */
static int check_before_run(const bench_opts *o)
{
    cache_params cp;
    for (int k = 0; k < o->n_modes; k++)
        if (cli_cache_params(CMD, o->modes[k], &o->cache, &cp)) return XQ_EINPUT;
    int rc = cli_check_input(CMD, "-m", o->model);
    if (!rc && o->csv) rc = cli_check_output(CMD, "--csv", o->csv);
    return rc ? rc : cli_trace_check(CMD, o->trace);
}

/* The modes against the model (e.g. a GQA mode on a model without GQA), once it is loaded. */
static int check_modes(const bench_opts *o, const model *m)
{
    cache_params cp;
    for (int k = 0; k < o->n_modes; k++)
        if (cli_cache_params(CMD, o->modes[k], &o->cache, &cp) || cli_cache_check(CMD, &cp, m)) return XQ_EINPUT;
    return 0;
}

static int parse(int argc, char **argv, bench_opts *o)
{
    static const struct option longs[] = {
        {"model", 1, 0, 'm'}, {"n-prompt", 1, 0, 'p'}, {"n-gen", 1, 0, 'n'}, {"threads", 1, 0, 't'},
        {"repetitions", 1, 0, 'r'}, {"cache", 1, 0, 1}, {"trace", 1, 0, 2}, {"modes", 1, 0, 3}, {"ctx", 1, 0, 4},
        {"csv", 1, 0, 5}, {"help", 0, 0, 'h'}, CLI_CACHE_LONG_OPTIONS, {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->model = cli_default_model();
    o->n_prompt = 512;
    o->n_gen = 128;
    o->reps = 5;
    o->modes[0] = "fp16";
    o->n_modes = 1;
    o->threads = (int_list){1, {xq_cpu_count()}};
    o->ctx = (int_list){1, {0}};
    cli_cache_opts_init(&o->cache);
    opterr = 0;
    optind = 1;
    int ch, rc = 0;
    while (!rc && (ch = getopt_long(argc, argv, ":m:p:n:t:r:h", longs, NULL)) != -1) {
        if (cli_cache_opt(CMD, ch, optarg, &o->cache, &rc)) continue;
        switch (ch) {
        case 'm': o->model = optarg; break;
        case 'p': rc = cli_int(CMD, "-p", optarg, 0, 1 << 20, &o->n_prompt); break;
        case 'n': rc = cli_int(CMD, "-n", optarg, 0, 1 << 20, &o->n_gen); break;
        case 't': rc = parse_int_list("-t", optarg, 1, 1024, &o->threads); break;
        case 'r': rc = cli_int(CMD, "-r", optarg, 1, 1000, &o->reps); break;
        case 1:
        case 3: rc = parse_modes(optarg, o); break;
        case 2: o->trace = optarg; break;
        case 4: rc = parse_int_list("--ctx", optarg, 0, 1 << 24, &o->ctx); break;
        case 5: o->csv = optarg; break;
        case 'h': help(); return -1;
        default: return cli_bad_option(CMD, ch, argv);
        }
    }
    if (rc) return rc;
    if (optind < argc) return cli_error(XQ_EINPUT, CMD, "unexpected argument '%s'", argv[optind]);
    if (o->n_prompt == 0 && o->n_gen == 0) return cli_error(XQ_EINPUT, CMD, "-p and -n are both 0: nothing to run");
    if (o->trace && (o->threads.n > 1 || o->n_modes > 1 || o->ctx.n > 1))
        return cli_error(XQ_EINPUT, CMD, "--trace records one setting: give one -t, one mode and one --ctx");
    return check_before_run(o);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The first `depth` fill tokens, in batches of 512, with a progress bar (an 8K fill of an X mode takes a minute). */
static int fill_cache(session *s, const int32_t *fill, int64_t depth, const char *label, xq_err *err)
{
    enum { CHUNK = 512 };
    char what[64];
    snprintf(what, sizeof what, "filling the cache to %lld", (long long)depth);
    for (int64_t done = 0; done < depth; done += CHUNK) {
        if (cli_interrupted()) return xq_fail(err, XQ_ERUN, "bench: interrupted");
        cli_progress(label, done, depth, what);
        if (session_eval(s, fill + done, depth - done < CHUNK ? depth - done : CHUNK, err)) return err->code;
    }
    return XQ_OK;
}

/* One timed run from cache depth `depth`: pp evaluates all ids in one call, tg one at a time. The depth is
 * filled first (untimed), or, when the cache still holds it from the last run (*fill_held: how many leading
 * positions hold the fill), rewound to: a rewound cache is the filled one (session_rewind), so a depth of 8K
 * is filled once per test, not once per run. Returns tokens/s or < 0 on error. */
static double timed_run(session *s, const int32_t *fill, int64_t depth, int64_t *fill_held, const int32_t *ids,
                        int64_t n, bool one_by_one, const char *label, xq_err *err)
{
    xq_err not_here = {0};
    bool rewound = depth > 0 && *fill_held >= depth && session_rewind(s, depth, &not_here) == XQ_OK;
    if (!rewound) {
        session_reset(s);
        *fill_held = 0;
        if (depth > 0 && fill_cache(s, fill, depth, label, err)) return -1;
    }
    *fill_held = depth; /* the run's tokens overwrite the positions from depth on */
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

static int measure(session *s, const int32_t *fill, int64_t depth, int64_t *fill_held, const int32_t *ids,
                   int64_t n, bool tg, long long reps, bench_row *row, xq_err *err)
{
    double tps[1000];
    /* Warm-up: page in the weights. Filling a cache depth does that already (and costs far more than the timed
     * part at long contexts), so a run from depth needs none. */
    if (depth == 0 && timed_run(s, fill, depth, fill_held, ids, n, tg, row->test, err) < 0) return err->code;
    for (long long r = 0; r < reps; r++) {
        cli_progress(row->test, r, reps, "runs");
        if ((tps[r] = timed_run(s, fill, depth, fill_held, ids, n, tg, row->test, err)) < 0) return err->code;
    }
    cli_progress_done();
    double mean = 0, var = 0;
    for (long long r = 0; r < reps; r++) mean += tps[r] / (double)reps;
    for (long long r = 0; r < reps; r++) var += (tps[r] - mean) * (tps[r] - mean);
    row->sd = reps > 1 ? sqrt(var / (double)(reps - 1)) : 0.0;
    qsort(tps, (size_t)reps, sizeof *tps, cmp_double);
    row->median = reps % 2 ? tps[reps / 2] : 0.5 * (tps[reps / 2 - 1] + tps[reps / 2]);
    return XQ_OK;
}

static void print_header(void)
{
    printf("| %-28s | %10s | threads | %-12s | test   | %6s | %19s | %7s | %8s |\n", "model", "size", "cache", "ctx",
           "t/s (median ± sd)", "GB/s", "peak RSS");
    printf("| %.28s | %.10s | ------: | ------------ | ------ | -----: | %.19s | ------: | -------: |\n",
           "----------------------------", "---------:", "------------------:");
}

static void print_row(const model *m, const bench_row *r)
{
    printf("| %-28.28s | %6.1f MiB | %7d | %-12s | %-6s | %6lld | %10.2f ± %6.2f | %7.2f | %8.0f |\n", m->name,
           (double)m->weight_bytes / (1 << 20), r->threads, r->mode, r->test, r->ctx, r->median, r->sd, r->gb_per_s,
           (double)cli_peak_rss_bytes() / (1 << 20));
    fflush(stdout);
}

static void csv_row(FILE *f, const bench_row *r)
{
    if (f) fprintf(f, "%s,%d,%s,%lld,%.3f,%.3f,%.3f\n", r->test, r->threads, r->mode, r->ctx, r->median, r->sd,
                   r->gb_per_s);
}

typedef struct bench_ctx {
    const bench_opts *o;
    const model *m;
    const int32_t *ids, *fill;
    FILE *csv;
    double best_tg_gbs;
} bench_ctx;

/* Every test of one (threads, mode) setting, in one session sized for the deepest context. */
static int run_setting(bench_ctx *b, int threads, const char *mode, xq_err *err)
{
    const bench_opts *o = b->o;
    cache_params cp;
    if (cli_cache_params(CMD, mode, &o->cache, &cp) || cli_cache_check(CMD, &cp, b->m)) return XQ_EINPUT;
    long long max_ctx = 0;
    for (int i = 0; i < o->ctx.n; i++) max_ctx = o->ctx.v[i] > max_ctx ? o->ctx.v[i] : max_ctx;
    int64_t n_ctx = o->n_prompt > max_ctx + o->n_gen ? o->n_prompt : max_ctx + o->n_gen;
    session_params sp = {.n_ctx = n_ctx, .n_batch = o->n_prompt > 512 ? o->n_prompt : 512, .n_threads = threads,
                         .cache = cp};
    cli_trace *tr = NULL;
    cli_trace_info ti = {o->argc, o->argv, b->m, o->model, mode, NULL, threads, n_ctx};
    int rc = cli_trace_open(o->trace, &ti, &tr);
    if (rc) return rc;
    sp.sink = cli_trace_sink(tr);
    session *s = NULL;
    if ((rc = session_create(b->m, &sp, &s, err))) {
        rc = cli_report(err);
        return cli_trace_close(tr, rc);
    }
    cli_trace_bind(tr, s);
    double weight_gb = (double)b->m->weight_bytes / 1e9;
    bench_row row = {.mode = mode, .threads = session_n_threads(s)};
    int64_t fill_held = 0;
    if (o->n_prompt > 0) {
        snprintf(row.test, sizeof row.test, "pp%lld", o->n_prompt);
        row.ctx = 0;
        if (!(rc = measure(s, b->fill, 0, &fill_held, b->ids, o->n_prompt, false, o->reps, &row, err))) {
            row.gb_per_s = weight_gb * row.median / (double)o->n_prompt; /* weights stream once per batch */
            print_row(b->m, &row);
            csv_row(b->csv, &row);
        }
    }
    for (int i = 0; !rc && o->n_gen > 0 && i < o->ctx.n; i++) {
        snprintf(row.test, sizeof row.test, "tg%lld", o->n_gen);
        row.ctx = o->ctx.v[i];
        if ((rc = measure(s, b->fill, row.ctx, &fill_held, b->ids, o->n_gen, true, o->reps, &row, err))) break;
        row.gb_per_s = weight_gb * row.median;
        if (row.gb_per_s > b->best_tg_gbs) b->best_tg_gbs = row.gb_per_s;
        print_row(b->m, &row);
        csv_row(b->csv, &row);
    }
    if (rc) rc = cli_interrupted() ? 130 : cli_report(err);
    session_destroy(s);
    return cli_trace_close(tr, rc);
}

/* Measured streaming-read bandwidth (cached per machine by the profiler's calibration). */
static void print_bandwidth(const bench_ctx *b, int threads)
{
    prof_roofline r;
    if (prof_roofline_load(threads, &r) != 0) {
        if (prof_roofline_measure(threads, &r) != 0) return;
        if (!r.contended) prof_roofline_save(&r);
    }
    double bw = r.read_bytes_per_s / 1e9;
    printf("\nDRAM read bandwidth (measured, %d threads): %.1f GB/s%s", threads, bw,
           r.contended ? " (measured on a busy machine)" : "");
    if (b->best_tg_gbs > 0 && bw > 0)
        printf("; best decode reads weights at %.1f GB/s = %.0f%% of it", b->best_tg_gbs, 100.0 * b->best_tg_gbs / bw);
    printf("\n");
}

static int run(const bench_opts *o)
{
    model *m;
    int rc = cli_load_model(o->model, false, &m);
    if (rc) return rc;
    if ((rc = check_modes(o, m))) {
        model_free(m);
        return rc;
    }
    long long max_ctx = 0;
    for (int i = 0; i < o->ctx.n; i++) max_ctx = o->ctx.v[i] > max_ctx ? o->ctx.v[i] : max_ctx;
    int64_t n_ids = o->n_prompt > o->n_gen ? o->n_prompt : o->n_gen;
    if (max_ctx + o->n_gen > m->cfg.n_ctx_train && m->cfg.n_ctx_train > 0) /* speed is still meaningful there */
        fprintf(stderr, "xqprof: bench: note: --ctx %lld + -n %lld goes past the model's trained context of %d"
                " tokens\n", max_ctx, o->n_gen, m->cfg.n_ctx_train);
    int32_t *ids = malloc((size_t)(n_ids + max_ctx + 1) * sizeof *ids);
    uint64_t state = 12345;
    for (int64_t i = 0; i < n_ids + max_ctx + 1; i++) { /* random ids, as llama-bench uses */
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        ids[i] = (int32_t)((state >> 33) % (uint64_t)m->cfg.n_vocab);
    }
    xq_outfile of = {0};
    if (o->csv) rc = cli_out_open(&of, CMD, o->csv);
    if (!rc) {
        FILE *csv = of.f;
        if (csv) fprintf(csv, "test,threads,mode,ctx,tokens_per_s,stddev,gb_per_s\n");
        bench_ctx b = {o, m, ids, ids + n_ids, csv, 0.0};
        xq_err err = {0};
        print_header();
        for (int t = 0; !rc && t < o->threads.n; t++)
            for (int k = 0; !rc && k < o->n_modes; k++) rc = run_setting(&b, (int)o->threads.v[t], o->modes[k], &err);
        if (!rc) print_bandwidth(&b, (int)o->threads.v[o->threads.n - 1]);
        if (csv && !rc) rc = cli_out_commit(&of, CMD);
        xq_out_abort(&of);
    }
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
