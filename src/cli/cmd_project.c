/* `xqprof project`: roofline projection of decode steps onto catalogue GPUs, from a recorded run (RUN.db), a
 * named shape or a model file, per cache mode, context, batch and tensor-parallel degree, with efficiency factors
 * by default or calibrated on a recorded run (--calibrate); optionally as CSV. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/charts.h"
#include "cli/common.h"
#include "cli/gpu_opts.h"
#include "gpu/project.h"
#include "gpu/project_run.h"
#include "store/align.h"

static const char *const CMD = "project";

static const char *const usage =
    "usage: xqprof project (RUN.db | --shape NAME | --model FILE.gguf) [--gpu LIST] [--ctx LIST] [--batch LIST]\n"
    "                      [--tp LIST] [--modes LIST] [--calibrate CAL.db] [--csv FILE] [--svg F] [--png F]\n"
    "                      [options]\n"
    "       xqprof project --calibrate CAL.db       (prints the efficiency factors only)\n"
    "\n"
    "Projects one decode step onto GPUs of the catalogue (xqprof gpus) with a roofline model: per op\n"
    "max(FLOPs / peak, bytes / bandwidth), each divided by its op class's efficiency factor, plus a launch\n"
    "overhead per kernel. Weights are read once per step and shared by the batch; cache reads and the K/V\n"
    "rebuild are per sequence. Per setting: step time, tokens/s, memory- or compute-bound, cache size, whether\n"
    "it fits beside the weights, the largest context (at that batch) and batch (at that context) that fit, and\n"
    "XQuant's break-even context (XQUANT.md §4, raw peaks): past it, rebuilding K/V from X no longer hides under\n"
    "the byte stream.\n"
    "Tensor parallel: K/V shard by head; X is replicated on every rank (X = repl) or sharded and all-gathered\n"
    "every step (X = gath); both are shown. Lists are comma-separated; k = 1024 (32k = 32768).\n"
    "\n"
    "  RUN.db             a recorded trace (--trace): its decode steps' FLOPs and bytes per layer and op,\n"
    "                     rescaled to each context and batch; the model and cache mode are the run's\n"
    "  --run N            which run of RUN.db (default: the latest)\n"
    "  --shape NAME       a named shape: llama2-7b, llama3-8b (Llama-3.1-8B), mistral-7b, smollm2-135m …\n"
    "                     (xqprof synth --list); weights F16 unless --type\n"
    "  --model FILE       a GGUF model: its dimensions and weights as stored (or re-priced with --type)\n"
    "  --type T           weight type: F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 IQ4_NL IQ4_XS Q2_K … Q6_K\n"
    "  --gpu LIST         catalogue ids (default h100-sxm); `cpu` is this machine, measured\n"
    "  --ctx LIST         cached tokens (default 2k,8k,32k,128k)\n"
    "  --batch LIST       sequences per step (default 1)\n"
    "  --tp LIST          tensor-parallel ranks (default 1)\n"
    "  --modes LIST       cache modes (default fp16,kv-4,kv-2,xq-4,xq-2, plus xq-svd-4,xq-svd-2 for GQA):\n"
    "                     fp16 fp32 kv-q8_0 kv-q4_0 kv-E xq-E xq-svd-E (E = 8,4,3,2) xq-cl-E xq-cl-svd-E (4,3,2)\n"
    "  --group G          quantization group size (default 128)\n"
    "  --hi-layers N      first N layers as plain 4-bit X (default 3 for CL modes, else 0)\n"
    "  --calibrate CAL.db efficiency factors from a run recorded on the device projected onto: per op class\n"
    "                     (gemm, attention, elementwise, rebuild) the FLOP/s of its compute-bound ops and the\n"
    "                     bytes/s of its memory-bound ops in the fastest quarter of the run's decode steps\n"
    "                     (else of its prefill steps), against the peaks in its device table\n"
    "                     (default: compute 0.80 and memory 0.90 of the peaks, link 1; docs/GPUS.md)\n"
    "  --l2-weights       re-read the rebuild matrices from L2 when they fit; shows the break-even both ways\n"
    "  --x-allgather      the CSV's rows for TP > 1 use all-gathered X (default: replicated)\n"
    "  --overlap          time each layer as one unit (its ops overlap: the rebuild hides under the weight\n"
    "                     stream up to the break-even, as XQUANT.md §4 assumes); default: op by op\n"
    "  --launch-us US     launch overhead per kernel (default 3 on GPUs, 0 on the cpu)\n"
    "  --reserve GB       memory kept free beside weights and cache (default 0)\n"
    "  --csv FILE         also write one row per setting: gpu,mode,ctx,batch,tp,step_ms,tokens_per_s,bound,\n"
    "                     cache_gb,fits,max_ctx,max_batch,break_even_ctx (break_even_ctx empty when none)\n"
    "  --svg FILE         chart: step time against context per GPU and mode (a panel per batch, up to 3, at the\n"
    "                     first TP) and the break-even context per GPU (first batch)\n"
    "  --png FILE         the same chart as PNG\n"
    "  --gpus-file FILE   add or override catalogue entries (docs/GPUS.md)\n"
    "  -h, --help         this help\n";

typedef struct project_args {
    const char *shape, *model, *type, *gpus, *ctx, *batch, *tp, *modes, *csv, *gpus_file, *calibrate, *run_file;
    const char *svg, *png;
    long long group, hi_layers, run;
    bool l2_weights, x_allgather, help;
    bool calibrated_on_cpu; /* --calibrate: the run's device was a CPU */
    gpu_options opts;
} project_args;

