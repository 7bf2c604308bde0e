/* The trace writer's connection of store.h. WAL with synchronous = NORMAL: a commit is durable against a crash
 * of this process (SIGKILL) without an fsync per commit; only a power loss can lose the last commits. */
#include "store/store.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/span.h"
#include "store/schema.h"

/* Ops go in up to 2^(OP_INSERTS − 1) rows per statement: the per-statement cost (step, reset, transaction check)
 * was a third of a single-row insert. One statement per power of two, so that a batch's tail needs few. */
enum { OP_COLUMNS = 14, OP_INSERTS = 7 };

struct store {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *ins_op[OP_INSERTS], *ins_step; /* ins_op[i]: 2^i rows at once */
    bool in_txn;
    int statm_fd;              /* /proc/self/statm, kept open: one pread per step */
    int64_t op_first, op_last; /* rowids of the ops inserted since the last step row; op_first −1: none */
    int64_t page_bytes;
};

static const char *const INSERT_OP =
    "INSERT INTO op (run, step, layer, op, depth, t_ns, ns, self_ns, flops, bytes_weights, bytes_cache_read, "
    "bytes_cache_write, bytes_act, remat) VALUES ";
static const char *const OP_ROW = "(?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
static const char *const INSERT_STEP =
    "INSERT OR REPLACE INTO step (run, idx, phase, n_tokens, n_ctx, t_ns, ns, ops_ns, n_ops, flops, bytes_weights, "
    "bytes_cache_read, bytes_cache_write, bytes_act, remat_ns, remat_flops, op_first, op_last, cache_persistent, "
    "cache_residual, cache_transient, rss, cycles, instructions, llc_misses) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";

static int fail(store *st, int rc, const char *what, xq_err *err)
{
    return store_sqlite_fail(st->db, rc, st->path, what, err);
}

