/* The decode step as a list of ops (per layer: element-wise glue, projections, attention, rebuild, TP
 * collectives; then the output head), each timed on the roofline; capacity; the break-even context. */
#include <math.h>
#include <string.h>

#include "gpu/project.h"

enum { ACT_BYTES = 2 }; /* activations in fp16 */

typedef struct op {
    double tensor_flops, elem_flops, hbm_bytes, l2_bytes, link_bytes;
    int kernels;
} op;

typedef struct step {
    const gpu_spec *g;
    const gpu_model *m;
    const gpu_mode *mode;
    const gpu_setting *s;
    const gpu_options *o;
    gpu_result *r;
    bool in_layer;
    op layer; /* --overlap: the layer's ops summed, timed as one */
} step;

void gpu_options_default(gpu_options *o)
{
    memset(o, 0, sizeof *o);
    o->launch_us = 3.0;
    o->eff = (gpu_efficiency){1.0, 1.0, 1.0, 1.0};
}

static double elem_rate(const gpu_spec *g)
{
    return (g->fp32_tflops > 0 ? g->fp32_tflops : g->tensor_tflops) * 1e12;
}

/* One-direction link bandwidth (NVIDIA quotes NVLink bidirectional). */
static double link_rate(const gpu_spec *g)
{
    return g->link_gbs * 1e9 / 2;
}

static void time_op(step *st, const op *p)
{
    const gpu_spec *g = st->g;
    const gpu_efficiency *e = &st->o->eff;
    double compute =
        p->tensor_flops / (g->tensor_tflops * 1e12 * e->gemm) + p->elem_flops / (elem_rate(g) * e->elementwise);
    double memory = (p->hbm_bytes / (g->bw_tbs * 1e12) + p->l2_bytes / gpu_spec_l2_bw(g)) / e->memory;
    double link = p->link_bytes > 0 ? p->link_bytes / (link_rate(g) * e->link) : 0;
    double launch = p->kernels * st->o->launch_us * 1e-6;
    gpu_result *r = st->r;
    r->step_s += fmax(compute, fmax(memory, link)) + launch;
    r->compute_s += compute;
    r->memory_s += memory;
    r->link_s += link;
    r->launch_s += launch;
    r->kernels += p->kernels;
    r->flops += p->tensor_flops + p->elem_flops;
    r->hbm_bytes += p->hbm_bytes;
    r->l2_bytes += p->l2_bytes;
    r->link_bytes += p->link_bytes;
}

/* Per-op timing, or with overlap one timing per layer: the layer's FLOPs, bytes and link traffic overlap, as
 * XQUANT.md §4 assumes when the rebuild hides under the weight stream. */
static void add_op(step *st, const op *p)
{
    if (!st->o->overlap || !st->in_layer) {
        time_op(st, p);
        return;
    }
    op *l = &st->layer;
    l->tensor_flops += p->tensor_flops;
    l->elem_flops += p->elem_flops;
    l->hbm_bytes += p->hbm_bytes;
    l->l2_bytes += p->l2_bytes;
    l->link_bytes += p->link_bytes;
    l->kernels += p->kernels;
}

static void end_layer(step *st)
{
    if (st->o->overlap) time_op(st, &st->layer);
    st->layer = (op){.kernels = 0};
    st->in_layer = false;
}

/* Fraction of the KV heads one rank holds: heads are not split, so past h_kv ranks they replicate. */
static double kv_share(const gpu_model *m, int tp)
{
    int per_rank = (m->n_head_kv + tp - 1) / tp;
    return (double)per_rank / m->n_head_kv;
}

/* Cache bytes per token a rank reads in attention or the rebuild: all of X (gathered or replicated), or its
 * heads of K/V. */
static double cache_read_rank(const gpu_layer_costs *c, const gpu_model *m, int tp)
{
    return c->stores_x ? c->cache_bytes : c->cache_bytes * kv_share(m, tp);
}

static double cache_held_rank(const gpu_layer_costs *c, const gpu_model *m, const gpu_setting *s)
{
    if (!c->stores_x) return c->cache_bytes * kv_share(m, s->tp);
    return s->x_allgather ? c->cache_bytes / s->tp : c->cache_bytes;
}

static bool rebuild_in_l2(const gpu_spec *g, const gpu_layer_costs *c, const gpu_setting *s)
{
    return s->l2_weights && c->rebuild_bytes / s->tp <= g->l2_mb * (1 << 20);
}

