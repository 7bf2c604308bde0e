/* The trace file, writer side: one SQLite connection in WAL mode (readers never block it, nor it them) with
 * prepared statements for every insert. A run is a row of `run`; its steps, ops and metrics reference it.
 * Not thread-safe: one thread at a time (the trace writer thread while a run is live). */
#ifndef XQ_STORE_STORE_H
#define XQ_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "base/status.h"
#include "prof/prof.h"
#include "prof/record.h"
#include "prof/roofline.h"

typedef struct store store;

typedef struct store_run_info {
    const char *command, *version;
    const char *model_file, *model_name, *model_config_json;
    const char *cache_mode, *cache_params_json;
    int threads;
    int64_t n_ctx;
} store_run_info;

/* Creates the file or opens an existing trace to append a run, first building the op rows that a killed run left
 * packed (op_pending). XQ_EINPUT: not SQLite, not ours, newer schema, damaged packed spans; XQ_ERUN: cannot
 * create or write (read-only file or folder, disk full). */
int store_open(const char *path, store **out, xq_err *err);
/* Checkpoints the WAL into the main file and closes. */
void store_close(store *st);
const char *store_path(const store *st);

int store_run_begin(store *st, const store_run_info *info, int64_t *run_id, xq_err *err);
/* Final status (done, interrupted, failed), end time and the profiler's counts. */
int store_run_end(store *st, int64_t run, const char *status, const prof_stats *stats, const char *counters,
                  xq_err *err);
/* What is known only once the session exists: threads, context, the cache mode's name and parameters (JSON). */
int store_run_set_session(store *st, int64_t run, int threads, int64_t n_ctx, const char *cache_mode,
                          const char *cache_params_json, xq_err *err);
int store_run_set_sha256(store *st, int64_t run, const char *hex, xq_err *err);
/* Inserts (or reuses an identical) CPU device row and links it to the run. */
int store_run_set_device(store *st, int64_t run, const prof_roofline *r, xq_err *err);
int store_metric(store *st, int64_t run, const char *name, double value, xq_err *err);

/* Batched inserts: records between store_begin and store_commit land in one transaction. */
int store_begin(store *st, xq_err *err);
int store_commit(store *st, xq_err *err);
bool store_in_transaction(const store *st);
/* Deferred, the WAL is folded back into the file (a checkpoint: writing pages out, an fsync) only when it passes
 * 64 MiB or the owner calls store_checkpoint — the trace writer defers while the engine fills every core and
 * checkpoints in its pauses. Otherwise SQLite's rule: after the commit that takes the WAL past 1000 pages. */
void store_defer_checkpoints(store *st, bool defer);
void store_checkpoint(store *st);
/* Whether the WAL holds what SQLite's rule would have folded back by now (as of the last commit or checkpoint). */
bool store_checkpoint_due(const store *st);
/* A step's ops are inserted before its step row (which records their rowids). */
int store_insert_ops(store *st, int64_t run, const prof_op_rec *ops, size_t n, xq_err *err);
int store_insert_step(store *st, int64_t run, const prof_step_rec *step, xq_err *err);
/* The cheap alternative to store_insert_ops while the engine needs every core (schema.sql, op_pending): the ops
 * packed into one row; step is the step whose row follows them, or −1 when the batch ended mid-step. */
int store_insert_pending(store *st, int64_t run, const prof_op_rec *ops, size_t n, int64_t step, xq_err *err);
/* Builds the op rows of up to max_blocks pending blocks, oldest first, of run, sets their steps'
 * op_first/op_last and deletes the blocks: the rows end up as store_insert_ops would have written them. In the
 * caller's transaction; it goes on past max_blocks to the end of a step, and the blocks left stay decodable
 * without the deleted ones. *expanded: blocks done (fewer than max_blocks: none left). XQ_EINPUT when a block
 * is damaged. */
int store_expand_pending(store *st, int64_t run, size_t max_blocks, size_t *expanded, xq_err *err);
/* Up to max_blocks (SIZE_MAX: all) of run's pending blocks, in transactions of its
 * own (an open one is committed first); *more (may be NULL): some may remain. store_open does this for runs
 * whose writer was killed, the trace writer in a pause and at the end. */
int store_expand_all(store *st, int64_t run, size_t max_blocks, bool *more, xq_err *err);
/* Runs of the trace open as db whose op spans wait packed while their writer is gone (status 'running' and its
 * process on this host has exited, or a finished status); up to max ids into runs, returns the count. */
int store_orphaned_runs(sqlite3 *db, int64_t *runs, int max);
/* Whether run's writer is gone: its status is still 'running', but its process on this host has exited (SIGKILL,
 * a crash). False when it may be alive (another host's, or a version 1 file without run.pid) or the run ended. */
bool store_run_writer_gone(sqlite3 *db, int64_t run);
/* The status to show for run: its recorded one, but STORE_STATUS_GONE for a 'running' run whose writer is gone. */
#define STORE_STATUS_GONE "killed: writer gone"
const char *store_run_status_shown(sqlite3 *db, int64_t run, const char *recorded);
/* Decodes run's pending blocks without writing: *rowid = the first that is damaged, 0 when all decode. An SQLite
 * result code. */
int store_first_damaged_block(sqlite3 *db, int64_t run, int64_t *rowid);

#endif
