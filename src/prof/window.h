/* Per-step aggregates over a sliding window: rows of `stride` prof_agg for the last PROF_WINDOW steps and their
 * running sum, updated in O(stride) per closed step. The profiler keeps one (layers and ops, for the live
 * snapshot); the live screen keeps one per (layer, op) cell. Which cell a row index means is the owner's. */
#ifndef XQ_PROF_WINDOW_H
#define XQ_PROF_WINDOW_H

#include <stdint.h>

#include "prof/prof.h"
#include "prof/record.h"

typedef struct prof_window {
    int stride, filled, next;
    prof_agg *slots, *sum, *cur; /* the ring of rows, their sum, the step being filled */
} prof_window;

/* 0, or −1 when out of memory. */
int prof_window_init(prof_window *w, int stride);
void prof_window_free(prof_window *w);
/* The current row joins the ring (the oldest leaves the sum once the ring is full); the current row is cleared. */
void prof_window_close_step(prof_window *w);

/* a += one op record (its self time, cost, and rebuild share). */
void prof_agg_add(prof_agg *a, const prof_op_rec *r);
/* a += sign · b, field by field. */
void prof_agg_combine(prof_agg *a, const prof_agg *b, int64_t sign);

#endif
