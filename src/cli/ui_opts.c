/* Screen options of top and view (ui_opts.h). */
#include "cli/ui_opts.h"

#include "cli/common.h"

const char CLI_UI_HELP[] =
    "      --view N            start on view N (1 Overview, 2 Layers, 3 Roofline, 4 Timeline, 5 Modes, 6 Compare)\n"
    "      --interval MS       refresh period in milliseconds (default 250)\n"
    "      --no-color          no colours (also when NO_COLOR is set); the screen reads the same\n"
    "      --ascii             ASCII charts and borders (also under a non-UTF-8 locale such as LANG=C)\n"
    "      --gpus LIST         catalogue GPUs whose roofs the Roofline view overlays (default h100-sxm,a100-80g)\n"
    "      --max-iterations N  leave after N turns of the screen loop (for tests)\n";

void cli_ui_opts_init(ui_opts *o)
{
    *o = (ui_opts){.color = !ui_env_no_color(), .interval_ms = 250, .gpus = "h100-sxm,a100-80g"};
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
    default: return false;
    }
}
