/* A live source: fills a ui_data from a running profiler's snapshot and, when nobody else consumes its record
 * queue (no --trace), from its op records too, which give each step's split by op class for the Timeline. */
#ifndef XQ_UI_LIVE_H
#define XQ_UI_LIVE_H

#include <stdbool.h>

#include "cache/cache.h"
#include "prof/prof.h"
#include "ui/data.h"

typedef struct ui_live ui_live;

/* drain: this source is the consumer of the profiler's queue (only when no trace writer is). cache may be NULL
 * (no per-layer cache bytes). NULL if out of memory. */
ui_live *ui_live_create(prof *p, const cache *c, bool drain);
void ui_live_destroy(ui_live *l);
/* Updates d from the latest snapshot; true when it changed. Also samples decode tokens/s into d's history. */
bool ui_live_poll(ui_live *l, ui_data *d);

#endif
