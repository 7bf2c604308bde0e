/* A recorded source: fills a ui_data from one run of a trace file (src/store's reader), whole-run aggregates
 * per layer and op, and the last UI_MAX_STEPS steps with their split by op class. */
#ifndef XQ_UI_TRACE_H
#define XQ_UI_TRACE_H

#include <stdint.h>

#include "base/status.h"
#include "ui/data.h"

/* run ≤ 0: the latest run. XQ_EINPUT: missing, not a trace, no such run. */
int ui_trace_load(const char *path, int64_t run, ui_data *d, xq_err *err);

#endif
