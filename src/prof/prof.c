/* The profiler sink of prof.h. Engine-thread state (span stack, open step, aggregates) is touched only by the
 * engine thread; the rings, the counters of prof_stats and the seqlocked snapshot are what other threads see.
 * The queue is two rings: op records (small, one per span) and step records (large, one per step), ordered by a
 * marker in the op ring where each step ends; the small op slots halve the cache lines each span moves between
 * the engine's core and the writer's. Invariants: depth ≤ MAX_DEPTH; a record is pushed only for a span whose
 * begin and end matched inside a step; a marker is pushed only with its step record, after it; step_reserve op
 * slots are kept for markers, so a burst of spans cannot cost a step. */
#include "prof/prof.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/pool.h"
#include "base/ticks.h"
#include "prof/counters.h"
#include "prof/ring.h"
#include "prof/window.h"

enum { MAX_DEPTH = 8, STEP_RESERVE = 64, DEFAULT_QUEUE = 1 << 17, SNAPSHOT_TRIES = 1000 };
static const int64_t PUBLISH_NS = 20 * 1000 * 1000; /* the TUI redraws at ~10 Hz; publishing faster buys nothing */

typedef struct frame {
    span_shape shape;
    int64_t t0, child_ns, child_cache_read;
    int32_t layer;
    span_op op;
} frame;

typedef struct step_state {
    bool open;
    uint8_t phase;
    int32_t n_ops;
    int64_t index, t0, n_tokens, n_ctx, ops_ns;
    int64_t cache_persistent, cache_residual, cache_transient;
    int64_t ctr0[PROF_CTR_COUNT];
    prof_agg sum;
} step_state;

/* p->win rows: [0] non-layer ops, [1 .. n_layer] layers, then one per span_op. */

struct prof {
    span_sink sink;
    int engine_threads;
    pthread_t owner;
    int n_layer;
    const cache *cache;
    prof_cache_step *layer_cache; /* n_layer entries, refreshed at each step's begin */
    frame stack[MAX_DEPTH];
    int depth, ignored; /* ignored: begins dropped (too deep, outside a step) whose ends must be skipped too */
    step_state step;
    int64_t next_step, t0;
    int64_t tick0;      /* xq_ticks() at t0 */
    double ns_per_tick; /* measured against the monotonic clock at each step's begin (1 without a TSC) */
    xq_wake queue_wake;    /* signalled by either ring when half full */
    prof_ring op_ring;     /* prof_op_rec: spans, and step markers (op == OP_STEP) */
    prof_ring step_ring;   /* prof_step_rec, one per marker */
    uint64_t step_reserve; /* op slots only step markers may use */
    prof_counters ctr;
    int64_t last_ctr[PROF_CTR_COUNT];
    prof_calib *calib;
    prof_window win;
    prof_step_brief history[PROF_HISTORY];
    int hist_n, hist_next;
    int64_t last_publish;
    _Atomic int64_t spans, steps, spans_dropped, steps_dropped, spans_foreign, spans_unmatched;
    _Atomic uint64_t seq;
    prof_snapshot *shared;
};

/* Now on the monotonic clock (ns), read through the tick counter: a few ns instead of ~20 (base/ticks.h). */
static inline int64_t now_ns(const prof *p)
{
    return p->t0 + (int64_t)((double)(xq_ticks() - p->tick0) * p->ns_per_tick);
}

/* The monotonic clock and the tick counter read together: ticks on both sides of the clock read, retried when
 * something (a preemption) came between them, so that the pair is good to a few µs. */
static void clock_pair(int64_t *ns, int64_t *ticks)
{
    enum { PAIR_TICKS = 10000, TRIES = 100 }; /* ~3 µs of a 3 GHz TSC (10 µs without one) */
    for (int i = 0; i < TRIES; i++) {
        int64_t before = xq_ticks();
        *ns = xq_now_ns();
        int64_t after = xq_ticks();
        *ticks = before + (after - before) / 2;
        if (after - before < PAIR_TICKS) return;
    }
}

