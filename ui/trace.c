/* Recorded source (trace.h): a few aggregate queries over the run's op and step tables. */
#include "ui/trace.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/reader.h"
#include "store/store.h"

static int query(sqlite3 *db, const char *sql, int64_t run, sqlite3_stmt **st, xq_err *err)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
        return xq_fail(err, XQ_EINPUT, "not a readable trace: %s", sqlite3_errmsg(db));
    sqlite3_bind_int64(*st, 1, run);
    return 0;
}

/* A statement's end: a read that stopped on an error (a truncated or damaged file) fails the whole load. */
static int finish(sqlite3 *db, sqlite3_stmt *st, xq_err *err)
{
    if (sqlite3_finalize(st) == SQLITE_OK) return 0;
    return xq_fail(err, XQ_EINPUT, "corrupt or unreadable trace: %s", sqlite3_errmsg(db));
}

static void text_col(sqlite3_stmt *st, int col, char *out, size_t size, const char *dflt)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(out, size, "%s", t ? (const char *)t : dflt);
}

/* An integer field of the flat model_config JSON the trace writer records ("n_layer":30). */
static long json_int(const char *json, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = json ? strstr(json, pat) : NULL;
    return p ? strtol(p + strlen(pat), NULL, 10) : 0;
}

static int load_run(sqlite3 *db, int64_t run, ui_data *d, xq_err *err)
{
    sqlite3_stmt *st;
    int rc = query(db, "SELECT r.model_name, r.cache_mode, r.threads, r.n_ctx, r.status, r.model_config, d.name, "
                       "d.peak_flops, d.read_bytes_per_s FROM run r LEFT JOIN device d ON d.id = r.device_id "
                       "WHERE r.id = ?1", run, &st, err);
    if (rc) return rc;
    if (sqlite3_step(st) == SQLITE_ROW) {
        char status[32];
        text_col(st, 0, d->title, sizeof d->title, "unknown model");
        text_col(st, 1, d->mode, sizeof d->mode, "?");
        d->threads = sqlite3_column_int(st, 2);
        d->n_ctx_max = sqlite3_column_int64(st, 3);
        text_col(st, 4, status, sizeof status, "?");
        snprintf(d->status, sizeof d->status, "recorded run %lld (%s)", (long long)run,
                 store_run_status_shown(db, run, status));
        const char *cfg = (const char *)sqlite3_column_text(st, 5);
        long n_layer = json_int(cfg, "n_layer");
        d->n_layer = n_layer > 0 && n_layer <= UI_MAX_LAYERS ? (int)n_layer : 0;
        d->fp16_bytes_per_token = 2.0 * 2.0 * (double)n_layer * (double)json_int(cfg, "n_head_kv") *
                                  (double)json_int(cfg, "head_dim");
        text_col(st, 6, d->device, sizeof d->device, "");
        d->peak_flops = sqlite3_column_double(st, 7);
        d->peak_bytes_per_s = sqlite3_column_double(st, 8);
    }
    if ((rc = finish(db, st, err))) return rc;
    if (d->peak_flops <= 0 || d->peak_bytes_per_s <= 0)
        snprintf(d->peak_why, sizeof d->peak_why, "no device peaks recorded in this trace");
    return 0;
}

static void add_agg(prof_agg *a, sqlite3_stmt *st)
{
    a->count += sqlite3_column_int64(st, 2);
    a->self_ns += sqlite3_column_int64(st, 3);
    a->flops += sqlite3_column_int64(st, 4);
    a->bytes_weights += sqlite3_column_int64(st, 5);
    a->bytes_cache_read += sqlite3_column_int64(st, 6);
    a->bytes_cache_write += sqlite3_column_int64(st, 7);
    a->bytes_act += sqlite3_column_int64(st, 8);
    a->remat_ns += sqlite3_column_int64(st, 9);
    a->remat_flops += sqlite3_column_int64(st, 10);
}

static void add_cell(ui_cell *c, sqlite3_stmt *st)
{
    c->count += sqlite3_column_int64(st, 2);
    c->self_ns += sqlite3_column_int64(st, 3);
    c->flops += sqlite3_column_int64(st, 4);
    for (int col = 5; col <= 8; col++)
        c->bytes += sqlite3_column_int64(st, col);
    c->remat_ns += sqlite3_column_int64(st, 9);
}

