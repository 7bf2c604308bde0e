/* Shared helpers of the subcommands: argument parsing with one-line errors, model loading, files. */
#ifndef XQ_CLI_COMMON_H
#define XQ_CLI_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/outfile.h"
#include "base/status.h"
#include "model/model.h"

/* Prints "xqprof: <cmd>: <message>" to stderr and returns the code (XQ_EINPUT for usage errors). */
int cli_error(int code, const char *cmd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prints "xqprof: <err->msg>" and returns err->code. */
int cli_report(const xq_err *err);
/* The default branch of a command's getopt_long switch, once its own options and its option groups (cache, ui)
 * declined ch: a value missing (ch ':') or an unknown option, as one line; returns the exit code. */
int cli_bad_option(const char *cmd, int ch, char **argv);

/* The value of "--flag VALUE" or "--flag=VALUE" at argv[*i] (advancing *i); NULL if argv[*i] is another flag.
 * *missing is set when the flag is there but its value is not. */
const char *cli_flag_value(int argc, char **argv, int *i, const char *flag, bool *missing);

/* Integer / float option values within [lo, hi]; on failure prints the error and returns XQ_EINPUT. */
int cli_int(const char *cmd, const char *flag, const char *val, long long lo, long long hi, long long *out);
int cli_float(const char *cmd, const char *flag, const char *val, double lo, double hi, double *out);

/* -m default: $XQPROF_MODEL, else models/default.gguf next to the binary's project, else in the user cache. */
const char *cli_default_model(void);
/* Loads a model, printing the error on failure. Prints load time to stderr unless quiet. */
int cli_load_model(const char *path, bool quiet, model **out);
/* Loads only the tokenizer of a model or vocabulary-only file. */
int cli_load_vocab(const char *path, model **out);
/* The largest text cli_read_file takes: far above any evaluation text, far below what the tokens of it take. */
#define CLI_MAX_FILE_BYTES (256 << 20)
/* Reads a whole file (or what a pipe holds) into a nul-terminated buffer and notes it as an input of the run
 * (base/runfiles.h). XQ_EINPUT if missing, unreadable, not a regular file or pipe (a device never ends), or
 * over CLI_MAX_FILE_BYTES. */
int cli_read_file(const char *path, char **data, size_t *len, xq_err *err);

/* Tokenizes text with the BOS rule (XQUANT.md §3) unless no_bos; parse_special as llama.cpp's tools do.
 * Returns a malloc'd array and its length, or an error (XQ_EINPUT "text is not valid UTF-8 at byte N": the
 * caller prefixes where the text came from). */
int cli_tokenize(const model *m, const char *text, size_t len, bool no_bos, bool parse_special, int32_t **ids,
                 int64_t *n, xq_err *err);

/* "<cmd>: note: ..." on stderr when n_ctx goes past the model's trained context (a number is still computed,
 * but not one the model was trained to give). */
void cli_note_past_trained(const char *cmd, const model *m, int64_t n_ctx);

/* Progress bar on stderr (only when stderr is a terminal): "label [#####.....] 12/40 extra". */
void cli_progress(const char *label, int64_t done, int64_t total, const char *extra);
void cli_progress_done(void);
/* Draws the progress that lower layers report (base/progress.h) as the same bar on stderr. */
void cli_progress_install(void);

/* Output files through base/outfile.h, errors printed as "xqprof: <cmd>: <path>: …". */
int cli_out_open(xq_outfile *o, const char *cmd, const char *path);
int cli_out_commit(xq_outfile *o, const char *cmd);

/* Whether path can be an output of the run, checked before the work rather than after it: not empty, not a
 * folder, its folder writable ("<cmd>: <flag> <path>: cannot write into <folder>: <why>"), not an input of the
 * run nor an output already claimed (base/runfiles.h); then claims it. "-" (stdout) passes. XQ_EINPUT. */
int cli_check_output(const char *cmd, const char *flag, const char *path);
/* An input named on the command line: refuses an empty name, notes the file as an input of the run (when it
 * exists; a missing one is reported where it is opened), so that outputs checked next cannot be it. */
int cli_check_input(const char *cmd, const char *flag, const char *path);

/* Resident set size of this process in bytes (0 if unknown). */
int64_t cli_rss_bytes(void);
/* The process's peak resident set so far (getrusage), in bytes (0 if unknown). */
int64_t cli_peak_rss_bytes(void);

/* True once SIGINT/SIGTERM arrived (after cli_catch_signals). */
void cli_catch_signals(void);
bool cli_interrupted(void);

#endif
