/* xqprof eval: the accuracy-vs-memory table across cache modes (issue 4). The fp16 baseline runs first through
 * ppl_run (so its perplexity is exactly `xqprof ppl`'s); after each of its chunks every other mode runs the same
 * chunk in a fresh session and is scored against the baseline's logits, still held by the baseline session:
 * memory stays at two sessions whatever the number of chunks, and the baseline runs once. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/runfiles.h"
#include "cache/svd.h"
#include "cli/cache_opts.h"
#include "cli/commands.h"
#include "cli/charts.h"
#include "cli/common.h"
#include "cli/trace.h"
#include "engine/compare.h"
#include "engine/ppl.h"
#include "engine/session.h"
#include "store/reader.h"

static const char *const CMD = "eval";

typedef struct eval_opts {
    const char *model, *file, *modes, *csv, *md, *svg, *png, *trace;
    int argc; /* the command line, recorded with --trace */
    char **argv;
    long long n_ctx, threads, chunks;
    cli_cache_opts copts;
} eval_opts;

/* One row of the table. Sums are over scored positions. */
typedef struct mode_run {
    char name[40];
    bool from_all; /* named by `--modes all`: skipped (with a note) where the model does not allow it */
    cache_params params;
    double bytes_per_token, remat_flops, seconds;
    cache_bytes at_ctx;
    double nll, nll2, kl;
    double dnll, dnll2; /* per scored token: NLL under this mode − under the baseline (paired) */
    int64_t n, top1;
} mode_run;

typedef struct eval_state {
    const eval_opts *o;
    const model *m;
    mode_run *runs; /* runs[0]: the fp16 baseline */
    int n_runs;
    cache_svd *svd[2]; /* separate, joint */
    double *base_nll;  /* the baseline's NLL at each position of the current chunk (n_ctx) */
    int64_t t_mark;
    int rc;
    xq_err err;
} eval_state;

static void help(void)
{
    printf("usage: xqprof eval [-m MODEL] -f FILE [-c N_CTX] [--chunks K] [-t N] [--modes LIST]\n"
           "                   [--group G] [--window W] [--hi-layers N] [--fp16-ch0] [--absorb-v]\n"
           "                   [--csv FILE] [--md FILE] [--svg FILE] [--png FILE] [--trace FILE]\n\n"
           "Accuracy against memory of cache modes, on the perplexity chunks of `xqprof ppl`: fp16 runs first as\n"
           "the baseline (always, even if not listed), then each mode on the same tokens. Per mode: bits, bytes per\n"
           "token (XQUANT.md §1), savings against fp16 K+V, perplexity +/- error, delta-ppl, mean KL(fp16||mode)\n"
           "per scored token, top-1 agreement with fp16, rebuild GFLOP per decoded token at N_CTX, seconds. The\n"
           "Markdown table gives delta-ppl +/- its paired standard error (from the per-token NLL differences on\n"
           "the same tokens: a delta-ppl within about two of it is not a measured difference from fp16).\n\n"
           "  -m, --model FILE   GGUF model (default: $XQPROF_MODEL, else models/default.gguf)\n"
           "  -f, --file FILE    text file (at least 2*N_CTX tokens)\n"
           "  -c, --ctx-size N   chunk length in tokens (default 512; past the model's trained context: a note)\n"
           "      --chunks K     score at most K chunks (default: all)\n"
           "  -t, --threads N    threads (default: all cores)\n"
           "      --modes LIST   comma-separated modes, or 'all' (default all):\n"
           "                     %s\n"
           "%s"
           "      --csv FILE     write the table as CSV ('-': stdout)\n"
           "      --md FILE      write the table as Markdown ('-': stdout; the default when neither is given)\n"
           "      --svg FILE     chart: memory saved against delta-ppl and KL, one point per mode (.svg)\n"
           "      --png FILE     the same chart as PNG\n"
           "      --trace FILE   record one run per mode into a trace (metrics ppl, dppl, dppl_err, kl, top1,\n"
           "                     bytes_per_token, savings; no spans), which `xqprof plan --eval FILE` reads\n"
           "  -h, --help         this help\n",
           CLI_CACHE_MODES_HELP, CLI_CACHE_HELP);
}

