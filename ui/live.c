/* Live source (live.h). */
#include "ui/live.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "prof/window.h"

enum { DRAIN_BATCH = 4096 };

/* Per-(layer, op) aggregates of the last PROF_WINDOW drained steps, in the profiler's own sliding window
 * (src/prof/window.h; the snapshot has whole layers only), for the Layers view's op filter and drill-down. A row
 * per step, cell [(layer + 1) · OP_COUNT + op], layer −1 (outside layers) first. Only while this source drains
 * the queue (no --trace). */
typedef struct cell_window {
    int n_layer;
    prof_window ring; /* src/prof/window.h; ring.slots is NULL until sized */
    int64_t cur_step; /* the step whose ops `ring.cur` holds; −1: none */
    bool changed;     /* a step closed since the last copy into the ui_data */
} cell_window;

struct ui_live {
    prof *p;
    const cache *c;
    bool drain;
    uint64_t version;
    int64_t t_last_ns;
    uint64_t sampled_version; /* snapshot version of the last rate sample */
    int64_t pending_step; /* the step whose op records are being summed */
    int64_t counted_step; /* the latest history step added to its mode stretch (without draining) */
    int64_t pending[UI_CLASS_COUNT];
    cell_window win;
    prof_snapshot snap;
    prof_record batch[DRAIN_BATCH];
};

ui_live *ui_live_create(prof *p, const cache *c, bool drain)
{
    ui_live *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->p = p;
    l->c = c;
    l->drain = drain;
    l->pending_step = -1;
    l->counted_step = -1;
    return l;
}

void ui_live_destroy(ui_live *l)
{
    if (l) prof_window_free(&l->win.ring);
    free(l);
}

/* Sized by the model's layers, which the first snapshot read tells; false while unknown or out of memory. */
static bool window_ready(ui_live *l, int n_layer)
{
    cell_window *w = &l->win;
    if (w->ring.slots) return true;
    if (n_layer <= 0) return false;
    w->n_layer = n_layer < UI_MAX_LAYERS ? n_layer : UI_MAX_LAYERS;
    w->cur_step = -1;
    return prof_window_init(&w->ring, (w->n_layer + 1) * OP_COUNT) == 0;
}

static void window_take_op(cell_window *w, const prof_op_rec *o)
{
    prof_window *r = &w->ring;
    if (!r->slots || o->op >= OP_COUNT || o->layer < -1 || o->layer >= w->n_layer) return;
    if (o->step != w->cur_step) { /* a new step (or the previous one's step record was lost) */
        memset(r->cur, 0, (size_t)r->stride * sizeof *r->cur);
        w->cur_step = o->step;
    }
    prof_agg_add(&r->cur[(o->layer + 1) * OP_COUNT + o->op], o);
}

/* A step whose ops were all lost is left out, so that the window's per-step figures stay per step. */
static void window_close_step(cell_window *w, int64_t step)
{
    if (!w->ring.slots || w->cur_step != step) return;
    prof_window_close_step(&w->ring);
    w->cur_step = -1;
    w->changed = true;
}

static void cell_of(ui_cell *c, const prof_agg *a)
{
    *c = (ui_cell){.count = a->count, .self_ns = a->self_ns, .flops = a->flops, .bytes = ui_agg_bytes(a),
                   .remat_ns = a->remat_ns};
}

/* Layers, ops and their cells, all from the same drained steps, so that a layer's ops add up to the layer. */
static void window_copy(cell_window *w, ui_data *d)
{
    memset(d->op, 0, sizeof d->op);
    for (int layer = -1; layer < w->n_layer; layer++) {
        prof_agg whole = {0};
        for (int op = 0; op < OP_COUNT; op++) {
            const prof_agg *a = &w->ring.sum[(layer + 1) * OP_COUNT + op];
            prof_agg_combine(&whole, a, +1);
            prof_agg_combine(&d->op[op], a, +1);
            if (layer >= 0) cell_of(&d->layer_op[layer][op], a);
        }
        if (layer >= 0) d->layer[layer].agg = whole;
    }
    d->window_steps = w->ring.filled;
    d->layer_ops_known = true;
    w->changed = false;
    d->version++;
}

