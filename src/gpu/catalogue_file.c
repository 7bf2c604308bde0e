/* The --gpus-file text format: "[id]" starts an entry, "key = value" lines fill it, '#' starts a comment.
 * An id already in the catalogue is overridden field by field; a new id must give the three fields the
 * projection cannot do without (tensor_tflops, bw_tbs, mem_gb). Every error names the file and the line. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/catalogue.h"

typedef enum { FIELD_TEXT, FIELD_NUMBER, FIELD_INT } field_kind;

typedef struct field {
    const char *key;
    field_kind kind;
    size_t offset;
    size_t size; /* text: capacity */
} field;

#define TEXT(k)                                                                                                        \
    {                                                                                                                  \
#k, FIELD_TEXT, offsetof(gpu_spec, k), sizeof(((gpu_spec *)0)->k)                                              \
    }
#define NUMBER(k)                                                                                                      \
    {                                                                                                                  \
#k, FIELD_NUMBER, offsetof(gpu_spec, k), 0                                                                     \
    }

/* clang-format off */
static const field fields[] = {
    TEXT(name),          TEXT(arch),          {"sms", FIELD_INT, offsetof(gpu_spec, sms), 0},
    NUMBER(tensor_tflops), NUMBER(fp16acc_tflops), NUMBER(fp8_tflops), NUMBER(int8_tops),
    NUMBER(fp32_tflops), NUMBER(mem_gb),      NUMBER(bw_tbs),      NUMBER(l2_mb),
    NUMBER(l2_tbs),      NUMBER(link_gbs),    TEXT(link),
};
/* clang-format on */
enum { N_FIELDS = sizeof fields / sizeof fields[0] };

typedef struct parser {
    gpu_catalogue *cat;
    const char *file;
    int line;
    gpu_spec cur;
    bool have_entry;
    int entry_line;
    xq_err *err;
} parser;

static int fail(parser *p, const char *why, const char *arg)
{
    return xq_fail(p->err, XQ_EINPUT, "%s:%d: %s%s%s%s", p->file, p->line, why, arg ? " '" : "", arg ? arg : "",
                   arg ? "'" : "");
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    return s;
}

static bool valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n >= sizeof(((gpu_spec *)0)->id)) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)id[i]) && !strchr("-_.", id[i])) return false;
    return true;
}

static int finish_entry(parser *p)
{
    if (!p->have_entry) return XQ_OK;
    const gpu_spec *g = &p->cur;
    const char *missing = g->tensor_tflops <= 0 ? "tensor_tflops"
                          : g->bw_tbs <= 0      ? "bw_tbs"
                          : g->mem_gb <= 0      ? "mem_gb"
                                                : NULL;
    if (missing)
        return xq_fail(p->err, XQ_EINPUT, "%s:%d: entry '%s' needs %s > 0", p->file, p->entry_line, g->id, missing);
    if (!g->name[0]) snprintf(p->cur.name, sizeof p->cur.name, "%s", g->id);
    return gpu_catalogue_put(p->cat, &p->cur, p->err);
}

static int start_entry(parser *p, char *s)
{
    char *end = strchr(s, ']');
    if (!end || trim(end + 1)[0]) return fail(p, "expected '[id]'", NULL);
    *end = 0;
    char *id = trim(s + 1);
    if (!valid_id(id)) return fail(p, "bad id (letters, digits, '-', '_', '.'; under 32 characters):", id);
    int rc = finish_entry(p);
    if (rc) return rc;
    const gpu_spec *old = gpu_catalogue_find(p->cat, id);
    memset(&p->cur, 0, sizeof p->cur);
    if (old) p->cur = *old;
    snprintf(p->cur.id, sizeof p->cur.id, "%s", id);
    p->cur.measured = false;
    p->have_entry = true;
    p->entry_line = p->line;
    return XQ_OK;
}

static int set_number(parser *p, const field *f, const char *value)
{
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    if (end == value || *end || errno || !isfinite(v) || v < 0) return fail(p, "not a non-negative number:", value);
    if (f->kind == FIELD_INT) {
        if (v != floor(v) || v > 1e6) return fail(p, "not a whole number:", value);
        *(int *)((char *)&p->cur + f->offset) = (int)v;
    } else {
        *(double *)((char *)&p->cur + f->offset) = v;
    }
    return XQ_OK;
}

static int set_field(parser *p, char *s)
{
    char *eq = strchr(s, '=');
    if (!eq) return fail(p, "expected 'key = value' or '[id]'", NULL);
    if (!p->have_entry) return fail(p, "a field before any '[id]' line", NULL);
    *eq = 0;
    char *key = trim(s), *value = trim(eq + 1);
    for (int i = 0; i < N_FIELDS; i++) {
        const field *f = &fields[i];
        if (strcmp(f->key, key) != 0) continue;
        if (f->kind != FIELD_TEXT) return set_number(p, f, value);
        if (strlen(value) >= f->size) return fail(p, "value too long:", value);
        snprintf((char *)&p->cur + f->offset, f->size, "%s", value);
        return XQ_OK;
    }
    return fail(p, "unknown key", key);
}

static int parse_line(parser *p, char *line)
{
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    char *s = trim(line);
    if (!*s) return XQ_OK;
    return *s == '[' ? start_entry(p, s) : set_field(p, s);
}

int gpu_catalogue_load_text(gpu_catalogue *cat, const char *text, size_t len, const char *file, xq_err *err)
{
    parser p = {.cat = cat, .file = file, .err = err};
    size_t pos = 0;
    while (pos < len) {
        p.line++;
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        char buf[512];
        if (n >= sizeof buf) return fail(&p, "line too long", NULL);
        memcpy(buf, text + pos, n);
        buf[n] = 0;
        if (memchr(buf, 0, n)) return fail(&p, "a NUL byte: not a text file", NULL);
        if (n && buf[n - 1] == '\r') buf[n - 1] = 0;
        int rc = parse_line(&p, buf);
        if (rc) return rc;
        pos += n + 1;
    }
    return finish_entry(&p);
}