/* An existing file must be a trace (one we can append to); a new one must be creatable. Checked before the run. */
static int check_trace(const char *path)
{
    int rc = cli_trace_check(CMD, path);
    if (rc || access(path, F_OK) != 0) return rc;
    store_reader *r;
    xq_err err = {0};
    if (store_reader_open(path, &r, &err)) {
        xq_err_prefix(&err, CMD);
        return cli_report(&err);
    }
    store_reader_close(r);
    xq_files_forget_input(path); /* opened only to see that it is a trace: the run appends to it */
    return 0;
}

/* Every output, before the model loads: inputs first, so that no output can be one of them. */
static int check_files(const eval_opts *o)
{
    int rc = cli_check_input(CMD, "-m", o->model);
    if (!rc) rc = cli_check_input(CMD, "-f", o->file);
    if (!rc && o->csv) rc = cli_check_output(CMD, "--csv", o->csv);
    if (!rc && o->md) rc = cli_check_output(CMD, "--md", o->md);
    if (!rc) rc = cli_chart_check(CMD, o->svg, o->png);
    if (!rc && o->trace) rc = check_trace(o->trace);
    return rc;
}

static int parse(int argc, char **argv, eval_opts *o)
{
    static const struct option longs[] = {
        {"model", 1, 0, 'm'}, {"file", 1, 0, 'f'},  {"ctx-size", 1, 0, 'c'}, {"threads", 1, 0, 't'},
        {"chunks", 1, 0, 1},  {"modes", 1, 0, 2},   {"csv", 1, 0, 3},        {"md", 1, 0, 4},
        {"svg", 1, 0, 5},     {"png", 1, 0, 6},     {"trace", 1, 0, 7},      {"help", 0, 0, 'h'},
        CLI_CACHE_LONG_OPTIONS,
        {0, 0, 0, 0}};
    *o = (eval_opts){.model = cli_default_model(), .modes = "all", .n_ctx = 512};
    cli_cache_opts_init(&o->copts);
    opterr = 0;
    optind = 1;
    int ch, rc = 0;
    while (!rc && (ch = getopt_long(argc, argv, ":m:f:c:t:h", longs, NULL)) != -1) {
        switch (ch) {
        case 'm': o->model = optarg; break;
        case 'f': o->file = optarg; break;
        case 'c': rc = cli_int(CMD, "-c", optarg, 8, 1 << 20, &o->n_ctx); break;
        case 't': rc = cli_int(CMD, "-t", optarg, 1, 1024, &o->threads); break;
        case 1: rc = cli_int(CMD, "--chunks", optarg, 1, 1 << 30, &o->chunks); break;
        case 2: o->modes = optarg; break;
        case 3: o->csv = optarg; break;
        case 4: o->md = optarg; break;
        case 5: o->svg = optarg; break;
        case 6: o->png = optarg; break;
        case 7: o->trace = optarg; break;
        case 'h': help(); return -1;
        default:
            if (cli_cache_opt(CMD, ch, optarg, &o->copts, &rc)) break;
            return cli_bad_option(CMD, ch, argv);
        }
    }
    if (rc) return rc;
    if (optind < argc) return cli_error(XQ_EINPUT, CMD, "unexpected argument '%s'", argv[optind]);
    if (!o->file) return cli_error(XQ_EINPUT, CMD, "a text file is required (-f FILE)");
    return check_files(o);
}

/* ---- the list of modes -------------------------------------------------------------------------------------- */

static int add_run(eval_state *st, const char *name, bool from_all)
{
    for (int i = 0; i < st->n_runs; i++)
        if (!strcmp(st->runs[i].name, name)) return 0; /* each mode once (fp16 is the baseline row) */
    mode_run *r = &st->runs[st->n_runs];
    *r = (mode_run){.from_all = from_all};
    if (strlen(name) >= sizeof r->name) return cli_error(XQ_EINPUT, CMD, "mode name too long: '%s'", name);
    snprintf(r->name, sizeof r->name, "%s", name);
    if (cli_cache_params(CMD, name, &st->o->copts, &r->params)) return XQ_EINPUT;
    st->n_runs++;
    return 0;
}

