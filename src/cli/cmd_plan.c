/* `xqprof plan`: the cache mode and bits that maximize tokens/s at a setting, within memory and an accuracy
 * budget, with the ranked alternatives and the reason for each. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/gpu_opts.h"
#include "gpu/plan.h"
#include "store/eval_results.h"
#include "store/reader.h"

static const char *const CMD = "plan";

static const char *const usage =
    "usage: xqprof plan (--shape NAME | --model FILE.gguf) [--gpu LIST] [--ctx LIST] [--batch LIST] [--tp N]\n"
    "                   [--max-dppl X [--eval RUN.db]] [--summary] [options]\n"
    "\n"
    "Projects every cache mode the model admits (fp16, kv-q8_0, kv-q4_0, kv-E, xq-E, xq-cl-E; xq-svd-E and\n"
    "xq-cl-svd-E for GQA models) at each setting with the roofline of `xqprof project`, and ranks them by\n"
    "tokens/s among those that fit in memory (and stay within the accuracy budget), printing why for each.\n"
    "\n"
    "  --shape NAME / --model FILE / --type T   the model, as for project (weights F16 unless --type)\n"
    "  --gpu LIST         catalogue ids (default h100-sxm)\n"
    "  --ctx LIST         cached tokens (default 32k; k = 1024)\n"
    "  --batch LIST       sequences per step (default 1)\n"
    "  --tp N             tensor-parallel ranks (default 1); X replicated unless --x-allgather\n"
    "  --max-dppl X       accuracy budget: perplexity increase over fp16. Without --eval the paper's published\n"
    "                     WikiText-2 numbers (XQUANT.md §5) are used, for llama2-7b, llama3-8b and mistral-7b;\n"
    "                     modes without a published number are then out of budget\n"
    "  --eval RUN.db      measured accuracy instead of the paper's: the Δppl per mode that `xqprof eval --trace\n"
    "                     RUN.db` recorded on a model of the same shape (layers, width, heads); modes it did not\n"
    "                     evaluate are then out of budget\n"
    "  --summary          one Markdown table row per setting (best mode and runner-up) instead of the ranking\n"
    "  --overlap, --l2-weights, --x-allgather, --launch-us US, --reserve GB, --gpus-file FILE: as for project\n"
    "  -h, --help         this help\n";

typedef struct plan_args {
    const char *shape, *model, *type, *gpus, *ctx, *batch, *eval, *gpus_file;
    long long tp;
    double max_dppl;
    bool summary, l2_weights, x_allgather, help;
    gpu_options opts;
} plan_args;

/* Flags that take a text value, and where it goes. */
static const gpu_cli_text_flag text_flags[] = {
    {"--shape", offsetof(plan_args, shape)}, {"--model", offsetof(plan_args, model)},
    {"--type", offsetof(plan_args, type)},   {"--gpus-file", offsetof(plan_args, gpus_file)},
    {"--gpu", offsetof(plan_args, gpus)},    {"--ctx", offsetof(plan_args, ctx)},
    {"--batch", offsetof(plan_args, batch)}, {"--eval", offsetof(plan_args, eval)},
};

static int parse_number(const char *flag, const char *v, plan_args *a)
{
    if (!strcmp(flag, "--tp")) return cli_int(CMD, flag, v, 1, 1024, &a->tp);
    if (!strcmp(flag, "--max-dppl")) return cli_float(CMD, flag, v, 0, 1e6, &a->max_dppl);
    if (!strcmp(flag, "--launch-us")) return cli_float(CMD, flag, v, 0, 1e6, &a->opts.launch_us);
    return cli_float(CMD, flag, v, 0, 1e6, &a->opts.reserve_gb);
}

static int parse_one(int argc, char **argv, int *i, plan_args *a)
{
    static const char *const number_flags[] = {"--tp", "--max-dppl", "--launch-us", "--reserve"};
    const char *arg = argv[*i], *v;
    bool missing = false;
    if (!strcmp(arg, "-h") || !strcmp(arg, "--help"))
        a->help = true;
    else if (!strcmp(arg, "--summary"))
        a->summary = true;
    else if (!strcmp(arg, "--l2-weights"))
        a->l2_weights = true;
    else if (!strcmp(arg, "--overlap"))
        a->opts.overlap = true;
    else if (!strcmp(arg, "--x-allgather"))
        a->x_allgather = true;
    else {
        if (gpu_cli_take_text(argc, argv, i, text_flags, sizeof text_flags / sizeof *text_flags, a, &missing))
            return XQ_OK;
        const char *flag = gpu_cli_take_flag(argc, argv, i, number_flags, sizeof number_flags / sizeof *number_flags,
                                             &v, &missing);
        if (flag) return parse_number(flag, v, a);
        if (missing) return cli_error(XQ_EINPUT, CMD, "%s needs a value", arg);
        return cli_error(XQ_EINPUT, CMD, "unknown argument '%s' (see xqprof plan --help)", arg);
    }
    return XQ_OK;
}