/* Binds args by a format ('t' text or NULL, 'i' int64, 'd' double) and runs sql to completion. */
static int exec_bound(store *st, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    va_list ap;
    va_start(ap, fmt);
    for (int i = 0; rc == SQLITE_OK && fmt[i]; i++) {
        if (fmt[i] == 't')
            rc = sqlite3_bind_text(s, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
        else if (fmt[i] == 'i')
            rc = sqlite3_bind_int64(s, i + 1, va_arg(ap, int64_t));
        else
            rc = sqlite3_bind_double(s, i + 1, va_arg(ap, double));
    }
    va_end(ap);
    if (rc == SQLITE_OK) rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* One transaction: the names of span_op (base/span.c is their single source), added when missing. */
static int fill_op_kinds(store *st)
{
    int rc = sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL);
    for (int op = 0; rc == SQLITE_OK && op < OP_COUNT; op++)
        rc = exec_bound(st, "INSERT OR IGNORE INTO op_kind (id, name) VALUES (?, ?)", "it", (int64_t)op,
                        span_op_name((span_op)op));
    if (rc == SQLITE_OK) return sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* INSERT_OP with `rows` rows of parameters. */
static int prepare_op_insert(store *st, int rows, sqlite3_stmt **out)
{
    size_t size = strlen(INSERT_OP) + (size_t)rows * (strlen(OP_ROW) + 1) + 1;
    char *sql = malloc(size), *p = sql;
    if (!sql) return SQLITE_NOMEM;
    p += sprintf(p, "%s", INSERT_OP);
    for (int i = 0; i < rows; i++)
        p += sprintf(p, "%s%s", i ? "," : "", OP_ROW);
    int rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
    free(sql);
    return rc;
}

static int configure(store *st, xq_err *err)
{
    sqlite3_busy_timeout(st->db, 5000);
    if (sqlite3_db_readonly(st->db, "main") == 1)
        return xq_fail(err, XQ_ERUN, "%s: cannot write: the file is read-only", st->path);
    int rc = store_schema_prepare(st->db, st->path, true, err);
    if (rc) return rc;
    rc = sqlite3_exec(st->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
    if (rc == SQLITE_OK) rc = fill_op_kinds(st);
    for (int i = 0; rc == SQLITE_OK && i < OP_INSERTS; i++)
        rc = prepare_op_insert(st, 1 << i, &st->ins_op[i]);
    if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(st->db, INSERT_STEP, -1, &st->ins_step, NULL);
    return rc == SQLITE_OK ? XQ_OK : fail(st, rc, "cannot prepare", err);
}

int store_open(const char *path, store **out, xq_err *err)
{
    *out = NULL;
    if (access(path, F_OK) == 0 && access(path, W_OK) != 0)
        return xq_fail(err, XQ_ERUN, "%s: cannot write: the file is read-only", path);
    store *st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(path))) {
        free(st);
        return xq_fail(err, XQ_ERUN, "%s: out of memory", path);
    }
    st->statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    st->op_first = -1;
    st->page_bytes = sysconf(_SC_PAGESIZE);
    /* No connection mutex: one thread at a time uses a store (store.h), and locking it in every bind and step
     * was a third of the writer's profile. */
    int rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    rc = rc == SQLITE_OK ? configure(st, err) : fail(st, rc, "cannot open", err);
    if (rc) {
        store_close(st);
        return rc;
    }
    *out = st;
    return XQ_OK;
}

void store_close(store *st)
{
    if (!st) return;
    for (int i = 0; i < OP_INSERTS; i++)
        sqlite3_finalize(st->ins_op[i]);
    sqlite3_finalize(st->ins_step);
    if (st->db) {
        /* Fold the WAL back so that the file alone is the trace (copyable without its -wal). */
        sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        sqlite3_close(st->db);
    }
    if (st->statm_fd >= 0) close(st->statm_fd);
    free(st->path);
    free(st);
}

const char *store_path(const store *st)
{
    return st->path;
}

int store_run_begin(store *st, const store_run_info *in, int64_t *run_id, xq_err *err)
{
    int rc = exec_bound(st,
                        "INSERT INTO run (started, command, version, model_file, model_name, model_config, "
                        "cache_mode, cache_params, threads, n_ctx) VALUES "
                        "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        "tttttttii", in->command, in->version, in->model_file, in->model_name, in->model_config_json,
                        in->cache_mode, in->cache_params_json, (int64_t)in->threads, in->n_ctx);
    if (rc != SQLITE_OK) return fail(st, rc, "cannot record the run", err);
    *run_id = sqlite3_last_insert_rowid(st->db);
    return XQ_OK;
}

int store_run_end(store *st, int64_t run, const char *status, const prof_stats *s, const char *counters, xq_err *err)
{
    int rc = exec_bound(st,
                        "UPDATE run SET status = ?, ended = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), counters = ?, "
                        "spans = ?, spans_dropped = ?, steps_dropped = ?, spans_unmatched = ? WHERE id = ?",
                        "ttiiiii", status, counters, s->spans, s->spans_dropped, s->steps_dropped,
                        s->spans_foreign + s->spans_unmatched, run);
    return rc == SQLITE_OK ? XQ_OK : fail(st, rc, "cannot finish the run", err);
}

int store_run_set_session(store *st, int64_t run, int threads, int64_t n_ctx, const char *cache_mode,
                          const char *cache_params_json, xq_err *err)
{
    int rc = exec_bound(st, "UPDATE run SET threads = ?, n_ctx = ?, cache_mode = ?, cache_params = ? WHERE id = ?",
                        "iitti", (int64_t)threads, n_ctx, cache_mode, cache_params_json, run);
    return rc == SQLITE_OK ? XQ_OK : fail(st, rc, "cannot record the session", err);
}

int store_run_set_sha256(store *st, int64_t run, const char *hex, xq_err *err)
{
    int rc = exec_bound(st, "UPDATE run SET model_sha256 = ? WHERE id = ?", "ti", hex, run);
    return rc == SQLITE_OK ? XQ_OK : fail(st, rc, "cannot record the model hash", err);
}

static const char *device_source(const prof_roofline *r)
{
    if (r->contended) return r->from_cache ? "measured on a busy machine, cached" : "measured on a busy machine";
    return r->from_cache ? "measured, cached" : "measured";
}

static int64_t find_device(store *st, const prof_roofline *r)
{
    sqlite3_stmt *s = NULL;
    int64_t id = 0;
    const char *sql = "SELECT id FROM device WHERE kind = 'cpu' AND name = ? AND threads = ? AND peak_flops = ? "
                      "AND read_bytes_per_s = ? AND measured_at = ?";
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, r->cpu_name, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 2, r->threads);
        sqlite3_bind_double(s, 3, r->peak_flops);
        sqlite3_bind_double(s, 4, r->read_bytes_per_s);
        sqlite3_bind_text(s, 5, r->measured_at, -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW) id = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    return id;
}

int store_run_set_device(store *st, int64_t run, const prof_roofline *r, xq_err *err)
{
    int64_t id = find_device(st, r);
    int rc = SQLITE_OK;
    if (!id) {
        rc =
            exec_bound(st,
                       "INSERT INTO device (name, kind, cores, threads, peak_flops, peak_flops_1t, "
                       "read_bytes_per_s, memory_bytes, source, measured_at) VALUES (?, 'cpu', ?, ?, ?, ?, ?, ?, ?, ?)",
                       "tiiddditt", r->cpu_name, (int64_t)r->cores, (int64_t)r->threads, r->peak_flops,
                       r->peak_flops_1t, r->read_bytes_per_s, r->memory_bytes, device_source(r), r->measured_at);
        id = sqlite3_last_insert_rowid(st->db);
    }
    if (rc == SQLITE_OK) rc = exec_bound(st, "UPDATE run SET device_id = ? WHERE id = ?", "ii", id, run);
    return rc == SQLITE_OK ? XQ_OK : fail(st, rc, "cannot record the device", err);
}

int store_metric(store *st, int64_t run, const char *name, double value, xq_err *err)
{
    int rc =
        exec_bound(st, "INSERT OR REPLACE INTO metric (run, name, value) VALUES (?, ?, ?)", "itd", run, name, value);
    return rc == SQLITE_OK ? XQ_OK : fail(st, rc, "cannot record a metric", err);
}