/* Flags that take a text value, and where it goes. */
static const gpu_cli_text_flag text_flags[] = {
    {"--shape", offsetof(project_args, shape)},
    {"--model", offsetof(project_args, model)},
    {"--type", offsetof(project_args, type)},
    {"--gpus-file", offsetof(project_args, gpus_file)},
    {"--gpu", offsetof(project_args, gpus)},
    {"--ctx", offsetof(project_args, ctx)},
    {"--batch", offsetof(project_args, batch)},
    {"--tp", offsetof(project_args, tp)},
    {"--modes", offsetof(project_args, modes)},
    {"--csv", offsetof(project_args, csv)},
    {"--svg", offsetof(project_args, svg)},
    {"--png", offsetof(project_args, png)},
    {"--calibrate", offsetof(project_args, calibrate)},
};

static int parse_number(const char *flag, const char *v, project_args *a)
{
    if (!strcmp(flag, "--group")) return cli_int(CMD, flag, v, 1, 1 << 20, &a->group);
    if (!strcmp(flag, "--hi-layers")) return cli_int(CMD, flag, v, 0, 1 << 20, &a->hi_layers);
    if (!strcmp(flag, "--run")) return cli_int(CMD, flag, v, 1, 1LL << 62, &a->run);
    if (!strcmp(flag, "--launch-us")) return cli_float(CMD, flag, v, 0, 1e6, &a->opts.launch_us);
    return cli_float(CMD, flag, v, 0, 1e6, &a->opts.reserve_gb);
}

static int positional(const char *arg, project_args *a)
{
    if (arg[0] == '-') return cli_error(XQ_EINPUT, CMD, "unknown option '%s' (see xqprof project --help)", arg);
    if (a->run_file) return cli_error(XQ_EINPUT, CMD, "one recorded run at a time ('%s' and '%s')", a->run_file, arg);
    a->run_file = arg;
    return XQ_OK;
}

static int parse_one(int argc, char **argv, int *i, project_args *a)
{
    static const char *const number_flags[] = {"--group", "--hi-layers", "--launch-us", "--reserve", "--run"};
    const char *arg = argv[*i], *v;
    bool missing = false;
    if (!strcmp(arg, "-h") || !strcmp(arg, "--help"))
        a->help = true;
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
        return positional(arg, a);
    }
    return XQ_OK;
}

typedef struct project_plan {
    const gpu_spec *gpus[GPU_CLI_MAX_LIST];
    int n_gpus, n_ctx, n_batch, n_tp, n_modes;
    int64_t ctx[GPU_CLI_MAX_LIST], batch[GPU_CLI_MAX_LIST], tp[GPU_CLI_MAX_LIST];
    gpu_mode modes[GPU_CLI_MAX_LIST];
    gpu_model model;
    store_profile *recorded; /* RUN.db's decode steps, or NULL for a shape or a model file */
} project_plan;

/* RUN.db: the model, its weights and the one cache mode come from the run. */
static int resolve_recorded(const project_args *a, project_plan *p)
{
    if (a->shape || a->model) return cli_error(XQ_EINPUT, CMD, "give one of RUN.db, --shape NAME and --model FILE");
    if (a->modes || a->type)
        return cli_error(XQ_EINPUT, CMD, "%s: a recorded run projects its own cache mode and weights",
                         a->modes ? "--modes" : "--type");
    store_reader *r = NULL;
    store_profile_opts po = {STORE_PHASE_DECODE, 1.0};
    xq_err err = {0};
    int rc = store_reader_open(a->run_file, &r, &err);
    if (!rc) rc = store_profile_load(r, a->run, &po, &p->recorded, &err);
    store_reader_close(r);
    if (!rc) rc = gpu_model_from_run(p->recorded, &p->model, &err);
    if (!rc) rc = gpu_mode_from_run(&p->recorded->meta, &p->modes[0], &err);
    if (rc) {
        xq_err_prefix(&err, CMD);
        return cli_report(&err);
    }
    p->n_modes = 1;
    return XQ_OK;
}

