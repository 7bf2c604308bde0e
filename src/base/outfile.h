/* Output files that are never left half-written: data goes to a temporary file beside the target, which is
 * flushed, fsync'ed and renamed over the target only once complete; on any failure the temporary is removed and
 * the target keeps whatever it held before. "-" means standard output, and an existing path that is not a regular
 * file (/dev/null, a FIFO) is written in place: renaming over it would replace the device with a file.
 * A target that is an input of the run (base/runfiles.h) is refused. While a temporary is open, SIGINT, SIGTERM
 * and SIGHUP remove it before the process dies of them, unless the program has its own handler for the signal
 * (then it stops cleanly and aborts its files itself); a signal it ignores stays ignored. */
#ifndef XQ_BASE_OUTFILE_H
#define XQ_BASE_OUTFILE_H

#include <stdio.h>

#include "base/status.h"

typedef struct xq_outfile {
    FILE *f;          /* write here */
    const char *path; /* the target, or "-" */
    char tmp[4096];   /* the temporary's name ("" for stdout or once done) */
    int slot;         /* 1 + its place in the table the signal handler cleans, 0 if not there */
} xq_outfile;

/* Opens the temporary (or takes stdout). XQ_ERUN "<path>: cannot write: <why>" on failure; XQ_EINPUT for an
 * empty path, a folder, or an input of this run. */
int xq_out_open(xq_outfile *o, const char *path, xq_err *err);
/* Completes the file: flush, fsync, close, rename. On failure the temporary is removed. */
int xq_out_commit(xq_outfile *o, xq_err *err);
/* Drops the temporary after an earlier error. Safe after a failed open, a commit, or twice. */
void xq_out_abort(xq_outfile *o);

#endif
