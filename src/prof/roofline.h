/* The CPU's own roofline, measured: peak FLOP/s of an FMA loop (fp32, at 1 thread and at the engine's thread
 * count) and streaming read bandwidth over a buffer well beyond the last-level cache. Measured once per machine
 * and thread count in ≤ 2 s, cached in ${XDG_CACHE_HOME:-~/.cache}/xqprof/roofline.tsv, and run on a
 * background thread so that it never delays the first step. Utilization = achieved ÷ this measured peak. */
#ifndef XQ_PROF_ROOFLINE_H
#define XQ_PROF_ROOFLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct prof_roofline {
    int threads;
    double peak_flops;       /* fp32 FMA loop, `threads` threads */
    double peak_flops_1t;    /* the same on one thread */
    double read_bytes_per_s; /* streaming read, `threads` threads */
    double seconds;          /* how long the measurement took */
    char measured_at[32];    /* UTC, ISO 8601 */
    char cpu_name[128];
    int cores;            /* online CPUs */
    int64_t memory_bytes; /* physical memory */
    bool from_cache;
    bool contended; /* measured while the machine was busy (wall ≫ CPU time): not cached */
} prof_roofline;

/* Measures now at normal priority (≤ 2 s). Returns 0, or −1 if memory for the bandwidth buffer or threads
 * were not available. */
int prof_roofline_measure(int threads, prof_roofline *out);
/* Looks the machine and thread count up in the cache file; 0 if found. */
int prof_roofline_load(int threads, prof_roofline *out);
/* Appends a measurement to the cache file (best effort: 0, or −1 if it cannot be written). */
int prof_roofline_save(const prof_roofline *r);

/* ${XDG_CACHE_HOME:-$HOME/.cache}/xqprof into buf, creating it; NULL if there is no such place. */
const char *prof_cache_dir(char *buf, size_t size);

/* Calibration on a background thread at idle priority: from the cache when present, else measured, and cached
 * unless contended. */
typedef struct prof_calib prof_calib;
prof_calib *prof_calib_start(int threads);
/* True once a result is ready (copied to out). */
bool prof_calib_poll(prof_calib *c, prof_roofline *out);
/* Waits up to timeout_ns for the result. */
bool prof_calib_wait(prof_calib *c, int64_t timeout_ns, prof_roofline *out);
/* For the end of a run, when the engine is idle: waits up to timeout_ns, and if the background measurement
 * was contended or failed, measures again now at normal priority (≤ 2 s). */
bool prof_calib_finish(prof_calib *c, int64_t timeout_ns, prof_roofline *out);
void prof_calib_destroy(prof_calib *c);

#endif
