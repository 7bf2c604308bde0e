/* The cache-mode parameters shared by the commands that run the model (generate, ppl, eval, and later bench and
 * top): --group, --window, --hi-layers, --fp16-ch0, --absorb-v (XQUANT.md §2). The mode itself comes from the
 * command's --cache (or each entry of eval's --modes). */
#ifndef XQ_CLI_CACHE_OPTS_H
#define XQ_CLI_CACHE_OPTS_H

#include <stdbool.h>

#include "cache/cache.h"

typedef struct cli_cache_opts {
    long long group, window, hi_layers; /* −1: the mode's default */
    bool fp16_ch0, absorb_v;
} cli_cache_opts;

/* getopt_long ids of the options (above the ids the commands use for their own long options). */
enum { CLI_OPT_GROUP = 300, CLI_OPT_WINDOW, CLI_OPT_HI_LAYERS, CLI_OPT_FP16_CH0, CLI_OPT_ABSORB_V };

#define CLI_CACHE_LONG_OPTIONS                                                                                     \
    {"group", 1, 0, CLI_OPT_GROUP}, {"window", 1, 0, CLI_OPT_WINDOW}, {"hi-layers", 1, 0, CLI_OPT_HI_LAYERS},     \
        {"fp16-ch0", 0, 0, CLI_OPT_FP16_CH0}, {"absorb-v", 0, 0, CLI_OPT_ABSORB_V}

/* The help lines of the options, and of the mode names. */
extern const char CLI_CACHE_HELP[];
extern const char CLI_CACHE_MODES_HELP[];

void cli_cache_opts_init(cli_cache_opts *o);
/* If ch is one of the options, applies it and returns true (*rc = 0, or XQ_EINPUT after printing the error). */
bool cli_cache_opt(const char *cmd, int ch, const char *arg, cli_cache_opts *o, int *rc);
/* Parses a mode name and applies the options; prints the error and returns XQ_EINPUT when it is not valid. */
int cli_cache_params(const char *cmd, const char *mode, const cli_cache_opts *o, cache_params *out);
/* Checks parameters against a loaded model (GQA for the SVD modes …); prints the error, returns XQ_EINPUT. */
int cli_cache_check(const char *cmd, const cache_params *p, const model *m);

/* One stderr line: the mode, its bytes per token against fp16 K+V, and the SVD time when factors were computed. */
void cli_cache_report(const char *cmd, const cache *c);

#endif