/* The one-line reason an entry ranks where it does. */
static void explain(const gpu_plan_entry *e, const gpu_spec *g, const gpu_setting *s, double max_dppl, char *buf,
                    size_t size)
{
    const gpu_result *r = &e->result;
    if (!r->fits)
        snprintf(buf, size, "does not fit: %.1f GB of cache beside %.1f GB of weights in %.0f GB",
                 (r->cache_bytes + r->transient_bytes) / 1e9, r->weight_bytes / 1e9, g->mem_gb);
    else if (!e->within_budget && isnan(e->dppl))
        snprintf(buf, size, "no dppl known for this mode and model (budget %.2f)", max_dppl);
    else if (!e->within_budget)
        snprintf(buf, size, "dppl %.4g over the budget %.2f", e->dppl, max_dppl);
    else if (r->compute_bound)
        snprintf(buf, size, "compute-bound: %.2f TFLOP per step%s", r->flops / 1e12,
                 r->break_even_ctx >= 0 && s->ctx > r->break_even_ctx ? ", past the rebuild's break-even" : "");
    else
        snprintf(buf, size, "memory-bound: %.2f GB read per step (cache %.2f GB)", r->hbm_bytes / 1e9,
                 (r->cache_bytes + r->transient_bytes) / 1e9);
}

static void print_dppl(double dppl)
{
    if (isnan(dppl))
        printf(" %6s", "?");
    else if (fabs(dppl) < 1e4)
        printf(" %6.3f", dppl);
    else
        printf(" %6.0e", dppl); /* an absurd value keeps its column rather than printing 300 digits */
}

static void print_ranking(const gpu_spec *g, const gpu_model *m, const gpu_setting *s, const gpu_options *o,
                          double max_dppl, bool measured, const gpu_plan_entry *e, int n)
{
    printf("plan: %s on %s (%s), ctx %lld, batch %d, tp %d", m->name, g->id, g->name, (long long)s->ctx, s->batch,
           s->tp);
    if (max_dppl >= 0) printf("; budget dppl <= %.2f (%s)", max_dppl, measured ? "measured by xqprof eval" : "paper, WikiText-2");
    if (o->overlap) printf("; layers timed with overlap");
    printf("\n");
    if (n > 0 && e[0].eligible)
        printf("best: %s, %.1f tokens/s, %s-bound, %.2f GB cache\n", e[0].mode.name, e[0].result.tokens_per_s,
               e[0].result.compute_bound ? "compute" : "memory", e[0].result.cache_bytes / 1e9);
    else
        printf("best: none fits%s\n", max_dppl >= 0 ? " within the budget" : "");
    printf("%4s %-12s %10s %9s %-8s %8s %-4s %6s  %s\n", "rank", "mode", "tokens/s", "step_ms", "bound", "cache_GB",
           "fits", "dppl", "why");
    for (int i = 0; i < n; i++) {
        char why[160];
        explain(&e[i], g, s, max_dppl, why, sizeof why);
        printf("%4d %-12s %10.1f %9.3f %-8s %8.2f %-4s", i + 1, e[i].mode.name, e[i].result.tokens_per_s,
               e[i].result.step_s * 1e3, e[i].result.compute_bound ? "compute" : "memory",
               (e[i].result.cache_bytes + e[i].result.transient_bytes) / 1e9, e[i].result.fits ? "yes" : "no");
        print_dppl(e[i].dppl);
        printf("  %s\n", why);
    }
}

static void print_summary_row(const gpu_spec *g, const gpu_setting *s, const gpu_plan_entry *e, int n)
{
    printf("| %s | %lld | %d |", g->id, (long long)s->ctx, s->batch);
    for (int i = 0; i < 2; i++) {
        if (i < n && e[i].eligible)
            printf(" %s | %.0f | %.2f |", e[i].mode.name, e[i].result.tokens_per_s, e[i].result.cache_bytes / 1e9);
        else
            printf(" none fits | - | - |");
    }
    printf("\n");
}