/* The tick rate from the profiler's creation to now: two pairs good to a few µs, at least a millisecond apart
 * (which the first step waits out once), so the rate is good to a few parts in a thousand at once and better
 * with every step. */
static void measure_tick_rate(prof *p)
{
    if (!xq_ticks_tsc) return;
    int64_t ns, ticks;
    do
        clock_pair(&ns, &ticks);
    while (ns - p->t0 < 1000 * 1000 || ticks <= p->tick0);
    p->ns_per_tick = (double)(ns - p->t0) / (double)(ticks - p->tick0);
}

/* Single writer (the engine thread): a relaxed load and store, no locked instruction. */
static inline void bump(_Atomic int64_t *x)
{
    atomic_store_explicit(x, atomic_load_explicit(x, memory_order_relaxed) + 1, memory_order_relaxed);
}

static void fill_snapshot(prof *p, prof_snapshot *s, uint64_t version)
{
    s->version = version;
    s->steps = p->next_step;
    s->n_layer = p->n_layer;
    s->window_steps = p->win.filled;
    s->nonlayer = p->win.sum[0];
    memcpy(s->layer, p->win.sum + 1, (size_t)p->n_layer * sizeof(prof_agg));
    memcpy(s->op, p->win.sum + 1 + p->n_layer, sizeof s->op);
    s->n_history = p->hist_n;
    int first = (p->hist_next - p->hist_n + PROF_HISTORY) % PROF_HISTORY;
    for (int i = 0; i < p->hist_n; i++)
        s->history[i] = p->history[(first + i) % PROF_HISTORY];
    memcpy(s->counters, p->last_ctr, sizeof s->counters);
    s->spans = atomic_load_explicit(&p->spans, memory_order_relaxed);
    s->spans_dropped = atomic_load_explicit(&p->spans_dropped, memory_order_relaxed);
    s->steps_dropped = atomic_load_explicit(&p->steps_dropped, memory_order_relaxed);
}

void prof_publish(prof *p)
{
    /* Seqlock: an odd sequence marks a copy in progress; readers retry until they see the same even value
     * before and after their copy. */
    uint64_t s = atomic_load_explicit(&p->seq, memory_order_relaxed);
    atomic_store_explicit(&p->seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    fill_snapshot(p, p->shared, s / 2 + 1);
    atomic_store_explicit(&p->seq, s + 2, memory_order_release);
    p->last_publish = xq_now_ns();
}

int prof_snapshot_read(const prof *p, prof_snapshot *out)
{
    prof *mp = (prof *)p;
    for (int tries = 0; tries < SNAPSHOT_TRIES; tries++) {
        uint64_t s1 = atomic_load_explicit(&mp->seq, memory_order_acquire);
        if (s1 & 1) {
            sched_yield();
            continue;
        }
        memcpy(out, p->shared, sizeof *out);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&mp->seq, memory_order_relaxed) == s1) return 0;
    }
    return -1;
}

/* The policy's bytes for this step: per layer (held after the append, and appended), and in total. */
static void step_cache_figures(prof *p, step_state *st)
{
    st->cache_persistent = st->cache_residual = st->cache_transient = -1;
    if (!p->cache) return;
    cache_bytes now, before;
    for (int l = 0; l < p->n_layer; l++) {
        cache_get_bytes(p->cache, l, st->n_ctx, &now);
        cache_get_bytes(p->cache, l, st->n_ctx - st->n_tokens, &before);
        p->layer_cache[l] =
            (prof_cache_step){(int64_t)now.persistent, (int64_t)now.persistent - (int64_t)before.persistent};
    }
    cache_get_bytes(p->cache, -1, st->n_ctx, &now);
    st->cache_persistent = (int64_t)now.persistent;
    st->cache_residual = (int64_t)now.residual;
    st->cache_transient = (int64_t)now.transient;
}

