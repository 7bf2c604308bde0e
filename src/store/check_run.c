/* The run checks of check_run.h. Each table is scanned once: one aggregate query finds the first row breaking a
 * rule (by key) and the run's totals of the summed columns; only then is that row read again, to name the
 * column and the value in C. The rules exist twice (SQL text built from them, and value_ok) and must agree. */
#include "store/check_run.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "store/schema.h"

#define COUNT_LIMIT (1LL << 60)

typedef enum kind { COUNT, LAYER, BYTE_ID, FLAG, PEAK } kind;

static const struct {
    double min, limit; /* the range is [min, limit) */
    bool real;         /* a REAL is accepted too */
    const char *want;
} kinds[] = {
    [COUNT] = {0, (double)COUNT_LIMIT, false, "an integer from 0 to 2^60 - 1"},
    [LAYER] = {-1, 2147483648.0, false, "an integer from -1 to 2^31 - 1"},
    [BYTE_ID] = {0, 256, false, "an integer from 0 to 255"},
    [FLAG] = {0, 2, false, "0 or 1"},
    [PEAK] = {0, 1e25, true, "a number from 0 to 1e25"},
};

typedef struct rule {
    const char *column;
    kind kind;
    bool nullable;
    bool summed; /* the readers sum it over the run: its total must stay below 2^60 as well */
} rule;

typedef struct table_rules {
    const char *table, *key, *what; /* key: the column naming a row; what: that name in messages */
    const char *run_rows;           /* SQL condition selecting the run's rows, ?1 = run */
    const rule *rules;
    int n;
} table_rules;

static const rule op_rules[] = {
    {"step", COUNT, false, false},
    {"layer", LAYER, false, false},
    {"op", BYTE_ID, false, false},
    {"depth", BYTE_ID, false, false},
    {"t_ns", COUNT, false, false},
    {"ns", COUNT, false, true},
    {"self_ns", COUNT, false, true},
    {"flops", COUNT, false, true},
    {"bytes_weights", COUNT, false, true},
    {"bytes_cache_read", COUNT, false, true},
    {"bytes_cache_write", COUNT, false, true},
    {"bytes_act", COUNT, false, true},
    {"remat", FLAG, false, false},
};
static const rule step_rules[] = {
    {"n_tokens", COUNT, false, true},
    {"n_ctx", COUNT, false, false},
    {"t_ns", COUNT, false, false},
    {"ns", COUNT, false, true},
    {"ops_ns", COUNT, false, true},
    {"n_ops", COUNT, false, true},
    {"flops", COUNT, false, true},
    {"bytes_weights", COUNT, false, true},
    {"bytes_cache_read", COUNT, false, true},
    {"bytes_cache_write", COUNT, false, true},
    {"bytes_act", COUNT, false, true},
    {"remat_ns", COUNT, false, true},
    {"remat_flops", COUNT, false, true},
    {"cache_persistent", COUNT, true, false},
    {"cache_residual", COUNT, true, false},
    {"cache_transient", COUNT, true, false},
    {"rss", COUNT, true, false},
};
static const rule device_rules[] = {
    {"peak_flops", PEAK, true, false},
    {"peak_flops_1t", PEAK, true, false},
    {"read_bytes_per_s", PEAK, true, false},
    {"memory_bytes", COUNT, true, false},
};
#define RULES(r) r, (int)(sizeof r / sizeof r[0])
static const table_rules tables[] = {
    {"op", "rowid", "row", "run = ?1", RULES(op_rules)},
    {"step", "idx", "idx", "run = ?1", RULES(step_rules)},
    {"device", "id", "id", "id = (SELECT device_id FROM run WHERE id = ?1)", RULES(device_rules)},
};

/* Appends what printf makes of fmt to buf (size, *used taken); false when it does not fit. */
__attribute__((format(printf, 4, 5))) static bool append(char *buf, size_t size, size_t *used, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *used, size - *used, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size - *used) return false;
    *used += (size_t)n;
    return true;
}

/* "(c IS NULL OR (typeof(c) = 'integer' AND c >= min AND c < limit))": the rule in SQL. */
static bool append_ok(char *buf, size_t size, size_t *used, const rule *r)
{
    const char *c = r->column;
    return append(buf, size, used, "(%s%s(typeof(%s) %s AND %s >= %.17g AND %s < %.17g))", r->nullable ? c : "",
                  r->nullable ? " IS NULL OR " : "", c, kinds[r->kind].real ? "IN ('integer', 'real')" : "= 'integer'",
                  c, kinds[r->kind].min, c, kinds[r->kind].limit);
}

/* SELECT min(CASE WHEN NOT (ok …) THEN key END), total(summed) … FROM table WHERE run_rows */
static bool scan_sql(const table_rules *t, char *buf, size_t size)
{
    size_t used = 0;
    bool fits = append(buf, size, &used, "SELECT min(CASE WHEN NOT (");
    for (int i = 0; fits && i < t->n; i++)
        fits = (i == 0 || append(buf, size, &used, " AND ")) && append_ok(buf, size, &used, &t->rules[i]);
    fits = fits && append(buf, size, &used, ") THEN %s END)", t->key);
    for (int i = 0; fits && i < t->n; i++)
        if (t->rules[i].summed) fits = append(buf, size, &used, ", total(%s)", t->rules[i].column);
    return fits && append(buf, size, &used, " FROM %s WHERE %s", t->table, t->run_rows);
}

