/* xqprof logits: writes n_tokens × n_vocab float32 logits (little-endian, row-major) for a token sequence,
 * computed as one batched prefill (default) or token by token (--decode). Used by the tests. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cache_opts.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "engine/session.h"

static const char *const CMD = "logits";

typedef struct logits_opts {
    const char *model, *out, *ids, *prompt, *cache;
    long long threads, n_ctx; /* n_ctx 0: the model's trained context */
    bool decode;
    cli_cache_opts copts; /* the defaults: logits takes no --group, --window … */
} logits_opts;

static void help(void)
{
    printf("usage: xqprof logits [-m MODEL] (--ids 1,2,3 | -p TEXT) -o FILE [--decode] [-c N] [-t N] [--cache MODE]\n\n"
           "Writes the logits of every position (n_tokens rows of n_vocab float32, little-endian) to FILE.\n"
           "A sequence longer than the context is refused; -c N allows up to N positions (past the model's\n"
           "trained context with a note on stderr: the logits there were never trained to mean anything).\n\n"
           "  -m, --model FILE   GGUF model (default: $XQPROF_MODEL, else models/default.gguf)\n"
           "      --ids LIST     comma-separated token ids\n"
           "  -p TEXT            tokenize TEXT (with the BOS rule) instead\n"
           "  -o FILE            output file ('-' for stdout; written under a temporary name, renamed when complete)\n"
           "      --decode       evaluate one token at a time instead of one batched prefill\n"
           "  -c, --ctx-size N   most positions allowed (default: the model's trained context)\n"
           "  -t, --threads N    threads (default: all cores)\n"
           "      --cache MODE   cache mode (default fp16; see `xqprof ppl --help`)\n"
           "  -h, --help         this help\n");
}

static int parse_ids(const char *s, int32_t **ids, int64_t *n)
{
    int64_t cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    *ids = malloc((size_t)cap * sizeof **ids);
    *n = 0;
    for (const char *p = s; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > INT32_MAX) return cli_error(XQ_EINPUT, CMD, "bad --ids list near '%s'", p);
        (*ids)[(*n)++] = (int32_t)v;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return cli_error(XQ_EINPUT, CMD, "bad --ids list near '%s'", end);
    }
    return *n ? 0 : cli_error(XQ_EINPUT, CMD, "empty --ids list");
}

static int compute(const model *m, const int32_t *ids, int64_t n, bool decode, int threads, cache_params mode,
                   FILE *out, xq_err *err)
{
    session_params sp = {.n_ctx = n, .n_batch = decode ? 1 : n, .n_threads = threads, .cache = mode,
                         .logits_all = true};
    session *s;
    int rc = session_create(m, &sp, &s, err);
    if (rc) return rc;
    size_t nv = (size_t)m->cfg.n_vocab;
    if (!decode && !(rc = session_eval(s, ids, n, err)))
        for (int64_t i = 0; i < n; i++) fwrite(session_logits(s, i), sizeof(float), nv, out);
    for (int64_t i = 0; decode && !rc && i < n; i++)
        if (!(rc = session_eval(s, ids + i, 1, err))) fwrite(session_logits(s, 0), sizeof(float), nv, out);
    session_destroy(s);
    return rc;
}

static int parse(int argc, char **argv, logits_opts *o)
{
    static const struct option longs[] = {{"model", 1, 0, 'm'}, {"ids", 1, 0, 1},        {"decode", 0, 0, 2},
                                          {"cache", 1, 0, 3},   {"ctx-size", 1, 0, 'c'}, {"threads", 1, 0, 't'},
                                          {"help", 0, 0, 'h'},  {0, 0, 0, 0}};
    *o = (logits_opts){.model = cli_default_model(), .cache = "fp16"};
    cli_cache_opts_init(&o->copts);
    opterr = 0;
    optind = 1;
    int ch, rc = 0;
    while (!rc && (ch = getopt_long(argc, argv, ":m:o:p:c:t:h", longs, NULL)) != -1) {
        switch (ch) {
        case 'm': o->model = optarg; break;
        case 'o': o->out = optarg; break;
        case 'p': o->prompt = optarg; break;
        case 'c': rc = cli_int(CMD, "-c", optarg, 1, 1 << 24, &o->n_ctx); break;
        case 't': rc = cli_int(CMD, "-t", optarg, 1, 1024, &o->threads); break;
        case 1: o->ids = optarg; break;
        case 2: o->decode = true; break;
        case 3: o->cache = optarg; break;
        case 'h': help(); return -1;
        default: return cli_bad_option(CMD, ch, argv);
        }
    }
    if (rc) return rc;
    if (optind < argc) return cli_error(XQ_EINPUT, CMD, "unexpected argument '%s'", argv[optind]);
    if (!o->out || !o->ids == !o->prompt) return cli_error(XQ_EINPUT, CMD, "need -o FILE and one of --ids or -p");
    if ((rc = cli_check_input(CMD, "-m", o->model))) return rc;
    return cli_check_output(CMD, "-o", o->out);
}

/* As generate: at most the context, by default the model's trained one. */
static int check_length(const logits_opts *o, const model *m, int64_t n)
{
    int64_t limit = o->n_ctx > 0 ? o->n_ctx : m->cfg.n_ctx_train > 0 ? m->cfg.n_ctx_train : n;
    if (n > limit)
        return cli_error(XQ_EINPUT, CMD, "the sequence is %lld tokens, longer than the context (%lld)%s",
                         (long long)n, (long long)limit, o->n_ctx > 0 ? "" : "; -c N allows more");
    if (m->cfg.n_ctx_train > 0 && n > m->cfg.n_ctx_train)
        fprintf(stderr, "%s: note: the sequence is %lld tokens, past the model's trained context of %d\n", CMD,
                (long long)n, m->cfg.n_ctx_train);
    return 0;
}

static int run(const logits_opts *o)
{
    xq_err err = {0};
    cache_params mode;
    if (cli_cache_params(CMD, o->cache, &o->copts, &mode)) return XQ_EINPUT;
    model *m;
    int rc = cli_load_model(o->model, true, &m);
    if (rc) return rc;
    if ((rc = cli_cache_check(CMD, &mode, m))) {
        model_free(m);
        return rc;
    }
    int32_t *ids = NULL;
    int64_t n = 0;
    rc = o->ids ? parse_ids(o->ids, &ids, &n)
                : cli_tokenize(m, o->prompt, strlen(o->prompt), false, true, &ids, &n, &err);
    if (rc && !o->ids) {
        xq_err_prefix(&err, "logits: -p");
        rc = cli_report(&err);
    }
    if (!rc) rc = check_length(o, m, n);
    xq_outfile of = {0};
    if (!rc) rc = cli_out_open(&of, CMD, o->out);
    if (!rc && (rc = compute(m, ids, n, o->decode, (int)o->threads, mode, of.f, &err))) {
        xq_err_prefix(&err, CMD);
        rc = cli_report(&err);
    }
    if (!rc) rc = cli_out_commit(&of, CMD);
    xq_out_abort(&of);
    free(ids);
    model_free(m);
    return rc;
}

int cmd_logits(int argc, char **argv)
{
    logits_opts o;
    int rc = parse(argc, argv, &o);
    return rc ? (rc < 0 ? 0 : rc) : run(&o);
}