static void step_begin(prof *p, const span_shape *sh)
{
    step_state *st = &p->step;
    if (st->open) {
        bump(&p->spans_unmatched);
        return;
    }
    *st = (step_state){.open = true, .index = p->next_step++, .n_tokens = sh->n, .n_ctx = sh->ctx};
    /* A call of more than one token, or the first token of a sequence, fills the cache: a prefill. */
    st->phase = (sh->n > 1 || sh->ctx <= sh->n) ? PROF_PHASE_PREFILL : PROF_PHASE_DECODE;
    step_cache_figures(p, st);
    prof_counters_read(&p->ctr, st->ctr0);
    p->depth = 0;
    p->ignored = 0;
    measure_tick_rate(p);
    st->t0 = now_ns(p); /* last, so that the bookkeeping above is not charged to the step */
}

static void remember_step(prof *p, const prof_step_rec *r)
{
    p->history[p->hist_next] = (prof_step_brief){.index = r->index,
                                                 .n_tokens = r->n_tokens,
                                                 .n_ctx = r->n_ctx,
                                                 .ns = r->ns,
                                                 .ops_ns = r->ops_ns,
                                                 .cache_persistent = r->cache_persistent,
                                                 .cache_residual = r->cache_residual,
                                                 .cache_transient = r->cache_transient,
                                                 .phase = r->phase};
    p->hist_next = (p->hist_next + 1) % PROF_HISTORY;
    if (p->hist_n < PROF_HISTORY) p->hist_n++;
    memcpy(p->last_ctr, r->counters, sizeof p->last_ctr);
}

static void step_end(prof *p, int64_t t)
{
    step_state *st = &p->step;
    if (!st->open) {
        bump(&p->spans_unmatched);
        return;
    }
    st->open = false;
    prof_step_rec dropped;
    prof_step_rec *slot = prof_ring_claim(&p->step_ring, 0);
    prof_op_rec *marker = slot ? prof_ring_claim(&p->op_ring, 0) : NULL;
    prof_step_rec *r = marker ? slot : &dropped;
    *r = (prof_step_rec){.index = st->index,
                         .t_ns = st->t0 - p->t0,
                         .ns = t - st->t0,
                         .ops_ns = st->ops_ns,
                         .n_tokens = st->n_tokens,
                         .n_ctx = st->n_ctx,
                         .cache_persistent = st->cache_persistent,
                         .cache_residual = st->cache_residual,
                         .cache_transient = st->cache_transient,
                         .n_ops = st->n_ops,
                         .phase = st->phase,
                         .sum = st->sum};
    prof_counters_read(&p->ctr, r->counters);
    for (int i = 0; i < PROF_CTR_COUNT; i++)
        r->counters[i] = (r->counters[i] >= 0 && st->ctr0[i] >= 0) ? r->counters[i] - st->ctr0[i] : -1;
    if (marker) { /* the step record first: whoever sees the marker finds it */
        prof_ring_publish(&p->step_ring);
        *marker = (prof_op_rec){.step = st->index, .layer = -1, .op = OP_STEP};
        prof_ring_publish(&p->op_ring);
    }
    bump(marker ? &p->steps : &p->steps_dropped);
    remember_step(p, r);
    prof_window_close_step(&p->win);
    if (t - p->last_publish >= PUBLISH_NS) prof_publish(p);
}

static void span_done(prof *p, const frame *f, int64_t t)
{
    /* Built in its ring slot when there is room (no copy), else on the stack for the aggregates alone. */
    prof_op_rec dropped;
    prof_op_rec *slot = prof_ring_claim(&p->op_ring, p->step_reserve), *r = slot ? slot : &dropped;
    r->step = p->step.index;
    r->t_ns = f->t0 - p->t0;
    r->ns = t - f->t0;
    r->self_ns = r->ns - f->child_ns;
    bool in_layer = f->layer >= 0 && f->layer < p->n_layer;
    prof_cost_of(f->op, &f->shape, in_layer && p->cache ? &p->layer_cache[f->layer] : NULL, &r->cost);
    if (f->op == OP_ATTEND) { /* bytes a nested dequant read are not read twice */
        int64_t left = r->cost.bytes_cache_read - f->child_cache_read;
        r->cost.bytes_cache_read = left > 0 ? left : 0;
    }
    r->layer = f->layer;
    r->op = (uint8_t)f->op;
    r->depth = (uint8_t)p->depth;
    if (p->depth > 0) {
        frame *parent = &p->stack[p->depth - 1];
        parent->child_ns += r->ns;
        parent->child_cache_read += r->cost.bytes_cache_read;
    } else {
        p->step.ops_ns += r->ns;
    }
    p->step.n_ops++;
    prof_window *w = &p->win;
    prof_agg_add(&w->cur[in_layer ? f->layer + 1 : 0], r);
    prof_agg_add(&p->step.sum, r);
    prof_agg_add(&w->cur[1 + p->n_layer + f->op], r);
    if (slot) prof_ring_publish(&p->op_ring);
    bump(slot ? &p->spans : &p->spans_dropped);
}