typedef struct plan_inputs {
    const gpu_spec *gpus[GPU_CLI_MAX_LIST];
    int64_t ctx[GPU_CLI_MAX_LIST], batch[GPU_CLI_MAX_LIST];
    int n_gpus, n_ctx, n_batch;
    gpu_model model;
    store_eval_result measured[STORE_EVAL_MAX]; /* --eval */
    const char *measured_modes[STORE_EVAL_MAX];
    double measured_dppl[STORE_EVAL_MAX];
    gpu_dppl_table table;
} plan_inputs;

static int load_eval(const plan_args *a, plan_inputs *in)
{
    store_reader *r;
    xq_err err = {0};
    if (store_reader_open(a->eval, &r, &err)) return cli_error(XQ_EINPUT, CMD, "--eval %s", err.msg);
    const gpu_model *m = &in->model;
    store_eval_shape shape = {m->n_layer, m->d, m->n_head, m->n_head_kv};
    int n = 0, rc = store_eval_results(r, &shape, in->measured, STORE_EVAL_MAX, &n, &err);
    store_reader_close(r);
    if (rc) return cli_error(rc, CMD, "--eval %s", err.msg);
    for (int i = 0; i < n; i++) {
        in->measured_modes[i] = in->measured[i].mode;
        in->measured_dppl[i] = in->measured[i].dppl;
    }
    in->table = (gpu_dppl_table){n, in->measured_modes, in->measured_dppl};
    fprintf(stderr, "plan: measured dppl of %d modes from %s\n", n, a->eval);
    return XQ_OK;
}

static int resolve(const plan_args *a, gpu_catalogue *cat, plan_inputs *in)
{
    int rc = gpu_cli_workload(CMD, a->shape, a->model, a->type, &in->model);
    if (!rc) rc = gpu_cli_gpus(CMD, cat, a->gpus ? a->gpus : "h100-sxm", in->gpus, &in->n_gpus);
    if (!rc) rc = gpu_cli_sizes(CMD, "--ctx", a->ctx ? a->ctx : "32k", 1, 1LL << 34, in->ctx, &in->n_ctx);
    if (!rc) rc = gpu_cli_sizes(CMD, "--batch", a->batch ? a->batch : "1", 1, 1 << 20, in->batch, &in->n_batch);
    if (!rc && a->eval && a->max_dppl < 0)
        rc = cli_error(XQ_EINPUT, CMD, "--eval needs --max-dppl (the budget to filter with)");
    if (!rc && a->eval) rc = load_eval(a, in);
    return rc;
}

static int plan_one(const plan_args *a, const plan_inputs *in, const gpu_spec *g, const gpu_setting *s)
{
    gpu_plan_entry entries[GPU_PLAN_MAX];
    xq_err err = {0};
    int n = gpu_plan(g, &in->model, s, &a->opts, a->max_dppl, a->eval ? &in->table : NULL, entries, GPU_PLAN_MAX,
                     &err);
    if (n < 0) return cli_error(XQ_EINPUT, CMD, "%s", err.msg);
    if (a->summary)
        print_summary_row(g, s, entries, n);
    else {
        print_ranking(g, &in->model, s, &a->opts, a->max_dppl, a->eval != NULL, entries, n);
        printf("\n");
    }
    return XQ_OK;
}

static int run_plan(const plan_args *a)
{
    gpu_catalogue *cat;
    int rc = gpu_cli_catalogue(CMD, a->gpus_file, false, &cat);
    if (rc) return rc;
    static plan_inputs in;
    rc = resolve(a, cat, &in);
    if (!rc && a->summary)
        printf("| GPU | ctx | batch | best | tokens/s | cache GB | runner-up | tokens/s | cache GB |\n"
               "|---|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; !rc && i < in.n_gpus; i++)
        for (int b = 0; !rc && b < in.n_batch; b++)
            for (int x = 0; !rc && x < in.n_ctx; x++) {
                gpu_setting s = {in.ctx[x], (int)in.batch[b], (int)a->tp, a->x_allgather, a->l2_weights};
                rc = plan_one(a, &in, in.gpus[i], &s);
            }
    gpu_catalogue_destroy(cat);
    return rc;
}

int cmd_plan(int argc, char **argv)
{
    plan_args a = {.tp = 1, .max_dppl = -1};
    gpu_options_default(&a.opts);
    for (int i = 1; i < argc; i++) {
        int rc = parse_one(argc, argv, &i, &a);
        if (rc) return rc;
        if (a.help) {
            fputs(usage, stdout);
            return 0;
        }
    }
    return run_plan(&a);
}
