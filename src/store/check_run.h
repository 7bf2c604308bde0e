/* Sanity checks of one run's recorded numbers, run by the readers before they use them (store_reader_resolve_run):
 * a trace edited or damaged outside xqprof must be refused in one line, not shown as negative times, absurd rates
 * or an SQLite "integer overflow" in whichever query meets the value first. */
#ifndef XQ_STORE_CHECK_RUN_H
#define XQ_STORE_CHECK_RUN_H

#include <sqlite3.h>
#include <stdint.h>

#include "base/status.h"

/* Every value the readers take from the run's op and step rows and its device row is a number of the column's
 * kind (durations, FLOP and byte counts: integers from 0 to below 2^60; op ids, depths, remat, layers: their
 * ranges; device peaks: finite, ≥ 0), and each count column of op and step adds up to below 2^60 over the run,
 * so that any sum of the readers (four byte columns at most) fits in 64 bits. XQ_EINPUT "<path>: damaged trace:
 * op row 17 of run 1: self_ns is -1 (…)" naming table, row and column; an SQLite failure as store_sqlite_fail. */
int store_check_run(sqlite3 *db, const char *path, int64_t run, xq_err *err);

#endif
