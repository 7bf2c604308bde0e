/* The trace pipeline at volume: 1M synthetic spans through the profiler sink into the queue, then the writer
 * thread drains them into SQLite, then the Chrome exporter streams them back out. Asserts that every span and
 * step arrives (row counts, one X event each), that nothing was dropped and that the export's memory stays
 * bounded; prints the sink's cost per span and the writer's spans/s (scripts/bench-trace reads those lines; tests
 * assert properties, never speed), and how fast the queue drains while the engine runs (packed when the engine
 * fills every core) against the time finish then takes to build the rows. Argument: span count (default 1000000). */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "prof/prof.h"
#include "store/export.h"
#include "store/reader.h"
#include "store/store.h"
#include "store/writer.h"
#include "testlib.h"

enum { SPANS_PER_STEP = 100, N_LAYER = 30 };

static int64_t count_rows(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int64_t n = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

/* Spans of decode-like steps: each step holds SPANS_PER_STEP ops over the layers. */
static void produce(const span_sink *sink, int64_t n_spans)
{
    span_shape sh = {.m = 576, .n = 1, .k = 576, .dtype = 3, .ctx = 1};
    for (int64_t done = 0; done < n_spans; sh.ctx++) {
        span_begin(sink, OP_STEP, -1, &sh);
        for (int i = 0; i < SPANS_PER_STEP && done < n_spans; i++, done++) {
            span_begin(sink, OP_MATMUL_Q + i % 4, i % N_LAYER, &sh);
            span_end(sink, OP_MATMUL_Q + i % 4, i % N_LAYER);
        }
        span_end(sink, OP_STEP, -1);
    }
}

static int64_t rss_bytes(void)
{
    long long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f && fscanf(f, "%lld %lld", &size, &resident) != 2) resident = 0;
    if (f) fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

/* Occurrences of needle in a file, read in chunks (the file may be far larger than memory should hold). */
static int64_t count_in_file(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    size_t n = strlen(needle), have = 0;
    char buf[1 << 16];
    int64_t count = 0;
    for (size_t got; f && (got = fread(buf + have, 1, sizeof buf - 1 - have, f)) > 0;) {
        have += got;
        buf[have] = 0;
        for (char *p = buf; (p = strstr(p, needle)); p += n)
            count++;
        size_t keep = have < n - 1 ? have : n - 1; /* a match may straddle two chunks */
        memmove(buf, buf + have - keep, keep);
        have = keep;
    }
    if (f) fclose(f);
    return count;
}

/* The Chrome export of the whole run streams: one X event per span and step, in bounded memory. */
static void check_export(const char *db, int64_t events)
{
    char out[64];
    snprintf(out, sizeof out, "%s.json", db);
    FILE *f = fopen(out, "w");
    store_reader *r = NULL;
    xq_err err = {0};
    int64_t run = 0, rss0 = rss_bytes(), t0 = xq_now_ns();
    CHECK(f && store_reader_open(db, &r, &err) == XQ_OK && store_reader_resolve_run(r, 0, &run, &err) == XQ_OK);
    CHECK(store_export_chrome(r, run, f, &err) == XQ_OK);
    double secs = (double)(xq_now_ns() - t0) / 1e9;
    int64_t grown = rss_bytes() - rss0;
    store_reader_close(r);
    fclose(f);
    CHECK(count_in_file(out, "\"ph\":\"X\"") == events);
    CHECKF(grown < (64 << 20), "export grew RSS by %lld bytes", (long long)grown);
    printf("export: %lld events as Chrome JSON in %.2f s, RSS grew %.1f MiB\n", (long long)events, secs,
           (double)grown / (1 << 20));
    unlink(out);
}

int main(int argc, char **argv)
{
    int64_t n_spans = argc > 1 ? atoll(argv[1]) : getenv("XQ_SANITIZER_RUN") ? 200000 : 1000000;
    char path[] = "/tmp/xq_throughput_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    unlink(path);

    xq_err err = {0};
    prof *p = NULL;
    prof_params pp = {.n_layer = N_LAYER, .queue_records = (size_t)(n_spans + n_spans / SPANS_PER_STEP + 1024)};
    CHECK(prof_create(&pp, &p, &err) == XQ_OK);
    int64_t t0 = xq_now_ns();
    produce(prof_sink(p), n_spans);
    double sink_ns = (double)(xq_now_ns() - t0) / (double)n_spans;

    store *st = NULL;
    int64_t run = 0;
    CHECK(store_open(path, &st, &err) == XQ_OK);
    store_run_info ri = {.command = "test", .version = "test", .model_name = "synthetic", .cache_mode = "fp16"};
    CHECK(store_run_begin(st, &ri, &run, &err) == XQ_OK);
    store_writer *w = NULL;
    t0 = xq_now_ns();
    CHECK(store_writer_start(st, run, p, NULL, &w, &err) == XQ_OK);
    /* Drained: written as rows, or packed (when the engine's threads, here all cores by default, fill the
     * machine); finish then builds the packed spans into rows. */
    struct timespec ms = {0, 1000 * 1000};
    while (!prof_queue_empty(p))
        nanosleep(&ms, NULL);
    int64_t t1 = xq_now_ns();
    CHECK(store_writer_finish(w, "done", &err) == XQ_OK);
    int64_t t2 = xq_now_ns();
    double secs = (double)(t2 - t0) / 1e9;
    store_close(st);

    prof_stats stats;
    prof_get_stats(p, &stats);
    CHECK(stats.spans == n_spans && stats.spans_dropped == 0 && stats.steps_dropped == 0);
    CHECK(count_rows(path, "SELECT count(*) FROM op") == n_spans);
    CHECK(count_rows(path, "SELECT count(*) FROM op_pending") == 0);
    CHECK(count_rows(path, "SELECT count(*) FROM step WHERE op_first IS NULL") == 0);
    CHECK(count_rows(path, "SELECT count(*) FROM step") == stats.steps);
    CHECK(count_rows(path, "SELECT count(*) FROM step s WHERE ops_ns > ns") == 0);
    check_export(path, n_spans + stats.steps);
    printf("sink: %.1f ns per span (begin + end)\n", sink_ns);
    printf("writer: %.0f spans/s (%lld spans, %lld steps in %.2f s)\n", (double)n_spans / secs, (long long)n_spans,
           (long long)stats.steps, secs);
    printf("drain: %.0f spans/s while the engine runs (%.2f s); finish: %.2f s per million spans (building the "
           "packed spans into rows)\n",
           (double)n_spans / ((double)(t1 - t0) / 1e9), (double)(t1 - t0) / 1e9,
           (double)(t2 - t1) / 1e9 * 1e6 / (double)n_spans);
    prof_destroy(p);
    unlink(path);
    return test_report("test_store_throughput");
}
