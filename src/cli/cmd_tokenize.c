/* xqprof tokenize: "[id, id, …]" on one line, as llama-tokenize --ids prints; --detokenize reverses. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/common.h"

static const char *const CMD = "tokenize";

typedef struct tok_opts {
    const char *model, *prompt, *file;
    bool no_bos, detokenize, no_parse_special;
} tok_opts;

static void help(void)
{
    printf("usage: xqprof tokenize [-m MODEL] (-p TEXT | -f FILE) [--no-bos] [--no-parse-special]\n"
           "       xqprof tokenize [-m MODEL] --detokenize (-p '[id, ...]' | -f FILE)\n\n"
           "Prints the token ids of a text on one line as [id, id, ...] (like llama-tokenize --ids).\n"
           "BOS is added when the vocabulary adds it (tokenizer.ggml.add_bos_token, else SentencePiece and\n"
           "llama3 vocabularies add it, gpt2-style ones such as SmolLM2 do not). An empty text prints [] or [BOS].\n\n"
           "  -m, --model FILE      GGUF model or vocabulary-only GGUF (default: models/default.gguf)\n"
           "  -p, --prompt TEXT     text to tokenize\n"
           "  -f, --file FILE       read the text from a file\n"
           "      --no-bos          never add BOS\n"
           "      --no-parse-special  treat special-token text (e.g. <|im_start|>) as plain text\n"
           "      --detokenize      read [id, id, ...] and print the text\n"
           "  -h, --help            this help\n");
}

static int parse(int argc, char **argv, tok_opts *o)
{
    static const struct option longs[] = {{"model", 1, 0, 'm'},     {"prompt", 1, 0, 'p'},
                                          {"file", 1, 0, 'f'},      {"no-bos", 0, 0, 1},
                                          {"detokenize", 0, 0, 2},  {"no-parse-special", 0, 0, 3},
                                          {"help", 0, 0, 'h'},      {0, 0, 0, 0}};
    *o = (tok_opts){.model = cli_default_model()};
    opterr = 0;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, ":m:p:f:h", longs, NULL)) != -1) {
        switch (ch) {
        case 'm': o->model = optarg; break;
        case 'p': o->prompt = optarg; break;
        case 'f': o->file = optarg; break;
        case 1: o->no_bos = true; break;
        case 2: o->detokenize = true; break;
        case 3: o->no_parse_special = true; break;
        case 'h': help(); return -1;
        default: return cli_bad_option(CMD, ch, argv);
        }
    }
    if (optind < argc) return cli_error(XQ_EINPUT, CMD, "unexpected argument '%s'", argv[optind]);
    if (!o->prompt == !o->file) return cli_error(XQ_EINPUT, CMD, "give exactly one of -p TEXT or -f FILE");
    int rc = cli_check_input(CMD, "-m", o->model);
    return rc || !o->file ? rc : cli_check_input(CMD, "-f", o->file);
}

/* Parses "[1, 2, 3]" (whitespace free-form). Returns count or -1 on a syntax error. */
static int64_t parse_id_list(const char *s, int32_t *ids, int64_t cap, int32_t n_vocab, char *why, size_t why_n)
{
    while (isspace((unsigned char)*s)) s++;
    if (*s++ != '[') return snprintf(why, why_n, "expected '['"), -1;
    int64_t n = 0;
    for (;;) {
        while (isspace((unsigned char)*s)) s++;
        if (*s == ']' && n == 0) break;
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (end == s) return snprintf(why, why_n, "expected a token id at '%.10s'", s), -1;
        if (errno || v < 0 || v >= n_vocab) /* the id as written: strtoll clamps what overflows */
            return snprintf(why, why_n, "token id %.*s out of range [0, %d)", (int)(end - s), s, n_vocab), -1;
        if (n < cap) ids[n] = (int32_t)v;
        n++;
        s = end;
        while (isspace((unsigned char)*s)) s++;
        if (*s == ']') break;
        if (*s++ != ',') return snprintf(why, why_n, "expected ',' or ']'"), -1;
    }
    s++;
    while (isspace((unsigned char)*s)) s++;
    if (*s) return snprintf(why, why_n, "trailing text after ']'"), -1;
    return n;
}

static int detokenize(const model *m, const char *text, size_t len)
{
    int64_t cap = (int64_t)len / 2 + 1;
    int32_t *ids = malloc((size_t)cap * sizeof *ids);
    if (!ids) return cli_error(XQ_ERUN, CMD, "out of memory");
    char why[128];
    int64_t n = parse_id_list(text, ids, cap, m->cfg.n_vocab, why, sizeof why);
    if (n < 0) {
        free(ids);
        return cli_error(XQ_EINPUT, CMD, "--detokenize: %s", why);
    }
    for (int64_t i = 0; i < n; i++) {
        char buf[512];
        int k = tokenizer_piece(m->tok, ids[i], false, buf, sizeof buf);
        if (k > 0 && k <= (int)sizeof buf) fwrite(buf, 1, (size_t)k, stdout);
    }
    fputc('\n', stdout);
    free(ids);
    return 0;
}

static int run(const tok_opts *o)
{
    xq_err err = {0};
    char *text = NULL;
    size_t len;
    if (o->file) {
        if (cli_read_file(o->file, &text, &len, &err)) {
            xq_err_prefix(&err, CMD);
            return cli_report(&err);
        }
    } else {
        text = strdup(o->prompt);
        len = strlen(text);
    }
    model *m = NULL;
    int rc = cli_load_vocab(o->model, &m);
    if (rc) {
        free(text);
        return rc;
    }
    if (o->detokenize) {
        rc = detokenize(m, text, len);
    } else {
        int32_t *ids;
        int64_t n;
        if ((rc = cli_tokenize(m, text, len, o->no_bos, !o->no_parse_special, &ids, &n, &err))) {
            xq_err_prefix(&err, o->file ? o->file : "-p");
            xq_err_prefix(&err, CMD);
            rc = cli_report(&err);
        } else {
            putchar('[');
            for (int64_t i = 0; i < n; i++) printf(i ? ", %d" : "%d", ids[i]);
            puts("]");
            free(ids);
        }
    }
    model_free(m);
    free(text);
    return rc;
}

int cmd_tokenize(int argc, char **argv)
{
    tok_opts o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    return run(&o);
}
