#include "cli/common.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/progress.h"
#include "base/runfiles.h"

int cli_error(int code, const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "xqprof: %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

int cli_bad_option(const char *cmd, int ch, char **argv)
{
    const char *opt = argv[optind - 1];
    if (ch == ':') return cli_error(XQ_EINPUT, cmd, "option %s needs a value", opt);
    return cli_error(XQ_EINPUT, cmd, "unknown option '%s' (see xqprof %s --help)", opt, cmd);
}

int cli_report(const xq_err *err)
{
    fprintf(stderr, "xqprof: %s\n", err->msg);
    return err->code ? err->code : XQ_ERUN;
}

int cli_out_open(xq_outfile *o, const char *cmd, const char *path)
{
    xq_err err = {0};
    if (!xq_out_open(o, path, &err)) return 0;
    xq_err_prefix(&err, cmd);
    return cli_report(&err);
}

int cli_out_commit(xq_outfile *o, const char *cmd)
{
    xq_err err = {0};
    if (!xq_out_commit(o, &err)) return 0;
    xq_err_prefix(&err, cmd);
    return cli_report(&err);
}

int cli_check_output(const char *cmd, const char *flag, const char *path)
{
    if (!*path) return cli_error(XQ_EINPUT, cmd, "%s: empty file name", flag);
    if (!strcmp(path, "-")) return 0;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return cli_error(XQ_EINPUT, cmd, "%s %s: is a folder", flag, path);
    char dir[4096];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + 1 : 1, slash ? path : ".");
    if (access(dir, W_OK) != 0)
        return cli_error(XQ_EINPUT, cmd, "%s %s: cannot write into %s: %s", flag, path, dir, strerror(errno));
    xq_err err = {0};
    if (xq_files_claim_output(path, flag, &err)) {
        xq_err_prefix(&err, cmd);
        return cli_report(&err);
    }
    return 0;
}

int cli_check_input(const char *cmd, const char *flag, const char *path)
{
    if (!*path) return cli_error(XQ_EINPUT, cmd, "%s: empty file name", flag);
    xq_files_note_input(path, flag);
    return 0;
}

const char *cli_flag_value(int argc, char **argv, int *i, const char *flag, bool *missing)
{
    size_t n = strlen(flag);
    if (strncmp(argv[*i], flag, n) != 0) return NULL;
    if (argv[*i][n] == '=') return argv[*i] + n + 1;
    if (argv[*i][n] != '\0') return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

int cli_int(const char *cmd, const char *flag, const char *val, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(val, &end, 10);
    if (errno || end == val || *end || v < lo || v > hi)
        return cli_error(XQ_EINPUT, cmd, "%s expects an integer in [%lld, %lld], got '%s'", flag, lo, hi, val);
    *out = v;
    return XQ_OK;
}

int cli_float(const char *cmd, const char *flag, const char *val, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    /* Decimal only, as cli_int: strtod would also take hex (0x10 = 16), inf and nan. */
    bool decimal = strspn(val, "0123456789+-.eE") == strlen(val);
    double v = decimal ? strtod(val, &end) : 0.0;
    if (!decimal || errno || end == val || *end || !(v >= lo && v <= hi))
        return cli_error(XQ_EINPUT, cmd, "%s expects a number in [%g, %g], got '%s'", flag, lo, hi, val);
    *out = v;
    return XQ_OK;
}

const char *cli_default_model(void)
{
    static char path[PATH_MAX];
    const char *env = getenv("XQPROF_MODEL");
    if (env && *env) return env;
    char exe[PATH_MAX - 32]; /* leaves room for the suffix below */
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(path, sizeof path, "%s/../models/default.gguf", exe);
            if (access(path, R_OK) == 0) return path;
        }
    }
    if (access("models/default.gguf", R_OK) == 0) return "models/default.gguf";
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg) snprintf(path, sizeof path, "%s/xqprof/SmolLM2-135M-Instruct.Q4_1.gguf", xdg);
    else snprintf(path, sizeof path, "%s/.cache/xqprof/SmolLM2-135M-Instruct.Q4_1.gguf", home ? home : "");
    if (access(path, R_OK) == 0) return path;
    return "models/default.gguf"; /* absent: the load error names it and `make model` fetches it */
}

int cli_load_model(const char *path, bool quiet, model **out)
{
    if (!*path) return cli_error(XQ_EINPUT, "-m", "empty model file name");
    xq_err err = {0};
    int64_t t0 = xq_now_ns();
    int rc = model_load(path, out, &err);
    if (rc) return cli_report(&err);
    if (!quiet)
        fprintf(stderr, "model: %s (%s, %.1f M params, %.1f MiB) loaded in %.0f ms\n", (*out)->name, path,
                (double)(*out)->n_params / 1e6, (double)(*out)->weight_bytes / (1 << 20),
                (double)(xq_now_ns() - t0) / 1e6);
    return XQ_OK;
}

int cli_load_vocab(const char *path, model **out)
{
    if (!*path) return cli_error(XQ_EINPUT, "-m", "empty model file name");
    xq_err err = {0};
    int rc = model_load_vocab(path, out, &err);
    return rc ? cli_report(&err) : XQ_OK;
}

/* A regular file's size, or what a pipe holds, checked against CLI_MAX_FILE_BYTES: devices never end. */
static int check_readable(const char *path, const struct stat *st, xq_err *err)
{
    if (S_ISDIR(st->st_mode)) return xq_fail(err, XQ_EINPUT, "%s: is a directory", path);
    if (!S_ISREG(st->st_mode) && !S_ISFIFO(st->st_mode) && !S_ISSOCK(st->st_mode))
        return xq_fail(err, XQ_EINPUT, "%s: not a regular file", path);
    if (S_ISREG(st->st_mode) && st->st_size > CLI_MAX_FILE_BYTES)
        return xq_fail(err, XQ_EINPUT, "%s: %lld bytes, larger than the limit of %d MiB", path,
                       (long long)st->st_size, CLI_MAX_FILE_BYTES >> 20);
    return XQ_OK;
}