static void glue_ops(step *st)
{
    const gpu_model *m = st->m;
    double b = st->s->batch, T = st->s->tp, q = (double)m->n_head * m->head_dim;
    /* attn_norm, RoPE of q, residual, ffn_norm, SiLU·up, residual: each reads and writes b×d activations. */
    op p = {.elem_flops = b * (10.0 * m->d + 3 * q / T + 5.0 * m->n_ff / T),
            .hbm_bytes = 6 * 2 * b * m->d * ACT_BYTES,
            .kernels = 6};
    add_op(st, &p);
}

static void projection_ops(step *st, const gpu_layer_costs *c)
{
    double b = st->s->batch, T = st->s->tp;
    double stream = c->weight_bytes - (gpu_mode_rematerializes(st->mode) ? c->rebuild_bytes : 0);
    op p = {.tensor_flops = 2 * b * gpu_model_layer_macs(st->m) / T, .hbm_bytes = stream / T, .kernels = 4};
    add_op(st, &p);
}

static void attention_ops(step *st, const gpu_layer_costs *c)
{
    const gpu_model *m = st->m;
    double b = st->s->batch, T = st->s->tp, l = (double)st->s->ctx, q = (double)m->n_head * m->head_dim;
    bool remat = gpu_mode_rematerializes(st->mode);
    op p = {.tensor_flops = b * 4 * l * q / T, .elem_flops = b * 5 * l * m->n_head / T, .kernels = 1};
    /* A rebuild hands its K/V tiles straight to attention: no cache read here for the XQuant modes. */
    if (!remat) {
        p.hbm_bytes = b * l * cache_read_rank(c, m, st->s->tp);
        p.elem_flops += b * l * c->elem_flops * kv_share(m, st->s->tp);
    }
    add_op(st, &p);
}

static void rebuild_ops(step *st, const gpu_layer_costs *c)
{
    const gpu_setting *s = st->s;
    double b = s->batch, T = s->tp, l = (double)s->ctx, per_rank = c->rebuild_bytes / T;
    op p = {.tensor_flops = b * l * (c->remat_flops_heads / T + c->remat_flops_full),
            .elem_flops = b * l * c->elem_flops,
            .hbm_bytes = b * l * cache_read_rank(c, st->m, s->tp) + per_rank,
            .kernels = 1};
    if (rebuild_in_l2(st->g, c, s))
        p.l2_bytes = (b - 1) * per_rank;
    else
        p.hbm_bytes += (b - 1) * per_rank;
    add_op(st, &p);
}

static void collective_ops(step *st, const gpu_layer_costs *c)
{
    const gpu_setting *s = st->s;
    double b = s->batch, T = s->tp;
    if (s->tp == 1) return;
    /* Ring all-reduce after o-proj and after down-proj: each rank sends 2(T−1)/T of b×d. */
    op p = {.link_bytes = 2 * 2 * (T - 1) / T * b * st->m->d * ACT_BYTES, .kernels = 2};
    if (c->stores_x && s->x_allgather) {
        p.link_bytes += (T - 1) / T * b * (double)s->ctx * c->cache_bytes;
        p.kernels++;
    }
    add_op(st, &p);
}

static void head_ops(step *st)
{
    const gpu_model *m = st->m;
    double b = st->s->batch, T = st->s->tp;
    op embed = {.hbm_bytes = b * m->embd_bytes / m->n_vocab, .kernels = 1};
    op norm = {.elem_flops = 4 * b * m->d, .hbm_bytes = 2 * b * m->d * ACT_BYTES, .kernels = 1};
    op lm_head = {
        .tensor_flops = 2 * b * m->d * (double)m->n_vocab / T, .hbm_bytes = m->lm_head_bytes / T, .kernels = 1};
    op sample = {.elem_flops = b * (double)m->n_vocab / T, .hbm_bytes = 4 * b * (double)m->n_vocab / T, .kernels = 1};
    add_op(st, &embed);
    add_op(st, &norm);
    add_op(st, &lm_head);
    add_op(st, &sample);
}

double gpu_cache_bytes_per_token_rank(const gpu_model *m, const gpu_mode *mode, const gpu_setting *s)
{
    double total = 0;
    for (int l = 0; l < m->n_layer; l++) {
        gpu_layer_costs c;
        gpu_mode_layer_costs(mode, m, l, &c);
        total += cache_held_rank(&c, m, s);
    }
    return total;
}