static int resolve_model(const project_args *a, project_plan *p)
{
    if (a->run_file) return resolve_recorded(a, p);
    if (a->run) return cli_error(XQ_EINPUT, CMD, "--run needs a recorded run (RUN.db)");
    int rc = gpu_cli_workload(CMD, a->shape, a->model, a->type, &p->model);
    if (rc) return rc;
    const char *modes = a->modes;
    if (!modes)
        modes = p->model.n_head_kv < p->model.n_head ? "fp16,kv-4,kv-2,xq-4,xq-2,xq-svd-4,xq-svd-2"
                                                     : "fp16,kv-4,kv-2,xq-4,xq-2";
    return gpu_cli_modes(CMD, modes, (int)a->group, (int)a->hi_layers, p->modes, &p->n_modes);
}

static int resolve(const project_args *a, gpu_catalogue *cat, project_plan *p)
{
    int rc = resolve_model(a, p);
    if (!rc) rc = gpu_cli_gpus(CMD, cat, a->gpus ? a->gpus : "h100-sxm", p->gpus, &p->n_gpus);
    if (!rc) rc = gpu_cli_sizes(CMD, "--ctx", a->ctx ? a->ctx : "2k,8k,32k,128k", 1, 1LL << 34, p->ctx, &p->n_ctx);
    if (!rc) rc = gpu_cli_sizes(CMD, "--batch", a->batch ? a->batch : "1", 1, 1 << 20, p->batch, &p->n_batch);
    if (!rc) rc = gpu_cli_sizes(CMD, "--tp", a->tp ? a->tp : "1", 1, 1024, p->tp, &p->n_tp);
    return rc;
}

static void print_recorded(const store_profile *r)
{
    const store_run_meta *m = &r->meta;
    printf("recorded: %s run %lld, cache %s, %d threads on %s: %lld decode steps at mean ctx %.1f; their FLOPs and "
           "bytes per layer and op, rescaled to each setting (docs/GPUS.md)\n",
           m->path, (long long)m->id, m->cache_mode, m->threads, m->device.present ? m->device.name : "?",
           (long long)r->totals.steps, r->totals.mean_ctx);
}

static void print_header(const project_args *a, const project_plan *p, const char *eff_source)
{
    const gpu_model *m = &p->model;
    printf("model %s: %d layers, d %d, %d heads / %d KV heads, weights %s (%.2f GB)\n", m->name, m->n_layer, m->d,
           m->n_head, m->n_head_kv, m->weight_type, gpu_model_weight_bytes(m) / 1e9);
    if (p->recorded) print_recorded(p->recorded);
    char launch[48];
    if (a->opts.launch_us >= 0)
        snprintf(launch, sizeof launch, "%.1f us", a->opts.launch_us);
    else
        snprintf(launch, sizeof launch, "%.1f us (0 on the cpu)", GPU_LAUNCH_US_DEFAULT);
    printf("roofline per %s: max(FLOPs / (peak x compute), bytes / (bandwidth x memory)) + %s per kernel; "
           "reserve %.1f GB\n",
           a->opts.overlap ? "layer (--overlap)" : "op", launch, a->opts.reserve_gb);
    gpu_cli_print_efficiency(&a->opts.eff, eff_source);
    printf("break_even: XQUANT.md §4 on raw peaks, tokens; none = no rebuild, or it never outgrows the byte stream%s\n",
           a->l2_weights ? "; be_l2: rebuild matrices re-read from L2 when they fit" : "");
}

static void print_gpu_header(const project_args *a, const gpu_spec *g)
{
    bool l2 = a->l2_weights;
    printf("\n%s (%s): %.1f TFLOP/s, %.3g TB/s, ridge %.0f, %.0f GB, L2 %.0f MB\n", g->id, g->name, g->tensor_tflops,
           g->bw_tbs, gpu_spec_ridge(g), g->mem_gb, g->l2_mb);
    if (a->calibrate && g->measured != a->calibrated_on_cpu)
        printf("note: the efficiency factors were measured on a %s, not on this device\n",
               a->calibrated_on_cpu ? "cpu" : "gpu");
    printf("%-12s %-4s %8s %6s %4s %10s %10s %-8s %9s %-4s %10s %9s %10s%s\n", "mode", "X", "ctx", "batch", "tp",
           "step_ms", "tokens/s", "bound", "cache_GB", "fits", "max_ctx", "max_batch", "break_even",
           l2 ? "      be_l2" : "");
}

