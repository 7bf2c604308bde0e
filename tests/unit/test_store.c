/* The trace store: a new file gets the embedded schema (application_id, user_version, WAL); a second open
 * appends a run; version 1 and 2 files are upgraded; packed op spans (op_pending) become exactly the rows a
 * direct insert writes, on finish and, for a killed writer, at the next open (not while the writer lives), also
 * when it was killed after building part of them and when a version 2 writer packed them; chained blocks decode
 * only in their chain or carrying their context; files that are not SQLite, not ours or from a newer schema are
 * refused as bad input (XQ_EINPUT);
 * the writer records steps and ops with NULL (never 0) for unavailable counters; exporters escape JSON strings
 * (quotes, control characters, invalid UTF-8) and CSV fields; SHA-256 matches FIPS 180-4 test vectors. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/pool.h"
#include "store/export.h"
#include "store/export_util.h"
#include "store/model_hash.h"
#include "store/oppack.h"
#include "store/reader.h"
#include "store/schema.h"
#include "store/sha256.h"
#include "store/store.h"
#include "store/writer.h"
#include "testlib.h"

static char dir[] = "/tmp/xq_store_XXXXXX";

static const char *tmp(const char *name)
{
    static char bufs[4][4200];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
    return b;
}

static int64_t query_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int64_t v = -999;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_type(s, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_open(path, &db);
    CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
}

/* Cuts from text the first occurrence of from … through the end of the first `to` after it; false if absent. */
static bool cut(char *text, const char *from, const char *to)
{
    char *a = strstr(text, from), *b = a ? strstr(a, to) : NULL;
    if (!b) return false;
    memmove(a, b + strlen(to), strlen(b + strlen(to)) + 1);
    return true;
}

/* The schema as version 1 had it: today's without run.pid, run.host and op_pending (NULL if the text moved). */
static char *v1_schema(void)
{
    char *s = strdup(store_schema_text());
    bool ok = s && cut(s, "spans_unmatched INTEGER,", "ignored\n") && cut(s, "    pid INTEGER,", "\n") &&
              cut(s, "    host TEXT", "\n") && cut(s, "CREATE TABLE IF NOT EXISTS op_pending", ");\n");
    char *v = ok ? strstr(s, "user_version = 3") : NULL;
    if (v) v[strlen("user_version = ")] = '1';
    if (!v) {
        free(s);
        return NULL;
    }
    /* the cut took spans_unmatched's line: put it back without its comma */
    char *at = strstr(s, "steps_dropped INTEGER,\n");
    if (!at) {
        free(s);
        return NULL;
    }
    at += strlen("steps_dropped INTEGER,\n");
    const char *col = "    spans_unmatched INTEGER\n";
    char *out = malloc(strlen(s) + strlen(col) + 1);
    sprintf(out, "%.*s%s%s", (int)(at - s), s, col, at);
    free(s);
    return out;
}

static void test_schema_identity(void)
{
    CHECK(store_schema_version() == 3 && store_application_id() == 0x58515046);
    const char *path = tmp("new.db");
    xq_err err = {0};
    store *st = NULL;
    int64_t run = 0;
    store_run_info ri = {.command = "xqprof test", .version = "v", .model_name = "m", .cache_mode = "fp16"};
    for (int i = 1; i <= 2; i++) {
        CHECK(store_open(path, &st, &err) == XQ_OK);
        CHECK(store_run_begin(st, &ri, &run, &err) == XQ_OK && run == i);
        store_close(st);
    }
    CHECK(query_int(path, "PRAGMA application_id") == 0x58515046);
    CHECK(query_int(path, "PRAGMA user_version") == 3);
    CHECK(query_int(path, "SELECT count(*) FROM run") == 2);
    char q[128];
    snprintf(q, sizeof q, "SELECT count(*) FROM run WHERE pid = %d AND host IS NOT NULL", (int)getpid());
    CHECK(query_int(path, q) == 2);
    CHECK(query_int(path, "SELECT count(*) FROM op_kind") == OP_COUNT);
    CHECK(query_int(path, "SELECT journal_mode = 'wal' FROM pragma_journal_mode") == 1);
    /* A version 1 file (no run.pid/host, no op_pending) is upgraded in place and keeps its runs. */
    path = tmp("v1.db");
    char *v1 = v1_schema();
    CHECK(v1 != NULL);
    if (!v1) return;
    exec(path, v1);
    free(v1);
    exec(path, "INSERT INTO run (started, command, version) VALUES ('t', 'c', 'v'), ('t', 'c', 'v')");
    CHECK(store_open(path, &st, &err) == XQ_OK);
    store_close(st);
    CHECK(query_int(path, "PRAGMA user_version") == 3 && query_int(path, "SELECT count(*) FROM run") == 2);
    CHECK(query_int(path, "SELECT count(*) FROM run WHERE pid IS NULL AND host IS NULL") == 2);
    CHECK(query_int(path, "SELECT count(*) FROM op_pending") == 0);
}