static double weights_rank(const gpu_model *m, const gpu_mode *mode, int tp)
{
    double total = gpu_model_weight_bytes(m) - m->n_layer * gpu_model_layer_weight_bytes(m);
    for (int l = 0; l < m->n_layer; l++) {
        gpu_layer_costs c;
        gpu_mode_layer_costs(mode, m, l, &c);
        total += c.weight_bytes;
    }
    return total / tp;
}

static int64_t floor_count(double free_bytes, double per_unit)
{
    if (free_bytes <= 0 || per_unit <= 0) return free_bytes > 0 ? INT64_MAX : 0;
    double n = floor(free_bytes / per_unit);
    return n > 9e18 ? INT64_MAX : (int64_t)n;
}

static void capacity(step *st)
{
    const gpu_setting *s = st->s;
    gpu_result *r = st->r;
    double per_token = gpu_cache_bytes_per_token_rank(st->m, st->mode, s);
    double transient = gpu_mode_transient_bytes_per_token(st->mode, st->m);
    double per_token_all = per_token + transient;
    r->weight_bytes = weights_rank(st->m, st->mode, s->tp);
    r->cache_bytes = per_token * (double)s->ctx * s->batch;
    r->transient_bytes = transient * (double)s->ctx * s->batch;
    double free_bytes = st->g->mem_gb * 1e9 - r->weight_bytes - st->o->reserve_gb * 1e9;
    r->fits = free_bytes > 0 && r->cache_bytes + r->transient_bytes <= free_bytes;
    r->max_ctx = floor_count(free_bytes, per_token_all * s->batch);
    r->max_batch = floor_count(free_bytes, per_token_all * (double)s->ctx);
}

int gpu_project(const gpu_spec *g, const gpu_model *m, const gpu_mode *mode, const gpu_setting *s, const gpu_options *o,
                gpu_result *out, xq_err *err)
{
    memset(out, 0, sizeof *out);
    if (s->ctx < 1 || s->batch < 1 || s->tp < 1)
        return xq_fail(err, XQ_EINPUT, "projection: context, batch and TP must be at least 1");
    if (g->tensor_tflops <= 0 || g->bw_tbs <= 0)
        return xq_fail(err, XQ_EINPUT, "gpu '%s': no FLOP/s or bandwidth to project with", g->id);
    if (s->tp > 1 && g->link_gbs <= 0)
        return xq_fail(err, XQ_EINPUT, "gpu '%s': no interconnect for tensor parallelism", g->id);
    step st = {.g = g, .m = m, .mode = mode, .s = s, .o = o, .r = out};
    for (int l = 0; l < m->n_layer; l++) {
        gpu_layer_costs c;
        gpu_mode_layer_costs(mode, m, l, &c);
        st.in_layer = true;
        glue_ops(&st);
        projection_ops(&st, &c);
        attention_ops(&st, &c);
        if (gpu_mode_rematerializes(mode)) rebuild_ops(&st, &c);
        collective_ops(&st, &c);
        end_layer(&st);
    }
    head_ops(&st);
    out->compute_bound = out->compute_s > out->memory_s + out->link_s;
    out->tokens_per_s = s->batch / out->step_s;
    capacity(&st);
    out->break_even_ctx = gpu_break_even_ctx(g, m, mode, s);
    return XQ_OK;
}

/* One layer's break-even on raw peaks; < 0 if its rebuild never outgrows its bytes. */
static double layer_break_even(const gpu_spec *g, const gpu_model *m, const gpu_layer_costs *c, const gpu_setting *s)
{
    double F = g->tensor_tflops * 1e12, B = g->bw_tbs * 1e12, b = s->batch, T = s->tp;
    double remat = c->remat_flops_heads / T + c->remat_flops_full;
    double per_token = b * (remat - F * cache_read_rank(c, m, s->tp) / B);
    if (remat <= 0 || per_token <= 0) return -1;
    double matrices = (b - 1) * c->rebuild_bytes / T;
    double hidden_s = c->weight_bytes / T / B; /* time the byte stream gives the rebuild to hide in */
    hidden_s += rebuild_in_l2(g, c, s) ? matrices / gpu_spec_l2_bw(g) : matrices / B;
    return F * hidden_s / per_token;
}

double gpu_break_even_ctx(const gpu_spec *g, const gpu_model *m, const gpu_mode *mode, const gpu_setting *s)
{
    double best = -1;
    for (int l = 0; l < m->n_layer; l++) {
        gpu_layer_costs c;
        gpu_mode_layer_costs(mode, m, l, &c);
        double x = layer_break_even(g, m, &c, s);
        if (x >= 0 && (best < 0 || x < best)) best = x;
    }
    return best;
}
