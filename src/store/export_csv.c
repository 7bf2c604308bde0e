/* CSV export of export.h: one table of one run, header line first, RFC 4180 quoting, NULL as an empty field.
 * The op table is paged by rowid; the others are small (a row per step at most). */
#include <string.h>

#include "store/export.h"
#include "store/export_util.h"

typedef struct csv_table {
    const char *name;
    const char *sql; /* ?1 = run; paged tables also ?2 = last rowid, ?3 = page size, rowid first */
    bool paged;
} csv_table;

static const csv_table tables[] = {
    {"run", "SELECT * FROM run WHERE id = ?1", false},
    {"device", "SELECT * FROM device WHERE id IN (SELECT device_id FROM run WHERE id = ?1)", false},
    {"step", "SELECT * FROM step WHERE run = ?1 ORDER BY idx", false},
    {"op",
     "SELECT o.rowid AS id, o.run, o.step, o.layer, k.name AS op, o.depth, o.t_ns, o.ns, o.self_ns, o.flops, "
     "o.bytes_weights, o.bytes_cache_read, o.bytes_cache_write, o.bytes_act, o.remat FROM op o "
     "JOIN op_kind k ON k.id = o.op WHERE o.run = ?1 AND o.rowid > ?2 ORDER BY o.rowid LIMIT ?3",
     true},
    {"metric", "SELECT * FROM metric WHERE run = ?1 ORDER BY name", false},
    {"op_kind", "SELECT * FROM op_kind ORDER BY id", false},
};
enum { N_TABLES = sizeof tables / sizeof tables[0] };

const char *const store_csv_tables[] = {"run", "device", "step", "op", "metric", "op_kind"};
const int store_csv_table_count = N_TABLES;

static const csv_table *find_table(const char *name)
{
    for (int i = 0; i < N_TABLES; i++)
        if (!strcmp(tables[i].name, name)) return &tables[i];
    return NULL;
}

bool store_csv_table_known(const char *table)
{
    return find_table(table) != NULL;
}

typedef struct csv_ctx {
    FILE *out;
    bool header_done;
} csv_ctx;

static int csv_row(void *user, sqlite3_stmt *row)
{
    csv_ctx *c = user;
    int n = sqlite3_column_count(row);
    if (!c->header_done) {
        for (int i = 0; i < n; i++)
            fprintf(c->out, "%s%s", i ? "," : "", sqlite3_column_name(row, i));
        fputc('\n', c->out);
        c->header_done = true;
    }
    for (int i = 0; i < n; i++) {
        if (i) fputc(',', c->out);
        export_csv_field(c->out, row, i);
    }
    fputc('\n', c->out);
    return ferror(c->out) ? XQ_ERUN : XQ_OK;
}

/* The header of a table with no rows, from the statement's column names. */
static void csv_header_only(store_reader *r, const csv_table *t, FILE *out)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(store_reader_db(r), t->sql, -1, &s, NULL) != SQLITE_OK) return;
    int n = sqlite3_column_count(s);
    for (int i = 0; i < n; i++)
        fprintf(out, "%s%s", i ? "," : "", sqlite3_column_name(s, i));
    fputc('\n', out);
    sqlite3_finalize(s);
}

int store_export_csv(store_reader *r, int64_t run, const char *table, FILE *out, xq_err *err)
{
    const csv_table *t = find_table(table);
    if (!t) return xq_fail(err, XQ_EINPUT, "unknown table '%s' (run, device, step, op, metric, op_kind)", table);
    csv_ctx c = {out, false};
    int rc = t->paged ? export_paged(r, t->sql, run, csv_row, &c, err) : export_rows(r, t->sql, run, csv_row, &c, err);
    if (rc == XQ_ERUN && !err->msg[0]) return export_check_write(out, "the CSV", err);
    if (rc) return rc;
    if (!c.header_done) csv_header_only(r, t, out);
    return export_check_write(out, "the CSV", err);
}
