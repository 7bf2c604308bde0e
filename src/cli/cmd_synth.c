/* `xqprof synth`: writes a real-shaped Llama model with random weights (see model/synth.h), or lists the named
 * shapes. Progress goes to stderr when it is a terminal; the file appears only once it is complete. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "model/qtypes.h"
#include "model/synth.h"

static const char *const usage =
    "usage: xqprof synth --shape NAME --out FILE.gguf [--type T] [--seed S] [--layers N]\n"
    "       xqprof synth --from MODEL.gguf --out FILE.gguf --type T\n"
    "       xqprof synth --list\n"
    "\n"
    "Writes a Llama-architecture GGUF model of a real shape with random weights (seeded, reproducible) and a\n"
    "byte-level SentencePiece vocabulary, for tests and for timing large shapes without downloading them.\n"
    "With --from, writes a real model's weights re-encoded in another type instead (every matrix read in its\n"
    "stored type and quantized again, as llama-quantize does; vocabulary and metadata copied), e.g. to see how a\n"
    "model runs, and what its cache modes cost, in K-quants.\n"
    "\n"
    "  --shape NAME   a named shape (see --list)\n"
    "  --from MODEL   a GGUF model whose weights to re-encode (instead of --shape; --seed and --layers do not apply)\n"
    "  --out FILE     output path (written to a temporary name, renamed when complete)\n"
    "  --type T       tensor type of every matrix, token_embd included; norms stay F32 (default F16):\n"
    "                 F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 IQ4_NL Q2_K Q3_K Q4_K Q5_K Q6_K IQ4_XS (K types\n"
    "                 need rows of 256k, else they fall back as llama-quantize's: Q2_K/Q3_K/IQ4_XS to IQ4_NL,\n"
    "                 Q4_K to Q5_0 …),\n"
    "                 or a mix, Q3_K_S Q3_K_M Q3_K_L Q4_K_S Q4_K_M Q5_K_S Q5_K_M: the types llama-quantize\n"
    "                 picks per tensor for that file type\n"
    "  --seed S       PRNG seed (default 1); the same seed gives the same bytes\n"
    "  --layers N     override the shape's layer count (e.g. a 2-layer llama3-8b)\n"
    "  --list         print the named shapes and exit\n"
    "  -h, --help     this help\n";

typedef struct synth_args {
    const char *shape, *out, *type, *from;
    uint64_t seed;
    long long layers; /* 0: the shape's own */
    bool list, help, seed_given;
} synth_args;

static int parse_seed(const char *val, uint64_t *seed)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(val, &end, 0);
    if (errno || end == val || *end || val[0] == '-')
        return cli_error(XQ_EINPUT, "synth", "--seed expects a non-negative integer, got '%s'", val);
    *seed = v;
    return XQ_OK;
}

static int parse_one(int argc, char **argv, int *i, synth_args *a)
{
    bool missing = false;
    const char *v;
    if (!strcmp(argv[*i], "-h") || !strcmp(argv[*i], "--help")) a->help = true;
    else if (!strcmp(argv[*i], "--list")) a->list = true;
    else if ((v = cli_flag_value(argc, argv, i, "--shape", &missing))) a->shape = v;
    else if (!missing && (v = cli_flag_value(argc, argv, i, "--from", &missing))) a->from = v;
    else if (!missing && (v = cli_flag_value(argc, argv, i, "--out", &missing))) a->out = v;
    else if (!missing && (v = cli_flag_value(argc, argv, i, "--type", &missing))) a->type = v;
    else if (!missing && (v = cli_flag_value(argc, argv, i, "--seed", &missing))) {
        a->seed_given = true;
        return parse_seed(v, &a->seed);
    }
    else if (!missing && (v = cli_flag_value(argc, argv, i, "--layers", &missing)))
        return cli_int("synth", "--layers", v, 1, 100000, &a->layers);
    else if (missing) return cli_error(XQ_EINPUT, "synth", "%s needs a value", argv[*i]);
    else return cli_error(XQ_EINPUT, "synth", "unknown argument '%s' (see xqprof synth --help)", argv[*i]);
    return XQ_OK;
}

static int parse_args(int argc, char **argv, synth_args *a)
{
    *a = (synth_args){.type = "F16", .seed = 1};
    for (int i = 1; i < argc; i++) {
        int rc = parse_one(argc, argv, &i, a);
        if (rc) return rc;
    }
    return XQ_OK;
}