static void print_break_even(double v)
{
    if (v < 0)
        printf(" %10s", "none");
    else
        printf(" %10.0f", v);
}

static void print_row(const gpu_mode *mode, const gpu_setting *s, const gpu_result *r, const gpu_spec *g,
                      const gpu_model *m, bool l2)
{
    const char *x = s->tp == 1 || !gpu_mode_rematerializes(mode) ? "-" : s->x_allgather ? "gath" : "repl";
    printf("%-12s %-4s %8lld %6d %4d %10.3f %10.1f %-8s %9.2f %-4s %10lld %9lld", mode->name, x, (long long)s->ctx,
           s->batch, s->tp, r->step_s * 1e3, r->tokens_per_s, r->compute_bound ? "compute" : "memory",
           (r->cache_bytes + r->transient_bytes) / 1e9, r->fits ? "yes" : "no", (long long)r->max_ctx,
           (long long)r->max_batch);
    gpu_setting plain = *s;
    plain.l2_weights = false;
    print_break_even(gpu_break_even_ctx(g, m, mode, &plain));
    if (l2) print_break_even(r->break_even_ctx);
    printf("\n");
}

static void csv_row(FILE *f, const gpu_spec *g, const gpu_mode *mode, const gpu_setting *s, const gpu_result *r)
{
    fprintf(f, "%s,%s,%lld,%d,%d,%.6f,%.3f,%s,%.6f,%d,%lld,%lld,", g->id, mode->name, (long long)s->ctx, s->batch,
            s->tp, r->step_s * 1e3, r->tokens_per_s, r->compute_bound ? "compute" : "memory",
            (r->cache_bytes + r->transient_bytes) / 1e9, r->fits ? 1 : 0, (long long)r->max_ctx,
            (long long)r->max_batch);
    if (r->break_even_ctx >= 0) fprintf(f, "%.0f", r->break_even_ctx);
    fputc('\n', f);
}

typedef struct run_ctx {
    const project_args *a;
    const project_plan *p;
    FILE *csv;
    double *chart_ms, *chart_be; /* --svg/--png: [gpu][mode][batch][ctx] and [gpu][mode][batch] at the first TP */
} run_ctx;

typedef struct setting_index {
    int gpu, mode, batch, ctx, tp;
} setting_index;

static void keep_for_chart(run_ctx *c, const setting_index *i, const gpu_result *r, double break_even)
{
    const project_plan *p = c->p;
    if (!c->chart_ms || i->tp != 0) return;
    size_t gmb = ((size_t)i->gpu * p->n_modes + i->mode) * p->n_batch + i->batch;
    c->chart_ms[gmb * p->n_ctx + i->ctx] = r->step_s * 1e3;
    c->chart_be[gmb] = break_even;
}

static int one_setting(run_ctx *c, const gpu_spec *g, const gpu_mode *mode, gpu_setting *s, const setting_index *ix)
{
    int variants = s->tp > 1 && gpu_mode_rematerializes(mode) ? 2 : 1;
    for (int v = 0; v < variants; v++) {
        s->x_allgather = variants == 2 && v == 1;
        gpu_result r;
        xq_err err = {0};
        int rc = c->p->recorded ? gpu_project_run(g, c->p->recorded, &c->p->model, mode, s, &c->a->opts, &r, &err)
                                : gpu_project(g, &c->p->model, mode, s, &c->a->opts, &r, &err);
        if (rc) return cli_error(XQ_EINPUT, CMD, "%s", err.msg);
        print_row(mode, s, &r, g, &c->p->model, c->a->l2_weights);
        if (variants == 2 && s->x_allgather != c->a->x_allgather) continue;
        if (c->csv) csv_row(c->csv, g, mode, s, &r);
        gpu_setting plain = *s;
        plain.l2_weights = false;
        keep_for_chart(c, ix, &r, gpu_break_even_ctx(g, &c->p->model, mode, &plain));
    }
    return XQ_OK;
}

