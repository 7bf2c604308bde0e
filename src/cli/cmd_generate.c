/* xqprof generate: the prompt as given, then the continuation, streamed to stdout; statistics to stderr. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "cli/cache_opts.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/trace.h"
#include "engine/sample.h"
#include "engine/session.h"
#include "model/chat.h"

static const char *const CMD = "generate";

typedef struct gen_opts {
    const char *model, *prompt, *cache, *trace;
    long long n_predict, n_ctx, threads, top_k, seed;
    double temp, top_p;
    bool chat, no_echo;
    cli_cache_opts copts;
    int argc; /* the command line, recorded by --trace */
    char **argv;
} gen_opts;

static void help(void)
{
    printf("usage: xqprof generate [-m MODEL] -p PROMPT [-n N] [options]\n\n"
           "Prints the prompt as given, then the continuation as it is generated; statistics go to stderr.\n\n"
           "  -m, --model FILE    GGUF model (default: $XQPROF_MODEL, else models/default.gguf)\n"
           "  -p, --prompt TEXT   prompt text (special-token text such as <|im_start|> is parsed)\n"
           "  -n, --n-predict N   tokens to generate (default 128, >= 1)\n"
           "  -c, --ctx-size N    context length (default: the model's context_length)\n"
           "  -t, --threads N     threads (default: all cores)\n"
           "      --temp T        temperature; 0 = greedy (default 0.8)\n"
           "      --top-k K       keep the K most likely tokens, 0 = all (default 40)\n"
           "      --top-p P       nucleus sampling mass (default 0.95)\n"
           "      --seed S        sampling seed (default 42)\n"
           "      --chat          wrap the prompt in the model's chat template (ChatML)\n"
           "      --no-echo       print the continuation only\n"
           "      --cache MODE    cache mode (default fp16): see `xqprof ppl --help`; with --group, --window,\n"
           "                      --hi-layers, --fp16-ch0, --absorb-v as there\n"
           "      --trace FILE    record time, FLOPs and bytes per step, layer and op into FILE (SQLite)\n"
           "  -h, --help          this help\n\n"
           "Generation stops at an end-of-generation token, after N tokens, or at the context limit.\n"
           "Ctrl-C stops cleanly and prints the statistics so far.\n");
}

static int parse(int argc, char **argv, gen_opts *o)
{
    static const struct option longs[] = {
        {"model", 1, 0, 'm'}, {"prompt", 1, 0, 'p'}, {"n-predict", 1, 0, 'n'}, {"ctx-size", 1, 0, 'c'},
        {"threads", 1, 0, 't'}, {"temp", 1, 0, 1}, {"top-k", 1, 0, 2}, {"top-p", 1, 0, 3}, {"seed", 1, 0, 4},
        {"chat", 0, 0, 5}, {"no-echo", 0, 0, 6}, {"cache", 1, 0, 7}, {"trace", 1, 0, 8}, {"help", 0, 0, 'h'},
        CLI_CACHE_LONG_OPTIONS, {0, 0, 0, 0}};
    *o = (gen_opts){.model = cli_default_model(), .cache = "fp16", .n_predict = 128, .top_k = 40, .seed = 42,
                    .temp = 0.8, .top_p = 0.95};
    cli_cache_opts_init(&o->copts);
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
        case 1: rc = cli_float(CMD, "--temp", optarg, 0, 100, &o->temp); break;
        case 2: rc = cli_int(CMD, "--top-k", optarg, 0, 1 << 24, &o->top_k); break;
        case 3: rc = cli_float(CMD, "--top-p", optarg, 0, 1, &o->top_p); break;
        case 4: rc = cli_int(CMD, "--seed", optarg, 0, (1LL << 62), &o->seed); break;
        case 5: o->chat = true; break;
        case 6: o->no_echo = true; break;
        case 7: o->cache = optarg; break;
        case 8: o->trace = optarg; break;
        case 'h': help(); return -1;
        default:
            if (cli_cache_opt(CMD, ch, optarg, &o->copts, &rc)) break;
            return cli_bad_option(CMD, ch, argv);
        }
    }
    if (rc) return rc;
    if (optind < argc) return cli_error(XQ_EINPUT, CMD, "unexpected argument '%s'", argv[optind]);
    if (!o->prompt) return cli_error(XQ_EINPUT, CMD, "a prompt is required (-p TEXT)");
    if ((rc = cli_check_input(CMD, "-m", o->model))) return rc;
    return cli_trace_check(CMD, o->trace);
}

static void write_piece(const model *m, int32_t id)
{
    char buf[256];
    int n = tokenizer_piece(m->tok, id, false, buf, sizeof buf);
    if (n > 0 && n <= (int)sizeof buf) fwrite(buf, 1, (size_t)n, stdout);
    fflush(stdout);
}

typedef struct gen_stats {
    int64_t n_prompt, n_gen, t_prefill_ns, t_decode_ns;
} gen_stats;

