/* Projection of a recorded run (project_run.h): the model and mode from the run's metadata, then each recorded
 * (layer, op) of a mean decode step rescaled and timed. */
#include "gpu/project_run.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gpu/timing.h"

enum { DEFAULT_TILE_TOKENS = 128 };

static int config_int(const store_run_meta *m, const char *key, int *out, xq_err *err)
{
    double v;
    if (!store_json_number(m->model_config, key, &v) || v < 0 || v > 1e9 || v != floor(v))
        return xq_fail(err, XQ_EINPUT, "%s run %lld: model_config has no valid '%s'", m->path, (long long)m->id, key);
    *out = (int)v;
    return XQ_OK;
}

static int dims_from_config(const store_run_meta *meta, gpu_model *g, xq_err *err)
{
    struct {
        const char *key;
        int *field;
    } keys[] = {
        {"n_layer", &g->n_layer},     {"n_embd", &g->d},          {"n_ff", &g->n_ff},      {"n_head", &g->n_head},
        {"n_head_kv", &g->n_head_kv}, {"head_dim", &g->head_dim}, {"n_vocab", &g->n_vocab}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        int rc = config_int(meta, keys[i].key, keys[i].field, err);
        if (rc) return rc;
    }
    if (g->n_layer < 1 || g->d < 1 || g->n_head < 1 || g->n_head_kv < 1 || g->head_dim < 1 || g->n_vocab < 1)
        return xq_fail(err, XQ_EINPUT, "%s run %lld: model_config has zero dimensions", meta->path,
                       (long long)meta->id);
    double tied = 0;
    store_json_number(meta->model_config, "tied_output", &tied);
    g->tied_output = tied != 0;
    g->d_kv = g->n_head_kv * g->head_dim;
    g->norm_bytes = 2.0 * 4 * g->d;
    g->out_norm_bytes = 4.0 * g->d;
    return XQ_OK;
}

/* Weight bytes of one layer's matrices, averaged over layers, from the matmul ops of a mean step. */
static void weights_from_ops(const store_profile *p, gpu_model *g)
{
    double per_token = p->totals.steps > 0 ? (double)p->totals.tokens / (double)p->totals.steps : 1;
    for (int i = 0; i < p->n_rows; i++) {
        const store_op_row *r = &p->rows[i];
        double w = r->bytes_weights / g->n_layer;
        if (!strcmp(r->name, "matmul_q"))
            g->wq_bytes += w;
        else if (!strcmp(r->name, "matmul_k"))
            g->wk_bytes += w;
        else if (!strcmp(r->name, "matmul_v"))
            g->wv_bytes += w;
        else if (!strcmp(r->name, "matmul_o"))
            g->wo_bytes += w;
        else if (!strncmp(r->name, "matmul_", 7))
            g->ffn_bytes += w;
        else if (!strcmp(r->name, "lm_head"))
            g->lm_head_bytes += r->bytes_weights;
        /* embed reads one row per token: the table is n_vocab such rows */
        else if (!strcmp(r->name, "embed"))
            g->embd_bytes += r->bytes_weights / per_token * g->n_vocab;
    }
    if (g->embd_bytes == 0) g->embd_bytes = g->lm_head_bytes;
}

int gpu_model_from_run(const store_profile *p, gpu_model *out, xq_err *err)
{
    memset(out, 0, sizeof *out);
    const store_run_meta *meta = &p->meta;
    snprintf(out->name, sizeof out->name, "%s", meta->model_name[0] ? meta->model_name : "recorded model");
    snprintf(out->weight_type, sizeof out->weight_type, "as recorded");
    if (!meta->model_config[0])
        return xq_fail(err, XQ_EINPUT, "%s run %lld: no model_config recorded", meta->path, (long long)meta->id);
    int rc = dims_from_config(meta, out, err);
    if (rc) return rc;
    weights_from_ops(p, out);
    if (out->wq_bytes <= 0 || out->ffn_bytes <= 0 || out->lm_head_bytes <= 0)
        return xq_fail(err, XQ_EINPUT, "%s run %lld: its %s steps hold no matmul or lm_head ops to project", meta->path,
                       (long long)meta->id, store_phase_name(p->phase));
    return XQ_OK;
}

int gpu_mode_from_run(const store_run_meta *m, gpu_mode *out, xq_err *err)
{
    double group = 0, hi = -1;
    store_json_number(m->cache_params, "group", &group);
    store_json_number(m->cache_params, "hi_layers", &hi);
    if (!m->cache_mode[0])
        return xq_fail(err, XQ_EINPUT, "%s run %lld: no cache mode recorded", m->path, (long long)m->id);
    int rc = gpu_mode_parse(m->cache_mode, (int)group, (int)hi, out, err);
    if (rc) xq_err_prefix(err, "recorded run");
    return rc;
}

