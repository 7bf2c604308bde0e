/* The decode step as a list of ops (per layer: element-wise glue, projections, attention, rebuild, TP
 * collectives; then the output head), each timed on the roofline; capacity; the break-even context. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gpu/project.h"
#include "gpu/timing.h"

enum { ACT_BYTES = 2 }; /* activations in fp16 */

typedef struct step {
    const gpu_spec *g;
    const gpu_model *m;
    const gpu_mode *mode;
    const gpu_setting *s;
    gpu_timer timer;
} step;

static const char *const class_names[GPU_CLASSES] = {"gemm", "attention", "elementwise", "rebuild"};

const char *gpu_class_name(gpu_op_class c)
{
    return class_names[c];
}

gpu_op_class gpu_class_of_op(const char *name)
{
    if (!strncmp(name, "matmul", 6) || !strcmp(name, "lm_head")) return GPU_CLASS_GEMM;
    if (!strcmp(name, "attend")) return GPU_CLASS_ATTENTION;
    if (!strcmp(name, "remat") || !strcmp(name, "dequant")) return GPU_CLASS_REBUILD;
    return GPU_CLASS_ELEMENTWISE;
}

void gpu_efficiency_default(gpu_efficiency *e)
{
    for (int c = 0; c < GPU_CLASSES; c++)
        e->cls[c] = (gpu_class_efficiency){GPU_EFF_COMPUTE_DEFAULT, GPU_EFF_MEMORY_DEFAULT};
    e->link = 1.0;
}

void gpu_options_default(gpu_options *o)
{
    memset(o, 0, sizeof *o);
    o->launch_us = -1;
    gpu_efficiency_default(&o->eff);
}

static void add_op(step *st, const gpu_op_cost *p)
{
    gpu_timer_add(&st->timer, p);
}

double gpu_kv_share(const gpu_model *m, int tp)
{
    int per_rank = (m->n_head_kv + tp - 1) / tp;
    return (double)per_rank / m->n_head_kv;
}

/* Cache bytes per token a rank reads in attention or the rebuild: all of X (gathered or replicated), or its
 * heads of K/V. */
static double cache_read_rank(const gpu_layer_costs *c, const gpu_model *m, int tp)
{
    return c->stores_x ? c->cache_bytes : c->cache_bytes * gpu_kv_share(m, tp);
}

static double cache_held_rank(const gpu_layer_costs *c, const gpu_model *m, const gpu_setting *s)
{
    if (!c->stores_x) return c->cache_bytes * gpu_kv_share(m, s->tp);
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
    gpu_op_cost p = {.cls = GPU_CLASS_ELEMENTWISE,
                     .elem_flops = b * (10.0 * m->d + 3 * q / T + 5.0 * m->n_ff / T),
                     .hbm_bytes = 6 * 2 * b * m->d * ACT_BYTES,
                     .kernels = 6};
    add_op(st, &p);
}

static void projection_ops(step *st, const gpu_layer_costs *c)
{
    double b = st->s->batch, T = st->s->tp;
    double stream = c->weight_bytes - (gpu_mode_rematerializes(st->mode) ? c->rebuild_bytes : 0);
    gpu_op_cost p = {.cls = GPU_CLASS_GEMM,
                     .tensor_flops = 2 * b * gpu_model_layer_macs(st->m) / T,
                     .hbm_bytes = stream / T,
                     .kernels = 4};
    add_op(st, &p);
}

static void attention_ops(step *st, const gpu_layer_costs *c)
{
    const gpu_model *m = st->m;
    double b = st->s->batch, T = st->s->tp, l = (double)st->s->ctx, q = (double)m->n_head * m->head_dim;
    bool remat = gpu_mode_rematerializes(st->mode);
    gpu_op_cost p = {.cls = GPU_CLASS_ATTENTION,
                     .tensor_flops = b * 4 * l * q / T,
                     .elem_flops = b * 5 * l * m->n_head / T,
                     .kernels = 1};
    /* A rebuild hands its K/V tiles straight to attention: no cache read here for the XQuant modes. */
    if (!remat) {
        p.hbm_bytes = b * l * cache_read_rank(c, m, st->s->tp);
        p.elem_flops += b * l * c->elem_flops * gpu_kv_share(m, st->s->tp);
    }
    add_op(st, &p);
}

static void rebuild_ops(step *st, const gpu_layer_costs *c)
{
    const gpu_setting *s = st->s;
    double b = s->batch, T = s->tp, l = (double)s->ctx, per_rank = c->rebuild_bytes / T;
    /* One fused kernel: the dequantization (element-wise FLOPs) feeds the rebuild GEMM's operand loads. */
    gpu_op_cost p = {.cls = GPU_CLASS_REBUILD,
                     .tensor_flops = b * l * (c->remat_flops_heads / T + c->remat_flops_full),
                     .elem_flops = b * l * c->elem_flops,
                     .hbm_bytes = b * l * cache_read_rank(c, st->m, s->tp) + per_rank,
                     .kernels = 1};
    if (rebuild_in_l2(st->g, c, s))
        p.l2_bytes = (b - 1) * per_rank;
    else
        p.hbm_bytes += (b - 1) * per_rank;
    add_op(st, &p);
}