static double shape_params(const model_shape *s)
{
    double d = s->n_embd, ff = s->n_ff, d_kv = d / s->n_head * s->n_head_kv, vocab = s->n_vocab;
    double per_layer = 2 * d * d + 2 * d * d_kv + 3 * d * ff + 2 * d;
    return vocab * d * (s->tied_output ? 1 : 2) + s->n_layer * per_layer + d;
}

static void print_shapes(void)
{
    printf("%-16s %6s %6s %6s %5s %4s %7s %6s %9s %7s %5s %9s\n", "shape", "layers", "d", "ff", "heads", "kv",
           "vocab", "ctx", "rope", "eps", "tied", "params");
    for (int i = 0; i < model_shape_count(); i++) {
        const model_shape *s = model_shape_at(i);
        double p = shape_params(s);
        printf("%-16s %6d %6d %6d %5d %4d %7d %6d %9g %7g %5s %8.*f%c\n", s->name, s->n_layer, s->n_embd, s->n_ff,
               s->n_head, s->n_head_kv, s->n_vocab, s->n_ctx, (double)s->rope_base, (double)s->norm_eps,
               s->tied_output ? "yes" : "no", p >= 1e9 ? 2 : 1, p >= 1e9 ? p / 1e9 : p / 1e6, p >= 1e9 ? 'B' : 'M');
    }
}

static void on_progress(void *ctx, uint64_t bytes_done, uint64_t bytes_total)
{
    (void)ctx;
    enum { MIB = 1 << 20, MIN_BYTES = 64 * MIB };
    if (bytes_total < MIN_BYTES) return;
    char extra[32];
    snprintf(extra, sizeof extra, "MiB (%d%%)", (int)(100 * bytes_done / bytes_total));
    cli_progress("synth", (int64_t)(bytes_done / MIB), (int64_t)(bytes_total / MIB), extra);
}

/* The written file's size for the closing line (0 if it cannot be read back). */
static double file_mib(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (double)st.st_size / (1 << 20) : 0.0;
}

static int run_synth(const synth_args *a)
{
    const model_shape *named = model_shape_find(a->shape);
    if (!named) return cli_error(XQ_EINPUT, "synth", "unknown shape '%s' (see xqprof synth --list)", a->shape);
    int type = synth_type_from_name(a->type);
    if (type < 0) return cli_error(XQ_EINPUT, "synth", "unknown tensor type '%s' (see xqprof synth --help)", a->type);
    model_shape shape = *named;
    if (a->layers) shape.n_layer = (int32_t)a->layers;
    xq_err err = {0};
    int rc = synth_write_progress(a->out, &shape, (uint32_t)type, a->seed, on_progress, NULL, &err);
    cli_progress_done();
    if (rc) return cli_report(&err);
    double mib = file_mib(a->out);
    fprintf(stderr, "synth: wrote %s (%s, %d layers, %s, seed %llu, %.1f MiB)\n", a->out, shape.name,
            shape.n_layer, synth_type_name((uint32_t)type), (unsigned long long)a->seed, mib);
    return 0;
}

static int run_requantize(const synth_args *a)
{
    int type = synth_type_from_name(a->type);
    if (type < 0) return cli_error(XQ_EINPUT, "synth", "unknown tensor type '%s' (see xqprof synth --help)", a->type);
    xq_err err = {0};
    int rc = synth_requantize(a->from, a->out, (uint32_t)type, on_progress, NULL, &err);
    cli_progress_done();
    if (rc) return cli_report(&err);
    double mib = file_mib(a->out);
    fprintf(stderr, "synth: wrote %s (%s re-encoded as %s, %.1f MiB)\n", a->out, a->from,
            synth_type_name((uint32_t)type), mib);
    return 0;
}

int cmd_synth(int argc, char **argv)
{
    synth_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc;
    if (a.help) {
        fputs(usage, stdout);
        return 0;
    }
    if (a.list) {
        print_shapes();
        return 0;
    }
    if (a.from && (a.shape || a.layers || a.seed_given))
        return cli_error(XQ_EINPUT, "synth", "--from re-encodes a model: --shape, --layers and --seed do not apply");
    if (!a.shape && !a.from) return cli_error(XQ_EINPUT, "synth", "--shape or --from is required (see xqprof synth --help)");
    if (!a.out) return cli_error(XQ_EINPUT, "synth", "--out is required");
    if ((rc = cli_check_output("synth", "--out", a.out))) return rc;
    return a.from ? run_requantize(&a) : run_synth(&a);
}