static void sink_begin(void *self, span_op op, int32_t layer, const span_shape *shape)
{
    prof *p = self;
    if (!pthread_equal(pthread_self(), p->owner)) {
        bump(&p->spans_foreign);
        return;
    }
    if (op == OP_STEP) {
        step_begin(p, shape);
        return;
    }
    if (!p->step.open || p->depth >= MAX_DEPTH || op < 0 || op >= OP_COUNT) {
        p->ignored++;
        bump(&p->spans_unmatched);
        return;
    }
    frame *f = &p->stack[p->depth++];
    f->op = op;
    f->layer = layer;
    f->shape = *shape;
    f->child_ns = f->child_cache_read = 0;
    f->t0 = now_ns(p);
}

static void sink_end(void *self, span_op op, int32_t layer)
{
    prof *p = self;
    if (!pthread_equal(pthread_self(), p->owner)) return; /* before the clock: the tick rate is the owner's */
    int64_t t = now_ns(p); /* then, so that the bookkeeping below is not charged to the op */
    if (op == OP_STEP) {
        step_end(p, t);
        return;
    }
    if (p->ignored > 0) {
        p->ignored--;
        return;
    }
    if (p->depth == 0 || p->stack[p->depth - 1].op != op || p->stack[p->depth - 1].layer != layer) {
        bump(&p->spans_unmatched);
        return;
    }
    p->depth--;
    span_done(p, &p->stack[p->depth], t);
}

int prof_create(const prof_params *params, prof **out, xq_err *err)
{
    *out = NULL;
    /* The rings' indices are cache-line aligned, so the struct is too: calloc only promises 16 bytes. */
    size_t size = (sizeof(prof) + 63) & ~(size_t)63;
    prof *p = aligned_alloc(_Alignof(prof), size);
    if (!p) return xq_fail(err, XQ_ERUN, "profiler: out of memory");
    memset(p, 0, size);
    p->owner = pthread_self();
    p->n_layer = params->n_layer < 0 ? 0 : params->n_layer > PROF_MAX_LAYERS ? PROF_MAX_LAYERS : params->n_layer;
    p->sink = (span_sink){p, sink_begin, sink_end};
    p->engine_threads = xq_threads_or_all(params->n_threads);
    for (int i = 0; i < PROF_CTR_COUNT; i++)
        p->ctr.fd[i] = p->last_ctr[i] = -1;
    snprintf(p->ctr.status, sizeof p->ctr.status, "not available (not asked for)");
    p->shared = calloc(1, sizeof *p->shared);
    p->layer_cache = calloc((size_t)p->n_layer + 1, sizeof *p->layer_cache);
    size_t queue = params->queue_records ? params->queue_records : DEFAULT_QUEUE;
    /* Steps have tens to hundreds of spans each: an eighth of the op slots is room to spare. */
    if (!p->shared || !p->layer_cache || prof_window_init(&p->win, 1 + p->n_layer + OP_COUNT) ||
        prof_ring_init(&p->op_ring, queue, sizeof(prof_op_rec), &p->queue_wake) ||
        prof_ring_init(&p->step_ring, queue / 8 + STEP_RESERVE, sizeof(prof_step_rec), &p->queue_wake)) {
        prof_destroy(p);
        return xq_fail(err, XQ_ERUN, "profiler: out of memory for a queue of %zu spans", queue);
    }
    size_t op_slots = prof_ring_capacity(&p->op_ring);
    p->step_reserve = op_slots / 4 < STEP_RESERVE ? op_slots / 4 : STEP_RESERVE;
    if (params->counters) prof_counters_open(&p->ctr);
    if (params->calibrate) p->calib = prof_calib_start(xq_threads_or_all(params->n_threads));
    xq_ticks_init();
    clock_pair(&p->t0, &p->tick0);
    p->ns_per_tick = 1.0;
    prof_publish(p);
    *out = p;
    return XQ_OK;
}

