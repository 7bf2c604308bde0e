/* Chrome Trace Event JSON export of export.h. Layout, following PyTorch's profiler (so that Holistic Trace
 * Analysis reads it as well as Perfetto): top-level schemaVersion, distributedInfo and deviceProperties, then
 * traceEvents. pid = the run id; tid 0 = steps, tid 1 = non-layer ops, tid 2 + L = layer L. Times are µs with
 * ns precision, relative to the run's profiler start. Steps are "ProfilerStep#<idx>" (cat user_annotation),
 * ops "cpu_op" with their FLOPs and bytes in args. */
#include <inttypes.h>
#include <string.h>

#include "store/export.h"
#include "store/export_util.h"
#include "store/store.h"

enum { TID_STEPS = 0, TID_NONLAYER = 1, TID_LAYER0 = 2 };

typedef struct chrome_ctx {
    FILE *out;
    int64_t run;
    bool first;
    bool writer_gone; /* the run is 'running' but its writer has exited */
} chrome_ctx;

static void begin_event(chrome_ctx *c)
{
    fputs(c->first ? "\n" : ",\n", c->out);
    c->first = false;
}

static void put_us(FILE *out, int64_t ns)
{
    fprintf(out, "%" PRId64 ".%03" PRId64, ns / 1000, ns % 1000);
}

static void put_times(chrome_ctx *c, int64_t t_ns, int64_t ns)
{
    fputs(",\"ts\":", c->out);
    put_us(c->out, t_ns);
    if (ns >= 0) {
        fputs(",\"dur\":", c->out);
        put_us(c->out, ns);
    }
}

static void thread_meta(chrome_ctx *c, int tid, const char *name, int sort)
{
    begin_event(c);
    fprintf(c->out, "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%" PRId64 ",\"tid\":%d,\"args\":{\"name\":", c->run,
            tid);
    export_json_string(c->out, name);
    fputs("}}", c->out);
    begin_event(c);
    fprintf(c->out,
            "{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":%" PRId64 ",\"tid\":%d,\"args\":{\"sort_index\":%d}}",
            c->run, tid, sort);
}

static int run_meta_row(void *user, sqlite3_stmt *row)
{
    chrome_ctx *c = user;
    char name[512];
    snprintf(name, sizeof name, "xqprof run %" PRId64 ": %s, cache %s", c->run,
             sqlite3_column_text(row, 0) ? (const char *)sqlite3_column_text(row, 0) : "?",
             sqlite3_column_text(row, 1) ? (const char *)sqlite3_column_text(row, 1) : "?");
    begin_event(c);
    fprintf(c->out,
            "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%" PRId64 ",\"tid\":0,\"args\":{\"name\":", c->run);
    export_json_string(c->out, name);
    fputs("}}", c->out);
    thread_meta(c, TID_STEPS, "steps", 0);
    thread_meta(c, TID_NONLAYER, "non-layer ops", 1);
    return XQ_OK;
}

static int layer_meta_row(void *user, sqlite3_stmt *row)
{
    chrome_ctx *c = user;
    int layer = sqlite3_column_int(row, 0);
    char name[32];
    snprintf(name, sizeof name, "layer %d", layer);
    thread_meta(c, TID_LAYER0 + layer, name, TID_LAYER0 + layer);
    return XQ_OK;
}

static void counter(chrome_ctx *c, const char *name, int64_t t_ns, const char *key, double value, const char *key2,
                    double value2)
{
    begin_event(c);
    fprintf(c->out, "{\"ph\":\"C\",\"name\":\"%s\",\"pid\":%" PRId64 ",\"tid\":0", name, c->run);
    put_times(c, t_ns, -1);
    fprintf(c->out, ",\"args\":{\"%s\":%.17g", key, value);
    if (key2) fprintf(c->out, ",\"%s\":%.17g", key2, value2);
    fputs("}}", c->out);
}

/* Columns: idx, phase, n_tokens, n_ctx, t_ns, ns, cache_persistent, cache_transient */
static int step_row(void *user, sqlite3_stmt *row)
{
    chrome_ctx *c = user;
    int64_t idx = sqlite3_column_int64(row, 0), t = sqlite3_column_int64(row, 4), ns = sqlite3_column_int64(row, 5);
    int64_t n_tokens = sqlite3_column_int64(row, 2);
    begin_event(c);
    fprintf(c->out,
            "{\"ph\":\"X\",\"cat\":\"user_annotation\",\"name\":\"ProfilerStep#%" PRId64 "\",\"pid\":%" PRId64
            ",\"tid\":%d",
            idx, c->run, TID_STEPS);
    put_times(c, t, ns);
    fprintf(c->out, ",\"args\":{\"phase\":\"%s\",\"n_tokens\":%" PRId64 ",\"n_ctx\":%" PRId64 "}}",
            (const char *)sqlite3_column_text(row, 1), n_tokens, (int64_t)sqlite3_column_int64(row, 3));
    if (sqlite3_column_type(row, 6) != SQLITE_NULL)
        counter(c, "cache bytes", t, "persistent", sqlite3_column_double(row, 6), "transient",
                sqlite3_column_double(row, 7));
    if (ns > 0) counter(c, "tokens/s", t, "tokens/s", (double)n_tokens * 1e9 / (double)ns, NULL, 0);
    return ferror(c->out) ? XQ_ERUN : XQ_OK;
}