static void test_refusals(void)
{
    xq_err err = {0};
    store *st = NULL;
    store_reader *r = NULL;
    write_file(tmp("text.db"), "this is not a database, but long enough to have a header of one hundred bytes....."
                               ".............................................................................\n");
    CHECK(store_open(tmp("text.db"), &st, &err) == XQ_EINPUT && strstr(err.msg, "not an SQLite database"));
    CHECK(store_reader_open(tmp("text.db"), &r, &err) == XQ_EINPUT);
    exec(tmp("foreign.db"), "CREATE TABLE t (x); INSERT INTO t VALUES (1);");
    CHECK(store_open(tmp("foreign.db"), &st, &err) == XQ_EINPUT && strstr(err.msg, "not an xqprof trace"));
    CHECK(query_int(tmp("foreign.db"), "SELECT journal_mode = 'delete' FROM pragma_journal_mode") == 1);
    CHECK(store_open(tmp("new.db"), &st, &err) == XQ_OK);
    store_close(st);
    exec(tmp("new.db"), "PRAGMA user_version = 99");
    CHECK(store_open(tmp("new.db"), &st, &err) == XQ_EINPUT && strstr(err.msg, "newer xqprof"));
    CHECK(store_reader_open(tmp("new.db"), &r, &err) == XQ_EINPUT);
    CHECK(store_reader_open(tmp("absent.db"), &r, &err) == XQ_EINPUT);
    CHECK(store_open("/proc/xq_no_such_dir/t.db", &st, &err) == XQ_ERUN);
}

/* pause_ms ≥ 0: after the queue drained, wait that long before finishing, and check in between that a writer
 * packing spans (the engine's threads given as every core) built their op rows in the pause. */
static void test_writer(int pause_ms)
{
    xq_err err = {0};
    prof *p = NULL;
    prof_params pp = {.n_layer = 2, .n_threads = pause_ms >= 0 ? xq_cpu_count() : 0, .counters = true};
    CHECK(prof_create(&pp, &p, &err) == XQ_OK);
    const span_sink *sink = prof_sink(p);
    for (int step = 0; step < 3; step++) {
        span_shape sh = {.m = 8, .n = 1, .k = 8, .ctx = step + 1};
        span_begin(sink, OP_STEP, -1, &sh);
        for (int l = 0; l < 2; l++) {
            span_begin(sink, OP_MATMUL_Q, l, &sh);
            span_end(sink, OP_MATMUL_Q, l);
        }
        span_end(sink, OP_STEP, -1);
    }
    store *st = NULL;
    int64_t run = 0;
    store_run_info ri = {.command = "xqprof test", .version = "v", .model_name = "m", .cache_mode = "fp16"};
    const char *path = tmp(pause_ms >= 0 ? "w_pause.db" : "w.db");
    CHECK(store_open(path, &st, &err) == XQ_OK && store_run_begin(st, &ri, &run, &err) == XQ_OK);
    store_writer *w = NULL;
    CHECK(store_writer_start(st, run, p, NULL, &w, &err) == XQ_OK);
    if (pause_ms >= 0) {
        struct timespec ms = {0, 1000 * 1000};
        while (!prof_queue_empty(p))
            nanosleep(&ms, NULL);
        struct timespec pause = {pause_ms / 1000, (pause_ms % 1000) * 1000L * 1000};
        nanosleep(&pause, NULL);
        CHECK(store_writer_packing(w));
        CHECKF(query_int(path, "SELECT count(*) FROM op") == 6 && query_int(path, "SELECT count(*) FROM op_pending") == 0,
               "op rows not built in a %d ms pause", pause_ms);
    }
    CHECK(store_writer_finish(w, "done", &err) == XQ_OK);
    store_close(st);
    CHECK(query_int(path, "SELECT count(*) FROM step") == 3 && query_int(path, "SELECT count(*) FROM op") == 6);
    CHECK(query_int(path, "SELECT count(*) FROM step WHERE idx = 0 AND phase = 'prefill'") == 1);
    CHECK(query_int(path, "SELECT count(*) FROM step WHERE op_last - op_first = 1") == 3);
    CHECK(query_int(path, "SELECT spans FROM run") == 6 && query_int(path, "SELECT spans_dropped FROM run") == 0);
    CHECK(query_int(path, "SELECT count(*) FROM run WHERE status = 'done' AND ended IS NOT NULL") == 1);
    /* Counters: either measured, or NULL with the reason in run.counters; never a zero standing for "unknown". */
    int64_t avail = query_int(path, "SELECT counters = 'available' FROM run");
    CHECK(query_int(path, "SELECT count(*) FROM step WHERE cycles IS NULL") == (avail ? 0 : 3));
    CHECK(query_int(path, "SELECT count(*) FROM step WHERE rss > 0") == 3);
    prof_destroy(p);
}