/* fp16 first, then --modes in order ('all' expands to every mode). */
static int parse_modes(eval_state *st)
{
    const char *const *all = cache_mode_names_all();
    int cap = 2;
    for (const char *p = st->o->modes; *p; p++) cap += *p == ',';
    for (int i = 0; all[i]; i++) cap++;
    st->runs = calloc((size_t)cap, sizeof *st->runs);
    if (!st->runs) return cli_error(XQ_ERUN, CMD, "out of memory");
    int rc = add_run(st, "fp16", false);
    char *list = strdup(st->o->modes), *save = NULL;
    for (char *tok = strtok_r(list, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
        if (strcmp(tok, "all") != 0) {
            rc = add_run(st, tok, false);
            continue;
        }
        for (int i = 0; all[i] && !rc; i++) rc = add_run(st, all[i], true);
    }
    free(list);
    if (!rc && st->n_runs == 1 && strstr(st->o->modes, "fp16") == NULL)
        rc = cli_error(XQ_EINPUT, CMD, "--modes lists no mode (valid: all, or %s)", CLI_CACHE_MODES_HELP);
    return rc;
}

/* Drops modes of `all` the model cannot run; a mode named explicitly is an error (exit 2). */
static int check_modes(eval_state *st)
{
    int kept = 0;
    for (int i = 0; i < st->n_runs; i++) {
        xq_err err = {0};
        mode_run *r = &st->runs[i];
        if (cache_params_check(&r->params, &st->m->cfg, &err)) {
            if (!r->from_all) return cli_error(XQ_EINPUT, CMD, "%s", err.msg);
            fprintf(stderr, "eval: skipping %s: %s\n", r->name, err.msg);
            continue;
        }
        st->runs[kept++] = *r;
    }
    st->n_runs = kept;
    return 0;
}

static int share_svd(eval_state *st)
{
    for (int i = 0; i < st->n_runs; i++) {
        cache_params *p = &st->runs[i].params;
        if (!cache_mode_uses_svd(p->mode)) continue;
        bool joint = cache_mode_uses_joint_svd(p->mode);
        if (!st->svd[joint]) {
            if (cache_svd_create(st->m, joint, &st->svd[joint], &st->err)) return cli_report(&st->err);
            fprintf(stderr, "eval: SVD of %d matrices (LAPACKE, double) in %.3f s\n", cache_svd_count(st->svd[joint]),
                    cache_svd_seconds(st->svd[joint]));
        }
        p->svd = st->svd[joint];
    }
    return 0;
}

static void warn_short_chunks(const eval_state *st)
{
    for (int i = 0; i < st->n_runs; i++) {
        const cache_params *p = &st->runs[i].params;
        if ((p->mode == CACHE_KV || p->mode == CACHE_XQ_SVD) && st->o->n_ctx < 2LL * p->group) {
            fprintf(stderr,
                    "xqprof: eval: warning: n_ctx %lld < 2*G = %d: per-channel groups (kv-E keys, xq-svd-E X*Uk) "
                    "never fill inside a chunk, so those modes are measured with fp16 keys; add a run with a "
                    "smaller --group (XQUANT.md section 3)\n",
                    st->o->n_ctx, 2 * p->group);
            return;
        }
    }
}

/* ---- scoring ------------------------------------------------------------------------------------------------ */

/* NLL of the target, KL(base‖mode) and top-1 agreement at one position, and the NLL's difference from the
 * baseline's there (*base_nll: written when the baseline scores itself, which it does first). */
static void score_position(const float *base, const float *mode, int32_t n, int32_t target, double *base_nll,
                           mode_run *r)
{
    double nll;
    logits_match m = logits_compare_scored(base, mode, n, target, &nll);
    if (base == mode) *base_nll = nll;
    r->nll += nll;
    r->nll2 += nll * nll;
    r->dnll += nll - *base_nll;
    r->dnll2 += (nll - *base_nll) * (nll - *base_nll);
    r->kl += m.kl;
    r->n++;
    r->top1 += m.same_top1;
}

static void score_chunk(const eval_state *st, const session *base, const session *s, const int32_t *tokens,
                        mode_run *r)
{
    int32_t nv = session_model(s)->cfg.n_vocab;
    for (int64_t j = st->o->n_ctx / 2; j < st->o->n_ctx - 1; j++)
        score_position(session_logits(base, j), session_logits(s, j), nv, tokens[j + 1], &st->base_nll[j], r);
}

static int run_mode(eval_state *st, mode_run *r, const session *base, const int32_t *tokens)
{
    session_params sp = {.n_ctx = st->o->n_ctx, .n_batch = st->o->n_ctx, .n_threads = (int)st->o->threads,
                         .cache = r->params, .logits_all = true};
    session *s;
    if (session_create(st->m, &sp, &s, &st->err)) return st->err.code ? st->err.code : XQ_ERUN;
    session_keep_logits_from(s, st->o->n_ctx / 2); /* score_chunk reads the second half only */
    int64_t t0 = xq_now_ns();
    int rc = session_eval(s, tokens, st->o->n_ctx, &st->err);
    if (!rc) score_chunk(st, base, s, tokens, r);
    r->seconds += (double)(xq_now_ns() - t0) / 1e9;
    const cache *c = session_cache(s);
    r->bytes_per_token = cache_bytes_per_token(c);
    r->remat_flops = cache_remat_flops(c, st->o->n_ctx);
    cache_get_bytes(c, -1, st->o->n_ctx, &r->at_ctx);
    session_destroy(s);
    return rc;
}

static void on_chunk(void *user, int chunk, int n_chunks, double running, const session *s, const int32_t *tokens)
{
    (void)running;
    eval_state *st = user;
    if (st->rc) return;
    mode_run *base = &st->runs[0];
    base->seconds += (double)(xq_now_ns() - st->t_mark) / 1e9;
    score_chunk(st, s, s, tokens, base);
    for (int i = 1; i < st->n_runs && !st->rc; i++) {
        char extra[64];
        snprintf(extra, sizeof extra, "chunk %d/%d %s", chunk + 1, n_chunks, st->runs[i].name);
        cli_progress("eval", (int64_t)chunk * st->n_runs + i, (int64_t)n_chunks * st->n_runs, extra);
        st->rc = run_mode(st, &st->runs[i], s, tokens);
    }
    cli_progress("eval", (int64_t)(chunk + 1) * st->n_runs, (int64_t)n_chunks * st->n_runs, "");
    st->t_mark = xq_now_ns();
}

/* ---- output -------------------------------------------------------------------------------------------------- */

typedef struct row_figures {
    double ppl, ppl_err, dppl, dppl_err, kl, top1, savings, remat_gflop;
} row_figures;

/* Standard error of a mean of n values from their sum and sum of squares (0 when undefined). */
static double mean_error(double sum, double sum2, int64_t n)
{
    if (n < 2) return 0.0;
    double mean = sum / (double)n, var = sum2 / (double)n - mean * mean;
    return var > 0 ? sqrt(var / (double)(n - 1)) : 0.0;
}

static row_figures figures(const eval_state *st, const mode_run *r)
{
    const mode_run *b = &st->runs[0];
    row_figures f = {.ppl = exp(r->nll / (double)r->n), .kl = r->kl / (double)r->n,
                     .top1 = (double)r->top1 / (double)r->n};
    f.ppl_err = mean_error(r->nll, r->nll2, r->n) * f.ppl;
    f.dppl = f.ppl - exp(b->nll / (double)b->n);
    /* Paired over the same tokens: far smaller than ppl_err, and what says whether a mode differs from fp16 */
    f.dppl_err = mean_error(r->dnll, r->dnll2, r->n) * f.ppl;
    f.savings = b->bytes_per_token / r->bytes_per_token;
    f.remat_gflop = r->remat_flops / 1e9;
    return f;
}

static void write_csv(const eval_state *st, FILE *out)
{
    fprintf(out, "mode,bits,bytes_per_token,savings,ppl,ppl_err,dppl,kl,top1,remat_gflop_per_token,seconds\n");
    for (int i = 0; i < st->n_runs; i++) {
        const mode_run *r = &st->runs[i];
        row_figures f = figures(st, r);
        fprintf(out, "%s,%d,%.6g,%.4f,%.4f,%.5f,%.4f,%.6f,%.4f,%.4f,%.2f\n", r->name, r->params.bits,
                r->bytes_per_token, f.savings, f.ppl, f.ppl_err, f.dppl, f.kl, f.top1, f.remat_gflop, r->seconds);
    }
}

static void human_bytes(double bytes, char *buf, size_t size)
{
    if (bytes >= 1 << 20) snprintf(buf, size, "%.2f MiB", bytes / (1 << 20));
    else snprintf(buf, size, "%.1f KiB", bytes / 1024);
}

static void write_md(const eval_state *st, FILE *out)
{
    fprintf(out, "| mode | bits | bytes/token | savings | ppl | Δppl | KL | top-1 | remat GFLOP/token | "
                 "cache @%lld | fp16 ring | transient | seconds |\n"
                 "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
            st->o->n_ctx);
    for (int i = 0; i < st->n_runs; i++) {
        const mode_run *r = &st->runs[i];
        row_figures f = figures(st, r);
        char held[32], ring[32], work[32];
        human_bytes((double)r->at_ctx.persistent, held, sizeof held);
        human_bytes((double)r->at_ctx.residual, ring, sizeof ring);
        human_bytes((double)r->at_ctx.transient, work, sizeof work);
        fprintf(out,
                "| %s | %d | %.1f | %.2f× | %.4f ± %.4f | %+.4f ± %.4f | %.5f | %.2f%% | %.3f | %s | %s | %s | %.1f |\n",
                r->name, r->params.bits, r->bytes_per_token, f.savings, f.ppl, f.ppl_err, f.dppl, f.dppl_err, f.kl,
                100.0 * f.top1, f.remat_gflop, held, ring, work, r->seconds);
    }
}

static int write_table(const eval_state *st, const char *path, void (*writer)(const eval_state *, FILE *))
{
    xq_outfile of;
    int rc = cli_out_open(&of, CMD, path);
    if (rc) return rc;
    writer(st, of.f);
    return cli_out_commit(&of, CMD);
}

static int write_charts(const eval_state *st)
{
    const eval_opts *o = st->o;
    cli_eval_point *pts = calloc((size_t)st->n_runs, sizeof *pts);
    if (!pts) return cli_error(XQ_ERUN, CMD, "out of memory");
    for (int i = 0; i < st->n_runs; i++) {
        row_figures f = figures(st, &st->runs[i]);
        pts[i] = (cli_eval_point){.mode = st->runs[i].name, .savings = f.savings, .dppl = f.dppl, .kl = f.kl};
    }
    char title[512];
    const char *base = strrchr(o->file, '/');
    snprintf(title, sizeof title, "%s: cache modes on %s, n_ctx %lld, batch 1", st->m->name, base ? base + 1 : o->file,
             o->n_ctx);
    int rc = 0;
    /* runs[0] is the baseline: no Δppl, no KL, nothing saved */
    if (o->svg) rc = cli_chart_eval(CMD, o->svg, title, pts + 1, st->n_runs - 1);
    if (!rc && o->png) rc = cli_chart_eval(CMD, o->png, title, pts + 1, st->n_runs - 1);
    free(pts);
    return rc;
}

/* One finished run per mode, its results as metrics. */
static int record_mode(const eval_state *st, const mode_run *r)
{
    const eval_opts *o = st->o;
    cli_trace_info info = {o->argc, o->argv, st->m, o->model, r->name, NULL, (int)o->threads, o->n_ctx};
    cli_trace *tr;
    int rc = cli_trace_open(o->trace, &info, &tr);
    if (rc) return rc;
    row_figures f = figures(st, r);
    const char *names[] = {"ppl",  "ppl_err",         "dppl",    "dppl_err",   "kl",
                           "top1", "bytes_per_token", "savings", "remat_gflop_per_token"};
    double values[] = {f.ppl,  f.ppl_err,          f.dppl,    f.dppl_err, f.kl,
                       f.top1, r->bytes_per_token, f.savings, f.remat_gflop};
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) cli_trace_metric(tr, names[i], values[i]);
    return cli_trace_close(tr, 0);
}