void ui_live_set_cache(ui_live *l, const cache *c) { l->c = c; }

/* The fields of a stretch that its steps fill (ui_live_segment keeps them). */
static void keep_step_fields(ui_mode_segment *to, const ui_mode_segment *from)
{
    to->decode_tokens = from->decode_tokens;
    to->decode_ns = from->decode_ns;
    to->rebuild_ns = from->rebuild_ns;
    to->rebuild_tokens = from->rebuild_tokens;
    to->ctx = from->ctx;
    to->cache_persistent = from->cache_persistent;
    to->n_rate = from->n_rate;
    memcpy(to->rate, from->rate, sizeof to->rate);
}

void ui_live_segment(ui_data *d, const ui_mode_segment *s)
{
    ui_mode_segment merged = *s;
    for (int i = 0; i < d->n_segments; i++)
        if (d->segment[i].first_step == s->first_step) {
            keep_step_fields(&merged, &d->segment[i]);
            if (memcmp(&merged, &d->segment[i], sizeof merged) != 0) d->version++;
            d->segment[i] = merged;
            return;
        }
    if (d->n_segments && s->first_step < d->segment[d->n_segments - 1].first_step) return; /* dropped already */
    if (d->n_segments == UI_MAX_SEGMENTS) {
        memmove(d->segment, d->segment + 1, sizeof d->segment[0] * (UI_MAX_SEGMENTS - 1));
        d->n_segments--;
    }
    ui_mode_segment none = {.cache_persistent = -1};
    keep_step_fields(&merged, &none);
    d->segment[d->n_segments++] = merged;
    d->version++;
}

/* Adds a step to the stretch it ran in: the latest one that began at or before it. */
static void count_in_segment(ui_data *d, const ui_step *u)
{
    int i = d->n_segments - 1;
    while (i >= 0 && d->segment[i].first_step > u->index)
        i--;
    if (i < 0) return;
    ui_mode_segment *g = &d->segment[i];
    g->ctx = u->n_ctx;
    g->cache_persistent = u->cache_persistent;
    if (u->prefill || u->ns <= 0) return;
    g->decode_tokens += u->n_tokens;
    g->decode_ns += u->ns;
    if (u->classes_known) {
        g->rebuild_ns += u->class_ns[UI_REBUILD];
        g->rebuild_tokens += u->n_tokens;
    }
    if (g->n_rate == UI_SEGMENT_RATES) {
        memmove(g->rate, g->rate + 1, sizeof g->rate[0] * (UI_SEGMENT_RATES - 1));
        g->n_rate--;
    }
    g->rate[g->n_rate++] = (float)((double)u->n_tokens * 1e9 / (double)u->ns);
}

static void push_step(ui_data *d, const ui_step *s)
{
    if (d->n_steps == UI_MAX_STEPS) {
        memmove(d->step, d->step + 1, sizeof d->step[0] * (UI_MAX_STEPS - 1));
        d->n_steps--;
    }
    d->step[d->n_steps++] = *s;
}

static void take_op(ui_live *l, const prof_op_rec *o)
{
    window_take_op(&l->win, o);
    if (o->step != l->pending_step) {
        memset(l->pending, 0, sizeof l->pending);
        l->pending_step = o->step;
    }
    l->pending[ui_op_class((span_op)o->op)] += o->self_ns;
}

static void take_step(ui_live *l, ui_data *d, const prof_step_rec *s)
{
    ui_step u = {.index = s->index, .n_tokens = s->n_tokens, .n_ctx = s->n_ctx, .ns = s->ns,
                 .cache_persistent = s->cache_persistent, .cache_ring = s->cache_residual,
                 .prefill = s->phase == PROF_PHASE_PREFILL};
    if (l->pending_step == s->index) {
        memcpy(u.class_ns, l->pending, sizeof u.class_ns);
        u.classes_known = true;
    }
    memset(l->pending, 0, sizeof l->pending);
    l->pending_step = -1;
    window_close_step(&l->win, s->index);
    push_step(d, &u);
    count_in_segment(d, &u);
}

