/* The trace writer's connection of store.h. WAL with synchronous = NORMAL: a commit is durable against a crash
 * of this process (SIGKILL) without an fsync per commit; only a power loss can lose the last commits. */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/grow.h"
#include "base/span.h"
#include "store/oppack.h"
#include "store/schema.h"

/* Ops go in up to 2^(OP_INSERTS − 1) rows per statement: the per-statement cost (step, reset, transaction check)
 * was a third of a single-row insert. One statement per power of two, so that a batch's tail needs few. */
enum { OP_COLUMNS = 1 + PROF_OP_FIELDS, OP_INSERTS = 7 }; /* run, then the record's fields */
static const int64_t RSS_NS = 10 * 1000 * 1000;

struct store {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *ins_op[OP_INSERTS], *ins_step; /* ins_op[i]: 2^i rows at once */
    sqlite3_stmt *ins_pending, *sel_pending, *del_pending, *set_step_ops, *first_pending, *set_pending;
    uint8_t *packed;       /* store_insert_pending's buffer, packed_cap bytes */
    oppack_ctx enc, dec;   /* the chains of packed blocks this store writes and reads (oppack.h) */
    bool enc_carry;        /* the next block written must carry its context: its predecessors became rows */
    prof_op_rec *unpacked; /* store_expand_pending's, unpacked_cap records */
    size_t packed_cap, unpacked_cap;
    char host[256];                       /* this machine's name, recorded with each run */
    int64_t exp_run, exp_first, exp_last; /* expansion: rowids of op rows built since the last step of exp_run */
    bool in_txn;
    int statm_fd;              /* /proc/self/statm, kept open */
    int64_t rss, rss_at;       /* its last reading (bytes) and when (ns); rss_at 0: never read */
    int64_t op_first, op_last; /* rowids of the ops inserted since the last step row; op_first −1: none */
    int64_t page_bytes;
    bool defer_checkpoints; /* store_defer_checkpoints */
    int wal_pages;          /* frames in the WAL after the last commit */
    int wal_deferred_pages; /* WAL_DEFERRED_BYTES in pages of this file */
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

/* SQLite's own rule (a checkpoint after the commit that takes the WAL past 1000 pages) unless deferred; deferred,
 * only past WAL_DEFERRED_BYTES, which bounds the WAL of a run that never pauses. */
enum { WAL_PAGES = 1000 };
static const int64_t WAL_DEFERRED_BYTES = 64LL << 20;

static int after_commit(void *arg, sqlite3 *db, const char *name, int pages)
{
    store *st = arg;
    st->wal_pages = pages;
    if (pages >= (st->defer_checkpoints ? st->wal_deferred_pages : WAL_PAGES)) store_checkpoint(st);
    (void)db, (void)name;
    return SQLITE_OK;
}

void store_defer_checkpoints(store *st, bool defer)
{
    st->defer_checkpoints = defer;
}

void store_checkpoint(store *st)
{
    int log = 0, done = 0;
    /* PASSIVE: what readers still need stays in the WAL (a reader is never waited for, nor made to wait). */
    if (sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done) == SQLITE_OK)
        st->wal_pages = log - done;
}

bool store_checkpoint_due(const store *st)
{
    return st->wal_pages >= WAL_PAGES;
}