static int record_trace(const eval_state *st)
{
    int rc = 0;
    for (int i = 0; !rc && i < st->n_runs; i++) rc = record_mode(st, &st->runs[i]);
    if (!rc) fprintf(stderr, "eval: %d runs recorded in %s\n", st->n_runs, st->o->trace);
    return rc;
}

static int write_outputs(const eval_state *st)
{
    const eval_opts *o = st->o;
    int rc = write_charts(st);
    if (!rc && o->trace) rc = record_trace(st);
    if (!rc && o->csv) rc = write_table(st, o->csv, write_csv);
    if (!rc && o->md) rc = write_table(st, o->md, write_md);
    if (!rc && !o->csv && !o->md) rc = write_table(st, "-", write_md);
    return rc;
}

/* ---- the run ------------------------------------------------------------------------------------------------- */

static int load_tokens(const eval_state *st, int32_t **ids, int64_t *n)
{
    xq_err err = {0};
    char *text = NULL;
    size_t len = 0;
    if (cli_read_file(st->o->file, &text, &len, &err)) {
        xq_err_prefix(&err, CMD);
        return cli_report(&err);
    }
    if (len > 0 && text[len - 1] == '\n') text[--len] = 0;
    int rc = cli_tokenize(st->m, text, len, false, false, ids, n, &err);
    free(text);
    if (rc) {
        xq_err_prefix(&err, st->o->file);
        xq_err_prefix(&err, CMD);
        return cli_report(&err);
    }
    if (*n < 2 * st->o->n_ctx)
        return cli_error(XQ_EINPUT, CMD, "%s: %lld tokens is too short: need at least 2*n_ctx = %lld", st->o->file,
                         (long long)*n, 2 * st->o->n_ctx);
    return 0;
}

