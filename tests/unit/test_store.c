/* The trace store: a new file gets the embedded schema (application_id, user_version, WAL); a second open
 * appends a run; files that are not SQLite, not ours or from a newer schema are refused as bad input (XQ_EINPUT);
 * the writer records steps and ops with NULL (never 0) for unavailable counters; exporters escape JSON strings
 * (quotes, control characters, invalid UTF-8) and CSV fields; SHA-256 matches FIPS 180-4 test vectors. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/export.h"
#include "store/export_util.h"
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

static void test_schema_identity(void)
{
    CHECK(store_schema_version() == 1 && store_application_id() == 0x58515046);
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
    CHECK(query_int(path, "PRAGMA user_version") == 1);
    CHECK(query_int(path, "SELECT count(*) FROM run") == 2);
    CHECK(query_int(path, "SELECT count(*) FROM op_kind") == OP_COUNT);
    CHECK(query_int(path, "SELECT journal_mode = 'wal' FROM pragma_journal_mode") == 1);
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

static void test_writer(void)
{
    xq_err err = {0};
    prof *p = NULL;
    prof_params pp = {.n_layer = 2, .counters = true};
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
    CHECK(store_open(tmp("w.db"), &st, &err) == XQ_OK && store_run_begin(st, &ri, &run, &err) == XQ_OK);
    store_writer *w = NULL;
    CHECK(store_writer_start(st, run, p, NULL, &w, &err) == XQ_OK);
    CHECK(store_writer_finish(w, "done", &err) == XQ_OK);
    store_close(st);
    const char *path = tmp("w.db");
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
    test_writer();
    test_json_escaping();
    test_sha256();
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_report("test_store");
}
