/* The trace schema (traces/schema.sql, embedded at build time) and the checks every opener runs: the file is
 * an SQLite database, it is ours (PRAGMA application_id), and its PRAGMA user_version is not newer than this
 * build's. A writer creates the schema in a new file and upgrades an older one by forward migrations. */
#ifndef XQ_STORE_SCHEMA_H
#define XQ_STORE_SCHEMA_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"

/* Parsed from the embedded schema text. */
int store_schema_version(void);
int32_t store_application_id(void);
const char *store_schema_text(void);

/* Checks (and, if writable, creates or migrates) the schema of an open database. Errors: XQ_EINPUT for a file
 * that is not SQLite, not ours, newer, or lacks a table, view or column that its version has ("damaged trace");
 * XQ_ERUN for an I/O failure. Messages start with path. */
int store_schema_prepare(sqlite3 *db, const char *path, bool writable, xq_err *err);

/* "<path>: <what>: <sqlite's message>", with XQ_EINPUT for SQLITE_NOTADB and XQ_ERUN otherwise. */
int store_sqlite_fail(sqlite3 *db, int rc, const char *path, const char *what, xq_err *err);
/* The first column of the first row of sql (a PRAGMA, a count) into *out; an SQLite result code. */
int store_query_int(sqlite3 *db, const char *sql, long long *out);

#endif
