/* `--trace FILE` for the commands that run the model (generate, ppl, bench …): opens the trace store, starts
 * the profiler and the writer thread, and at the end records the run's final status. A NULL path means no
 * tracing: every function then does nothing, and cli_trace_sink returns NULL (the engine's null sink). */
#ifndef XQ_CLI_TRACE_H
#define XQ_CLI_TRACE_H

#include <stdint.h>

#include "base/span.h"
#include "engine/session.h"
#include "model/model.h"
#include "prof/prof.h"

typedef struct cli_trace cli_trace;

typedef struct cli_trace_info {
    int argc; /* the subcommand's argv (argv[0] = its name), recorded as the command line */
    char **argv;
    const model *m;
    const char *model_path;
    const char *cache_mode;
    const char *cache_params_json; /* NULL → "{}" */
    int threads;                   /* 0 → all cores */
    int64_t n_ctx;
} cli_trace_info;

/* Checks a --trace path before the work (cli_check_output, and no name SQLite keeps in memory: "", ":memory:",
 * "file:" URIs); prints the error and returns 2. path NULL: 0. */
int cli_trace_check(const char *cmd, const char *path);
/* Opens path (creating it, or appending a run) and catches SIGINT/SIGTERM. On failure prints the one-line error
 * and returns the exit code (2: not a trace or a newer one, a name SQLite keeps in memory, an input of this
 * run; 1: cannot write). path NULL: *out = NULL, 0. */
int cli_trace_open(const char *path, const cli_trace_info *info, cli_trace **out);
const span_sink *cli_trace_sink(cli_trace *t);
/* The profiler behind the sink (its live snapshot feeds `top`), or NULL. */
prof *cli_trace_prof(cli_trace *t);
/* Call once the session exists: each step then reports the cache's bytes. */
void cli_trace_bind(cli_trace *t, const session *s);
/* A result to store with the run (ppl …), written at close. */
void cli_trace_metric(cli_trace *t, const char *name, double value);
/* Flushes and closes; the run is 'done' (rc 0), 'interrupted' (a signal arrived) or 'failed'. Returns rc, or 1
 * when rc was 0 and the trace could not be written (the error is printed). Frees t. */
int cli_trace_close(cli_trace *t, int rc);

#endif
