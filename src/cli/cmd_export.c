/* xqprof export: one run of a trace as Chrome Trace Event JSON (Perfetto), CSV or Markdown. */
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "store/export.h"
#include "store/reader.h"

static const char *const CMD = "export";

typedef struct export_opts {
    const char *file, *format, *out, *table;
    long long run;
} export_opts;

static void help(void)
{
    printf("usage: xqprof export RUN.db [--run ID] --format chrome|csv|md [-o OUT] [--table T]\n\n"
           "Exports one run of a trace written with --trace (default: the latest run).\n\n"
           "  --format chrome   Trace Event JSON for Perfetto (ui.perfetto.dev), chrome://tracing and Holistic\n"
           "                    Trace Analysis: one track per layer, steps as ProfilerStep#N, counters\n"
           "  --format csv      one file per table (run, device, step, op, metric, op_kind) into the folder -o OUT,\n"
           "                    or one table (--table T) to -o FILE or stdout; the folder's files are replaced\n"
           "                    only once every table is written (on a failure they stay as they were)\n"
           "  --format md       a report: run configuration, totals, top ops, per-layer table\n"
           "  --run ID          the run to export (see: sqlite3 RUN.db 'SELECT id, started, command FROM run')\n"
           "  -o, --output OUT  output file (folder for csv without --table); default stdout\n"
           "  --table T         csv: only table T\n"
           "  -h, --help        this help\n");
}

static int parse(int argc, char **argv, export_opts *o)
{
    static const struct option longs[] = {{"format", 1, 0, 'f'}, {"output", 1, 0, 'o'}, {"run", 1, 0, 1},
                                          {"table", 1, 0, 2},    {"help", 0, 0, 'h'},   {0, 0, 0, 0}};
    *o = (export_opts){0};
    opterr = 0;
    optind = 1;
    int ch, rc = 0;
    while (!rc && (ch = getopt_long(argc, argv, ":f:o:h", longs, NULL)) != -1) {
        switch (ch) {
        case 'f': o->format = optarg; break;
        case 'o': o->out = optarg; break;
        case 1: rc = cli_int(CMD, "--run", optarg, 1, (1LL << 62), &o->run); break;
        case 2: o->table = optarg; break;
        case 'h': help(); return -1;
        default: return cli_bad_option(CMD, ch, argv);
        }
    }
    if (rc) return rc;
    if (optind >= argc) return cli_error(XQ_EINPUT, CMD, "a trace file is required (xqprof export RUN.db ...)");
    o->file = argv[optind++];
    if (optind < argc) return cli_error(XQ_EINPUT, CMD, "unexpected argument '%s'", argv[optind]);
    if (!o->format) return cli_error(XQ_EINPUT, CMD, "--format chrome|csv|md is required");
    if (strcmp(o->format, "chrome") && strcmp(o->format, "csv") && strcmp(o->format, "md"))
        return cli_error(XQ_EINPUT, CMD, "unknown format '%s' (chrome, csv, md)", o->format);
    if (o->table && strcmp(o->format, "csv")) return cli_error(XQ_EINPUT, CMD, "--table applies to --format csv only");
    if (o->table && !store_csv_table_known(o->table))
        return cli_error(XQ_EINPUT, CMD, "unknown table '%s' (run, device, step, op, metric, op_kind)", o->table);
    if (!strcmp(o->format, "csv") && !o->table && !o->out)
        return cli_error(XQ_EINPUT, CMD, "csv of every table needs -o FOLDER (or --table T for one table)");
    return 0;
}

/* One export into an open output; the error printed when it fails. */
static int export_into(store_reader *r, int64_t run, const export_opts *o, const char *table, FILE *out)
{
    xq_err err = {0};
    int rc = !strcmp(o->format, "chrome") ? store_export_chrome(r, run, out, &err)
             : !strcmp(o->format, "md")   ? store_export_md(r, run, out, &err)
                                          : store_export_csv(r, run, table, out, &err);
    if (!rc) return 0;
    xq_err_prefix(&err, CMD);
    return cli_report(&err);
}

/* Writes one export to path (or stdout when path is NULL). */
static int export_to(store_reader *r, int64_t run, const export_opts *o, const char *table, const char *path)
{
    xq_outfile of;
    int rc = cli_out_open(&of, CMD, path ? path : "-");
    if (!rc) rc = export_into(r, run, o, table, of.f);
    if (!rc) return cli_out_commit(&of, CMD);
    xq_out_abort(&of);
    return rc;
}

/* Every table goes to a temporary beside its file first, and the files are replaced only once all are written:
 * a failure leaves the folder as it was, never this run's tables beside an older export's. */
static int export_csv_folder(store_reader *r, int64_t run, const export_opts *o)
{
    enum { MAX_TABLES = 16 };
    assert(store_csv_table_count <= MAX_TABLES);
    bool created = mkdir(o->out, 0755) == 0;
    if (!created && errno != EEXIST)
        return cli_error(XQ_ERUN, CMD, "cannot create folder %s: %s", o->out, strerror(errno));
    char paths[MAX_TABLES][4096];
    xq_outfile files[MAX_TABLES] = {0};
    int rc = 0, n = 0;
    for (; !rc && n < store_csv_table_count; n++) {
        snprintf(paths[n], sizeof paths[n], "%s/%s.csv", o->out, store_csv_tables[n]);
        rc = cli_out_open(&files[n], CMD, paths[n]);
        if (!rc) rc = export_into(r, run, o, store_csv_tables[n], files[n].f);
    }
    for (int i = 0; !rc && i < n; i++)
        rc = cli_out_commit(&files[i], CMD);
    for (int i = 0; i < n; i++)
        xq_out_abort(&files[i]);
    if (rc && created) rmdir(o->out);
    return rc;
}

int cmd_export(int argc, char **argv)
{
    export_opts o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    xq_err err = {0};
    store_reader *r = NULL;
    int64_t run = 0;
    if ((rc = store_reader_open(o.file, &r, &err)) || (rc = store_reader_resolve_run(r, o.run, &run, &err))) {
        store_reader_close(r);
        xq_err_prefix(&err, CMD);
        return cli_report(&err);
    }
    if (!strcmp(o.format, "csv") && !o.table)
        rc = export_csv_folder(r, run, &o);
    else
        rc = export_to(r, run, &o, o.table, o.out);
    store_reader_close(r);
    return rc;
}