/* Reads f to EOF in growing chunks (pipes have no size), at most CLI_MAX_FILE_BYTES. */
static int read_all(FILE *f, const char *path, size_t cap, char **data, size_t *len, xq_err *err)
{
    size_t n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) return xq_fail(err, XQ_ERUN, "%s: out of memory", path);
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1) break;
        if (n > CLI_MAX_FILE_BYTES) {
            free(buf);
            return xq_fail(err, XQ_EINPUT, "%s: more than the limit of %d MiB", path, CLI_MAX_FILE_BYTES >> 20);
        }
        cap = 2 * cap < (size_t)CLI_MAX_FILE_BYTES + 2 ? 2 * cap : (size_t)CLI_MAX_FILE_BYTES + 2;
        char *bigger = realloc(buf, cap);
        if (!bigger) free(buf);
        buf = bigger;
    }
    if (ferror(f)) {
        free(buf);
        return xq_fail(err, XQ_EINPUT, "%s: read error", path);
    }
    buf[n] = 0;
    *data = buf;
    *len = n;
    return XQ_OK;
}

int cli_read_file(const char *path, char **data, size_t *len, xq_err *err)
{
    if (!*path) return xq_fail(err, XQ_EINPUT, "empty file name");
    FILE *f = fopen(path, "rb");
    if (!f) return xq_fail(err, XQ_EINPUT, "%s: %s", path, strerror(errno));
    struct stat st;
    int rc = fstat(fileno(f), &st) != 0 ? xq_fail(err, XQ_EINPUT, "%s: %s", path, strerror(errno))
                                        : check_readable(path, &st, err);
    if (!rc) rc = read_all(f, path, S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 1 << 16, data, len, err);
    if (!rc) xq_files_note_input(path, "text");
    fclose(f);
    return rc;
}

/* Offset of the first byte that is not part of valid UTF-8 (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF), or len. The tokenizer checks the same, but cannot say which file it read. */
static size_t utf8_bad_offset(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        unsigned c = s[i];
        size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (!n || i + n > len) return i;
        uint32_t cp = n == 1 ? c : c & (0x7F >> n);
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return i;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
        i += n;
    }
    return len;
}

int cli_tokenize(const model *m, const char *text, size_t len, bool no_bos, bool parse_special, int32_t **ids,
                 int64_t *n, xq_err *err)
{
    size_t bad = utf8_bad_offset((const unsigned char *)text, len);
    if (bad < len) return xq_fail(err, XQ_EINPUT, "text is not valid UTF-8 at byte %zu", bad);
    bool add_bos = !no_bos && tokenizer_adds_bos(m->tok);
    int64_t cap = (int64_t)len + 8;
    int32_t *buf = malloc((size_t)cap * sizeof *buf);
    if (!buf) return xq_fail(err, XQ_ERUN, "tokenize: out of memory");
    int64_t got = tokenizer_encode(m->tok, text, len, add_bos, parse_special, buf, cap, err);
    if (got > cap) { /* cannot happen for byte-level vocabularies, but the API allows it */
        free(buf);
        cap = got;
        if (!(buf = malloc((size_t)cap * sizeof *buf))) return xq_fail(err, XQ_ERUN, "tokenize: out of memory");
        got = tokenizer_encode(m->tok, text, len, add_bos, parse_special, buf, cap, err);
    }
    if (got < 0) {
        free(buf);
        return err->code ? err->code : XQ_EINPUT;
    }
    *ids = buf;
    *n = got;
    return XQ_OK;
}

void cli_note_past_trained(const char *cmd, const model *m, int64_t n_ctx)
{
    if (m->cfg.n_ctx_train > 0 && n_ctx > m->cfg.n_ctx_train)
        fprintf(stderr, "%s: note: -c %lld is past the model's trained context of %d tokens\n", cmd, (long long)n_ctx,
                m->cfg.n_ctx_train);
}

static int progress_shown;

void cli_progress(const char *label, int64_t done, int64_t total, const char *extra)
{
    if (!isatty(2) || total <= 0) return;
    enum { WIDTH = 30 };
    int filled = (int)(WIDTH * done / total);
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++) bar[i] = i < filled ? '#' : '.';
    bar[WIDTH] = 0;
    fprintf(stderr, "\r%s [%s] %lld/%lld %s\033[K", label, bar, (long long)done, (long long)total, extra ? extra : "");
    fflush(stderr);
    progress_shown = 1;
}

void cli_progress_done(void)
{
    if (progress_shown) fputc('\n', stderr);
    progress_shown = 0;
}

static void progress_bar(void *ctx, const char *what, int64_t done, int64_t total)
{
    (void)ctx;
    cli_progress(what, done, total, NULL);
    if (done >= total) cli_progress_done();
}

void cli_progress_install(void)
{
    xq_progress_hook(progress_bar, NULL, NULL);
}

int64_t cli_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long long pages_total, pages_resident;
    int ok = f && fscanf(f, "%lld %lld", &pages_total, &pages_resident) == 2;
    if (f) fclose(f);
    return ok ? (int64_t)pages_resident * sysconf(_SC_PAGESIZE) : 0;
}

int64_t cli_peak_rss_bytes(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? (int64_t)ru.ru_maxrss * 1024 : 0; /* ru_maxrss is in KiB */
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

void cli_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

bool cli_interrupted(void) { return interrupted != 0; }
