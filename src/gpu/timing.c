/* Roofline timing of ops (timing.h). */
#include "gpu/timing.h"

#include <math.h>

static double elem_rate(const gpu_spec *g)
{
    return (g->fp32_tflops > 0 ? g->fp32_tflops : g->tensor_tflops) * 1e12;
}

/* One-direction link bandwidth (NVIDIA quotes NVLink bidirectional). */
static double link_rate(const gpu_spec *g)
{
    return g->link_gbs * 1e9 / 2;
}

double gpu_timer_launch_us(const gpu_spec *g, const gpu_options *o)
{
    if (o->launch_us >= 0) return o->launch_us;
    return g->measured ? 0 : GPU_LAUNCH_US_DEFAULT;
}

static gpu_op_terms terms_of(const gpu_timer *t, const gpu_op_cost *p)
{
    const gpu_spec *g = t->g;
    const gpu_class_efficiency *e = &t->o->eff.cls[p->cls];
    gpu_op_terms x = {0};
    x.compute = (p->tensor_flops / (g->tensor_tflops * 1e12) + p->elem_flops / elem_rate(g)) / e->compute;
    x.memory = (p->hbm_bytes / (g->bw_tbs * 1e12) + p->l2_bytes / gpu_spec_l2_bw(g)) / e->memory;
    x.link = p->link_bytes > 0 ? p->link_bytes / (link_rate(g) * t->o->eff.link) : 0;
    x.launch = p->kernels * gpu_timer_launch_us(g, t->o) * 1e-6;
    return x;
}

static void add_time(gpu_result *r, const gpu_op_terms *x)
{
    r->step_s += fmax(x->compute, fmax(x->memory, x->link)) + x->launch;
    r->compute_s += x->compute;
    r->memory_s += x->memory;
    r->link_s += x->link;
    r->launch_s += x->launch;
}

void gpu_timer_add(gpu_timer *t, const gpu_op_cost *p)
{
    gpu_result *r = t->r;
    r->kernels += p->kernels;
    r->flops += p->tensor_flops + p->elem_flops;
    r->hbm_bytes += p->hbm_bytes;
    r->l2_bytes += p->l2_bytes;
    r->link_bytes += p->link_bytes;
    gpu_op_terms x = terms_of(t, p);
    if (!t->o->overlap || !t->in_layer) {
        add_time(r, &x);
        return;
    }
    t->layer.compute += x.compute;
    t->layer.memory += x.memory;
    t->layer.link += x.link;
    t->layer.launch += x.launch;
}

void gpu_timer_begin_layer(gpu_timer *t)
{
    t->in_layer = true;
    t->layer = (gpu_op_terms){0};
}

void gpu_timer_end_layer(gpu_timer *t)
{
    if (t->o->overlap) add_time(t->r, &t->layer);
    t->layer = (gpu_op_terms){0};
    t->in_layer = false;
}
