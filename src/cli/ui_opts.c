/* Screen options of top and view (ui_opts.h). */
#include "cli/ui_opts.h"

#include <stdio.h>
#include <string.h>

#include "cli/common.h"
#include "gpu/catalogue.h"
#include "ui/export.h"
#include "ui/layer_rows.h"

const char CLI_UI_HELP[] =
    "      --view N            start on view N (1 Overview, 2 Layers, 3 Roofline, 4 Timeline, 5 Modes, 6 Compare)\n"
    "      --interval MS       refresh period in milliseconds (default 250)\n"
    "      --no-color          no colours (also when NO_COLOR is set); the screen reads the same\n"
    "      --ascii             ASCII charts and borders (also under a non-UTF-8 locale such as LANG=C)\n"
    "      --gpus LIST         catalogue GPUs whose roofs the Roofline view overlays (default h100-sxm,a100-80g)\n"
    "      --filter TEXT       Layers: start filtered (layer 3, range 3-7, or an op name such as attend)\n"
    "      --layer N           Layers, Compare: start on layer N's ops\n"
    "      --once              print the view's data (--view, --filter, --layer) and exit; no terminal needed\n"
    "      --format json|csv   the format of --once (default json)\n"
    "      --max-iterations N  leave after N turns of the screen loop (for tests; without a terminal the\n"
    "                          screen is drawn into /dev/null at $COLUMNS x $LINES)\n";

void cli_ui_opts_init(ui_opts *o)
{
    *o = (ui_opts){.color = !ui_env_no_color(), .interval_ms = 250, .gpus = "h100-sxm,a100-80g", .layer = -1};
}

/* --gpus: ids of the built-in catalogue (the overlay has no --gpus-file); an empty list overlays none. */
static int check_gpus(const char *cmd, const char *list)
{
    gpu_catalogue *cat = gpu_catalogue_create();
    if (!cat) return cli_error(XQ_ERUN, cmd, "out of memory");
    char buf[256];
    int rc = XQ_OK;
    if (strlen(list) >= sizeof buf) rc = cli_error(XQ_EINPUT, cmd, "--gpus: list too long");
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *id = strtok_r(buf, ",", &save); id && !rc; id = strtok_r(NULL, ",", &save))
        if (!gpu_catalogue_find(cat, id))
            rc = cli_error(XQ_EINPUT, cmd, "--gpus: unknown gpu '%s' (known: %s)", id, gpu_catalogue_builtin_ids());
    gpu_catalogue_destroy(cat);
    return rc;
}

static int check_filter(const char *cmd, const char *text)
{
    if (strlen(text) >= UI_FILTER_MAX) return cli_error(XQ_EINPUT, cmd, "--filter: at most %d characters", UI_FILTER_MAX - 1);
    ui_filter f;
    ui_filter_parse(text, &f);
    if (f.bad_layers[0])
        return cli_error(XQ_EINPUT, cmd, "--filter: '%s' is not a layer N or a range N-M with N <= M", f.bad_layers);
    if (f.unmatched[0])
        return cli_error(XQ_EINPUT, cmd, "--filter: no op name contains '%s' (a layer N, a range N-M, or part of an op "
                         "name such as attend, matmul, remat)", f.unmatched);
    return XQ_OK;
}

int cli_ui_check_layers(const char *cmd, const ui_opts *o, int n_layer)
{
    if (o->layer >= n_layer)
        return cli_error(XQ_EINPUT, cmd, "--layer %d: the run has %d layers (0-%d)", o->layer, n_layer, n_layer - 1);
    ui_filter f;
    ui_filter_parse(o->filter, &f);
    for (int i = n_layer; f.by_layer && i < UI_MAX_LAYERS; i++)
        if (f.layers[i / 64] >> (i % 64) & 1)
            return cli_error(XQ_EINPUT, cmd, "--filter: layer %d: the run has %d layers (0-%d)", i, n_layer,
                             n_layer - 1);
    return XQ_OK;
}

bool cli_ui_opt(const char *cmd, int ch, const char *arg, ui_opts *o, int *rc)
{
    long long v;
    *rc = 0;
    switch (ch) {
    case CLI_UI_NO_COLOR: o->color = false; return true;
    case CLI_UI_ASCII: o->ascii = true; return true;
    case CLI_UI_GPUS:
        if (!(*rc = check_gpus(cmd, arg))) o->gpus = arg;
        return true;
    case CLI_UI_INTERVAL:
        if (!(*rc = cli_int(cmd, "--interval", arg, 10, 60000, &v))) o->interval_ms = (int)v;
        return true;
    case CLI_UI_MAX_ITER:
        if (!(*rc = cli_int(cmd, "--max-iterations", arg, 1, 1LL << 40, &v))) o->max_iterations = (long)v;
        return true;
    case CLI_UI_VIEW:
        if (!(*rc = cli_int(cmd, "--view", arg, 1, 6, &v))) o->first_view = (int)v - 1;
        return true;
    case CLI_UI_ONCE: o->once = true; return true;
    case CLI_UI_FORMAT:
        if (!strcmp(arg, "json")) o->format = UI_FORMAT_JSON;
        else if (!strcmp(arg, "csv")) o->format = UI_FORMAT_CSV;
        else *rc = cli_error(XQ_EINPUT, cmd, "--format must be json or csv, not '%s'", arg);
        return true;
    case CLI_UI_FILTER:
        if (!(*rc = check_filter(cmd, arg))) o->filter = arg;
        return true;
    case CLI_UI_LAYER:
        if (!(*rc = cli_int(cmd, "--layer", arg, 0, UI_MAX_LAYERS - 1, &v))) o->layer = (int)v;
        return true;
    default: return false;
    }
}
