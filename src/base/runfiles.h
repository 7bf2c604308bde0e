/* The files one run reads and writes, so that an output never lands on an input of the same run (the model, a
 * text, a trace) nor on another of its outputs. Inputs are noted where they are opened; an output is checked
 * before anything is written to it. A file is known by device and inode, so a second name for it (a symlink,
 * a hard link, "./x") is caught too; an output that does not exist yet is known by its folder's device and
 * inode and its name. "-" (stdout) is never an input or a claimed output. Thread-safe.
 * Nothing is noted until a program turns the guard on: the command line does, for its one run; a library user
 * (a test) that writes a file it read earlier in the process is not refused. */
#ifndef XQ_BASE_RUNFILES_H
#define XQ_BASE_RUNFILES_H

#include <stdbool.h>

#include "base/status.h"

/* Turns noting and claiming on (or off). */
void xq_files_guard(bool on);
/* Notes an input that was opened; kind says what it is ("GGUF", "trace", "text"), for the message. A path
 * that cannot be stat'ed is not noted. Noting one file twice keeps the first. */
void xq_files_note_input(const char *path, const char *kind);
/* Undoes a note: for a file opened only to check what it is, which the run then writes (eval --trace). */
void xq_files_forget_input(const char *path);
/* XQ_EINPUT "<path>: is also an input of this run (<kind> <input path>)" if path is a noted input. */
int xq_files_check_output(const char *path, xq_err *err);
/* The check above, then path is claimed as an output named by flag ("--csv"): a later claim of the same file
 * fails with XQ_EINPUT "<path>: is also an output of this run (<flag> <path>)". */
int xq_files_claim_output(const char *path, const char *flag, xq_err *err);
/* Forgets every note and claim (tests). */
void xq_files_reset(void);

#endif
