/* xqprof info: architecture, shapes, tensor types, parameter count, file size, KV bytes per token. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "model/qtypes.h"

static const char *const CMD = "info";

static void help(void)
{
    printf("usage: xqprof info [MODEL.gguf]\n\n"
           "Shows a model's architecture, shapes, tensor types, parameter count, file size and the bytes an\n"
           "fp16 KV cache holds per token. Default model: $XQPROF_MODEL, else models/default.gguf.\n");
}

static void print_types(const model *m)
{
    uint64_t count[QT_MAX_ID] = {0}, bytes[QT_MAX_ID] = {0};
    const gguf_file *f = m->gguf;
    for (uint64_t i = 0; i < gguf_tensor_count(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        if (t->type < QT_MAX_ID) {
            count[t->type]++;
            bytes[t->type] += t->nbytes;
        }
    }
    printf("tensor types:");
    for (int t = 0; t < QT_MAX_ID; t++)
        if (count[t]) printf("  %s x%llu (%.1f MiB)", qt_name((uint32_t)t), (unsigned long long)count[t],
                             (double)bytes[t] / (1 << 20));
    printf("\n");
}

int cmd_info(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            help();
            return 0;
        }
        if (!strcmp(argv[i], "-m") && i + 1 < argc) path = argv[++i];
        else if (argv[i][0] == '-')
            return cli_error(XQ_EINPUT, CMD, "unknown option '%s' (see xqprof %s --help)", argv[i], CMD);
        else if (path) return cli_error(XQ_EINPUT, CMD, "unexpected argument '%s'", argv[i]);
        else path = argv[i];
    }
    if (!path) path = cli_default_model();
    model *m;
    int rc = cli_load_model(path, true, &m);
    if (rc) return rc;
    const model_config *c = &m->cfg;
    printf("file:          %s (GGUF v%u, %.1f MiB)\n", path, gguf_version(m->gguf),
           (double)gguf_file_size(m->gguf) / (1 << 20));
    printf("name:          %s\n", m->name);
    printf("architecture:  llama, %d layers, d_model %d, d_ff %d\n", c->n_layer, c->n_embd, c->n_ff);
    printf("attention:     %d heads, %d kv heads (group %d), head dim %d, rope dims %d, base %g%s\n", c->n_head,
           c->n_head_kv, c->n_head / c->n_head_kv, c->head_dim, c->n_rot, c->rope_base,
           m->rope_freq_factors ? ", llama3 frequency factors" : "");
    printf("vocabulary:    %d tokens (%s), BOS %s\n", c->n_vocab,
           tokenizer_kind(m->tok) == TOK_SPM ? "SentencePiece" : "BPE", tokenizer_adds_bos(m->tok) ? "added" : "not added");
    printf("context:       %d (trained), rms eps %g, output %s\n", c->n_ctx_train, c->norm_eps,
           c->tied_output ? "tied to token_embd" : "separate");
    printf("parameters:    %.2f M, %.1f MiB of weights\n", (double)m->n_params / 1e6, (double)m->weight_bytes / (1 << 20));
    print_types(m);
    uint64_t kv = model_kv_bytes_per_token_fp16(c);
    printf("fp16 KV cache: %llu bytes/token (%.1f MiB at %d tokens)\n", (unsigned long long)kv,
           (double)kv * c->n_ctx_train / (1 << 20), c->n_ctx_train);
    model_free(m);
    return 0;
}
