/* Shared exporter helpers of export_util.h. */
#include "store/export_util.h"

#include <errno.h>
#include <string.h>

#include "store/schema.h"

enum { PAGE_ROWS = 8192 };

static int run_statement(store_reader *r, sqlite3_stmt *s, export_row_fn fn, void *user, int64_t *last_key,
                         int64_t *rows, xq_err *err)
{
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (last_key) *last_key = sqlite3_column_int64(s, 0);
        (*rows)++;
        int stop = fn(user, s);
        if (stop) return stop;
    }
    if (rc != SQLITE_DONE) return store_sqlite_fail(store_reader_db(r), rc, store_reader_path(r), "cannot read", err);
    return XQ_OK;
}

int export_rows(store_reader *r, const char *sql, int64_t run, export_row_fn fn, void *user, xq_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(store_reader_db(r), sql, -1, &s, NULL);
    if (rc != SQLITE_OK) return store_sqlite_fail(store_reader_db(r), rc, store_reader_path(r), "cannot query", err);
    if (sqlite3_bind_parameter_count(s) >= 1) sqlite3_bind_int64(s, 1, run);
    int64_t rows = 0;
    rc = run_statement(r, s, fn, user, NULL, &rows, err);
    sqlite3_finalize(s);
    return rc;
}

int export_paged(store_reader *r, const char *sql, int64_t run, export_row_fn fn, void *user, xq_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(store_reader_db(r), sql, -1, &s, NULL);
    if (rc != SQLITE_OK) return store_sqlite_fail(store_reader_db(r), rc, store_reader_path(r), "cannot query", err);
    int64_t last = -1, rows = PAGE_ROWS;
    while (rc == XQ_OK && rows == PAGE_ROWS) {
        rows = 0;
        sqlite3_bind_int64(s, 1, run);
        sqlite3_bind_int64(s, 2, last);
        sqlite3_bind_int64(s, 3, PAGE_ROWS);
        rc = run_statement(r, s, fn, user, &last, &rows, err);
        sqlite3_reset(s); /* ends the read transaction between pages */
    }
    sqlite3_finalize(s);
    return rc;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static int utf8_len(const unsigned char *p)
{
    int n = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 2 && p[0] < 0xc2) return 0; /* overlong */
    for (int i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80) return 0;
    return n;
}

void export_json_string(FILE *out, const char *s)
{
    if (!s) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int n = utf8_len(p);
        if (n == 0) {
            fputs("\\ufffd", out);
            p++;
        } else if (*p == '"' || *p == '\\') {
            fputc('\\', out);
            fputc(*p++, out);
        } else if (*p < 0x20) {
            static const char *const named[] = {
                ['\b'] = "\\b", ['\f'] = "\\f", ['\n'] = "\\n", ['\r'] = "\\r", ['\t'] = "\\t"};
            if (*p < sizeof named / sizeof named[0] && named[*p])
                fputs(named[*p], out);
            else
                fprintf(out, "\\u%04x", *p);
            p++;
        } else {
            fwrite(p, 1, (size_t)n, out);
            p += n;
        }
    }
    fputc('"', out);
}

void export_csv_field(FILE *out, sqlite3_stmt *row, int col)
{
    switch (sqlite3_column_type(row, col)) {
    case SQLITE_NULL: return;
    case SQLITE_INTEGER: fprintf(out, "%lld", (long long)sqlite3_column_int64(row, col)); return;
    case SQLITE_FLOAT: fprintf(out, "%.17g", sqlite3_column_double(row, col)); return;
    default: break;
    }
    const char *t = (const char *)sqlite3_column_text(row, col);
    if (!t) return;
    if (!strpbrk(t, ",\"\r\n")) {
        fputs(t, out);
        return;
    }
    fputc('"', out);
    for (; *t; t++) {
        if (*t == '"') fputc('"', out);
        fputc(*t, out);
    }
    fputc('"', out);
}

int export_check_write(FILE *out, const char *what, xq_err *err)
{
    if (fflush(out) == 0 && !ferror(out)) return XQ_OK;
    return xq_fail(err, XQ_ERUN, "cannot write %s: %s", what, strerror(errno ? errno : EIO));
}
