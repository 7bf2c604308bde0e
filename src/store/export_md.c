/* Markdown report of export.h: the run's configuration, totals per phase, top ops and the per-layer table.
 * Every table comes from one aggregate query (SQLite groups rows on disk if needed), so memory stays bounded. */
#include <inttypes.h>
#include <string.h>

#include "store/export.h"
#include "store/export_util.h"
#include "store/store.h"

#define TOP_OPS 15
#define XQ_STR2(x) #x
#define XQ_STR(x) XQ_STR2(x)

/* Text safe inside a table cell: '|' escaped, line breaks as spaces. */
static void md_text(FILE *out, const unsigned char *s)
{
    for (; s && *s; s++) {
        if (*s == '|')
            fputs("\\|", out);
        else
            fputc(*s == '\n' || *s == '\r' ? ' ' : *s, out);
    }
}

typedef struct config_ctx {
    FILE *out;
    bool writer_gone; /* the run is 'running' but its writer has exited */
} config_ctx;

static int config_row(void *user, sqlite3_stmt *row)
{
    const config_ctx *c = user;
    FILE *out = c->out;
    const char *key = (const char *)sqlite3_column_text(row, 0);
    fprintf(out, "| %s | ", key);
    if (c->writer_gone && !strcmp(key, "status"))
        fputs(STORE_STATUS_GONE, out);
    else
        md_text(out, sqlite3_column_text(row, 1));
    fputs(" |\n", out);
    return XQ_OK;
}

static const char *const CONFIG_SQL =
    "SELECT 'started', started FROM run WHERE id = ?1 UNION ALL SELECT 'status', status FROM run WHERE id = ?1 "
    "UNION ALL SELECT 'command', command FROM run WHERE id = ?1 UNION ALL SELECT 'version', version FROM run WHERE id "
    "= ?1 "
    "UNION ALL SELECT 'model', model_name || ' (' || coalesce(model_file, '?') || ')' FROM run WHERE id = ?1 "
    "UNION ALL SELECT 'model sha256', coalesce(model_sha256, 'not recorded') FROM run WHERE id = ?1 "
    "UNION ALL SELECT 'cache mode', cache_mode || ' ' || coalesce(cache_params, '') FROM run WHERE id = ?1 "
    "UNION ALL SELECT 'threads, n_ctx', threads || ', ' || n_ctx FROM run WHERE id = ?1 "
    "UNION ALL SELECT 'device', coalesce((SELECT d.name || ': ' || printf('%.1f', d.peak_flops / 1e9) || "
    "' GFLOP/s FMA peak, ' || printf('%.1f', d.read_bytes_per_s / 1e9) || ' GB/s read (' || d.source || ' at ' || "
    "d.threads || ' threads)' FROM device d WHERE d.id = r.device_id), 'no calibration recorded') FROM run r WHERE id "
    "= ?1 "
    "UNION ALL SELECT 'hardware counters', coalesce(counters, '?') FROM run WHERE id = ?1 "
    "UNION ALL SELECT 'spans', spans || ' recorded, ' || spans_dropped || ' dropped' FROM run WHERE id = ?1";

static int print_row(void *user, sqlite3_stmt *row)
{
    FILE *out = user;
    int n = sqlite3_column_count(row);
    fputc('|', out);
    for (int i = 0; i < n; i++) {
        fputc(' ', out);
        if (sqlite3_column_type(row, i) == SQLITE_FLOAT)
            fprintf(out, "%.3f", sqlite3_column_double(row, i));
        else
            md_text(out, sqlite3_column_text(row, i));
        fputs(" |", out);
    }
    fputc('\n', out);
    return ferror(out) ? XQ_ERUN : XQ_OK;
}

static void table_head(FILE *out, const char *const *cols, int n)
{
    fputc('|', out);
    for (int i = 0; i < n; i++)
        fprintf(out, " %s |", cols[i]);
    fputs("\n|", out);
    for (int i = 0; i < n; i++)
        fputs(i ? " ---: |" : " --- |", out);
    fputc('\n', out);
}