double gpu_layer_link_bytes(const gpu_model *m, const gpu_layer_costs *c, const gpu_setting *s)
{
    double b = s->batch, T = s->tp;
    if (s->tp == 1) return 0;
    /* Ring all-reduce after o-proj and after down-proj: each rank sends 2(T−1)/T of b×d. */
    double bytes = 2 * 2 * (T - 1) / T * b * m->d * ACT_BYTES;
    if (c->stores_x && s->x_allgather) bytes += (T - 1) / T * b * (double)s->ctx * c->cache_bytes;
    return bytes;
}

static void collective_ops(step *st, const gpu_layer_costs *c)
{
    const gpu_setting *s = st->s;
    if (s->tp == 1) return;
    gpu_op_cost p = {.cls = GPU_CLASS_ELEMENTWISE,
                     .link_bytes = gpu_layer_link_bytes(st->m, c, s),
                     .kernels = c->stores_x && s->x_allgather ? 3 : 2};
    add_op(st, &p);
}

static void head_ops(step *st)
{
    const gpu_model *m = st->m;
    double b = st->s->batch, T = st->s->tp;
    gpu_op_cost embed = {.cls = GPU_CLASS_ELEMENTWISE, .hbm_bytes = b * m->embd_bytes / m->n_vocab, .kernels = 1};
    gpu_op_cost norm = {
        .cls = GPU_CLASS_ELEMENTWISE, .elem_flops = 4 * b * m->d, .hbm_bytes = 2 * b * m->d * ACT_BYTES, .kernels = 1};
    gpu_op_cost lm_head = {.cls = GPU_CLASS_GEMM,
                           .tensor_flops = 2 * b * m->d * (double)m->n_vocab / T,
                           .hbm_bytes = m->lm_head_bytes / T,
                           .kernels = 1};
    gpu_op_cost sample = {.cls = GPU_CLASS_ELEMENTWISE,
                          .elem_flops = b * (double)m->n_vocab / T,
                          .hbm_bytes = 4 * b * (double)m->n_vocab / T,
                          .kernels = 1};
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
    gpu_result *r = st->timer.r;
    double per_token = gpu_cache_bytes_per_token_rank(st->m, st->mode, s);
    double transient = gpu_mode_transient_bytes_per_token(st->mode, st->m);
    double per_token_all = per_token + transient;
    r->weight_bytes = weights_rank(st->m, st->mode, s->tp);
    r->cache_bytes = per_token * (double)s->ctx * s->batch;
    r->transient_bytes = transient * (double)s->ctx * s->batch;
    double free_bytes = st->g->mem_gb * 1e9 - r->weight_bytes - st->timer.o->reserve_gb * 1e9;
    r->fits = free_bytes > 0 && r->cache_bytes + r->transient_bytes <= free_bytes;
    r->max_ctx = floor_count(free_bytes, per_token_all * s->batch);
    r->max_batch = floor_count(free_bytes, per_token_all * (double)s->ctx);
}

/* Tensor parallelism gives each rank whole query heads, and whole KV heads or one KV head shared by several
 * ranks (replicated): tp divides the query heads, and divides or is a multiple of the KV heads. */
static bool tp_splits_heads(const gpu_model *m, int tp)
{
    return m->n_head % tp == 0 && (m->n_head_kv % tp == 0 || tp % m->n_head_kv == 0);
}

static int fail_tp(const gpu_model *m, int tp, xq_err *err)
{
    char valid[256] = "";
    for (int t = 1, len = 0; t <= m->n_head && len < (int)sizeof valid - 16; t++)
        if (tp_splits_heads(m, t)) len += snprintf(valid + len, sizeof valid - (size_t)len, "%s%d", len ? ", " : "", t);
    return xq_fail(err, XQ_EINPUT, "projection: TP %d does not split %s's %d query / %d KV heads (valid: %s)", tp,
                   m->name, m->n_head, m->n_head_kv, valid);
}

int gpu_project(const gpu_spec *g, const gpu_model *m, const gpu_mode *mode, const gpu_setting *s, const gpu_options *o,
                gpu_result *out, xq_err *err)
{
    memset(out, 0, sizeof *out);
    if (s->ctx < 1 || s->batch < 1 || s->tp < 1)
        return xq_fail(err, XQ_EINPUT, "projection: context, batch and TP must be at least 1");
    if (!tp_splits_heads(m, s->tp)) return fail_tp(m, s->tp, err);
    if (g->tensor_tflops <= 0 || g->bw_tbs <= 0)
        return xq_fail(err, XQ_EINPUT, "gpu '%s': no FLOP/s or bandwidth to project with", g->id);
    if (s->tp > 1 && g->link_gbs <= 0)
        return xq_fail(err, XQ_EINPUT, "gpu '%s': no interconnect for tensor parallelism", g->id);
    step st = {.g = g, .m = m, .mode = mode, .s = s, .timer = {.g = g, .o = o, .r = out}};
    for (int l = 0; l < m->n_layer; l++) {
        gpu_layer_costs c;
        gpu_mode_layer_costs(mode, m, l, &c);
        gpu_timer_begin_layer(&st.timer);
        glue_ops(&st);
        projection_ops(&st, &c);
        attention_ops(&st, &c);
        if (gpu_mode_rematerializes(mode)) rebuild_ops(&st, &c);
        collective_ops(&st, &c);
        gpu_timer_end_layer(&st.timer);
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
