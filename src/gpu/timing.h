/* Roofline timing of ops, shared by the projection from model shapes (project.c) and from recorded runs
 * (project_run.c); private to src/gpu. An op's time is max(compute, memory, link) + launches, each term divided
 * by its op class's efficiency factor; with --overlap, the ops of a layer are timed as one (their terms summed
 * first, then the max). */
#ifndef XQ_GPU_TIMING_H
#define XQ_GPU_TIMING_H

#include <stdbool.h>

#include "gpu/project.h"

typedef struct gpu_op_cost {
    gpu_op_class cls;
    double tensor_flops; /* at the tensor peak (the FMA peak on a CPU) */
    double elem_flops;   /* at the FP32 peak */
    double hbm_bytes, l2_bytes, link_bytes;
    int kernels;
} gpu_op_cost;

typedef struct gpu_op_terms {
    double compute, memory, link, launch;
} gpu_op_terms;

typedef struct gpu_timer {
    const gpu_spec *g;
    const gpu_options *o;
    gpu_result *r;
    bool in_layer;
    gpu_op_terms layer; /* --overlap: the layer's terms so far */
} gpu_timer;

/* Adds one op's time (or, inside a layer with --overlap, its terms) and its FLOPs, bytes and kernels to t->r. */
void gpu_timer_add(gpu_timer *t, const gpu_op_cost *p);
void gpu_timer_begin_layer(gpu_timer *t);
void gpu_timer_end_layer(gpu_timer *t);

/* Launch overhead per kernel in µs: --launch-us, else 3 on a GPU and 0 on the measured CPU (no launches: pool
 * hand-offs are inside the measured op times the factors come from). */
double gpu_timer_launch_us(const gpu_spec *g, const gpu_options *o);

#endif
