#include "store/eval_results.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "store/schema.h"

/* Runs recorded by eval carry a dppl metric; later runs of a mode replace earlier ones (ascending id). */
static const char *const RESULTS_SQL =
    "SELECT r.cache_mode, d.value, k.value, t.value, r.id, k.run IS NOT NULL, t.run IS NOT NULL FROM run r "
    "JOIN metric d ON d.run = r.id AND d.name = 'dppl' "
    "LEFT JOIN metric k ON k.run = r.id AND k.name = 'kl' "
    "LEFT JOIN metric t ON t.run = r.id AND t.name = 'top1' "
    "WHERE r.status = 'done' AND r.cache_mode IS NOT NULL "
    "AND json_extract(r.model_config, '$.n_layer') = ?1 AND json_extract(r.model_config, '$.n_embd') = ?2 "
    "AND json_extract(r.model_config, '$.n_head') = ?3 AND json_extract(r.model_config, '$.n_head_kv') = ?4 "
    "ORDER BY r.id";

static const char *const SHAPES_SQL =
    "SELECT DISTINCT coalesce(r.model_name, '?'), json_extract(r.model_config, '$.n_layer'), "
    "json_extract(r.model_config, '$.n_embd'), json_extract(r.model_config, '$.n_head'), "
    "json_extract(r.model_config, '$.n_head_kv') FROM run r JOIN metric d ON d.run = r.id AND d.name = 'dppl' "
    "LIMIT 4";

static void add_result(store_eval_result *out, int cap, int *n, const char *mode, double dppl, double kl, double top1)
{
    int i = 0;
    while (i < *n && strcmp(out[i].mode, mode)) i++;
    if (i == *n && *n == cap) return;
    if (i == *n) (*n)++;
    snprintf(out[i].mode, sizeof out[i].mode, "%s", mode);
    out[i].dppl = dppl, out[i].kl = kl, out[i].top1 = top1;
}

/* "SmolLM2 (30 layers, d 576, 9/3 heads); …" for the message when nothing matches. */
static void list_shapes(sqlite3 *db, char *buf, size_t size)
{
    sqlite3_stmt *s = NULL;
    size_t used = 0;
    buf[0] = '\0';
    if (sqlite3_prepare_v2(db, SHAPES_SQL, -1, &s, NULL) != SQLITE_OK) return;
    while (sqlite3_step(s) == SQLITE_ROW && used < size) {
        int w = snprintf(buf + used, size - used, "%s%s (%d layers, d %d, %d/%d heads)", used ? "; " : "",
                         (const char *)sqlite3_column_text(s, 0), sqlite3_column_int(s, 1), sqlite3_column_int(s, 2),
                         sqlite3_column_int(s, 3), sqlite3_column_int(s, 4));
        used += w > 0 ? (size_t)w : 0;
    }
    sqlite3_finalize(s);
}

/* A metric is a finite number: NULL, text or ±inf (an edited or damaged file) must not pass for 0 or a bound. */
static int check_metric(sqlite3_stmt *s, int col, const char *name, const char *path, xq_err *err)
{
    int type = sqlite3_column_type(s, col);
    double v = sqlite3_column_double(s, col);
    if ((type == SQLITE_INTEGER || type == SQLITE_FLOAT) && isfinite(v)) return XQ_OK;
    const char *what = type == SQLITE_NULL ? "NULL" : type == SQLITE_FLOAT ? "not finite" : "not a number";
    return xq_fail(err, XQ_EINPUT, "%s: damaged trace: metric %s of run %lld is %s (want a finite number)", path,
                   name, (long long)sqlite3_column_int64(s, 4), what);
}

/* dppl always; kl and top1 when the run has them. */
static int check_row(sqlite3_stmt *s, const char *path, xq_err *err)
{
    int rc = check_metric(s, 1, "dppl", path, err);
    if (!rc && sqlite3_column_int(s, 5)) rc = check_metric(s, 2, "kl", path, err);
    if (!rc && sqlite3_column_int(s, 6)) rc = check_metric(s, 3, "top1", path, err);
    return rc;
}

int store_eval_results(store_reader *r, const store_eval_shape *shape, store_eval_result *out, int cap, int *n,
                       xq_err *err)
{
    sqlite3 *db = store_reader_db(r);
    sqlite3_stmt *s = NULL;
    *n = 0;
    int rc = sqlite3_prepare_v2(db, RESULTS_SQL, -1, &s, NULL);
    if (rc == SQLITE_OK) {
        int v[4] = {shape->n_layer, shape->n_embd, shape->n_head, shape->n_head_kv};
        for (int i = 0; i < 4; i++) sqlite3_bind_int(s, i + 1, v[i]);
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            int bad = check_row(s, store_reader_path(r), err);
            if (bad) {
                sqlite3_finalize(s);
                return bad;
            }
            add_result(out, cap, n, (const char *)sqlite3_column_text(s, 0), sqlite3_column_double(s, 1),
                       sqlite3_column_double(s, 2), sqlite3_column_double(s, 3));
        }
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) return store_sqlite_fail(db, rc, store_reader_path(r), "cannot read eval results", err);
    if (*n > 0) return XQ_OK;
    char there[400];
    list_shapes(db, there, sizeof there);
    return xq_fail(err, XQ_EINPUT, "%s: no eval results for a model of %d layers, d %d, %d/%d heads (%s%s)",
                   store_reader_path(r), shape->n_layer, shape->n_embd, shape->n_head, shape->n_head_kv,
                   there[0] ? "the file has: " : "the file holds no eval results; record some with xqprof eval --trace",
                   there);
}
