/* xqprof ppl: perplexity exactly as llama-perplexity computes it (XQUANT.md §3). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "cli/cache_opts.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/trace.h"
#include "engine/ppl.h"
#include "engine/session.h"

static const char *const CMD = "ppl";

typedef struct ppl_opts {
    const char *model, *file, *cache, *trace;
    long long n_ctx, threads, chunks;
    int argc; /* the command line, recorded by --trace */
    char **argv;
    cli_cache_opts copts;
} ppl_opts;

static void help(void)
{
    printf("usage: xqprof ppl [-m MODEL] -f FILE [-c N_CTX] [--chunks K] [-t N] [--cache MODE]\n\n"
           "Perplexity of a text, computed as llama.cpp's llama-perplexity does: the whole file is tokenized\n"
           "once (one trailing newline stripped), split into non-overlapping chunks of N_CTX tokens, each run\n"
           "with a fresh cache; the second half of each chunk is scored. The text must hold >= 2*N_CTX tokens.\n"
           "Prints the running value after each chunk and finally 'PPL = x +/- y' on stdout.\n\n"
           "  -m, --model FILE   GGUF model (default: $XQPROF_MODEL, else models/default.gguf)\n"
           "  -f, --file FILE    text file\n"
           "  -c, --ctx-size N   chunk length in tokens (default 512; past the model's trained context: a note)\n"
           "      --chunks K     score at most K chunks (default: all)\n"
           "  -t, --threads N    threads (default: all cores)\n"
           "      --cache MODE   cache mode (default fp16):\n"
           "                     %s\n"
           "%s"
           "      --trace FILE   record time, FLOPs and bytes per step, layer and op into FILE (SQLite)\n"
           "  -h, --help         this help\n",
           CLI_CACHE_MODES_HELP, CLI_CACHE_HELP);
}

static int parse(int argc, char **argv, ppl_opts *o)
{
    static const struct option longs[] = {{"model", 1, 0, 'm'},   {"file", 1, 0, 'f'},  {"ctx-size", 1, 0, 'c'},
                                          {"threads", 1, 0, 't'}, {"chunks", 1, 0, 1}, {"cache", 1, 0, 2},
                                          {"trace", 1, 0, 3},     {"help", 0, 0, 'h'},  CLI_CACHE_LONG_OPTIONS,
                                          {0, 0, 0, 0}};
    *o = (ppl_opts){.model = cli_default_model(), .cache = "fp16", .n_ctx = 512};
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
        case 2: o->cache = optarg; break;
        case 3: o->trace = optarg; break;
        case 'h': help(); return -1;
        default:
            if (cli_cache_opt(CMD, ch, optarg, &o->copts, &rc)) break;
            return cli_bad_option(CMD, ch, argv);
        }
    }
    if (rc) return rc;
    if (optind < argc) return cli_error(XQ_EINPUT, CMD, "unexpected argument '%s'", argv[optind]);
    if (!o->file) return cli_error(XQ_EINPUT, CMD, "a text file is required (-f FILE)");
    if ((rc = cli_check_input(CMD, "-m", o->model)) || (rc = cli_check_input(CMD, "-f", o->file))) return rc;
    return cli_trace_check(CMD, o->trace);
}

typedef struct progress {
    int64_t t0;
    cli_trace *trace;
} progress;

static void on_chunk(void *user, int chunk, int n_chunks, double running, const session *s, const int32_t *tokens)
{
    (void)s;
    (void)tokens;
    const progress *p = user;
    if (cli_interrupted()) { /* ppl_run has no way to stop early: the trace is closed, then the process exits */
        fprintf(stderr, "\nppl: interrupted\n");
        exit(cli_trace_close(p->trace, 130));
    }
    double secs = (double)(xq_now_ns() - p->t0) / 1e9;
    char extra[96];
    snprintf(extra, sizeof extra, "ppl %.4f, %.1f s, eta %.0f s", running, secs,
             secs / (chunk + 1) * (n_chunks - chunk - 1));
    /* Running values stream to stdout; the bar goes to stderr only when the two are not the same screen. */
    if (!isatty(1)) cli_progress("ppl", chunk + 1, n_chunks, extra);
    printf("[%d]%.4f,", chunk + 1, running);
    fflush(stdout);
}

static int run(const ppl_opts *o)
{
    xq_err err = {0};
    cache_params cp;
    if (cli_cache_params(CMD, o->cache, &o->copts, &cp)) return XQ_EINPUT;
    char *text = NULL;
    size_t len = 0;
    if (cli_read_file(o->file, &text, &len, &err)) {
        xq_err_prefix(&err, CMD);
        return cli_report(&err);
    }
    if (len > 0 && text[len - 1] == '\n') text[--len] = 0;
    model *m = NULL;
    int32_t *ids = NULL;
    int64_t n_ids = 0;
    session *s = NULL;
    cli_trace *tr = NULL;
    int rc = cli_load_model(o->model, false, &m);
    if (rc || (rc = cli_cache_check(CMD, &cp, m))) goto done;
    cli_note_past_trained(CMD, m, o->n_ctx);
    if ((rc = cli_tokenize(m, text, len, false, false, &ids, &n_ids, &err))) {
        xq_err_prefix(&err, o->file);
        xq_err_prefix(&err, CMD);
        goto report;
    }
    if (n_ids < 2 * o->n_ctx) {
        rc = cli_error(XQ_EINPUT, CMD, "%s: %lld tokens is too short: need at least 2*n_ctx = %lld", o->file,
                       (long long)n_ids, 2 * o->n_ctx);
        goto done;
    }
    session_params sp = {.n_ctx = o->n_ctx, .n_batch = o->n_ctx, .n_threads = (int)o->threads, .cache = cp,
                         .logits_all = true};
    cli_trace_info ti = {o->argc, o->argv, m, o->model, o->cache, NULL, (int)o->threads, o->n_ctx};
    if ((rc = cli_trace_open(o->trace, &ti, &tr))) goto done;
    sp.sink = cli_trace_sink(tr);
    if ((rc = session_create(m, &sp, &s, &err))) goto report;
    cli_trace_bind(tr, s);
    cli_cache_report(CMD, session_cache(s));
    fprintf(stderr, "ppl: %lld tokens, n_ctx %lld, %lld chunks, %d threads, cache %s\n", (long long)n_ids, o->n_ctx,
            o->chunks > 0 && o->chunks < n_ids / o->n_ctx ? o->chunks : n_ids / o->n_ctx, session_n_threads(s),
            o->cache);
    progress pr = {xq_now_ns(), tr};
    int32_t bos = tokenizer_adds_bos(m->tok) ? tokenizer_bos(m->tok) : -1;
    ppl_result res;
    if ((rc = ppl_run(s, ids, n_ids, bos, (int)o->chunks, on_chunk, &pr, &res, &err))) goto report;
    cli_progress_done();
    printf("\nPPL = %.4f +/- %.5f\n", res.ppl, res.ppl_err);
    cli_trace_metric(tr, "ppl", res.ppl);
    cli_trace_metric(tr, "ppl_err", res.ppl_err);
    fprintf(stderr, "ppl: %d chunks, %lld tokens scored in %.1f s\n", res.n_chunks, (long long)res.n_scored,
            (double)(xq_now_ns() - pr.t0) / 1e9);
    goto done;
report:
    rc = cli_report(&err);
done:
    rc = cli_trace_close(tr, rc);
    session_destroy(s);
    free(ids);
    free(text);
    model_free(m);
    return rc;
}

int cmd_ppl(int argc, char **argv)
{
    ppl_opts o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    o.argc = argc;
    o.argv = argv;
    return run(&o);
}
