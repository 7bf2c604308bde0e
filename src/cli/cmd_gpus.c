/* `xqprof gpus`: the GPU catalogue, one row per entry starting with its id, the measured CPU included. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/gpu_opts.h"

static const char *const CMD = "gpus";

static const char *const usage =
    "usage: xqprof gpus [--gpus-file FILE] [--no-cpu]\n"
    "\n"
    "Prints the GPU catalogue that `project` and `plan` use: one row per device, starting with the id to give\n"
    "to --gpu. Rates are dense (no sparsity) tensor TFLOP/s; `tensor` is fp16/bf16 with FP32 accumulation (on\n"
    "GeForce cards half the FP16-accumulate rate, shown as fp16acc). Sources of every value: docs/GPUS.md.\n"
    "The last row is this machine's CPU with its measured peaks (fp32 FMA loop, streaming read), measured once\n"
    "(under 2 s) and cached in ~/.cache/xqprof/roofline.tsv.\n"
    "\n"
    "  --gpus-file FILE  add or override entries (format: docs/GPUS.md, \"Adding a GPU\")\n"
    "  --no-cpu          leave out the CPU row (no measurement)\n"
    "  -h, --help        this help\n";

static void print_rate(double v, int width)
{
    if (v > 0)
        printf(" %*.*f", width, v < 100 ? 1 : 0, v);
    else
        printf(" %*s", width, "-");
}

static void print_row(const gpu_spec *g)
{
    printf("%-10s %-24.24s %-17.17s %4d", g->id, g->name, g->arch, g->sms);
    print_rate(g->tensor_tflops, 7);
    print_rate(g->fp16acc_tflops, 7);
    print_rate(g->fp8_tflops, 6);
    print_rate(g->int8_tops, 6);
    print_rate(g->fp32_tflops, 6);
    printf(" %6.0f %6.3f %5.0f", g->mem_gb, g->bw_tbs, gpu_spec_ridge(g));
    print_rate(g->l2_mb, 5);
    print_rate(g->link_gbs, 6);
    printf("  %s\n", g->link);
}

static void print_table(const gpu_catalogue *cat)
{
    printf("%-10s %-24s %-17s %4s %7s %7s %6s %6s %6s %6s %6s %5s %5s %6s  %s\n", "id", "name", "arch", "SMs", "tensor",
           "fp16acc", "fp8", "int8", "fp32", "mem_GB", "TB/s", "ridge", "L2_MB", "link", "link kind");
    for (int i = 0; i < gpu_catalogue_count(cat); i++)
        print_row(gpu_catalogue_at(cat, i));
    printf("units: TFLOP/s (int8: TOP/s), dense; GB = 10^9 bytes; ridge = tensor FLOP per byte of memory traffic;\n"
           "link = GPU-to-GPU GB/s, bidirectional. Sources: docs/GPUS.md.\n");
}

int cmd_gpus(int argc, char **argv)
{
    const char *gpus_file = NULL;
    bool with_cpu = true;
    for (int i = 1; i < argc; i++) {
        bool missing = false;
        const char *v;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(usage, stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--no-cpu"))
            with_cpu = false;
        else if ((v = cli_flag_value(argc, argv, &i, "--gpus-file", &missing)))
            gpus_file = v;
        else if (missing)
            return cli_error(XQ_EINPUT, CMD, "%s needs a value", argv[i]);
        else
            return cli_error(XQ_EINPUT, CMD, "unknown argument '%s' (see xqprof gpus --help)", argv[i]);
    }
    gpu_catalogue *cat;
    int rc = gpu_cli_catalogue(CMD, gpus_file, with_cpu, &cat);
    if (rc) return rc;
    print_table(cat);
    gpu_catalogue_destroy(cat);
    return 0;
}
