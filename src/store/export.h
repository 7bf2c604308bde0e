/* Exporters of one run of a trace: Chrome Trace Event JSON (Perfetto, chrome://tracing, Holistic Trace
 * Analysis), CSV per table, and a Markdown report. All stream rows to `out` in bounded memory: big tables are
 * read a page at a time. Write failures are XQ_ERUN. */
#ifndef XQ_STORE_EXPORT_H
#define XQ_STORE_EXPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/status.h"
#include "store/reader.h"

/* Complete events (ph "X", µs) for every step (track "steps", named ProfilerStep#N as PyTorch's profiler
 * names iterations) and every op (one track per layer, one for non-layer ops), counters (ph "C") for cache
 * bytes and tokens/s, and metadata naming the process and the tracks. */
int store_export_chrome(store_reader *r, int64_t run, FILE *out, xq_err *err);

/* The tables CSV can export, in export order. */
extern const char *const store_csv_tables[];
extern const int store_csv_table_count;
bool store_csv_table_known(const char *table);
/* One table's rows of the run (device: the run's device; op_kind: all), header first. */
int store_export_csv(store_reader *r, int64_t run, const char *table, FILE *out, xq_err *err);

/* Run configuration, totals, top ops, per-layer table, steps by phase. */
int store_export_md(store_reader *r, int64_t run, FILE *out, xq_err *err);

#endif
