/* The trace writer thread: drains a profiler's queue into the store in batched transactions, committed at
 * least every COMMIT_NS (so a killed process loses at most that much), and fills in what arrives late — the
 * CPU roofline once calibration ends, the model file's SHA-256 a slice at a time. The engine never waits for
 * it. After a write error (disk full …) it keeps draining and discards, so inference is unaffected; the error
 * is returned by store_writer_finish. */
#ifndef XQ_STORE_WRITER_H
#define XQ_STORE_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"
#include "prof/prof.h"
#include "store/store.h"

typedef struct store_writer store_writer;

#define WRITER_THREAD_NAME "xqprof-writer" /* the writer thread's name (/proc/self/task/TID/comm) */

/* model_file may be NULL (no hash). The store is used only by the writer thread until finish returns. */
int store_writer_start(store *st, int64_t run, prof *p, const char *model_file, store_writer **out, xq_err *err);
/* Whether op spans are being packed (the engine's threads fill every core), to be built into rows by finish. */
bool store_writer_packing(const store_writer *w);
/* The engine is working although no spans arrive (its sink switched off for a while): packed ops are not built
 * into rows meanwhile, as they would be in a pause (used by the overhead measurement). */
void store_writer_set_busy(store_writer *w, bool busy);
/* Drains everything, waits (≤ 2.5 s) for a calibration still running, records the hash and the run's final
 * status and counts, commits and joins. Returns the first write error, if any. Frees w. */
int store_writer_finish(store_writer *w, const char *status, xq_err *err);

#endif