static const char *const TOTALS_SQL =
    "SELECT s.phase, count(*), sum(s.n_tokens), sum(s.ns) / 1e9, sum(s.n_tokens) * 1e9 / max(sum(s.ns), 1), "
    "sum(s.flops) / 1e9, sum(s.bytes_weights + s.bytes_cache_read + s.bytes_cache_write) / 1e9, "
    "sum(s.flops) * 1.0 / max(sum(s.ns), 1), "
    "100.0 * sum(s.flops) * 1e9 / max(sum(s.ns), 1) / (SELECT d.peak_flops FROM device d JOIN run r ON "
    "r.device_id = d.id WHERE r.id = ?1), "
    "100.0 * sum(s.bytes_weights + s.bytes_cache_read + s.bytes_cache_write) * 1e9 / max(sum(s.ns), 1) / "
    "(SELECT d.read_bytes_per_s FROM device d JOIN run r ON r.device_id = d.id WHERE r.id = ?1), "
    "100.0 * sum(s.ops_ns) / max(sum(s.ns), 1) "
    "FROM step_totals s WHERE s.run = ?1 GROUP BY s.phase ORDER BY s.phase DESC";

static const char *const TOP_OPS_SQL =
    "SELECT name, n, self_ns / 1e6, 100.0 * self_ns / max((SELECT sum(self_ns) FROM op WHERE run = ?1), 1), "
    "flops / 1e9, bytes_weights / 1e6, (bytes_cache_read + bytes_cache_write) / 1e6, gflops_per_s * 1.0 "
    "FROM op_totals WHERE run = ?1 ORDER BY self_ns DESC LIMIT " XQ_STR(TOP_OPS);

static const char *const LAYERS_SQL =
    "SELECT CASE WHEN layer < 0 THEN 'non-layer' ELSE CAST(layer AS TEXT) END, self_ns / 1e6, "
    "100.0 * self_ns / max((SELECT sum(self_ns) FROM op WHERE run = ?1), 1), flops / 1e9, bytes_weights / 1e6, "
    "bytes_cache_read / 1e6, bytes_cache_write / 1e6, flops_per_byte * 1.0, remat_ns / 1e6 "
    "FROM layer_totals WHERE run = ?1 ORDER BY layer";

static int section(store_reader *r, int64_t run, FILE *out, const char *title, const char *const *cols, int n,
                   const char *sql, xq_err *err)
{
    fprintf(out, "\n## %s\n\n", title);
    table_head(out, cols, n);
    return export_rows(r, sql, run, print_row, out, err);
}

int store_export_md(store_reader *r, int64_t run, FILE *out, xq_err *err)
{
    static const char *const config_cols[] = {"", ""};
    static const char *const totals_cols[] = {"phase",
                                              "steps",
                                              "tokens",
                                              "time (s)",
                                              "tokens/s",
                                              "GFLOP",
                                              "GB moved",
                                              "GFLOP/s",
                                              "% of measured FMA peak",
                                              "% of measured read bandwidth",
                                              "% of step time in spans"};
    static const char *const top_cols[] = {"op",    "count",      "self time (ms)", "share %",
                                           "GFLOP", "MB weights", "MB cache",       "GFLOP/s"};
    static const char *const layer_cols[] = {"layer",       "time (ms)",     "share %",          "GFLOP",
                                             "MB weights",  "MB cache read", "MB cache written", "FLOP/byte",
                                             "rebuild (ms)"};
    fprintf(out, "# xqprof run %" PRId64 " (%s)\n\n", run, store_reader_path(r));
    table_head(out, config_cols, 2);
    config_ctx config = {out, store_run_writer_gone(store_reader_db(r), run)};
    int rc = export_rows(r, CONFIG_SQL, run, config_row, &config, err);
    if (!rc) rc = section(r, run, out, "Totals", totals_cols, 11, TOTALS_SQL, err);
    if (!rc)
        fputs("\nUtilization is achieved ÷ this CPU's measured roofline (device row), not a datasheet peak.\n", out);
    if (!rc) rc = section(r, run, out, "Top ops by self time", top_cols, 8, TOP_OPS_SQL, err);
    if (!rc) rc = section(r, run, out, "Per layer", layer_cols, 9, LAYERS_SQL, err);
    if (rc && err->msg[0]) return rc;
    return export_check_write(out, "the report", err);
}
