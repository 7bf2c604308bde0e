/* The planner's candidates, the paper's accuracy table, and the ranking. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/plan.h"

/* XQUANT.md §5: WikiText-2 perplexity, fp16 first. Mode names are those of the MHA model (llama2-7b); on the
 * GQA models the paper's XQuant rows are the SVD variants (see paper_mode). */
typedef struct paper_row {
    const char *mode;
    double ppl[3]; /* llama2-7b, llama3-8b, mistral-7b; NAN: not reported */
} paper_row;

static const char *const paper_shapes[3] = {"llama2-7b", "llama3-8b", "mistral-7b"};
/* clang-format off */
static const paper_row paper[] = {
    {"fp16", {5.47, 6.24, 5.32}},   {"kv-4", {5.49, 6.31, 5.34}},   {"kv-2", {6.42, 9.95, 6.36}},
    {"xq-4", {5.54, 6.28, 5.33}},   {"xq-2", {NAN, 7.74, 5.79}},    {"xq-cl-3", {5.48, 6.32, 5.34}},
    {"xq-cl-2", {5.57, 6.60, 5.46}},
};
/* clang-format on */
enum { N_PAPER = sizeof paper / sizeof paper[0] };

/* The paper's name for our mode on this model: on GQA models its XQuant is our xq-svd, its CL our xq-cl-svd. */
static void paper_mode(const gpu_mode *mode, int shape, char *buf, size_t size)
{
    const char *name = mode->name;
    bool gqa = shape > 0;
    buf[0] = 0;
    if (mode->family == GPU_XQ_SVD && gqa)
        snprintf(buf, size, "xq-%d", mode->bits);
    else if (mode->family == GPU_XQ_CL_SVD && gqa)
        snprintf(buf, size, "xq-cl-%d", mode->bits);
    else if ((mode->family == GPU_XQ || mode->family == GPU_XQ_CL) && !gqa)
        snprintf(buf, size, "%s", name);
    else if (mode->family == GPU_KV || mode->family == GPU_FP16)
        snprintf(buf, size, "%s", name);
}

double gpu_paper_dppl(const char *shape, const gpu_mode *mode)
{
    int col = -1;
    for (int i = 0; i < 3; i++)
        if (shape && strcmp(shape, paper_shapes[i]) == 0) col = i;
    /* Published only at the defaults: group 128, no extra 4-bit layers outside CL's three. */
    bool cl = mode->family == GPU_XQ_CL || mode->family == GPU_XQ_CL_SVD;
    if (col < 0 || mode->group != 128 || mode->hi_layers != (cl ? 3 : 0)) return NAN;
    char name[32];
    paper_mode(mode, col, name, sizeof name);
    for (int i = 0; name[0] && i < N_PAPER; i++)
        if (strcmp(paper[i].mode, name) == 0) return paper[i].ppl[col] - paper[0].ppl[col];
    return NAN;
}

static int add_mode(const char *name, gpu_mode *out, int n, int cap)
{
    xq_err err;
    if (n < cap && gpu_mode_parse(name, 0, -1, &out[n], &err) == XQ_OK) return n + 1;
    return n;
}

int gpu_plan_candidates(const gpu_model *m, gpu_mode *out, int cap)
{
    static const char *const always[] = {"fp16", "kv-q8_0", "kv-q4_0", "kv-8", "kv-4",    "kv-3",    "kv-2",
                                         "xq-8", "xq-4",    "xq-3",    "xq-2", "xq-cl-4", "xq-cl-3", "xq-cl-2"};
    static const char *const gqa[] = {"xq-svd-8",    "xq-svd-4",    "xq-svd-3",   "xq-svd-2",
                                      "xq-cl-svd-4", "xq-cl-svd-3", "xq-cl-svd-2"};
    int n = 0;
    for (size_t i = 0; i < sizeof always / sizeof always[0]; i++)
        n = add_mode(always[i], out, n, cap);
    if (m->d_kv < m->d)
        for (size_t i = 0; i < sizeof gqa / sizeof gqa[0]; i++)
            n = add_mode(gqa[i], out, n, cap);
    return n;
}

static int compare_entries(const void *pa, const void *pb)
{
    const gpu_plan_entry *a = pa, *b = pb;
    if (a->eligible != b->eligible) return a->eligible ? -1 : 1;
    if (a->result.tokens_per_s != b->result.tokens_per_s)
        return a->result.tokens_per_s > b->result.tokens_per_s ? -1 : 1;
    if (a->result.cache_bytes != b->result.cache_bytes) return a->result.cache_bytes < b->result.cache_bytes ? -1 : 1;
    return strcmp(a->mode.name, b->mode.name);
}

static double measured_dppl(const gpu_dppl_table *t, const gpu_mode *mode)
{
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->modes[i], mode->name)) return t->dppl[i];
    return NAN;
}

int gpu_plan(const gpu_spec *g, const gpu_model *m, const gpu_setting *s, const gpu_options *o, double max_dppl,
             const gpu_dppl_table *measured, gpu_plan_entry *out, int cap, xq_err *err)
{
    gpu_mode modes[GPU_PLAN_MAX];
    int n = gpu_plan_candidates(m, modes, cap < GPU_PLAN_MAX ? cap : GPU_PLAN_MAX);
    for (int i = 0; i < n; i++) {
        gpu_plan_entry *e = &out[i];
        e->mode = modes[i];
        if (gpu_project(g, m, &modes[i], s, o, &e->result, err)) return -1;
        e->dppl = measured ? measured_dppl(measured, &modes[i]) : gpu_paper_dppl(m->name, &modes[i]);
        e->within_budget = max_dppl < 0 || (!isnan(e->dppl) && e->dppl <= max_dppl + 1e-9);
        e->eligible = e->result.fits && e->within_budget;
    }
    qsort(out, (size_t)n, sizeof *out, compare_entries);
    return n;
}
