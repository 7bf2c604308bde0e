/* The trace file, reader side: a read-only connection for exports, the TUI and comparisons. Reads are kept
 * short (exporters page through big tables in separate statements), so that a long export never holds a WAL
 * snapshot open and never starves the writer's checkpoints. */
#ifndef XQ_STORE_READER_H
#define XQ_STORE_READER_H

#include <sqlite3.h>
#include <stdint.h>

#include "base/status.h"

typedef struct store_reader store_reader;

/* XQ_EINPUT: missing, a folder or device, not SQLite, not ours, newer schema, or lacking a table, view or column of
 * its schema version. When the file is writable, op spans that a killed run left packed (op_pending) are first
 * built into op rows. */
int store_reader_open(const char *path, store_reader **out, xq_err *err);
void store_reader_close(store_reader *r);
sqlite3 *store_reader_db(store_reader *r);
const char *store_reader_path(const store_reader *r);
/* want ≤ 0: the latest run. XQ_EINPUT if the file has no such run, or if the run is damaged: a packed op span
 * block of a killed run that does not decode, or numbers outside their columns' ranges (store_check_run). */
int store_reader_resolve_run(store_reader *r, int64_t want, int64_t *run, xq_err *err);

#endif
