/* Read-only trace connection of reader.h. */
#include "store/reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/runfiles.h"
#include "store/check_run.h"
#include "store/schema.h"
#include "store/store.h"

struct store_reader {
    sqlite3 *db;
    char *path;
    int64_t checked_run; /* the run whose numbers passed store_check_run; 0: none yet */
};

/* Op spans a killed run left packed (op_pending) become rows through a writable open, which builds them; a live
 * run's stay packed until its writer builds them (it is not disturbed), and a read-only file keeps them. */
static void build_orphaned_ops(sqlite3 *db, const char *path)
{
    int64_t run;
    store *st = NULL;
    xq_err ignored = {0};
    if (store_orphaned_runs(db, &run, 1) > 0 && access(path, W_OK) == 0 && store_open(path, &st, &ignored) == XQ_OK)
        store_close(st);
}

/* A trace is a regular file: SQLite would report a folder as a disk I/O error, and would block on a FIFO. */
static int check_file(const char *path, xq_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0 || access(path, R_OK) != 0)
        return xq_fail(err, XQ_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return xq_fail(err, XQ_EINPUT, "%s: is a directory, not an xqprof trace", path);
    if (!S_ISREG(st.st_mode)) return xq_fail(err, XQ_EINPUT, "%s: not a regular file, not an xqprof trace", path);
    return XQ_OK;
}

int store_reader_open(const char *path, store_reader **out, xq_err *err)
{
    *out = NULL;
    int checked = check_file(path, err);
    if (checked) return checked;
    store_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        return xq_fail(err, XQ_ERUN, "%s: out of memory", path);
    }
    int rc = sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY, NULL);
    if (rc != SQLITE_OK) {
        rc = store_sqlite_fail(r->db, rc, path, "cannot open", err);
    } else {
        sqlite3_busy_timeout(r->db, 5000);
        rc = store_schema_prepare(r->db, path, false, err);
        if (!rc) build_orphaned_ops(r->db, path);
    }
    if (rc) {
        store_reader_close(r);
        return rc;
    }
    xq_files_note_input(path, "trace");
    *out = r;
    return XQ_OK;
}

void store_reader_close(store_reader *r)
{
    if (!r) return;
    sqlite3_close(r->db);
    free(r->path);
    free(r);
}

sqlite3 *store_reader_db(store_reader *r)
{
    return r->db;
}
const char *store_reader_path(const store_reader *r)
{
    return r->path;
}

/* A run whose writer is gone and that still has packed op spans after the open tried to build them (or on a
 * read-only file, which keeps them): a damaged block is said here, not shown as a run with ops missing. */
static int check_pending(store_reader *r, int64_t run, xq_err *err)
{
    enum { MAX_RUNS = 256 };
    int64_t runs[MAX_RUNS], bad = 0;
    int n = store_orphaned_runs(r->db, runs, MAX_RUNS);
    bool orphaned = false;
    for (int i = 0; i < n; i++)
        orphaned = orphaned || runs[i] == run;
    int rc = orphaned ? store_first_damaged_block(r->db, run, &bad) : SQLITE_OK;
    if (rc != SQLITE_OK) return store_sqlite_fail(r->db, rc, r->path, "cannot read", err);
    if (bad)
        return xq_fail(err, XQ_EINPUT,
                       "%s: damaged trace: op_pending row %lld (packed op spans of run %lld) cannot be decoded",
                       r->path, (long long)bad, (long long)run);
    return XQ_OK;
}

/* Once per run and reader: the checks cost a scan of the run's op rows. */
static int check_run(store_reader *r, int64_t run, xq_err *err)
{
    if (run == r->checked_run) return XQ_OK;
    int rc = check_pending(r, run, err);
    if (!rc) rc = store_check_run(r->db, r->path, run, err);
    if (!rc) r->checked_run = run;
    return rc;
}

int store_reader_resolve_run(store_reader *r, int64_t want, int64_t *run, xq_err *err)
{
    sqlite3_stmt *s = NULL;
    const char *sql = want > 0 ? "SELECT id FROM run WHERE id = ?" : "SELECT max(id) FROM run";
    int rc = sqlite3_prepare_v2(r->db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK && want > 0) sqlite3_bind_int64(s, 1, want);
    if (rc == SQLITE_OK) rc = sqlite3_step(s);
    *run = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    bool null = rc == SQLITE_ROW && sqlite3_column_type(s, 0) == SQLITE_NULL;
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return store_sqlite_fail(r->db, rc, r->path, "cannot read", err);
    if (rc == SQLITE_DONE || null || *run <= 0)
        return want > 0 ? xq_fail(err, XQ_EINPUT, "%s: no run %lld", r->path, (long long)want)
                        : xq_fail(err, XQ_EINPUT, "%s: the trace holds no run", r->path);
    return check_run(r, *run, err);
}