static bool value_ok(sqlite3_stmt *s, int col, const rule *r)
{
    int type = sqlite3_column_type(s, col);
    if (type == SQLITE_NULL) return r->nullable;
    if (type != SQLITE_INTEGER && !(type == SQLITE_FLOAT && kinds[r->kind].real)) return false;
    if (type == SQLITE_INTEGER && !kinds[r->kind].real) {
        int64_t v = sqlite3_column_int64(s, col); /* exact: the limits are integers below 2^63 */
        return v >= (int64_t)kinds[r->kind].min && v < (int64_t)kinds[r->kind].limit;
    }
    double v = sqlite3_column_double(s, col);
    return v >= kinds[r->kind].min && v < kinds[r->kind].limit;
}

static void describe_value(sqlite3_stmt *s, int col, char *buf, size_t size)
{
    switch (sqlite3_column_type(s, col)) {
    case SQLITE_NULL: snprintf(buf, size, "NULL"); break;
    case SQLITE_INTEGER: snprintf(buf, size, "%" PRId64, (int64_t)sqlite3_column_int64(s, col)); break;
    case SQLITE_FLOAT: snprintf(buf, size, "%.6g", sqlite3_column_double(s, col)); break;
    case SQLITE_TEXT: snprintf(buf, size, "the text '%.40s'", (const char *)sqlite3_column_text(s, col)); break;
    default: snprintf(buf, size, "a blob"); break;
    }
}

/* The row key of t that broke a rule: which column, and its value, into err. */
static int name_bad_value(sqlite3 *db, const char *path, const table_rules *t, int64_t run, int64_t key, xq_err *err)
{
    char sql[1024];
    size_t used = 0;
    bool fits = append(sql, sizeof sql, &used, "SELECT %s", t->rules[0].column);
    for (int i = 1; fits && i < t->n; i++)
        fits = append(sql, sizeof sql, &used, ", %s", t->rules[i].column);
    fits = fits && append(sql, sizeof sql, &used, " FROM %s WHERE %s AND %s = ?2", t->table, t->run_rows, t->key);
    sqlite3_stmt *s = NULL;
    int rc = fits ? sqlite3_prepare_v2(db, sql, -1, &s, NULL) : SQLITE_TOOBIG;
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(s, 1, run);
        sqlite3_bind_int64(s, 2, key);
        rc = sqlite3_step(s);
    }
    int bad = 0;
    while (rc == SQLITE_ROW && bad < t->n - 1 && value_ok(s, bad, &t->rules[bad]))
        bad++;
    char value[80] = "";
    if (rc == SQLITE_ROW) describe_value(s, bad, value, sizeof value);
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW) return store_sqlite_fail(db, rc, path, "cannot read", err);
    return xq_fail(err, XQ_EINPUT, "%s: damaged trace: %s %s %" PRId64 " of run %" PRId64 ": %s is %s (want %s)", path,
                   t->table, t->what, key, run, t->rules[bad].column, value, kinds[t->rules[bad].kind].want);
}

/* The totals of the summed columns, at columns 1 … of the scan's row. */
static int check_totals(sqlite3_stmt *s, const char *path, const table_rules *t, int64_t run, xq_err *err)
{
    for (int i = 0, col = 1; i < t->n; i++) {
        if (!t->rules[i].summed) continue;
        double total = sqlite3_column_double(s, col++);
        if (!(total < (double)COUNT_LIMIT))
            return xq_fail(err, XQ_EINPUT,
                           "%s: damaged trace: %s.%s of run %" PRId64 " adds up to %.6g (want below 2^60)", path,
                           t->table, t->rules[i].column, run, total);
    }
    return XQ_OK;
}

static int check_table(sqlite3 *db, const char *path, const table_rules *t, int64_t run, xq_err *err)
{
    char sql[4096];
    sqlite3_stmt *s = NULL;
    int rc = scan_sql(t, sql, sizeof sql) ? sqlite3_prepare_v2(db, sql, -1, &s, NULL) : SQLITE_TOOBIG;
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(s, 1, run);
        rc = sqlite3_step(s);
    }
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(s);
        return store_sqlite_fail(db, rc, path, "cannot read", err);
    }
    bool bad_row = sqlite3_column_type(s, 0) != SQLITE_NULL;
    int64_t key = sqlite3_column_int64(s, 0);
    rc = bad_row ? XQ_OK : check_totals(s, path, t, run, err);
    sqlite3_finalize(s);
    return bad_row ? name_bad_value(db, path, t, run, key, err) : rc;
}

int store_check_run(sqlite3 *db, const char *path, int64_t run, xq_err *err)
{
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        int rc = check_table(db, path, &tables[i], run, err);
        if (rc) return rc;
    }
    return XQ_OK;
}