/* Columns: rowid, step, layer, name, depth, t_ns, ns, self_ns, flops, bytes_weights, bytes_cache_read,
 * bytes_cache_write, bytes_act, remat */
static int op_row(void *user, sqlite3_stmt *row)
{
    static const char *const args[] = {"step",
                                       "layer",
                                       "name",
                                       "depth",
                                       "t_ns",
                                       "ns",
                                       "self_ns",
                                       "flops",
                                       "bytes_weights",
                                       "bytes_cache_read",
                                       "bytes_cache_write",
                                       "bytes_act",
                                       "remat"};
    chrome_ctx *c = user;
    int layer = sqlite3_column_int(row, 2);
    begin_event(c);
    fputs("{\"ph\":\"X\",\"cat\":\"cpu_op\",\"name\":", c->out);
    export_json_string(c->out, (const char *)sqlite3_column_text(row, 3));
    fprintf(c->out, ",\"pid\":%" PRId64 ",\"tid\":%d", c->run, layer >= 0 ? TID_LAYER0 + layer : TID_NONLAYER);
    put_times(c, sqlite3_column_int64(row, 5), sqlite3_column_int64(row, 6));
    fputs(",\"args\":{", c->out);
    for (int i = 0, first = 1; i < (int)(sizeof args / sizeof args[0]); i++) {
        if (i == 2 || i == 4 || i == 5) continue; /* name, ts and dur are already fields */
        fprintf(c->out, "%s\"%s\":%lld", first ? "" : ",", args[i], (long long)sqlite3_column_int64(row, 1 + i));
        first = 0;
    }
    fputs("}}", c->out);
    return ferror(c->out) ? XQ_ERUN : XQ_OK;
}

/* Columns: started, command, version, model_name, model_file, cache_mode, cache_params, status */
static int run_info_row(void *user, sqlite3_stmt *row)
{
    static const char *const keys[] = {"started",    "command",    "version",      "model",
                                       "model_file", "cache_mode", "cache_params", "status"};
    chrome_ctx *c = user;
    fprintf(c->out, ",\"xqprof\":{\"run\":%" PRId64, c->run);
    for (int i = 0; i < (int)(sizeof keys / sizeof keys[0]); i++) {
        fprintf(c->out, ",\"%s\":", keys[i]);
        bool gone = c->writer_gone && !strcmp(keys[i], "status");
        export_json_string(c->out, gone ? STORE_STATUS_GONE : (const char *)sqlite3_column_text(row, i));
    }
    fputc('}', c->out);
    return XQ_OK;
}

static int header(chrome_ctx *c, store_reader *r, xq_err *err)
{
    fputs("{\"schemaVersion\":1,\"distributedInfo\":{\"backend\":\"none\",\"rank\":0,\"world_size\":1},"
          "\"deviceProperties\":[],\"displayTimeUnit\":\"ms\",\"traceName\":",
          c->out);
    export_json_string(c->out, store_reader_path(r));
    int rc = export_rows(r,
                         "SELECT started, command, version, model_name, model_file, cache_mode, cache_params, status "
                         "FROM run WHERE id = ?1",
                         c->run, run_info_row, c, err);
    fputs(",\"traceEvents\":[", c->out);
    return rc;
}

int store_export_chrome(store_reader *r, int64_t run, FILE *out, xq_err *err)
{
    chrome_ctx c = {out, run, true, store_run_writer_gone(store_reader_db(r), run)};
    int rc = header(&c, r, err);
    if (!rc) rc = export_rows(r, "SELECT model_name, cache_mode FROM run WHERE id = ?1", run, run_meta_row, &c, err);
    if (!rc)
        rc = export_rows(r, "SELECT DISTINCT layer FROM op WHERE run = ?1 AND layer >= 0 ORDER BY layer", run,
                         layer_meta_row, &c, err);
    if (!rc)
        rc = export_rows(r,
                         "SELECT idx, phase, n_tokens, n_ctx, t_ns, ns, cache_persistent, cache_transient FROM step "
                         "WHERE run = ?1 ORDER BY idx",
                         run, step_row, &c, err);
    if (!rc)
        rc = export_paged(r,
                          "SELECT o.rowid, o.step, o.layer, k.name, o.depth, o.t_ns, o.ns, o.self_ns, o.flops, "
                          "o.bytes_weights, o.bytes_cache_read, o.bytes_cache_write, o.bytes_act, o.remat FROM op o "
                          "JOIN op_kind k ON k.id = o.op WHERE o.run = ?1 AND o.rowid > ?2 ORDER BY o.rowid LIMIT ?3",
                          run, op_row, &c, err);
    if (rc && err->msg[0]) return rc;
    fputs("\n]}\n", out);
    return export_check_write(out, "the Chrome trace", err);
}