static int load_aggregates(sqlite3 *db, int64_t run, ui_data *d, xq_err *err)
{
    sqlite3_stmt *st;
    int rc = query(db, "SELECT layer, op, count(*), sum(self_ns), sum(flops), sum(bytes_weights), "
                       "sum(bytes_cache_read), sum(bytes_cache_write), sum(bytes_act), "
                       "sum(CASE WHEN remat THEN self_ns ELSE 0 END), sum(CASE WHEN remat THEN flops ELSE 0 END) "
                       "FROM op WHERE run = ?1 GROUP BY layer, op", run, &st, err);
    if (rc) return rc;
    for (int i = 0; i < UI_MAX_LAYERS; i++)
        d->layer[i].cache_bytes = -1; /* the trace records cache bytes per step, not per layer */
    while (sqlite3_step(st) == SQLITE_ROW) {
        int layer = sqlite3_column_int(st, 0), op = sqlite3_column_int(st, 1);
        if (layer >= 0 && layer < d->n_layer) add_agg(&d->layer[layer].agg, st);
        if (layer >= 0 && layer < d->n_layer && op >= 0 && op < OP_COUNT) add_cell(&d->layer_op[layer][op], st);
        if (op >= 0 && op < OP_COUNT) add_agg(&d->op[op], st);
    }
    if ((rc = finish(db, st, err))) return rc;
    d->layer_ops_known = true;
    return 0;
}

static int load_steps(sqlite3 *db, int64_t run, ui_data *d, xq_err *err)
{
    sqlite3_stmt *st;
    int rc = query(db,
                   "SELECT idx, phase, n_tokens, n_ctx, ns, coalesce(cache_persistent, -1), coalesce(cache_residual, 0) "
                   "FROM step WHERE run = ?1 ORDER BY idx DESC LIMIT 512",
                   run, &st, err);
    if (rc) return rc;
    int n = 0;
    while (n < UI_MAX_STEPS && sqlite3_step(st) == SQLITE_ROW) {
        const char *phase = (const char *)sqlite3_column_text(st, 1);
        d->step[n++] = (ui_step){.index = sqlite3_column_int64(st, 0), .n_tokens = sqlite3_column_int64(st, 2),
                                 .n_ctx = sqlite3_column_int64(st, 3), .ns = sqlite3_column_int64(st, 4),
                                 .cache_persistent = sqlite3_column_int64(st, 5),
                                 .cache_ring = sqlite3_column_int64(st, 6), .classes_known = true,
                                 .prefill = phase && !strcmp(phase, "prefill")};
    }
    if ((rc = finish(db, st, err))) return rc;
    for (int i = 0; i < n / 2; i++) { /* newest first from SQL, oldest first on screen */
        ui_step t = d->step[i];
        d->step[i] = d->step[n - 1 - i];
        d->step[n - 1 - i] = t;
    }
    d->n_steps = n;
    return 0;
}

static int load_classes(sqlite3 *db, int64_t run, ui_data *d, xq_err *err)
{
    if (!d->n_steps) return 0;
    sqlite3_stmt *st;
    int rc = query(db, "SELECT step, op, sum(self_ns) FROM op WHERE run = ?1 AND step >= ?2 GROUP BY step, op", run,
                   &st, err);
    if (rc) return rc;
    int64_t first = d->step[0].index;
    sqlite3_bind_int64(st, 2, first);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t idx = sqlite3_column_int64(st, 0);
        int op = sqlite3_column_int(st, 1);
        /* Steps are consecutive indices, so the row is found by offset (and checked). */
        int64_t at = idx - first;
        if (at < 0 || at >= d->n_steps || d->step[at].index != idx || op < 0 || op >= OP_COUNT) continue;
        d->step[at].class_ns[ui_op_class((span_op)op)] += sqlite3_column_int64(st, 2);
    }
    if ((rc = finish(db, st, err))) return rc;
    return 0;
}

static int count_steps(sqlite3 *db, int64_t run, ui_data *d, xq_err *err)
{
    sqlite3_stmt *st;
    int rc = query(db, "SELECT count(*) FROM step WHERE run = ?1", run, &st, err);
    if (rc) return rc;
    if (sqlite3_step(st) == SQLITE_ROW) d->window_steps = sqlite3_column_int(st, 0);
    if ((rc = finish(db, st, err))) return rc;
    return 0;
}

static void derive(ui_data *d)
{
    for (int i = 0; i < d->n_steps; i++) {
        const ui_step *s = &d->step[i];
        if (!s->prefill && s->ns > 0) ui_rate_push(d, (double)s->n_tokens * 1e9 / (double)s->ns);
    }
    d->ctx = d->n_steps ? d->step[d->n_steps - 1].n_ctx : 0;
    d->rate_span_s = (double)d->n_rate;
    d->version = 1;
}

int ui_trace_load(const char *path, int64_t want, ui_data *d, xq_err *err)
{
    store_reader *r;
    int rc = store_reader_open(path, &r, err);
    if (rc) return rc;
    int64_t run = 0;
    sqlite3 *db = store_reader_db(r);
    memset(d, 0, sizeof *d);
    if (!(rc = store_reader_resolve_run(r, want, &run, err)) && !(rc = load_run(db, run, d, err)) &&
        !(rc = load_aggregates(db, run, d, err)) && !(rc = load_steps(db, run, d, err)) &&
        !(rc = count_steps(db, run, d, err)))
        rc = load_classes(db, run, d, err);
    store_reader_close(r);
    if (!rc) derive(d);
    return rc;
}