void prof_destroy(prof *p)
{
    if (!p) return;
    prof_calib_destroy(p->calib);
    prof_counters_close(&p->ctr);
    prof_ring_free(&p->op_ring);
    prof_ring_free(&p->step_ring);
    prof_window_free(&p->win);
    free(p->layer_cache);
    free(p->shared);
    free(p);
}

const span_sink *prof_sink(prof *p)
{
    return &p->sink;
}

int prof_engine_threads(const prof *p)
{
    return p->engine_threads;
}
void prof_bind_cache(prof *p, const cache *c)
{
    p->cache = c;
}
size_t prof_peek(prof *p, const prof_op_rec **first)
{
    return prof_ring_peek(&p->op_ring, (const void **)first);
}

const prof_step_rec *prof_peek_step(prof *p)
{
    const void *first = NULL;
    return prof_ring_peek(&p->step_ring, &first) ? first : NULL;
}

void prof_release(prof *p, size_t n, size_t steps)
{
    prof_ring_release(&p->op_ring, n);
    prof_ring_release(&p->step_ring, steps);
}

size_t prof_drain(prof *p, prof_record *out, size_t max)
{
    size_t done = 0;
    const prof_op_rec *recs = NULL;
    for (size_t n; done < max && (n = prof_peek(p, &recs)) > 0;) {
        size_t i = 0;
        for (; i < n && done < max; i++, done++) {
            if (recs[i].op != OP_STEP) {
                out[done] = (prof_record){.kind = PROF_REC_OP, .op = recs[i]};
                continue;
            }
            const prof_step_rec *step = prof_peek_step(p); /* never NULL: a marker follows its step record */
            out[done] = step ? (prof_record){.kind = PROF_REC_STEP, .step = *step} : (prof_record){0};
            prof_ring_release(&p->step_ring, 1);
        }
        prof_ring_release(&p->op_ring, i);
    }
    return done;
}

bool prof_queue_empty(prof *p)
{
    return prof_ring_empty(&p->op_ring) && prof_ring_empty(&p->step_ring);
}

static bool queue_half_full(prof *p)
{
    return prof_ring_half_full(&p->op_ring) || prof_ring_half_full(&p->step_ring);
}

bool prof_queue_wait(prof *p, int64_t timeout_ns)
{
    uint32_t seen = xq_wake_seen(&p->queue_wake);
    if (queue_half_full(p)) return true;
    xq_wake_wait(&p->queue_wake, seen, timeout_ns);
    return queue_half_full(p);
}

void prof_get_stats(const prof *p, prof_stats *out)
{
    prof *mp = (prof *)p;
    out->spans = atomic_load(&mp->spans);
    out->steps = atomic_load(&mp->steps);
    out->spans_dropped = atomic_load(&mp->spans_dropped);
    out->steps_dropped = atomic_load(&mp->steps_dropped);
    out->spans_foreign = atomic_load(&mp->spans_foreign);
    out->spans_unmatched = atomic_load(&mp->spans_unmatched);
}

const char *prof_counters_status(const prof *p)
{
    return p->ctr.status;
}
bool prof_get_roofline(prof *p, prof_roofline *out)
{
    return prof_calib_poll(p->calib, out);
}

bool prof_finish_roofline(prof *p, int64_t timeout_ns, prof_roofline *out)
{
    return p->calib && prof_calib_finish(p->calib, timeout_ns, out);
}