static int project_gpu(run_ctx *c, int gi)
{
    const project_plan *p = c->p;
    const gpu_spec *g = p->gpus[gi];
    print_gpu_header(c->a, g);
    for (int t = 0; t < p->n_tp; t++)
        for (int b = 0; b < p->n_batch; b++)
            for (int x = 0; x < p->n_ctx; x++)
                for (int k = 0; k < p->n_modes; k++) {
                    gpu_setting s = {p->ctx[x], (int)p->batch[b], (int)p->tp[t], false, c->a->l2_weights};
                    setting_index ix = {gi, k, b, x, t};
                    int rc = one_setting(c, g, &p->modes[k], &s, &ix);
                    if (rc) return rc;
                }
    return XQ_OK;
}

static int write_charts(const run_ctx *c)
{
    const project_plan *p = c->p;
    const char *gpus[GPU_CLI_MAX_LIST], *modes[GPU_CLI_MAX_LIST];
    for (int i = 0; i < p->n_gpus; i++) gpus[i] = p->gpus[i]->id;
    for (int i = 0; i < p->n_modes; i++) modes[i] = p->modes[i].name;
    cli_project_chart ch = {p->n_gpus, p->n_modes, p->n_batch, p->n_ctx, gpus, modes, p->batch, p->ctx,
                            c->chart_ms, c->chart_be};
    char title[512];
    snprintf(title, sizeof title, "%s, weights %s: decode on %d GPU%s, context %lld to %lld, batch %lld%s, tp %lld",
             p->model.name, p->model.weight_type, p->n_gpus, p->n_gpus > 1 ? "s" : "", (long long)p->ctx[0],
             (long long)p->ctx[p->n_ctx - 1], (long long)p->batch[0], p->n_batch > 1 ? " and more" : "",
             (long long)p->tp[0]);
    int rc = c->a->svg ? cli_chart_project(CMD, c->a->svg, title, &ch) : 0;
    if (!rc && c->a->png) rc = cli_chart_project(CMD, c->a->png, title, &ch);
    return rc;
}

static int run_project(project_args *a)
{
    char eff_source[1200] = "defaults (docs/GPUS.md)";
    if (a->calibrate) {
        int rc =
            gpu_cli_calibrate(CMD, a->calibrate, &a->opts.eff, eff_source, sizeof eff_source, &a->calibrated_on_cpu);
        if (rc || (!a->run_file && !a->shape && !a->model)) return rc; /* --calibrate alone: the factors only */
    }
    gpu_catalogue *cat;
    int rc = gpu_cli_catalogue(CMD, a->gpus_file, false, &cat);
    if (rc) return rc;
    static project_plan p;
    rc = resolve(a, cat, &p);
    xq_outfile of = {0};
    if (!rc && a->csv) rc = cli_out_open(&of, CMD, a->csv);
    run_ctx c = {a, &p, of.f, NULL, NULL};
    if (!rc && (a->svg || a->png)) {
        size_t n = (size_t)p.n_gpus * p.n_modes * p.n_batch;
        c.chart_ms = calloc(n * p.n_ctx, sizeof *c.chart_ms);
        c.chart_be = calloc(n, sizeof *c.chart_be);
        if (!c.chart_ms || !c.chart_be) rc = cli_error(XQ_ERUN, CMD, "out of memory");
    }
    if (!rc) {
        if (c.csv)
            fprintf(c.csv, "gpu,mode,ctx,batch,tp,step_ms,tokens_per_s,bound,cache_gb,fits,max_ctx,max_batch,"
                           "break_even_ctx\n");
        print_header(a, &p, eff_source);
        for (int i = 0; !rc && i < p.n_gpus; i++) rc = project_gpu(&c, i);
    }
    if (!rc && c.csv) rc = cli_out_commit(&of, CMD);
    xq_out_abort(&of);
    if (!rc && c.chart_ms) rc = write_charts(&c);
    free(c.chart_ms);
    free(c.chart_be);
    gpu_catalogue_destroy(cat);
    store_profile_free(p.recorded);
    return rc;
}

int cmd_project(int argc, char **argv)
{
    project_args a = {.group = 0, .hi_layers = -1};
    gpu_options_default(&a.opts);
    for (int i = 1; i < argc; i++) {
        int rc = parse_one(argc, argv, &i, &a);
        if (rc) return rc;
        if (a.help) {
            fputs(usage, stdout);
            return 0;
        }
    }
    int rc = cli_chart_check(CMD, a.svg, a.png);
    if (!rc && a.csv) rc = cli_check_output(CMD, "--csv", a.csv);
    return rc ? rc : run_project(&a);
}
