/* perf_event_open counters of counters.h. One fd per counter rather than a group: the kernel refuses
 * PERF_FORMAT_GROUP together with inherit, and inherit is what lets the pool's threads be counted. */
#include "prof/counters.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *const counter_names[PROF_CTR_COUNT] = {"cycles", "instructions", "llc_misses"};

const char *prof_counter_name(int i)
{
    return (i >= 0 && i < PROF_CTR_COUNT) ? counter_names[i] : "?";
}

static int open_counter(uint64_t config)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_HARDWARE;
    a.config = config;
    a.exclude_kernel = 1; /* allowed at perf_event_paranoid 2 */
    a.exclude_hv = 1;
    a.inherit = 1;
    return (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
}

static const char *why_not(int errnum)
{
    switch (errnum) {
    case ENOENT:
    case ENODEV:
    case EOPNOTSUPP: return "no hardware counter (no PMU, e.g. a VM)";
    case EACCES:
    case EPERM: return "denied (kernel.perf_event_paranoid or seccomp)";
    case ENOSYS: return "no perf_event_open in this kernel";
    default: return strerror(errnum);
    }
}

void prof_counters_open(prof_counters *c)
{
    static const uint64_t configs[PROF_CTR_COUNT] = {PERF_COUNT_HW_CPU_CYCLES, PERF_COUNT_HW_INSTRUCTIONS,
                                                     PERF_COUNT_HW_CACHE_MISSES};
    size_t used = 0;
    c->status[0] = 0;
    for (int i = 0; i < PROF_CTR_COUNT; i++) {
        c->fd[i] = open_counter(configs[i]);
        if (c->fd[i] >= 0) continue;
        int n = snprintf(c->status + used, sizeof c->status - used, "%s%s: not available (%s)", used ? "; " : "",
                         counter_names[i], why_not(errno));
        if (n > 0 && (size_t)n < sizeof c->status - used) used += (size_t)n;
    }
    if (!used) snprintf(c->status, sizeof c->status, "available");
}

void prof_counters_read(const prof_counters *c, int64_t out[PROF_CTR_COUNT])
{
    for (int i = 0; i < PROF_CTR_COUNT; i++) {
        uint64_t v = 0;
        out[i] = (c->fd[i] >= 0 && read(c->fd[i], &v, sizeof v) == (ssize_t)sizeof v) ? (int64_t)v : -1;
    }
}

void prof_counters_close(prof_counters *c)
{
    for (int i = 0; i < PROF_CTR_COUNT; i++) {
        if (c->fd[i] >= 0) close(c->fd[i]);
        c->fd[i] = -1;
    }
}

bool prof_counters_any(const prof_counters *c)
{
    for (int i = 0; i < PROF_CTR_COUNT; i++)
        if (c->fd[i] >= 0) return true;
    return false;
}
