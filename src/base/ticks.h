/* A cheap tick counter for timing many short spans. On x86 where the kernel itself keeps time with the TSC
 * (clocksource "tsc": invariant and synchronized across cores) a tick is one TSC count, read in a few ns;
 * elsewhere a tick is a nanosecond of the monotonic clock (clock_gettime, ~20 ns through the vDSO). The
 * profiler reads two per span, which made the clock two thirds of its cost per span; it converts ticks to
 * nanoseconds with a rate it measures against the monotonic clock (src/prof/prof.c). */
#ifndef XQ_BASE_TICKS_H
#define XQ_BASE_TICKS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/clock.h"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

extern bool xq_ticks_tsc; /* set by xq_ticks_init */

/* Decides once (thread-safe, idempotent) whether ticks are TSC counts; returns xq_ticks_tsc. XQ_NO_TSC=1 in the
 * environment forces the monotonic clock (tests cover both). */
bool xq_ticks_init(void);

static inline int64_t xq_ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
    if (xq_ticks_tsc) return (int64_t)__rdtsc();
#endif
    return xq_now_ns();
}

#endif
