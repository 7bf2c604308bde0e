/* Progress of long work done below the command line (the SVD factors of a large model take a minute), reported
 * through one hook the program installs: the CLI draws a bar on a terminal, the TUI writes its status line.
 * Without a hook nothing is reported. The hook is called on the thread doing the work. */
#ifndef XQ_BASE_PROGRESS_H
#define XQ_BASE_PROGRESS_H

#include <stdint.h>

/* what: a short label ("SVD factors"); done of total units; done == total is the last call of that work. */
typedef void (*xq_progress_fn)(void *ctx, const char *what, int64_t done, int64_t total);

/* Installs fn (NULL: none); returns the hook it replaces, so a caller can restore it. */
xq_progress_fn xq_progress_hook(xq_progress_fn fn, void *ctx, void **old_ctx);
void xq_progress(const char *what, int64_t done, int64_t total);

#endif
