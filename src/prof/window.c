#include "prof/window.h"

#include <stdlib.h>
#include <string.h>

int prof_window_init(prof_window *w, int stride)
{
    memset(w, 0, sizeof *w);
    w->stride = stride;
    size_t row = (size_t)stride;
    w->slots = calloc(row * (PROF_WINDOW + 2), sizeof(prof_agg));
    w->sum = w->slots ? w->slots + row * PROF_WINDOW : NULL;
    w->cur = w->sum ? w->sum + row : NULL;
    return w->slots ? 0 : -1;
}

void prof_window_free(prof_window *w)
{
    free(w->slots);
    memset(w, 0, sizeof *w);
}

void prof_window_close_step(prof_window *w)
{
    prof_agg *slot = w->slots + (size_t)w->next * (size_t)w->stride;
    for (int i = 0; i < w->stride; i++) {
        if (w->filled == PROF_WINDOW) prof_agg_combine(&w->sum[i], &slot[i], -1);
        prof_agg_combine(&w->sum[i], &w->cur[i], +1);
    }
    memcpy(slot, w->cur, (size_t)w->stride * sizeof *slot);
    memset(w->cur, 0, (size_t)w->stride * sizeof *w->cur);
    w->next = (w->next + 1) % PROF_WINDOW;
    if (w->filled < PROF_WINDOW) w->filled++;
}

void prof_agg_add(prof_agg *a, const prof_op_rec *r)
{
    a->count++;
    a->self_ns += r->self_ns;
    a->flops += r->cost.flops;
    a->bytes_weights += r->cost.bytes_weights;
    a->bytes_cache_read += r->cost.bytes_cache_read;
    a->bytes_cache_write += r->cost.bytes_cache_write;
    a->bytes_act += r->cost.bytes_act;
    if (r->cost.remat) {
        a->remat_ns += r->self_ns;
        a->remat_flops += r->cost.flops;
    }
}

void prof_agg_combine(prof_agg *a, const prof_agg *b, int64_t sign)
{
    a->count += sign * b->count;
    a->self_ns += sign * b->self_ns;
    a->flops += sign * b->flops;
    a->bytes_weights += sign * b->bytes_weights;
    a->bytes_cache_read += sign * b->bytes_cache_read;
    a->bytes_cache_write += sign * b->bytes_cache_write;
    a->bytes_act += sign * b->bytes_act;
    a->remat_ns += sign * b->remat_ns;
    a->remat_flops += sign * b->remat_flops;
}
