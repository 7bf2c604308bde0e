/* xqprof export: one run of a trace as Chrome Trace Event JSON (Perfetto), CSV or Markdown. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

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
           "                    or one table (--table T) to -o FILE or stdout\n"
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

/* Writes one export to path (or stdout when path is NULL). */
static int export_to(store_reader *r, int64_t run, const export_opts *o, const char *table, const char *path)
{
    xq_outfile of;
    int opened = cli_out_open(&of, CMD, path ? path : "-");
    if (opened) return opened;
    FILE *out = of.f;
    xq_err err = {0};
    int rc = !strcmp(o->format, "chrome") ? store_export_chrome(r, run, out, &err)
             : !strcmp(o->format, "md")   ? store_export_md(r, run, out, &err)
                                          : store_export_csv(r, run, table, out, &err);
    if (!rc) return cli_out_commit(&of, CMD);
    xq_out_abort(&of);
    xq_err_prefix(&err, CMD);
    return cli_report(&err);
}

static int export_csv_folder(store_reader *r, int64_t run, const export_opts *o)
{
    if (mkdir(o->out, 0755) != 0 && errno != EEXIST)
        return cli_error(XQ_ERUN, CMD, "cannot create folder %s: %s", o->out, strerror(errno));
    for (int i = 0; i < store_csv_table_count; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.csv", o->out, store_csv_tables[i]);
        int rc = export_to(r, run, o, store_csv_tables[i], path);
        if (rc) return rc;
    }
    return 0;
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