static void drain_records(ui_live *l, ui_data *d)
{
    size_t n;
    /* Bounded: a fast engine refills the queue as quickly as it is read, and the screen must keep answering. */
    for (int batches = 0; batches < 8 && (n = prof_drain(l->p, l->batch, DRAIN_BATCH)) > 0; batches++)
        for (size_t i = 0; i < n; i++) {
            if (l->batch[i].kind == PROF_REC_OP) take_op(l, &l->batch[i].op);
            else take_step(l, d, &l->batch[i].step);
        }
}

static void steps_from_history(ui_live *l, ui_data *d, const prof_snapshot *s)
{
    d->n_steps = 0;
    for (int i = 0; i < s->n_history && i < UI_MAX_STEPS; i++) {
        const prof_step_brief *b = &s->history[i];
        ui_step *u = &d->step[d->n_steps++];
        *u = (ui_step){.index = b->index, .n_tokens = b->n_tokens, .n_ctx = b->n_ctx, .ns = b->ns,
                       .cache_persistent = b->cache_persistent, .cache_ring = b->cache_residual,
                       .prefill = b->phase == PROF_PHASE_PREFILL};
        if (u->index > l->counted_step) {
            count_in_segment(d, u);
            l->counted_step = u->index;
        }
    }
}

static void copy_aggregates(ui_live *l, ui_data *d, const prof_snapshot *s)
{
    bool own_window = l->win.ring.slots != NULL; /* layers and ops come from the drained steps (window_copy) */
    d->n_layer = s->n_layer < UI_MAX_LAYERS ? s->n_layer : UI_MAX_LAYERS;
    if (!own_window) d->window_steps = s->window_steps;
    int64_t held = s->n_history ? s->history[s->n_history - 1].n_ctx : 0;
    d->ctx = held;
    for (int i = 0; i < d->n_layer; i++) {
        if (!own_window) d->layer[i].agg = s->layer[i];
        d->layer[i].cache_bytes = -1;
        if (l->c) {
            cache_bytes cb;
            cache_get_bytes(l->c, i, held, &cb);
            d->layer[i].cache_bytes = (int64_t)cb.persistent;
        }
    }
    if (!own_window) memcpy(d->op, s->op, sizeof d->op);
}

static void update_peaks(ui_live *l, ui_data *d)
{
    prof_roofline r;
    if (d->peak_flops > 0) return;
    if (prof_get_roofline(l->p, &r)) {
        d->peak_flops = r.peak_flops;
        d->peak_bytes_per_s = r.read_bytes_per_s;
        snprintf(d->device, sizeof d->device, "%s", r.cpu_name);
        d->version++;
    } else {
        snprintf(d->peak_why, sizeof d->peak_why, "measuring this CPU's peaks");
    }
}

bool ui_live_poll(ui_live *l, ui_data *d)
{
    uint64_t before = d->version;
    int64_t now = xq_now_ns();
    update_peaks(l, d);
    bool snap_ok = prof_snapshot_read(l->p, &l->snap) == 0;
    if (l->drain) {
        if (snap_ok) window_ready(l, l->snap.n_layer);
        drain_records(l, d);
        if (l->win.changed) window_copy(&l->win, d);
    }
    if (!snap_ok) return d->version != before;
    d->live = true;
    if (l->snap.version != l->version) {
        l->version = l->snap.version;
        copy_aggregates(l, d, &l->snap);
        if (!l->drain) steps_from_history(l, d, &l->snap);
        d->version++;
    }
    /* One rate sample per 250 ms gives the sparkline a real time axis; none while the engine is idle. */
    if (now - l->t_last_ns >= 250000000 && l->version != l->sampled_version) {
        ui_rate_push(d, ui_decode_rate(d));
        l->t_last_ns = now;
        l->sampled_version = l->version;
        d->rate_span_s = (double)d->n_rate * 0.25;
        d->version++;
    }
    return d->version != before;
}