static int evaluate(eval_state *st, const int32_t *ids, int64_t n_ids)
{
    session_params sp = {.n_ctx = st->o->n_ctx, .n_batch = st->o->n_ctx, .n_threads = (int)st->o->threads,
                         .cache = st->runs[0].params, .logits_all = true};
    session *s;
    if (session_create(st->m, &sp, &s, &st->err)) return cli_report(&st->err);
    mode_run *b = &st->runs[0];
    b->bytes_per_token = cache_bytes_per_token(session_cache(s));
    cache_get_bytes(session_cache(s), -1, st->o->n_ctx, &b->at_ctx);
    int64_t n_chunks = n_ids / st->o->n_ctx;
    if (st->o->chunks > 0 && st->o->chunks < n_chunks) n_chunks = st->o->chunks;
    fprintf(stderr, "eval: %lld tokens, n_ctx %lld, %lld chunks, %d threads, %d modes\n", (long long)n_ids,
            st->o->n_ctx, (long long)n_chunks, session_n_threads(s), st->n_runs);
    int32_t bos = tokenizer_adds_bos(st->m->tok) ? tokenizer_bos(st->m->tok) : -1;
    ppl_result res;
    st->t_mark = xq_now_ns();
    int rc = ppl_run(s, ids, n_ids, bos, (int)st->o->chunks, on_chunk, st, &res, &st->err);
    cli_progress_done();
    session_destroy(s);
    if (rc) return cli_report(&st->err);
    if (st->rc) return cli_report(&st->err);
    return 0;
}

static int run(const eval_opts *o)
{
    eval_state st = {.o = o};
    model *m = NULL;
    int32_t *ids = NULL;
    int64_t n_ids = 0;
    int rc = parse_modes(&st);
    if (!rc && !(st.base_nll = calloc((size_t)o->n_ctx, sizeof *st.base_nll)))
        rc = cli_error(XQ_ERUN, CMD, "out of memory");
    if (!rc) rc = cli_load_model(o->model, false, &m);
    st.m = m;
    if (!rc) rc = check_modes(&st);
    if (!rc) cli_note_past_trained(CMD, m, o->n_ctx);
    if (!rc) rc = load_tokens(&st, &ids, &n_ids);
    if (!rc) rc = share_svd(&st);
    if (!rc) warn_short_chunks(&st);
    if (!rc) rc = evaluate(&st, ids, n_ids);
    if (!rc) rc = write_outputs(&st);
    for (int i = 0; i < 2; i++) cache_svd_destroy(st.svd[i]);
    free(st.runs);
    free(st.base_nll);
    free(ids);
    model_free(m);
    return rc;
}

int cmd_eval(int argc, char **argv)
{
    eval_opts o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    o.argc = argc;
    o.argv = argv;
    return run(&o);
}