int store_begin(store *st, xq_err *err)
{
    int rc = sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL);
    if (rc != SQLITE_OK) return fail(st, rc, "cannot write", err);
    st->in_txn = true;
    return XQ_OK;
}

int store_commit(store *st, xq_err *err)
{
    int rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK) {
        st->in_txn = false;
        return XQ_OK;
    }
    fail(st, rc, "cannot write", err);
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    st->in_txn = false;
    return err ? err->code : XQ_ERUN;
}

bool store_in_transaction(const store *st)
{
    return st->in_txn;
}

static int64_t rss_bytes(const store *st)
{
    char buf[128];
    ssize_t n = st->statm_fd >= 0 ? pread(st->statm_fd, buf, sizeof buf - 1, 0) : -1;
    if (n <= 0) return -1;
    buf[n] = 0;
    long long size = 0, resident = 0;
    return sscanf(buf, "%lld %lld", &size, &resident) == 2 ? resident * st->page_bytes : -1;
}

static int bind_or_null(sqlite3_stmt *s, int i, int64_t v)
{
    return v < 0 ? sqlite3_bind_null(s, i) : sqlite3_bind_int64(s, i, v);
}

static void bind_op(sqlite3_stmt *s, int first, int64_t run, const prof_op_rec *r)
{
    const int64_t v[OP_COLUMNS] = {run,
                                   r->step,
                                   r->layer,
                                   r->op,
                                   r->depth,
                                   r->t_ns,
                                   r->ns,
                                   r->self_ns,
                                   r->cost.flops,
                                   r->cost.bytes_weights,
                                   r->cost.bytes_cache_read,
                                   r->cost.bytes_cache_write,
                                   r->cost.bytes_act,
                                   r->cost.remat};
    for (int i = 0; i < OP_COLUMNS; i++)
        sqlite3_bind_int64(s, first + i, v[i]);
}

/* Inserts the largest power of two (≤ 2^(OP_INSERTS − 1)) of the n ≥ 1 op records at recs in one statement;
 * sets *done to the count. Rows get consecutive rowids (an append to a table without deletes), so the last rowid
 * and the count give the first. */
static int insert_op_rows(store *st, int64_t run, const prof_op_rec *recs, size_t n, size_t *done)
{
    int log2 = 0;
    while (log2 + 1 < OP_INSERTS && ((size_t)2 << log2) <= n)
        log2++;
    size_t rows = (size_t)1 << log2;
    sqlite3_stmt *s = st->ins_op[log2];
    for (size_t i = 0; i < rows; i++)
        bind_op(s, 1 + (int)i * OP_COLUMNS, run, &recs[i]);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return rc;
    st->op_last = sqlite3_last_insert_rowid(st->db);
    if (st->op_first < 0) st->op_first = st->op_last - (int64_t)rows + 1;
    *done = rows;
    return SQLITE_OK;
}

static int insert_step(store *st, int64_t run, const prof_step_rec *r)
{
    sqlite3_stmt *s = st->ins_step;
    sqlite3_bind_int64(s, 1, run);
    sqlite3_bind_int64(s, 2, r->index);
    sqlite3_bind_text(s, 3, r->phase == PROF_PHASE_PREFILL ? "prefill" : "decode", -1, SQLITE_STATIC);
    const prof_agg *a = &r->sum;
    const int64_t v[] = {r->n_tokens,
                         r->n_ctx,
                         r->t_ns,
                         r->ns,
                         r->ops_ns,
                         r->n_ops,
                         a->flops,
                         a->bytes_weights,
                         a->bytes_cache_read,
                         a->bytes_cache_write,
                         a->bytes_act,
                         a->remat_ns,
                         a->remat_flops};
    int col = 4;
    for (int i = 0; i < (int)(sizeof v / sizeof v[0]); i++)
        sqlite3_bind_int64(s, col++, v[i]);
    bind_or_null(s, col++, st->op_first);
    bind_or_null(s, col++, st->op_first < 0 ? -1 : st->op_last);
    bind_or_null(s, col++, r->cache_persistent);
    bind_or_null(s, col++, r->cache_residual);
    bind_or_null(s, col++, r->cache_transient);
    bind_or_null(s, col++, rss_bytes(st));
    for (int i = 0; i < PROF_CTR_COUNT; i++)
        bind_or_null(s, col++, r->counters[i]);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    st->op_first = -1;
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int store_insert_ops(store *st, int64_t run, const prof_op_rec *ops, size_t n, xq_err *err)
{
    int rc = SQLITE_OK;
    for (size_t i = 0, done = 0; rc == SQLITE_OK && i < n; i += done)
        rc = insert_op_rows(st, run, ops + i, n - i, &done);
    return rc == SQLITE_OK ? XQ_OK : fail(st, rc, "cannot write", err);
}

int store_insert_step(store *st, int64_t run, const prof_step_rec *step, xq_err *err)
{
    int rc = insert_step(st, run, step);
    return rc == SQLITE_OK ? XQ_OK : fail(st, rc, "cannot write", err);
}
