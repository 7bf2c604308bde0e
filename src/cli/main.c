/* xqprof: is it cheaper to store the KV cache, or to recompute it? One binary, subcommands. */
#include <stdio.h>
#include <string.h>

#include "base/runfiles.h"
#include "cli/commands.h"
#include "cli/common.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"top", cmd_top, "run a model live under the terminal UI: where time and bytes go, per cache mode"},
    {"generate", cmd_generate, "generate text from a prompt (greedy or sampled)"},
    {"ppl", cmd_ppl, "perplexity of a text, as llama-perplexity computes it"},
    {"eval", cmd_eval, "accuracy vs memory of cache modes against the fp16 baseline (ppl, KL, top-1)"},
    {"tokenize", cmd_tokenize, "print token ids of a text ([id, id, ...]); --detokenize reverses"},
    {"info", cmd_info, "show a model's architecture, shapes, tensor types and sizes"},
    {"bench", cmd_bench, "prefill and decode speed (tokens/s), like llama-bench"},
    {"synth", cmd_synth, "write a real-shaped model with random weights"},
    {"logits", cmd_logits, "write the logits of a token sequence to a file (for tests)"},
    {"view", cmd_view, "browse a recorded trace in the terminal UI (two traces: side by side)"},
    {"export", cmd_export, "export a recorded trace as Chrome JSON (Perfetto), CSV or Markdown"},
    {"gpus", cmd_gpus, "the GPU catalogue (and this CPU, measured): peaks, memory, bandwidth, L2, links"},
    {"project", cmd_project, "roofline projection of decode steps onto GPUs per cache mode; XQuant break-even"},
    {"plan", cmd_plan, "the cache mode that maximizes tokens/s on a GPU within memory (and a dppl budget)"},
    {"compare", cmd_compare, "two recorded runs of one model aligned by layer and op: baseline, compare, x, delta"},
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

static void usage(FILE *out)
{
    fprintf(out, "usage: xqprof <command> [options]   (xqprof <command> --help for its options)\n\n"
                 "Is it cheaper to store the KV cache, or to recompute it? xqprof runs GGUF Llama models on the\n"
                 "CPU and measures where the time and the bytes of inference go.\n\ncommands:\n");
    for (int i = 0; i < N_COMMANDS; i++) fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\noptions:\n  -h, --help     this help\n  --version      version and commit\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) { /* bad input: one line, naming what would be valid */
        fprintf(stderr, "xqprof: no command given (one of:");
        for (int i = 0; i < N_COMMANDS; i++) fprintf(stderr, " %s", commands[i].name);
        fprintf(stderr, "; xqprof --help explains them)\n");
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("xqprof %s (commit %s)\n", XQ_VERSION, XQ_COMMIT);
        return 0;
    }
    xq_files_guard(true); /* one run per process: no output of it may be one of its inputs */
    cli_progress_install();
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "xqprof: unknown command '%s' (try xqprof --help)\n", argv[1]);
    return 2;
}
