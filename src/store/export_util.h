/* Helpers shared by the exporters (store-private): row iteration with paging, JSON and CSV quoting. */
#ifndef XQ_STORE_EXPORT_UTIL_H
#define XQ_STORE_EXPORT_UTIL_H

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>

#include "base/status.h"
#include "store/reader.h"

/* Called per row; returns 0 to go on. */
typedef int (*export_row_fn)(void *user, sqlite3_stmt *row);

/* Runs sql with ?1 bound to run, calling fn per row. */
int export_rows(store_reader *r, const char *sql, int64_t run, export_row_fn fn, void *user, xq_err *err);
/* Pages through a big table: sql has ?1 = run, ?2 = last key seen, ?3 = page size, and its first column is the
 * key (a rowid, ascending). Each page is its own short read transaction. */
int export_paged(store_reader *r, const char *sql, int64_t run, export_row_fn fn, void *user, xq_err *err);

/* A JSON string literal (quotes included); invalid UTF-8 bytes become U+FFFD. NULL prints null. */
void export_json_string(FILE *out, const char *s);
/* A CSV field: quoted when it holds a comma, a quote or a line break (RFC 4180). */
void export_csv_field(FILE *out, sqlite3_stmt *row, int col);

/* XQ_ERUN "cannot write <what>" if out has an error. */
int export_check_write(FILE *out, const char *what, xq_err *err);

#endif
