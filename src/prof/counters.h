/* Hardware counters of this process (cycles, instructions, LLC misses) through perf_event_open, user space
 * only, inherited by threads created after opening (so open before the engine's thread pool starts).
 * Where the kernel refuses (no PMU in a VM, perf_event_paranoid, seccomp), each counter says why, and reads
 * give −1: a trace records "not available", never zeros. */
#ifndef XQ_PROF_COUNTERS_H
#define XQ_PROF_COUNTERS_H

#include <stdbool.h>
#include <stdint.h>

#include "prof/record.h"

typedef struct prof_counters {
    int fd[PROF_CTR_COUNT]; /* −1 when not available */
    char status[256];       /* "available" or "cycles: not available (reason); …" */
} prof_counters;

void prof_counters_open(prof_counters *c);
/* Current totals; −1 for counters that are not available. */
void prof_counters_read(const prof_counters *c, int64_t out[PROF_CTR_COUNT]);
void prof_counters_close(prof_counters *c);
bool prof_counters_any(const prof_counters *c);
const char *prof_counter_name(int i);

#endif
