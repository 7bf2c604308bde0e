/* The screen options shared by `top` and `view`: --no-color, --ascii, --interval, --max-iterations, --view,
 * --gpus, --filter, --layer, and --once --format json|csv (the view's data on stdout, no screen), with NO_COLOR
 * honoured. */
#ifndef XQ_CLI_UI_OPTS_H
#define XQ_CLI_UI_OPTS_H

#include <stdbool.h>

#include "ui/ui.h"

/* getopt_long ids (above the cache options' ids). */
enum { CLI_UI_NO_COLOR = 400, CLI_UI_ASCII, CLI_UI_INTERVAL, CLI_UI_MAX_ITER, CLI_UI_VIEW, CLI_UI_GPUS, CLI_UI_ONCE,
       CLI_UI_FORMAT, CLI_UI_FILTER, CLI_UI_LAYER };

#define CLI_UI_LONG_OPTIONS                                                                                        \
    {"no-color", 0, 0, CLI_UI_NO_COLOR}, {"ascii", 0, 0, CLI_UI_ASCII}, {"interval", 1, 0, CLI_UI_INTERVAL},     \
        {"max-iterations", 1, 0, CLI_UI_MAX_ITER}, {"view", 1, 0, CLI_UI_VIEW}, {"gpus", 1, 0, CLI_UI_GPUS},      \
        {"once", 0, 0, CLI_UI_ONCE}, {"format", 1, 0, CLI_UI_FORMAT}, {"filter", 1, 0, CLI_UI_FILTER},            \
        {"layer", 1, 0, CLI_UI_LAYER}

extern const char CLI_UI_HELP[];

void cli_ui_opts_init(ui_opts *o);
/* If ch is one of the options, applies it and returns true (*rc = 0, or XQ_EINPUT after printing the error). */
bool cli_ui_opt(const char *cmd, int ch, const char *arg, ui_opts *o, int *rc);
/* XQ_EINPUT (printed) when --layer or a layer of --filter is not one of the run's n_layer layers. */
int cli_ui_check_layers(const char *cmd, const ui_opts *o, int n_layer);

#endif