/* next: the token drawn after the prompt. Each step evaluates one token and draws the next (session_eval_sample). */
static int generate_loop(session *s, sampler *smp, int32_t next, const gen_opts *o, gen_stats *st, xq_err *err)
{
    const model *m = session_model(s);
    int64_t t0 = xq_now_ns();
    for (st->n_gen = 0; st->n_gen < o->n_predict; st->n_gen++) {
        if (tokenizer_is_eog(m->tok, next)) break;
        write_piece(m, next);
        if (st->n_gen + 1 == o->n_predict) {
            st->n_gen++;
            break;
        }
        if (session_pos(s) >= session_n_ctx(s)) {
            st->n_gen++;
            fprintf(stderr, "\ngenerate: context limit reached (%lld tokens)\n", (long long)session_n_ctx(s));
            break;
        }
        if (cli_interrupted()) {
            st->n_gen++;
            fprintf(stderr, "\ngenerate: interrupted\n");
            break;
        }
        int rc = session_eval_sample(s, &next, 1, smp, &next, err);
        if (rc) return rc;
    }
    st->t_decode_ns = xq_now_ns() - t0;
    return XQ_OK;
}

static void print_stats(const gen_stats *st, int threads)
{
    double pp_s = (double)st->t_prefill_ns / 1e9, tg_s = (double)st->t_decode_ns / 1e9;
    fprintf(stderr, "\nprompt: %lld tokens in %.3f s (%.1f tokens/s)\n", (long long)st->n_prompt, pp_s,
            pp_s > 0 ? (double)st->n_prompt / pp_s : 0.0);
    /* The first generated token comes from the prefill's logits, so n_gen-1 decode steps were timed. */
    int64_t steps = st->n_gen > 1 ? st->n_gen - 1 : 0;
    if (tg_s > 0 && steps)
        fprintf(stderr, "generated: %lld tokens, decode %.1f tokens/s (%d threads)\n", (long long)st->n_gen,
                (double)steps / tg_s, threads);
    else /* no decode step was timed: a rate of 0 would read as a stall */
        fprintf(stderr, "generated: %lld tokens (no decode step timed: the first comes from the prompt's logits)\n",
                (long long)st->n_gen);
}

static int build_prompt(const model *m, const gen_opts *o, char **text)
{
    if (!o->chat) {
        *text = strdup(o->prompt);
        return *text ? 0 : cli_error(XQ_ERUN, CMD, "out of memory");
    }
    xq_err err = {0};
    if (chat_format_for_model(m->gguf, NULL, o->prompt, text, &err)) {
        xq_err_prefix(&err, CMD); /* the message starts with "chat: " */
        return cli_report(&err);
    }
    return 0;
}

static int run(const gen_opts *o)
{
    xq_err err = {0};
    cache_params cp;
    if (cli_cache_params(CMD, o->cache, &o->copts, &cp)) return XQ_EINPUT;
    model *m;
    int rc = cli_load_model(o->model, false, &m);
    if (rc) return rc;
    char *text = NULL;
    int32_t *ids = NULL;
    int64_t n_ids = 0;
    session *s = NULL;
    sampler *smp = NULL;
    cli_trace *tr = NULL;
    if ((rc = build_prompt(m, o, &text))) goto done;
    if ((rc = cli_tokenize(m, text, strlen(text), false, true, &ids, &n_ids, &err))) {
        xq_err_prefix(&err, o->chat ? "generate: -p (in the chat template)" : "generate: -p");
        rc = cli_report(&err);
        goto done;
    }
    cli_trace_info ti = {o->argc, o->argv, m, o->model, o->cache, NULL, (int)o->threads, o->n_ctx};
    if ((rc = cli_trace_open(o->trace, &ti, &tr))) goto done;
    session_params sp = {.n_ctx = o->n_ctx, .n_threads = (int)o->threads, .cache = cp,
                         .sink = cli_trace_sink(tr)};
    if ((rc = session_create(m, &sp, &s, &err))) goto report;
    cli_trace_bind(tr, s);
    cli_cache_report(CMD, session_cache(s));
    if (n_ids == 0) {
        rc = cli_error(XQ_EINPUT, CMD, "the prompt is empty and the model adds no BOS token");
        goto done;
    }
    if (n_ids > session_n_ctx(s)) {
        rc = cli_error(XQ_EINPUT, CMD, "prompt is %lld tokens, longer than the context (%lld)", (long long)n_ids,
                       (long long)session_n_ctx(s));
        goto done;
    }
    sampler_params smp_p = {(float)o->temp, (int32_t)o->top_k, (float)o->top_p, (uint64_t)o->seed};
    if (!(smp = sampler_create(m->cfg.n_vocab, &smp_p))) {
        rc = cli_error(XQ_ERUN, CMD, "out of memory");
        goto done;
    }
    cli_catch_signals();
    if (!o->no_echo) {
        fputs(o->prompt, stdout);
        if (o->chat) fputc('\n', stdout); /* the answer is a new turn */
        fflush(stdout);
    }
    gen_stats st = {.n_prompt = n_ids};
    int64_t t0 = xq_now_ns();
    int32_t next = 0;
    if ((rc = session_eval_sample(s, ids, n_ids, smp, &next, &err))) goto report;
    st.t_prefill_ns = xq_now_ns() - t0;
    if ((rc = generate_loop(s, smp, next, o, &st, &err))) goto report;
    fputc('\n', stdout);
    fflush(stdout);
    print_stats(&st, session_n_threads(s));
    rc = cli_interrupted() ? 130 : 0;
    goto done;
report:
    rc = cli_report(&err);
done:
    rc = cli_trace_close(tr, rc);
    sampler_destroy(smp);
    session_destroy(s);
    free(ids);
    free(text);
    model_free(m);
    return rc;
}

int cmd_generate(int argc, char **argv)
{
    gen_opts o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    o.argc = argc;
    o.argv = argv;
    return run(&o);
}
