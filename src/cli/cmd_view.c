/* xqprof view: browse a recorded trace in the terminal UI; with a second trace (or a second run, --run-b),
 * Compare shows the two aligned by layer and op (ui/compare.h over src/store/align.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/ui_opts.h"
#include "ui/compare.h"
#include "ui/export.h"
#include "ui/trace.h"
#include "ui/view.h"

static const char *const CMD = "view";
static const char *const NO_SECOND = "Compare: needs a second trace (xqprof view A.db B.db) or run (--run-b N)";

static void help(void)
{
    printf("usage: xqprof view RUN.db [OTHER.db] [--run N] [--run-b N] [options]\n\n"
           "Browses a trace written by --trace (generate, ppl, top …): Overview, Layers, Roofline and Timeline\n"
           "of one run; with a second trace or run, Compare puts the two side by side per layer and op, baseline\n"
           "RUN.db and compare OTHER.db (runs of one model only; others are refused with a message, and\n"
           "--once --view 6 exits 2).\n"
           "Keys: 1-6 or Tab switch views, ? help, q quit. --once prints a view's data instead (for scripts;\n"
           "deterministic for a given trace).\n\n"
           "      --run N             the run to show, the baseline (default: the latest in the file)\n"
           "      --run-b N           the run to compare with: of OTHER.db, or of RUN.db when it is the only file\n"
           "                          (default: the latest)\n"
           "%s"
           "  -h, --help              this help\n",
           CLI_UI_HELP);
}

typedef struct view_opts {
    const char *path, *other;
    long long run, run_b;
    ui_opts ui;
} view_opts;

static int parse(int argc, char **argv, view_opts *o)
{
    static const struct option longs[] = {{"run", 1, 0, 1},      {"run-b", 1, 0, 2},
                                          {"help", 0, 0, 'h'}, CLI_UI_LONG_OPTIONS, {0, 0, 0, 0}};
    *o = (view_opts){0};
    cli_ui_opts_init(&o->ui);
    opterr = 0;
    optind = 1;
    int ch, rc = 0;
    while (!rc && (ch = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
        switch (ch) {
        case 1: rc = cli_int(CMD, "--run", optarg, 1, 1LL << 62, &o->run); break;
        case 2: rc = cli_int(CMD, "--run-b", optarg, 1, 1LL << 62, &o->run_b); break;
        case 'h': help(); return -1;
        default:
            if (cli_ui_opt(CMD, ch, optarg, &o->ui, &rc)) break;
            return cli_bad_option(CMD, ch, argv);
        }
    }
    if (rc) return rc;
    if (optind >= argc) return cli_error(XQ_EINPUT, CMD, "a trace file is required (xqprof view RUN.db)");
    o->path = argv[optind++];
    if (optind < argc) o->other = argv[optind++];
    if (optind < argc) return cli_error(XQ_EINPUT, CMD, "unexpected argument '%s'", argv[optind]);
    return 0;
}

static bool poll_once(void *self, ui_data *d)
{
    const ui_data *loaded = self;
    if (d->version == loaded->version) return false;
    *d = *loaded;
    return true;
}

static int report(const char *path, xq_err *err)
{
    if (strncmp(err->msg, path, strlen(path)) != 0) xq_err_prefix(err, path); /* the reader's own name it */
    xq_err_prefix(err, CMD);
    return cli_report(err);
}

static int load(const char *path, long long run, ui_data *d)
{
    xq_err err = {0};
    if (!ui_trace_load(path, run, d, &err)) return 0;
    return report(path, &err);
}

/* The second run (OTHER.db, or --run-b of RUN.db) aligned with the first; *cmp stays NULL without one. */
static int load_compare(const view_opts *o, ui_compare **cmp)
{
    *cmp = NULL;
    if (!o->other && !o->run_b) return 0;
    const char *file_b = o->other ? o->other : o->path;
    xq_err err = {0};
    if (!ui_compare_load(o->path, o->run, file_b, o->run_b, cmp, &err)) return 0;
    return report(strncmp(err.msg, o->path, strlen(o->path)) == 0 ? o->path : file_b, &err);
}

/* --once: the view's data on stdout; a --layer or --filter layer the run does not have is an input error. */
static int print_once(const view_opts *o, const ui_data *d, const ui_compare *cmp)
{
    /* The screen keeps the other views when Compare is refused; a script asking for Compare alone gets nothing. */
    if (o->ui.first_view == UI_VIEW_COMPARE && cmp && cmp->refused)
        return cli_error(XQ_EINPUT, CMD, "Compare: the runs are of different models (%s): not comparable",
                         cmp->differ);
    int rc = cli_ui_check_layers(CMD, &o->ui, d->n_layer);
    if (rc) return rc;
    ui_export_req r = {.format = (ui_format)o->ui.format, .view = o->ui.first_view, .d = d, .cmp = cmp,
                       .other_why = cmp ? NULL : NO_SECOND, .filter = o->ui.filter, .layer = o->ui.layer,
                       .gpus = o->ui.gpus};
    if (ui_export(stdout, &r)) return cli_error(XQ_ERUN, CMD, "cannot write the output");
    return 0;
}

int cmd_view(int argc, char **argv)
{
    view_opts o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    ui_data *d = calloc(1, sizeof *d);
    if (!d) return cli_error(XQ_ERUN, CMD, "out of memory");
    ui_compare *cmp = NULL;
    if (!(rc = load(o.path, o.run, d))) rc = load_compare(&o, &cmp);
    if (!rc && o.ui.once) {
        rc = print_once(&o, d, cmp);
    } else if (!rc) {
        ui_source src = {.self = d, .poll = poll_once};
        xq_err err = {0};
        rc = ui_run(&o.ui, &src, cmp, cmp ? NULL : NO_SECOND, &err);
        if (rc && err.msg[0]) {
            xq_err_prefix(&err, CMD);
            rc = cli_report(&err);
        }
    }
    ui_compare_free(cmp);
    free(d);
    return rc;
}
