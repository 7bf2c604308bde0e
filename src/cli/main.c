/* xqprof: is it cheaper to store the KV cache, or to recompute it? One binary, subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"generate", cmd_generate, "generate text from a prompt (greedy or sampled)"},
    {"ppl", cmd_ppl, "perplexity of a text, as llama-perplexity computes it"},
    {"tokenize", cmd_tokenize, "print token ids of a text ([id, id, ...]); --detokenize reverses"},
    {"info", cmd_info, "show a model's architecture, shapes, tensor types and sizes"},
    {"bench", cmd_bench, "prefill and decode speed (tokens/s), like llama-bench"},
    {"synth", cmd_synth, "write a real-shaped model with random weights"},
    {"logits", cmd_logits, "write the logits of a token sequence to a file (for tests)"},
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
    if (argc < 2) {
        usage(stderr);
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
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "xqprof: unknown command '%s' (try xqprof --help)\n", argv[1]);
    return 2;
}