/* Spans that arrive slowly and then in bursts from a single-threaded engine (a core to spare: op rows written at
 * once) make the writer pack from a step boundary on, once it finds the queue half full; every step's rowid range
 * then still holds exactly its own ops. */
static void test_writer_switches_to_packing(void)
{
    enum { SLOW_STEPS = 20, BURSTS = 20, BURST_STEPS = 150, OPS_PER_STEP = 60, QUEUE = 1 << 14 };
    if (xq_cpu_count() < 2) return; /* one core: packed from the start */
    xq_err err = {0};
    prof *p = NULL;
    prof_params pp = {.n_layer = 4, .n_threads = 1, .queue_records = QUEUE};
    CHECK(prof_create(&pp, &p, &err) == XQ_OK);
    store *st = NULL;
    int64_t run = 0;
    store_run_info ri = {.command = "xqprof test", .version = "v", .model_name = "m", .cache_mode = "fp16"};
    const char *path = tmp("w_switch.db");
    CHECK(store_open(path, &st, &err) == XQ_OK && store_run_begin(st, &ri, &run, &err) == XQ_OK);
    store_writer *w = NULL;
    CHECK(store_writer_start(st, run, p, NULL, &w, &err) == XQ_OK);
    CHECK(!store_writer_packing(w));
    const span_sink *sink = prof_sink(p);
    const int steps = SLOW_STEPS + BURSTS * BURST_STEPS;
    for (int step = 0; step < steps; step++) {
        span_shape sh = {.m = 8, .n = 1, .k = 8, .ctx = step + 1};
        span_begin(sink, OP_STEP, -1, &sh);
        for (int i = 0; i < OPS_PER_STEP; i++) {
            span_begin(sink, OP_MATMUL_Q + i % 4, i % 4, &sh);
            span_end(sink, OP_MATMUL_Q + i % 4, i % 4);
        }
        span_end(sink, OP_STEP, -1);
        /* 30k spans/s, then bursts of 9000 spans (over half the queue) with time to drain them in between */
        struct timespec slow = {0, 2 * 1000 * 1000}, drain = {0, 50 * 1000 * 1000};
        if (step < SLOW_STEPS) nanosleep(&slow, NULL);
        if (step == SLOW_STEPS - 1) CHECK(!store_writer_packing(w));
        if (step >= SLOW_STEPS && (step - SLOW_STEPS) % BURST_STEPS == BURST_STEPS - 1) nanosleep(&drain, NULL);
    }
    CHECK(store_writer_packing(w));
    CHECK(store_writer_finish(w, "done", &err) == XQ_OK);
    store_close(st);
    prof_stats stats;
    prof_get_stats(p, &stats);
    CHECKF(stats.spans_dropped == 0, "%lld spans dropped", (long long)stats.spans_dropped);
    CHECK(query_int(path, "SELECT count(*) FROM op") == (int64_t)steps * OPS_PER_STEP);
    CHECK(query_int(path, "SELECT count(*) FROM op_pending") == 0);
    CHECK(query_int(path, "SELECT count(*) FROM step WHERE op_last - op_first + 1 = 60 AND 60 = (SELECT count(*) FROM "
                          "op WHERE op.rowid BETWEEN step.op_first AND step.op_last AND op.step = step.idx)") == steps);
    prof_destroy(p);
}

/* The text of a query's rows (all columns, | between fields, one row a line), for comparing two files. */
static char *dump(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK)
        while (sqlite3_step(s) == SQLITE_ROW) {
            for (int c = 0; c < sqlite3_column_count(s); c++)
                fprintf(f, "%s|", sqlite3_column_type(s, c) == SQLITE_NULL ? "NULL" : (const char *)sqlite3_column_text(s, c));
            fputc('\n', f);
        }
    sqlite3_finalize(s);
    sqlite3_close(db);
    fclose(f);
    return buf;
}

enum { STEPS = 3, OPS = 5 };