static int configure(store *st, xq_err *err)
{
    sqlite3_busy_timeout(st->db, 5000);
    if (sqlite3_db_readonly(st->db, "main") == 1)
        return xq_fail(err, XQ_ERUN, "%s: cannot write: the file is read-only", st->path);
    int rc = store_schema_prepare(st->db, st->path, true, err);
    if (rc) return rc;
    rc = sqlite3_exec(st->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
    long long page_size = 0;
    if (rc == SQLITE_OK) rc = store_query_int(st->db, "PRAGMA page_size", &page_size);
    st->wal_deferred_pages = page_size > 0 ? (int)(WAL_DEFERRED_BYTES / page_size) : WAL_PAGES;
    sqlite3_wal_hook(st->db, after_commit, st); /* replaces SQLite's autocheckpoint, which is the same hook */
    if (rc == SQLITE_OK) rc = fill_op_kinds(st);
    for (int i = 0; rc == SQLITE_OK && i < OP_INSERTS; i++)
        rc = prepare_op_insert(st, 1 << i, &st->ins_op[i]);
    if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(st->db, INSERT_STEP, -1, &st->ins_step, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(st->db, "INSERT INTO op_pending (run, step, n, data, codec) VALUES (?, ?, ?, ?, 2)", -1,
                                &st->ins_pending, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(st->db,
                                "SELECT rowid, step, n, data, codec FROM op_pending WHERE run = ? ORDER BY rowid", -1,
                                &st->sel_pending, NULL);
    if (rc == SQLITE_OK)
        rc =
            sqlite3_prepare_v2(st->db, "SELECT rowid, codec, data FROM op_pending WHERE run = ? ORDER BY rowid LIMIT 1",
                               -1, &st->first_pending, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(st->db, "UPDATE op_pending SET data = ? WHERE rowid = ?", -1, &st->set_pending, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(st->db, "DELETE FROM op_pending WHERE rowid = ?", -1, &st->del_pending, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(st->db, "UPDATE step SET op_first = ?, op_last = ? WHERE run = ? AND idx = ?", -1,
                                &st->set_step_ops, NULL);
    return rc == SQLITE_OK ? XQ_OK : fail(st, rc, "cannot prepare", err);
}

static int recover_orphans(store *st, xq_err *err);

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
    if (gethostname(st->host, sizeof st->host - 1)) snprintf(st->host, sizeof st->host, "unknown");
    st->op_first = st->exp_first = -1;
    st->exp_run = st->enc.run = st->dec.run = -1;
    st->page_bytes = sysconf(_SC_PAGESIZE);
    /* No connection mutex: one thread at a time uses a store (store.h), and locking it in every bind and step
     * was a third of the writer's profile. */
    int rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    rc = rc == SQLITE_OK ? configure(st, err) : fail(st, rc, "cannot open", err);
    if (!rc) rc = recover_orphans(st, err);
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
    sqlite3_finalize(st->ins_pending);
    sqlite3_finalize(st->sel_pending);
    sqlite3_finalize(st->del_pending);
    sqlite3_finalize(st->set_step_ops);
    sqlite3_finalize(st->first_pending);
    sqlite3_finalize(st->set_pending);
    oppack_ctx_free(&st->enc);
    oppack_ctx_free(&st->dec);
    free(st->packed);
    free(st->unpacked);
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
                        "cache_mode, cache_params, threads, n_ctx, pid, host) VALUES "
                        "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        "tttttttiiit", in->command, in->version, in->model_file, in->model_name, in->model_config_json,
                        in->cache_mode, in->cache_params_json, (int64_t)in->threads, in->n_ctx, (int64_t)getpid(),
                        st->host);
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

/* Ends the open transaction without its changes: the chains of packed blocks in memory may be ahead of the file,
 * so the next block written carries its context and the next one read must. */
static void rollback(store *st)
{
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    st->in_txn = false;
    st->enc_carry = true;
    st->dec.run = -1;
}

int store_commit(store *st, xq_err *err)
{
    int rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK) {
        st->in_txn = false;
        return XQ_OK;
    }
    fail(st, rc, "cannot write", err);
    rollback(st);
    return err ? err->code : XQ_ERUN;
}

bool store_in_transaction(const store *st)
{
    return st->in_txn;
}

static int bind_or_null(sqlite3_stmt *s, int i, int64_t v)
{
    return v < 0 ? sqlite3_bind_null(s, i) : sqlite3_bind_int64(s, i, v);
}

static int64_t read_rss(const store *st)
{
    char buf[128];
    ssize_t n = st->statm_fd >= 0 ? pread(st->statm_fd, buf, sizeof buf - 1, 0) : -1;
    if (n <= 0) return -1;
    buf[n] = 0;
    long long size = 0, resident = 0;
    return sscanf(buf, "%lld %lld", &size, &resident) == 2 ? resident * st->page_bytes : -1;
}

/* Process RSS, read again at most every RSS_NS: RSS moves slowly, and a read of /proc per step was a tenth of
 * the packing writer's time. */
static int64_t rss_bytes(store *st)
{
    int64_t now = xq_now_ns();
    if (st->rss_at == 0 || now - st->rss_at >= RSS_NS) {
        st->rss = read_rss(st);
        st->rss_at = now;
    }
    return st->rss;
}

static void bind_op(sqlite3_stmt *s, int first, int64_t run, const prof_op_rec *r)
{
    int64_t f[PROF_OP_FIELDS];
    prof_op_fields(r, f);
    sqlite3_bind_int64(s, first, run);
    for (int i = 0; i < PROF_OP_FIELDS; i++)
        sqlite3_bind_int64(s, first + 1 + i, f[i]);
}

/* Inserts the largest power of two (≤ 2^(OP_INSERTS − 1)) of the n ≥ 1 op records at recs in one statement;
 * sets *done to the count. Rows get consecutive rowids (an append to a table without deletes), so the last rowid
 * and the count give the first. */
static int insert_op_rows(store *st, int64_t run, const prof_op_rec *recs, size_t n, size_t *done, int64_t *first,
                          int64_t *last)
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
    *last = sqlite3_last_insert_rowid(st->db);
    if (*first < 0) *first = *last - (int64_t)rows + 1;
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
        rc = insert_op_rows(st, run, ops + i, n - i, &done, &st->op_first, &st->op_last);
    return rc == SQLITE_OK ? XQ_OK : fail(st, rc, "cannot write", err);
}

int store_insert_pending(store *st, int64_t run, const prof_op_rec *ops, size_t n, int64_t step, xq_err *err)
{
    if (st->enc.run != run) { /* a new chain */
        oppack_ctx_reset(&st->enc, run);
        st->enc_carry = true;
    }
    size_t bytes = 0;
    if (xq_grow((void **)&st->packed, &st->packed_cap, oppack_block_bound(&st->enc, n), 1))
        bytes = oppack_block_encode(&st->enc, ops, n, step >= 0, st->enc_carry, st->packed);
    if (!bytes) {
        st->enc.run = -1; /* half advanced */
        return xq_fail(err, XQ_ERUN, "%s: out of memory for packed spans", st->path);
    }
    sqlite3_stmt *s = st->ins_pending;
    sqlite3_bind_int64(s, 1, run);
    bind_or_null(s, 2, step);
    sqlite3_bind_int64(s, 3, (int64_t)n);
    sqlite3_bind_blob(s, 4, st->packed, (int)bytes, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        st->enc.run = -1;
        return fail(st, rc, "cannot write", err);
    }
    st->enc.last_block = sqlite3_last_insert_rowid(st->db);
    st->enc_carry = false;
    return XQ_OK;
}

/* The n records of one pending block into *buf (grown to fit), chained blocks through dec: n, or −1 when the
 * block is damaged, −2 out of memory. */
static long decode_block(oppack_ctx *dec, prof_op_rec **buf, size_t *cap, int64_t rowid, int64_t run, int64_t step,
                         int64_t n, int codec, const void *data, int size)
{
    if (n < 0 || n > size) return -1; /* a record takes a byte at least: no allocation from a damaged count */
    if (!xq_grow((void **)buf, cap, (size_t)n, sizeof **buf)) return -2;
    long got = codec == OPPACK_CODEC_RECORDS ? oppack_decode(data, (size_t)size, *buf, (size_t)n)
               : codec == OPPACK_CODEC_CHAINED
                   ? oppack_block_decode(dec, run, rowid, data, (size_t)size, step >= 0, *buf, (size_t)n)
                   : -1;
    return got == -2 ? -2 : got == n ? got : -1;
}

int store_first_damaged_block(sqlite3 *db, int64_t run, int64_t *rowid)
{
    sqlite3_stmt *s = NULL;
    oppack_ctx dec = {.run = -1};
    prof_op_rec *recs = NULL;
    size_t cap = 0;
    long got = 0;
    *rowid = 0;
    int rc = sqlite3_prepare_v2(db, "SELECT rowid, step, n, data, codec FROM op_pending WHERE run = ? ORDER BY rowid",
                                -1, &s, NULL);
    if (rc == SQLITE_OK) sqlite3_bind_int64(s, 1, run);
    while (rc == SQLITE_OK && got >= 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t step = sqlite3_column_type(s, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 1);
        *rowid = sqlite3_column_int64(s, 0);
        got = decode_block(&dec, &recs, &cap, *rowid, run, step, sqlite3_column_int64(s, 2), sqlite3_column_int(s, 4),
                           sqlite3_column_blob(s, 3), sqlite3_column_bytes(s, 3));
        rc = got == -2 ? SQLITE_NOMEM : SQLITE_OK;
    }
    sqlite3_finalize(s);
    oppack_ctx_free(&dec);
    free(recs);
    if (got >= 0) *rowid = 0;
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* The op rows of one pending block (in the open transaction), then its step's rowid range, then its deletion. */
static int expand_block(store *st, int64_t rowid, int64_t run, int64_t step, int64_t n, int codec, const void *data,
                        int size)
{
    if (run != st->exp_run) { /* a partial block's ops belong with its run's next step only */
        st->exp_run = run;
        st->exp_first = -1;
    }
    long got = decode_block(&st->dec, &st->unpacked, &st->unpacked_cap, rowid, run, step, n, codec, data, size);
    if (got == -2) return SQLITE_NOMEM;
    if (got < 0) return SQLITE_CORRUPT;
    int rc = SQLITE_OK;
    for (size_t i = 0, done = 0; rc == SQLITE_OK && i < (size_t)n; i += done)
        rc = insert_op_rows(st, run, st->unpacked + i, (size_t)n - i, &done, &st->exp_first, &st->exp_last);
    if (rc == SQLITE_OK && step >= 0 && st->exp_first >= 0) {
        sqlite3_stmt *u = st->set_step_ops;
        sqlite3_bind_int64(u, 1, st->exp_first);
        sqlite3_bind_int64(u, 2, st->exp_last);
        sqlite3_bind_int64(u, 3, run);
        sqlite3_bind_int64(u, 4, step);
        rc = sqlite3_step(u) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(st->db);
        sqlite3_reset(u);
        st->exp_first = -1;
    }
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st->del_pending, 1, rowid);
        rc = sqlite3_step(st->del_pending) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(st->db);
        sqlite3_reset(st->del_pending);
    }
    return rc;
}

/* After blocks of run became rows: the chain's first remaining block is made to carry its context (when it was
 * coded against the blocks just deleted), so that it decodes alone should this process die; when none remains,
 * the next block written carries it. */
static int keep_chain_decodable(store *st, int64_t run)
{
    sqlite3_stmt *s = st->first_pending;
    sqlite3_bind_int64(s, 1, run);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        if (run == st->enc.run) st->enc_carry = true;
        rc = SQLITE_OK;
    } else if (rc == SQLITE_ROW && sqlite3_column_int(s, 1) == OPPACK_CODEC_CHAINED && st->dec.run == run) {
        const uint8_t *data = sqlite3_column_blob(s, 2);
        size_t size = (size_t)sqlite3_column_bytes(s, 2), bytes = 0;
        if (data && !oppack_block_carries(data, size) &&
            xq_grow((void **)&st->packed, &st->packed_cap, oppack_block_bound(&st->dec, 0) + size, 1))
            bytes = oppack_block_rekey(&st->dec, data, size, st->packed);
        if (bytes) {
            sqlite3_bind_blob(st->set_pending, 1, st->packed, (int)bytes, SQLITE_STATIC);
            sqlite3_bind_int64(st->set_pending, 2, sqlite3_column_int64(s, 0));
            rc = sqlite3_step(st->set_pending) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(st->db);
            sqlite3_reset(st->set_pending);
        } else {
            rc = SQLITE_OK; /* it carries one already, or is damaged (its expansion will say so) */
        }
    } else if (rc == SQLITE_ROW) {
        rc = SQLITE_OK;
    }
    sqlite3_reset(s);
    return rc;
}

int store_expand_pending(store *st, int64_t run, size_t max_blocks, size_t *expanded, xq_err *err)
{
    *expanded = 0;
    sqlite3_stmt *s = st->sel_pending;
    sqlite3_bind_int64(s, 1, run);
    int rc = SQLITE_OK;
    bool mid_step = false;
    int64_t block = 0;
    /* Never stopping mid-step: the rowids of a step's first ops are known only in memory until its step row. */
    while (rc == SQLITE_OK && (*expanded < max_blocks || mid_step)) {
        if ((rc = sqlite3_step(s)) != SQLITE_ROW) break;
        int64_t step = sqlite3_column_type(s, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 1);
        block = sqlite3_column_int64(s, 0);
        rc = expand_block(st, block, run, step, sqlite3_column_int64(s, 2),
                          sqlite3_column_int(s, 4), sqlite3_column_blob(s, 3), sqlite3_column_bytes(s, 3));
        if (rc == SQLITE_OK) (*expanded)++, mid_step = step < 0;
    }
    sqlite3_reset(s);
    if ((rc == SQLITE_DONE || rc == SQLITE_OK) && *expanded) rc = keep_chain_decodable(st, run);
    if (rc == SQLITE_DONE || rc == SQLITE_OK) return XQ_OK;
    if (rc == SQLITE_NOMEM) return xq_fail(err, XQ_ERUN, "%s: out of memory for packed spans", st->path);
    if (rc == SQLITE_CORRUPT)
        return xq_fail(err, XQ_EINPUT, "%s: damaged trace: op_pending row %lld (packed op spans of run %lld) cannot be decoded",
                       st->path, (long long)block, (long long)run);
    return fail(st, rc, "cannot write", err);
}

int store_expand_all(store *st, int64_t run, size_t max_blocks, bool *more, xq_err *err)
{
    enum { CHUNK = 256 }; /* blocks per transaction: ~100k rows, so readers see progress */
    if (more) *more = false;
    if (store_in_transaction(st) && store_commit(st, err)) return err->code;
    for (size_t left = max_blocks; left > 0;) {
        size_t chunk = left < CHUNK ? left : CHUNK, done = 0;
        int rc = store_begin(st, err);
        if (!rc) rc = store_expand_pending(st, run, chunk, &done, err);
        if (rc) {
            rollback(st);
            return rc;
        }
        if ((rc = store_commit(st, err))) return rc;
        if (more) *more = done >= chunk; /* a full chunk: blocks may remain */
        if (done < chunk) break;
        left = done < left ? left - done : 0; /* a chunk may run on to its step's end */
    }
    return XQ_OK;
}

/* Whether the process that writes a run (status 'running', pid, host) may still be alive. */
static bool writer_alive(const char *status, int64_t pid, const char *host)
{
    if (!status || strcmp(status, "running") || pid <= 0) return false;
    char here[256] = "";
    if (gethostname(here, sizeof here - 1) || !host || strcmp(host, here))
        return true; /* another machine's process: cannot tell, leave it */
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

bool store_run_writer_gone(sqlite3 *db, int64_t run)
{
    sqlite3_stmt *s = NULL;
    bool gone = false;
    if (sqlite3_prepare_v2(db, "SELECT status, pid, host FROM run WHERE id = ?", -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(s, 1, run);
        if (sqlite3_step(s) == SQLITE_ROW) {
            const char *status = (const char *)sqlite3_column_text(s, 0);
            gone = status && !strcmp(status, "running") && sqlite3_column_type(s, 1) != SQLITE_NULL &&
                   !writer_alive(status, sqlite3_column_int64(s, 1), (const char *)sqlite3_column_text(s, 2));
        }
    }
    sqlite3_finalize(s);
    return gone;
}

const char *store_run_status_shown(sqlite3 *db, int64_t run, const char *recorded)
{
    return recorded && !strcmp(recorded, "running") && store_run_writer_gone(db, run) ? STORE_STATUS_GONE : recorded;
}

int store_orphaned_runs(sqlite3 *db, int64_t *runs, int max)
{
    sqlite3_stmt *s = NULL;
    int n = 0;
    if (sqlite3_prepare_v2(db, "SELECT DISTINCT p.run, r.status, r.pid, r.host FROM op_pending p "
                               "LEFT JOIN run r ON r.id = p.run",
                           -1, &s, NULL) != SQLITE_OK)
        return 0; /* a version 1 file (no op_pending), opened read-only */
    while (n < max && sqlite3_step(s) == SQLITE_ROW)
        if (!writer_alive((const char *)sqlite3_column_text(s, 1), sqlite3_column_int64(s, 2),
                          (const char *)sqlite3_column_text(s, 3)))
            runs[n++] = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

/* Builds the op rows of runs whose writer was killed before it could (op_pending). */
static int recover_orphans(store *st, xq_err *err)
{
    enum { MAX_RUNS = 256 };
    int64_t runs[MAX_RUNS];
    int n = store_orphaned_runs(st->db, runs, MAX_RUNS), first = XQ_OK;
    for (int i = 0; i < n; i++) { /* one run's damaged block does not keep the others' ops from being built */
        xq_err e = {0};
        int r = store_expand_all(st, runs[i], SIZE_MAX, NULL, &e);
        if (r && !first && err) *err = e;
        if (r && !first) first = r;
    }
    return first;
}

int store_insert_step(store *st, int64_t run, const prof_step_rec *step, xq_err *err)
{
    int rc = insert_step(st, run, step);
    return rc == SQLITE_OK ? XQ_OK : fail(st, rc, "cannot write", err);
}