/* How a recorded op grows from the recorded step to the target setting. */
typedef struct rescale {
    double ctx;   /* l / l0 */
    double tiles; /* ⌈l / tile⌉ / ⌈l0 / tile⌉ */
    double batch, tp;
    double kv;    /* KV heads per rank / KV heads */
    bool x_cache; /* the cache holds X or latents: every rank reads all of it */
} rescale;

static bool is_context_op(const char *name)
{
    return !strcmp(name, "attend") || !strcmp(name, "dequant") || !strcmp(name, "remat");
}

static void cost_of_row(const store_op_row *r, const rescale *k, gpu_op_cost *out)
{
    bool rebuild = !strcmp(r->name, "remat"), context = is_context_op(r->name);
    gpu_op_class cls = gpu_class_of_op(r->name);
    /* Element-wise work and the dequantization of X (read whole by every rank) repeat on every rank. */
    bool repeats = cls == GPU_CLASS_ELEMENTWISE || !strcmp(r->name, "dequant");
    double grow = rebuild ? k->tiles : context ? k->ctx : 1;
    double flops = r->flops * grow * k->batch;
    double weights = r->bytes_weights * (rebuild ? k->tiles : 1);
    double cache = (r->bytes_cache_read * (context ? k->ctx : 1) + r->bytes_cache_write) * k->batch;
    if (!repeats) flops /= k->tp; /* heads (attention, rebuild) or columns (GEMMs) split */
    if (cls == GPU_CLASS_GEMM || rebuild) weights /= k->tp;
    if (!k->x_cache) cache *= k->kv;
    *out = (gpu_op_cost){.cls = cls, .hbm_bytes = weights + cache};
    if (repeats)
        out->elem_flops = flops;
    else
        out->tensor_flops = flops;
    /* Tile by tile on the CPU; one kernel per layer on a GPU. */
    out->kernels = r->remat ? 1 : (int)lround(r->count);
}

static double tiles(double ctx, int tile)
{
    return ceil(ctx / tile);
}

static rescale rescale_of(const store_profile *p, const gpu_model *m, const gpu_mode *mode, const gpu_setting *s)
{
    double tile = DEFAULT_TILE_TOKENS, l0 = p->totals.mean_ctx > 0 ? p->totals.mean_ctx : 1;
    store_json_number(p->meta.cache_params, "tile_tokens", &tile);
    int t = tile >= 1 ? (int)tile : DEFAULT_TILE_TOKENS;
    return (rescale){.ctx = (double)s->ctx / l0,
                     .tiles = tiles((double)s->ctx, t) / tiles(l0, t),
                     .batch = s->batch,
                     .tp = s->tp,
                     .kv = gpu_kv_share(m, s->tp),
                     .x_cache = gpu_mode_rematerializes(mode)};
}

static void time_layer_link(gpu_timer *t, const gpu_model *m, const gpu_mode *mode, int layer, const gpu_setting *s)
{
    if (s->tp == 1 || layer < 0) return;
    gpu_layer_costs c;
    gpu_mode_layer_costs(mode, m, layer, &c);
    gpu_op_cost link = {.cls = GPU_CLASS_ELEMENTWISE,
                        .link_bytes = gpu_layer_link_bytes(m, &c, s),
                        .kernels = c.stores_x && s->x_allgather ? 3 : 2};
    gpu_timer_add(t, &link);
}

/* Rows come sorted by layer (store_profile): each layer's ops are timed together, then its collectives. */
static void time_rows(gpu_timer *t, const store_profile *p, const gpu_model *m, const gpu_mode *mode,
                      const gpu_setting *s)
{
    rescale k = rescale_of(p, m, mode, s);
    for (int i = 0; i < p->n_rows;) {
        int layer = p->rows[i].layer;
        if (layer >= 0) gpu_timer_begin_layer(t);
        for (; i < p->n_rows && p->rows[i].layer == layer; i++) {
            gpu_op_cost c;
            cost_of_row(&p->rows[i], &k, &c);
            gpu_timer_add(t, &c);
        }
        time_layer_link(t, m, mode, layer, s);
        if (layer >= 0) gpu_timer_end_layer(t);
    }
}

int gpu_project_run(const gpu_spec *g, const store_profile *p, const gpu_model *m, const gpu_mode *mode,
                    const gpu_setting *s, const gpu_options *o, gpu_result *out, xq_err *err)
{
    int rc = gpu_project(g, m, mode, s, o, out, err); /* validates; capacity and break-even from the shape */
    if (rc) return rc;
    if (p->phase != STORE_PHASE_DECODE)
        return xq_fail(err, XQ_EINPUT, "projection of a recorded run needs its decode steps");
    out->step_s = out->compute_s = out->memory_s = out->link_s = out->launch_s = 0;
    out->flops = out->hbm_bytes = out->l2_bytes = out->link_bytes = 0;
    out->kernels = 0;
    gpu_timer t = {.g = g, .o = o, .r = out};
    time_rows(&t, p, m, mode, s);
    out->compute_bound = out->compute_s > out->memory_s + out->link_s;
    out->tokens_per_s = s->batch / out->step_s;
    return XQ_OK;
}