static prof_op_rec op_at(int step, int i)
{
    int64_t big = INT64_MAX / (i + 1); /* extremes survive packing */
    return (prof_op_rec){.step = step, .t_ns = 1000000LL * step + 100 * i, .ns = 90 - i, .self_ns = 80 - i,
                         .cost = {.flops = i == 4 ? big : 1000 * i, .bytes_weights = 7, .bytes_cache_read = i,
                                  .bytes_cache_write = 0, .bytes_act = 3 * i, .remat = i == 2},
                         .layer = i == 0 ? -1 : i, .op = (uint8_t)(OP_MATMUL_Q + i), .depth = i == 2};
}

static prof_step_rec step_at(int step)
{
    return (prof_step_rec){.index = step, .t_ns = 1000000LL * step, .ns = 5000, .ops_ns = 450, .n_tokens = 1,
                           .n_ctx = step + 1, .cache_persistent = -1, .cache_residual = -1, .cache_transient = -1,
                           .counters = {-1, -1, -1}, .n_ops = OPS, .phase = PROF_PHASE_DECODE};
}

/* Writes STEPS steps of OPS ops to path, as rows or packed (step 1's ops in two blocks, the first ending
 * mid-step; step 2's followed by an empty block), with a last block of ops whose step never came; returns the run. */
static int64_t write_steps(const char *path, bool packed, bool expand)
{
    xq_err err = {0};
    store *st = NULL;
    int64_t run = 0;
    store_run_info ri = {.command = "xqprof test", .version = "v", .model_name = "m", .cache_mode = "fp16"};
    CHECK(store_open(path, &st, &err) == XQ_OK && store_run_begin(st, &ri, &run, &err) == XQ_OK);
    CHECK(store_begin(st, &err) == XQ_OK);
    prof_op_rec ops[OPS];
    for (int step = 0; step <= STEPS; step++) {
        for (int i = 0; i < OPS; i++)
            ops[i] = op_at(step, i);
        bool whole = step < STEPS; /* the last step has ops but no step row: the run ended mid-step */
        if (!packed) {
            CHECK(store_insert_ops(st, run, ops, OPS, &err) == XQ_OK);
        } else if (step == 1) {
            CHECK(store_insert_pending(st, run, ops, 2, -1, &err) == XQ_OK);
            CHECK(store_insert_pending(st, run, ops + 2, OPS - 2, step, &err) == XQ_OK);
        } else if (step == 2) { /* the batch ended just before the marker: an empty block closes the step */
            CHECK(store_insert_pending(st, run, ops, OPS, -1, &err) == XQ_OK);
            CHECK(store_insert_pending(st, run, ops, 0, step, &err) == XQ_OK);
        } else {
            CHECK(store_insert_pending(st, run, ops, OPS, whole ? step : -1, &err) == XQ_OK);
        }
        prof_step_rec sr = step_at(step);
        if (whole) CHECK(store_insert_step(st, run, &sr, &err) == XQ_OK);
    }
    CHECK(store_commit(st, &err) == XQ_OK);
    if (expand) CHECK(store_expand_all(st, run, SIZE_MAX, NULL, &err) == XQ_OK);
    store_close(st);
    return run;
}

/* Makes the writer of every run in path a process that has exited. */
static void writer_gone(const char *path)
{
    pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, NULL, 0);
    char sql[96];
    snprintf(sql, sizeof sql, "UPDATE run SET pid = %d", (int)child);
    exec(path, sql);
}

static const char *const OPS_SQL = "SELECT rowid, * FROM op ORDER BY rowid";
static const char *const STEPS_SQL = "SELECT idx, op_first, op_last FROM step ORDER BY idx";

/* Whether sql reads the same in path as in rows.db (written at once by write_steps), at least min_len bytes of
 * it; prints both when not. */
static bool same_as_direct(const char *path, const char *sql, size_t min_len)
{
    char *a = dump(tmp("rows.db"), sql), *b = dump(path, sql);
    bool same = a && b && strlen(a) >= min_len && !strcmp(a, b);
    if (!same) fprintf(stderr, "%s in rows.db:\n%s\nin %s:\n%s\n", sql, a ? a : "?", path, b ? b : "?");
    free(a);
    free(b);
    return same;
}

/* Opens path as a writer would (which builds the op rows of runs whose writer is gone) and closes it. */
static void reopen(const char *path)
{
    xq_err err = {0};
    store *st = NULL;
    CHECK(store_open(path, &st, &err) == XQ_OK);
    store_close(st);
}

