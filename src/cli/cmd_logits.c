/* xqprof logits: writes n_tokens × n_vocab float32 logits (little-endian, row-major) for a token sequence,
 * computed as one batched prefill (default) or token by token (--decode). Used by the tests. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "engine/session.h"

static const char *const CMD = "logits";

static void help(void)
{
    printf("usage: xqprof logits [-m MODEL] (--ids 1,2,3 | -p TEXT) -o FILE [--decode] [-t N] [--cache MODE]\n\n"
           "Writes the logits of every position (n_tokens rows of n_vocab float32) to FILE.\n\n"
           "  --ids LIST     comma-separated token ids\n"
           "  -p TEXT        tokenize TEXT (with the BOS rule) instead\n"
           "  --decode       evaluate one token at a time instead of one batched prefill\n"
           "  -o FILE        output file ('-' for stdout)\n");
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

int cmd_logits(int argc, char **argv)
{
    static const struct option longs[] = {{"model", 1, 0, 'm'}, {"ids", 1, 0, 1}, {"decode", 0, 0, 2},
                                          {"cache", 1, 0, 3},   {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    const char *model_path = cli_default_model(), *out_path = NULL, *ids_s = NULL, *prompt = NULL, *cache = "fp16";
    long long threads = 0;
    bool decode = false;
    opterr = 0;
    optind = 1;
    int ch, rc = 0;
    while (!rc && (ch = getopt_long(argc, argv, ":m:o:p:t:h", longs, NULL)) != -1) {
        switch (ch) {
        case 'm': model_path = optarg; break;
        case 'o': out_path = optarg; break;
        case 'p': prompt = optarg; break;
        case 't': rc = cli_int(CMD, "-t", optarg, 1, 1024, &threads); break;
        case 1: ids_s = optarg; break;
        case 2: decode = true; break;
        case 3: cache = optarg; break;
        case 'h': help(); return 0;
        default: return cli_bad_option(CMD, ch, argv);
        }
    }
    if (rc) return rc;
    if (!out_path || !ids_s == !prompt) return cli_error(XQ_EINPUT, CMD, "need -o FILE and one of --ids or -p");
    xq_err err = {0};
    cache_params mode;
    if (cache_params_parse(cache, &mode, &err)) return cli_report(&err);
    model *m;
    if ((rc = cli_load_model(model_path, true, &m))) return rc;
    int32_t *ids = NULL;
    int64_t n = 0;
    rc = ids_s ? parse_ids(ids_s, &ids, &n) : cli_tokenize(m, prompt, strlen(prompt), false, true, &ids, &n, &err);
    if (rc && !ids_s) rc = cli_report(&err);
    xq_outfile of = {0};
    if (!rc) rc = cli_out_open(&of, CMD, out_path);
    if (!rc && (rc = compute(m, ids, n, decode, (int)threads, mode, of.f, &err))) rc = cli_report(&err);
    if (!rc) rc = cli_out_commit(&of, CMD);
    xq_out_abort(&of);
    free(ids);
    model_free(m);
    return rc;
}
