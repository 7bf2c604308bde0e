/* The planner: every cache mode the model admits, projected at one setting, ranked by tokens/s among those that
 * fit in memory and stay within an accuracy budget. Accuracy comes from the paper's published perplexities
 * (XQUANT.md §5, WikiText-2) for the shapes it reports — llama2-7b, llama3-8b (Llama-3.1-8B), mistral-7b — until
 * eval traces carry our own measurements. */
#ifndef XQ_GPU_PLAN_H
#define XQ_GPU_PLAN_H

#include <stdbool.h>

#include "gpu/project.h"

enum { GPU_PLAN_MAX = 32 };

typedef struct gpu_plan_entry {
    gpu_mode mode;
    gpu_result result;
    double dppl;        /* Δppl against fp16 from the paper; NAN if it reports none for this mode and model */
    bool within_budget; /* no budget, or a known Δppl ≤ budget */
    bool eligible;      /* fits and within budget */
} gpu_plan_entry;

/* The candidate modes for a model: fp16, kv-q8_0, kv-q4_0, kv-E, xq-E, xq-cl-E, and for GQA models xq-svd-E
 * and xq-cl-svd-E (the SVD latent only pays when d_kv < d). Returns the count. */
int gpu_plan_candidates(const gpu_model *m, gpu_mode *out, int cap);

/* The paper's Δppl for a named shape and mode (XQuant is xq-E on MHA and xq-svd-E on GQA, XQuant-CL likewise),
 * or NAN. */
double gpu_paper_dppl(const char *shape, const gpu_mode *mode);

/* Δppl measured by `xqprof eval` per mode name, replacing the paper's numbers; modes it lacks have none. */
typedef struct gpu_dppl_table {
    int n;
    const char *const *modes;
    const double *dppl;
} gpu_dppl_table;

/* Projects every candidate and sorts: eligible entries first by tokens/s (ties: less cache), then the rest by
 * tokens/s. max_dppl < 0: no accuracy budget. measured NULL: the paper's Δppl. Returns the number of entries,
 * or −1 with err set. */
int gpu_plan(const gpu_spec *g, const gpu_model *m, const gpu_setting *s, const gpu_options *o, double max_dppl,
             const gpu_dppl_table *measured, gpu_plan_entry *out, int cap, xq_err *err);

#endif