static void test_pending(void)
{
    /* Packed then built: the same op rows (every column, same rowids) and step rowid ranges as rows at once. */
    write_steps(tmp("rows.db"), false, false);
    write_steps(tmp("packed.db"), true, true);
    CHECKF(same_as_direct(tmp("packed.db"), OPS_SQL, 101), "op rows differ");
    CHECKF(same_as_direct(tmp("packed.db"), STEPS_SQL, 0), "step ranges differ");
    CHECK(query_int(tmp("packed.db"), "SELECT count(*) FROM op_pending") == 0);
    CHECK(query_int(tmp("packed.db"), "SELECT count(*) FROM op") == (STEPS + 1) * OPS);

    /* Left packed by a writer still alive (this process, status running): a second open leaves them. */
    write_steps(tmp("live.db"), true, false);
    reopen(tmp("live.db"));
    xq_err err = {0};
    store *st = NULL;
    store_reader *r = NULL;
    CHECK(store_reader_open(tmp("live.db"), &r, &err) == XQ_OK);
    store_reader_close(r);
    CHECK(query_int(tmp("live.db"), "SELECT count(*) FROM op_pending") == STEPS + 3);
    CHECK(query_int(tmp("live.db"), "SELECT count(*) FROM op") == 0);
    /* Its writer gone (a pid that has exited): the next open — here a reader's — builds the rows, as above. */
    writer_gone(tmp("live.db"));
    CHECK(store_reader_open(tmp("live.db"), &r, &err) == XQ_OK);
    store_reader_close(r);
    CHECK(query_int(tmp("live.db"), "SELECT count(*) FROM op_pending") == 0);
    CHECKF(same_as_direct(tmp("live.db"), OPS_SQL, 101), "recovered op rows differ");

    /* Killed after its writer built the first steps in a pause: the next block, coded against the last built, was
     * made to carry its context, so the rows still come out whole. */
    int64_t run = write_steps(tmp("half.db"), true, false);
    CHECK(store_open(tmp("half.db"), &st, &err) == XQ_OK);
    bool more = false;
    CHECK(store_expand_all(st, run, 2, &more, &err) == XQ_OK && more);
    store_close(st);
    CHECK(query_int(tmp("half.db"), "SELECT count(*) FROM op_pending") == STEPS); /* on to the end of step 1 */
    CHECK(query_int(tmp("half.db"), "SELECT unicode(data) FROM op_pending ORDER BY rowid LIMIT 1") == 1);
    writer_gone(tmp("half.db"));
    reopen(tmp("half.db"));
    CHECK(query_int(tmp("half.db"), "SELECT count(*) FROM op_pending") == 0);
    CHECKF(same_as_direct(tmp("half.db"), OPS_SQL, 101), "op rows after a half-built kill differ");
    CHECKF(same_as_direct(tmp("half.db"), STEPS_SQL, 0), "step ranges after a half-built kill differ");

    /* A version 2 file whose killed run left blocks of codec 1: upgraded, and its rows built. */
    write_steps(tmp("v2.db"), true, false);
    exec(tmp("v2.db"), "DELETE FROM op_pending; ALTER TABLE op_pending DROP COLUMN codec; PRAGMA user_version = 2");
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL;
    CHECK(sqlite3_open(tmp("v2.db"), &db) == SQLITE_OK &&
          sqlite3_prepare_v2(db, "INSERT INTO op_pending (run, step, n, data) VALUES (?, ?, ?, ?)", -1, &ins, NULL) ==
              SQLITE_OK);
    for (int step = 0; ins && step <= STEPS; step++) {
        prof_op_rec ops[OPS];
        uint8_t buf[OPS * OPPACK_MAX_RECORD];
        for (int i = 0; i < OPS; i++)
            ops[i] = op_at(step, i);
        size_t bytes = oppack_encode(ops, OPS, buf);
        sqlite3_bind_int64(ins, 1, run);
        if (step < STEPS) sqlite3_bind_int(ins, 2, step);
        else sqlite3_bind_null(ins, 2);
        sqlite3_bind_int(ins, 3, OPS);
        sqlite3_bind_blob(ins, 4, buf, (int)bytes, SQLITE_TRANSIENT);
        CHECK(sqlite3_step(ins) == SQLITE_DONE);
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    sqlite3_close(db);
    writer_gone(tmp("v2.db"));
    CHECK(store_reader_open(tmp("v2.db"), &r, &err) == XQ_OK);
    store_reader_close(r);
    CHECK(query_int(tmp("v2.db"), "PRAGMA user_version") == 3);
    CHECK(query_int(tmp("v2.db"), "SELECT count(*) FROM op_pending") == 0);
    CHECKF(same_as_direct(tmp("v2.db"), OPS_SQL, 101), "op rows of a version 2 file's codec 1 blocks differ");

    /* A damaged block is bad input, named as such. */
    write_steps(tmp("bad.db"), true, false);
    exec(tmp("bad.db"), "UPDATE op_pending SET data = substr(data, 1, length(data) - 1) WHERE rowid = 2; "
                        "UPDATE run SET status = 'done'");
    CHECK(store_open(tmp("bad.db"), &st, &err) == XQ_EINPUT && strstr(err.msg, "damaged"));
}

static void test_oppack(void)
{
    prof_op_rec in[OPS], out[OPS + 1];
    for (int i = 0; i < OPS; i++)
        in[i] = op_at(7, i);
    in[1].t_ns = -5; /* times before the previous record's, negative values */
    in[3].cost.bytes_act = INT64_MIN;
    uint8_t buf[OPS * OPPACK_MAX_RECORD];
    size_t bytes = oppack_encode(in, OPS, buf);
    CHECK(bytes > 0 && bytes < OPS * 40);
    CHECK(oppack_decode(buf, bytes, out, OPS + 1) == OPS);
    for (int i = 0; i < OPS; i++) {
        const prof_op_rec *a = &in[i], *b = &out[i];
        CHECKF(a->step == b->step && a->t_ns == b->t_ns && a->ns == b->ns && a->self_ns == b->self_ns &&
                   a->layer == b->layer && a->op == b->op && a->depth == b->depth && a->cost.flops == b->cost.flops &&
                   a->cost.bytes_weights == b->cost.bytes_weights &&
                   a->cost.bytes_cache_read == b->cost.bytes_cache_read &&
                   a->cost.bytes_cache_write == b->cost.bytes_cache_write && a->cost.bytes_act == b->cost.bytes_act &&
                   a->cost.remat == b->cost.remat,
               "record %d differs after packing", i);
    }
    CHECK(oppack_decode(buf, bytes - 1, out, OPS + 1) == -1); /* truncated */
    CHECK(oppack_decode(buf, bytes, out, OPS - 1) == -1);     /* more records than announced */
    uint8_t runaway[12];
    memset(runaway, 0xff, sizeof runaway); /* a varint longer than 64 bits */
    CHECK(oppack_decode(runaway, sizeof runaway, out, OPS) == -1);
}

/* Deferred checkpoints: the WAL grows past SQLite's 1000 pages until the owner checkpoints; not deferred, every
 * commit that takes it past them folds it back. */
static void test_checkpoints(void)
{
    enum { ROWS = 5000, COMMITS = 40 }; /* 200k op rows: ~10 MB, past 1000 pages of 4 KiB */
    static prof_op_rec ops[ROWS];
    for (int i = 0; i < ROWS; i++)
        ops[i] = op_at(1, i % OPS);
    for (int defer = 0; defer <= 1; defer++) {
        xq_err err = {0};
        store *st = NULL;
        int64_t run = 0;
        store_run_info ri = {.command = "xqprof test", .version = "v", .model_name = "m", .cache_mode = "fp16"};
        const char *path = tmp(defer ? "ckpt_deferred.db" : "ckpt.db");
        CHECK(store_open(path, &st, &err) == XQ_OK && store_run_begin(st, &ri, &run, &err) == XQ_OK);
        store_defer_checkpoints(st, defer);
        int due = 0;
        for (int c = 0; c < COMMITS; c++) {
            CHECK(store_begin(st, &err) == XQ_OK && store_insert_ops(st, run, ops, ROWS, &err) == XQ_OK &&
                  store_commit(st, &err) == XQ_OK);
            due += store_checkpoint_due(st);
        }
        CHECKF(defer ? due >= COMMITS / 4 : due == 0, "defer %d: checkpoint due after %d of %d commits", defer, due,
               COMMITS);
        store_checkpoint(st);
        CHECK(!store_checkpoint_due(st));
        store_close(st);
        CHECK(query_int(path, "SELECT count(*) FROM op") == ROWS * COMMITS);
    }
}

static bool same_record(const prof_op_rec *a, const prof_op_rec *b)
{
    return a->step == b->step && a->t_ns == b->t_ns && a->ns == b->ns && a->self_ns == b->self_ns &&
           a->layer == b->layer && a->op == b->op && a->depth == b->depth && a->cost.flops == b->cost.flops &&
           a->cost.bytes_weights == b->cost.bytes_weights && a->cost.bytes_cache_read == b->cost.bytes_cache_read &&
           a->cost.bytes_cache_write == b->cost.bytes_cache_write && a->cost.bytes_act == b->cost.bytes_act &&
           a->cost.remat == b->cost.remat;
}

/* Codec 2: blocks decode in their chain's order to the records coded, a block of a step like the previous one is
 * small, a block out of its chain is refused unless made to carry its context, damage is refused. */
static void test_oppack_chained(void)
{
    enum { BLOCKS = 6, MAX = 64 };
    /* step 0 (every field differs from nothing); step 1 in two blocks; step 2 like step 1; step 3's ops, then an
     * empty block ending it */
    static const struct {
        int step, from, n;
        bool ends;
    } plan[BLOCKS] = {{0, 0, OPS, true},  {1, 0, 2, false},  {1, 2, OPS - 2, true},
                      {2, 0, OPS, true},  {3, 0, OPS, false}, {3, 0, 0, true}};
    prof_op_rec in[BLOCKS][OPS], out[MAX];
    uint8_t *blocks[BLOCKS + 1] = {0};
    size_t sizes[BLOCKS + 1];
    oppack_ctx enc = {.run = -1}, dec = {.run = -1}, before[BLOCKS] = {{0}};
    oppack_ctx_reset(&enc, 7);
    for (int b = 0; b < BLOCKS; b++) {
        for (int i = 0; i < plan[b].n; i++) {
            in[b][i] = op_at(plan[b].step, plan[b].from + i);
            in[b][i].t_ns += 37 * i * i; /* irregular gaps */
            in[b][i].cost.bytes_cache_read += 64 * plan[b].step; /* the attention's context grows */
        }
        blocks[b] = malloc(oppack_block_bound(&enc, (size_t)plan[b].n));
        sizes[b] = oppack_block_encode(&enc, in[b], (size_t)plan[b].n, plan[b].ends, b == 0, blocks[b]);
        CHECK(sizes[b] > 0);
        enc.last_block = 100 + b; /* its rowid */
    }
    uint8_t alone[OPS * OPPACK_MAX_RECORD];
    size_t alone_size = oppack_encode(in[3], OPS, alone);
    CHECKF(2 * sizes[3] < alone_size, "a block repeating the previous step takes %zu bytes (codec 1: %zu)", sizes[3],
           alone_size);
    for (int b = 0; b < BLOCKS; b++) {
        before[b] = (oppack_ctx){.run = -1};
        /* the decoder's context before block b, for the rekey below (a copy of its arrays) */
        oppack_ctx_reset(&before[b], dec.run);
        before[b].last_block = dec.last_block;
        before[b].last = dec.last;
        before[b].n_prev = dec.n_prev, before[b].n_cur = dec.n_cur;
        before[b].prev = malloc((dec.n_prev + 1) * sizeof *dec.prev);
        before[b].cur = malloc((dec.n_cur + 1) * sizeof *dec.cur);
        if (dec.n_prev) memcpy(before[b].prev, dec.prev, dec.n_prev * sizeof *dec.prev);
        if (dec.n_cur) memcpy(before[b].cur, dec.cur, dec.n_cur * sizeof *dec.cur);
        long n = oppack_block_decode(&dec, 7, 100 + b, blocks[b], sizes[b], plan[b].ends, out, MAX);
        CHECKF(n == plan[b].n, "block %d: %ld records, %d coded", b, n, plan[b].n);
        for (int i = 0; i < plan[b].n && n == plan[b].n; i++)
            CHECKF(same_record(&in[b][i], &out[i]), "block %d record %d differs after coding", b, i);
    }
    /* Block 3 alone (its chain's blocks gone): refused; made to carry the context it was coded against: decoded
     * alone, and block 4 follows it. */
    oppack_ctx fresh = {.run = -1};
    CHECK(oppack_block_decode(&fresh, 7, 103, blocks[3], sizes[3], true, out, MAX) == -1);
    CHECK(!oppack_block_carries(blocks[3], sizes[3]) && oppack_block_carries(blocks[0], sizes[0]));
    uint8_t *keyed = malloc(oppack_block_bound(&before[3], 0) + sizes[3]);
    size_t keyed_size = oppack_block_rekey(&before[3], blocks[3], sizes[3], keyed);
    CHECK(keyed_size > sizes[3] && oppack_block_carries(keyed, keyed_size));
    CHECK(oppack_block_rekey(&before[2], blocks[3], sizes[3], keyed + keyed_size) == 0); /* not its predecessor */
    oppack_ctx_reset(&fresh, -1);
    CHECK(oppack_block_decode(&fresh, 7, 103, keyed, keyed_size, true, out, MAX) == OPS);
    CHECK(same_record(&in[3][0], &out[0]) && same_record(&in[3][OPS - 1], &out[OPS - 1]));
    CHECK(oppack_block_decode(&fresh, 7, 104, blocks[4], sizes[4], false, out, MAX) == OPS);
    CHECK(same_record(&in[4][2], &out[2]));
    CHECK(oppack_block_decode(&fresh, 8, 105, blocks[5], sizes[5], true, out, MAX) == -1); /* another run's chain */
    /* Damage: truncated, more records than announced, a context whose count exceeds the data. */
    oppack_ctx_reset(&fresh, -1);
    CHECK(oppack_block_decode(&fresh, 7, 100, blocks[0], sizes[0] - 1, true, out, MAX) == -1);
    oppack_ctx_reset(&fresh, -1);
    CHECK(oppack_block_decode(&fresh, 7, 100, blocks[0], sizes[0], true, out, OPS - 1) == -1);
    uint8_t huge[] = {1, 0xff, 0xff, 0xff, 0x0f, 0, 0};
    CHECK(oppack_block_decode(&fresh, 7, 100, huge, sizeof huge, true, out, MAX) == -1);
    /* Random damage to a block carrying its context: refused or decoded within bounds, never a read outside the
     * block (the sanitizer build runs this too). */
    test_rand_seed(0x6f70706b);
    uint8_t damaged[256];
    int bounded = 0;
    for (int t = 0; t < 3000 && sizes[0] <= sizeof damaged; t++) {
        memcpy(damaged, blocks[0], sizes[0]);
        for (int k = 0; k < 1 + t % 3; k++)
            damaged[test_rand_u32() % sizes[0]] ^= (uint8_t)(1 + test_rand_u32() % 255);
        oppack_ctx_reset(&fresh, -1);
        long n = oppack_block_decode(&fresh, 7, 100, damaged, sizes[0] - test_rand_u32() % 2, true, out, MAX);
        bounded += n >= -1 && n <= MAX;
    }
    CHECK(bounded == 3000);
    for (int b = 0; b < BLOCKS; b++) {
        free(blocks[b]);
        oppack_ctx_free(&before[b]);
    }
    free(keyed);
    oppack_ctx_free(&enc);
    oppack_ctx_free(&dec);
    oppack_ctx_free(&fresh);
}

/* Model hashes are cached per file and the cache forgets files that were deleted or changed since. */
static void test_model_hash_cache(void)
{
    char m1[4096], m2[4096], cache[4200];
    snprintf(m1, sizeof m1, "%s", tmp("m1.gguf"));
    snprintf(m2, sizeof m2, "%s", tmp("m2.gguf"));
    snprintf(cache, sizeof cache, "%s/xqprof/sha256.tsv", dir);
    write_file(m1, "first model");
    write_file(m2, "second model, a longer one");
    model_hash *h = model_hash_start(m1);
    CHECK(h && !model_hash_step(h, 0) && model_hash_step(h, SIZE_MAX) && model_hash_hex(h));
    model_hash_free(h);
    h = model_hash_start(m1);
    CHECK(h && model_hash_step(h, 0)); /* from the cache: done before reading a byte */
    model_hash_free(h);
    unlink(m1);
    h = model_hash_start(m2);
    CHECK(h && model_hash_step(h, SIZE_MAX));
    model_hash_free(h);
    char *text = test_read_file(cache, NULL);
    CHECKF(text && strstr(text, "m2.gguf") && !strstr(text, "m1.gguf"), "the cache keeps a deleted file:\n%s", text);
    free(text);
    write_file(m2, "second model, changed");
    h = model_hash_start(m2);
    CHECK(h && !model_hash_step(h, 0)); /* changed: hashed again */
    model_hash_free(h);
}

static void test_json_escaping(void)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    export_json_string(f, "a\"b\\c\n\t\x01 é \xff end");
    export_json_string(f, NULL);
    fclose(f);
    CHECKF(!strcmp(buf, "\"a\\\"b\\\\c\\n\\t\\u0001 é \\ufffd end\"null"), "%s", buf);
    free(buf);
}

static void test_sha256(void)
{
    sha256_ctx c;
    char hex[65];
    sha256_init(&c);
    sha256_update(&c, "abc", 3);
    sha256_hex(&c, hex);
    CHECK(!strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    sha256_init(&c);
    const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    for (const char *p = two_blocks; *p; p++)
        sha256_update(&c, p, 1); /* byte by byte: the buffering path */
    sha256_hex(&c, hex);
    CHECK(!strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
    sha256_init(&c);
    sha256_hex(&c, hex);
    CHECK(!strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
}

int main(void)
{
    if (!mkdtemp(dir)) return 1;
    setenv("XDG_CACHE_HOME", dir, 1); /* keep model hashes and calibrations of this test out of the user's cache */
    test_schema_identity();
    test_refusals();
    test_writer(-1);
    test_writer(500); /* the writer looks every 50 ms and builds after a look without a span */
    test_writer_switches_to_packing();
    test_pending();
    test_oppack();
    test_oppack_chained();
    test_checkpoints();
    test_model_hash_cache();
    test_json_escaping();
    test_sha256();
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_report("test_store");
}
