/* Screen options of top and view (ui_opts.h). */
#include "cli/ui_opts.h"

#include <string.h>

#include "cli/common.h"
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

bool cli_ui_opt(const char *cmd, int ch, const char *arg, ui_opts *o, int *rc)
{
    long long v;
    *rc = 0;
    switch (ch) {
    case CLI_UI_NO_COLOR: o->color = false; return true;
    case CLI_UI_ASCII: o->ascii = true; return true;
    case CLI_UI_GPUS: o->gpus = arg; return true;
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
        if (strlen(arg) >= UI_FILTER_MAX) *rc = cli_error(XQ_EINPUT, cmd, "--filter: at most %d characters", UI_FILTER_MAX - 1);
        else o->filter = arg;
        return true;
    case CLI_UI_LAYER:
        if (!(*rc = cli_int(cmd, "--layer", arg, 0, UI_MAX_LAYERS - 1, &v))) o->layer = (int)v;
        return true;
    default: return false;
    }
}
