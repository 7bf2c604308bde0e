/* The profiler sink on synthetic spans: nesting (self time, depth, cache bytes counted once), the step record
 * (ops_ns ≤ ns), malformed and foreign-thread spans ignored and counted, a full queue dropping spans but never
 * the step, the writer woken when the queue is half full, no allocation while spans flow, a live snapshot that a
 * reader thread always sees consistent, and span times that agree with the monotonic clock (read through the
 * TSC, or with XQ_NO_TSC=1 directly: ctest runs this file both ways). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/ticks.h"
#include "prof/prof.h"
#include "testlib.h"

enum { N_LAYER = 4, MAX_RECORDS = 4096 };

static prof_record recs[MAX_RECORDS];

static prof *make(size_t queue)
{
    prof *p = NULL;
    xq_err err = {0};
    prof_params pp = {.n_layer = N_LAYER, .queue_records = queue};
    CHECK(prof_create(&pp, &p, &err) == XQ_OK);
    return p;
}

static void busy(int n)
{
    volatile double x = 0;
    for (int i = 0; i < n; i++)
        x += 1e-9 * i;
}

static void span(const span_sink *s, span_op op, int layer, span_shape sh)
{
    span_begin(s, op, layer, &sh);
    busy(2000);
    span_end(s, op, layer);
}

/* One decode-like step: an attend that nests a dequant and a remat, in layer 1. */
static void nested_step(const span_sink *s)
{
    span_shape step = {.n = 1, .ctx = 50};
    span_begin(s, OP_STEP, -1, &step);
    span(s, OP_EMBED, -1, (span_shape){.m = 64, .n = 1, .k = 1});
    span_shape att = {.m = 4, .n = 1, .k = 16, .ctx = 50};
    span_begin(s, OP_ATTEND, 1, &att);
    span(s, OP_DEQUANT, 1, (span_shape){.m = 50, .n = 32, .k = 4});
    span(s, OP_REMAT, 1, (span_shape){.m = 50, .n = 64, .k = 32, .dtype = 0});
    busy(2000);
    span_end(s, OP_ATTEND, 1);
    span_end(s, OP_STEP, -1);
}

static void test_nesting(void)
{
    prof *p = make(0);
    nested_step(prof_sink(p));
    size_t n = prof_drain(p, recs, MAX_RECORDS);
    CHECK(n == 5);
    const prof_op_rec *embed = &recs[0].op, *deq = &recs[1].op, *remat = &recs[2].op, *att = &recs[3].op;
    const prof_step_rec *st = &recs[4].step;
    CHECK(recs[0].kind == PROF_REC_OP && recs[4].kind == PROF_REC_STEP);
    CHECK(embed->op == OP_EMBED && embed->layer == -1 && embed->depth == 0 && embed->self_ns == embed->ns);
    CHECK(deq->op == OP_DEQUANT && deq->depth == 1 && deq->cost.remat);
    CHECK(remat->op == OP_REMAT && remat->depth == 1 && remat->cost.flops == 2LL * 50 * 64 * 32);
    CHECK(att->op == OP_ATTEND && att->depth == 0 && att->layer == 1);
    CHECK(att->self_ns == att->ns - deq->ns - remat->ns && att->self_ns > 0);
    CHECK(att->t_ns <= deq->t_ns && deq->t_ns + deq->ns <= remat->t_ns + remat->ns);
    /* No cache is bound, so attend itself reads nothing; the dequant's bytes are counted once, there. */
    CHECK(att->cost.bytes_cache_read == 0 && deq->cost.bytes_cache_read == 50 * 32 / 2);
    CHECK(st->index == 0 && st->n_ops == 4 && st->phase == PROF_PHASE_DECODE);
    CHECK(st->ops_ns == embed->ns + att->ns && st->ops_ns <= st->ns);
    CHECK(st->cache_persistent == -1 && st->counters[0] == -1);
    prof_destroy(p);
}

static void test_malformed(void)
{
    prof *p = make(0);
    const span_sink *s = prof_sink(p);
    span(s, OP_RMSNORM, 0, (span_shape){.m = 64, .n = 1}); /* outside a step */
    span_end(s, OP_MATMUL_Q, 0);                           /* end without begin */
    span_shape step = {.n = 3, .ctx = 3};
    span_begin(s, OP_STEP, -1, &step);
    span_shape sh = {.m = 64, .n = 3, .k = 64};
    span_begin(s, OP_MATMUL_Q, 0, &sh);
    span_end(s, OP_MATMUL_K, 0); /* mismatched end: ignored */
    span_end(s, OP_MATMUL_Q, 0);
    span_end(s, OP_STEP, -1);
    size_t n = prof_drain(p, recs, MAX_RECORDS);
    CHECK(n == 2 && recs[0].op.op == OP_MATMUL_Q && recs[1].kind == PROF_REC_STEP);
    CHECK(recs[1].step.phase == PROF_PHASE_PREFILL);
    prof_stats st;
    prof_get_stats(p, &st);
    CHECK(st.spans == 1 && st.steps == 1 && st.spans_unmatched == 3 && st.spans_dropped == 0);
    prof_destroy(p);
}

static void *foreign_thread(void *arg)
{
    span((const span_sink *)arg, OP_ROPE, 0, (span_shape){.m = 4, .n = 1, .k = 16});
    return NULL;
}

static void test_foreign_thread(void)
{
    prof *p = make(0);
    pthread_t t;
    pthread_create(&t, NULL, foreign_thread, (void *)prof_sink(p));
    pthread_join(t, NULL);
    prof_stats st;
    prof_get_stats(p, &st);
    CHECK(st.spans_foreign == 1 && st.spans == 0 && prof_queue_empty(p));
    prof_destroy(p);
}

static void test_queue_full(void)
{
    prof *p = make(256); /* 256 slots, 64 of them kept for steps */
    const span_sink *s = prof_sink(p);
    span_shape step = {.n = 1, .ctx = 2};
    span_begin(s, OP_STEP, -1, &step);
    span_shape sh = {.m = 64, .n = 1};
    for (int i = 0; i < 1000; i++) {
        span_begin(s, OP_RESIDUAL, i % N_LAYER, &sh);
        span_end(s, OP_RESIDUAL, i % N_LAYER);
    }
    span_end(s, OP_STEP, -1);
    prof_stats st;
    prof_get_stats(p, &st);
    CHECK(st.spans == 192 && st.spans_dropped == 808 && st.steps == 1 && st.steps_dropped == 0);
    size_t n = prof_drain(p, recs, MAX_RECORDS);
    CHECK(n == 193 && recs[192].kind == PROF_REC_STEP && recs[192].step.n_ops == 1000);
    prof_destroy(p);
}

/* The trace writer's wait: spans that leave the queue under half full let it sleep; the span that fills half of it
 * wakes it at once (its timeout, 30 s, is far longer than the test may take). */
typedef struct waiter {
    prof *p;
    _Atomic bool done;
    int64_t ns;
} waiter;

static void *wait_for_queue(void *arg)
{
    waiter *w = arg;
    int64_t t0 = xq_now_ns();
    prof_queue_wait(w->p, 30LL * 1000 * 1000 * 1000);
    w->ns = xq_now_ns() - t0;
    atomic_store(&w->done, true);
    return NULL;
}

static void residual_spans(const span_sink *s, int n)
{
    span_shape sh = {.m = 64, .n = 1};
    for (int i = 0; i < n; i++) {
        span_begin(s, OP_RESIDUAL, i % N_LAYER, &sh);
        span_end(s, OP_RESIDUAL, i % N_LAYER);
    }
}

static void test_queue_wake(void)
{
    prof *p = make(1024); /* half: 512 records */
    const span_sink *s = prof_sink(p);
    waiter w = {.p = p};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, wait_for_queue, &w) == 0);
    span_shape step = {.n = 1, .ctx = 2};
    span_begin(s, OP_STEP, -1, &step);
    residual_spans(s, 500);
    struct timespec pause = {0, 200 * 1000 * 1000};
    nanosleep(&pause, NULL);
    CHECK(!atomic_load(&w.done));
    residual_spans(s, 20);
    pthread_join(t, NULL);
    CHECKF(w.ns < 10LL * 1000 * 1000 * 1000, "the writer slept %.1f s with the queue half full", w.ns / 1e9);
    span_end(s, OP_STEP, -1);
    prof_destroy(p);
}

#if !defined(__SANITIZE_ADDRESS__)
/* Allocation counting by interposing malloc (glibc's own entry points stay reachable). */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
static _Atomic long allocations;
void *malloc(size_t n)
{
    atomic_fetch_add(&allocations, 1);
    return __libc_malloc(n);
}
void *calloc(size_t n, size_t size)
{
    atomic_fetch_add(&allocations, 1);
    return __libc_calloc(n, size);
}
void *realloc(void *ptr, size_t n)
{
    atomic_fetch_add(&allocations, 1);
    return __libc_realloc(ptr, n);
}

static void test_no_allocation(void)
{
    prof *p = make(0);
    const span_sink *s = prof_sink(p);
    nested_step(s); /* first use: anything lazy (vDSO, TLS) happens here */
    long before = atomic_load(&allocations);
    for (int i = 0; i < 100; i++)
        nested_step(s);
    prof_publish(p);
    CHECK(atomic_load(&allocations) == before);
    void *volatile probe = malloc(16); /* the counter itself works */
    CHECK(atomic_load(&allocations) == before + 1);
    free(probe);
    prof_destroy(p);
}
#else
static void test_no_allocation(void)
{
    printf("allocation count skipped under AddressSanitizer\n");
}
#endif

typedef struct reader_ctx {
    prof *p;
    _Atomic int stop;
    long reads, torn, inconsistent;
} reader_ctx;

/* A snapshot is consistent when its per-layer and per-op aggregates describe the same spans. */
static bool consistent(const prof_snapshot *s)
{
    int64_t by_layer = s->nonlayer.self_ns, by_op = 0, n_layer = s->nonlayer.count, n_op = 0;
    for (int l = 0; l < s->n_layer; l++) {
        by_layer += s->layer[l].self_ns;
        n_layer += s->layer[l].count;
    }
    for (int o = 0; o < OP_COUNT; o++) {
        by_op += s->op[o].self_ns;
        n_op += s->op[o].count;
    }
    return by_layer == by_op && n_layer == n_op && s->window_steps <= PROF_WINDOW && s->n_history <= PROF_HISTORY;
}

static void *reader_thread(void *arg)
{
    reader_ctx *r = arg;
    prof_snapshot *snap = malloc(sizeof *snap);
    uint64_t last = 0;
    while (!atomic_load(&r->stop)) {
        if (prof_snapshot_read(r->p, snap) != 0) {
            r->torn++;
            continue;
        }
        r->reads++;
        if (!consistent(snap) || snap->version < last) r->inconsistent++;
        last = snap->version;
    }
    free(snap);
    return NULL;
}

static void test_snapshot(void)
{
    prof *p = make(1 << 16);
    reader_ctx r = {.p = p};
    pthread_t t;
    pthread_create(&t, NULL, reader_thread, &r);
    for (int i = 0; i < 400; i++) {
        nested_step(prof_sink(p));
        prof_publish(p); /* as often as possible, to race the reader */
        prof_drain(p, recs, MAX_RECORDS);
    }
    atomic_store(&r.stop, 1);
    pthread_join(t, NULL);
    CHECK(r.reads > 0 && r.inconsistent == 0);
    prof_snapshot *s = malloc(sizeof *s);
    CHECK(prof_snapshot_read(p, s) == 0);
    CHECK(s->steps == 400 && s->window_steps == PROF_WINDOW && s->n_history == PROF_HISTORY);
    CHECK(s->history[PROF_HISTORY - 1].index == 399 && s->op[OP_ATTEND].count == PROF_WINDOW);
    CHECK(s->layer[1].remat_flops == PROF_WINDOW * 2LL * 50 * 64 * 32 + PROF_WINDOW * 2LL * 50 * 32);
    printf("snapshot: %ld consistent reads, %ld retried\n", r.reads, r.torn);
    free(s);
    prof_destroy(p);
}

/* A span around a 30 ms sleep, timed from outside with the monotonic clock: the profiler's ns lies between the
 * sleep and the outside time (+ a tolerance for the reads' jitter and the tick rate measured over ms). */
static void test_clock(void)
{
    prof *p = make(64);
    const span_sink *s = prof_sink(p);
    span_shape step = {.n = 1, .ctx = 1}, sh = {.m = 8, .n = 1, .k = 8};
    span_begin(s, OP_STEP, -1, &step);
    int64_t t0 = xq_now_ns();
    span_begin(s, OP_RMSNORM, 0, &sh);
    struct timespec ms30 = {0, 30 * 1000 * 1000};
    nanosleep(&ms30, NULL);
    span_end(s, OP_RMSNORM, 0);
    int64_t outside = xq_now_ns() - t0;
    span_end(s, OP_STEP, -1);
    size_t n = prof_drain(p, recs, MAX_RECORDS);
    CHECK(n == 2 && recs[0].kind == PROF_REC_OP && recs[1].kind == PROF_REC_STEP);
    int64_t ns = recs[0].op.ns, tol = 200 * 1000;
    CHECKF(ns >= 30 * 1000 * 1000 - tol && ns <= outside + tol, "span %lld ns, sleep 30 ms, outside %lld ns (%s)",
           (long long)ns, (long long)outside, xq_ticks_tsc ? "TSC" : "monotonic clock");
    CHECK(recs[1].step.ns >= ns && recs[1].step.ops_ns == ns);
    prof_destroy(p);
}

int main(void)
{
    test_clock();
    test_nesting();
    test_malformed();
    test_foreign_thread();
    test_queue_full();
    test_queue_wake();
    test_no_allocation();
    test_snapshot();
    return test_report("test_prof_sink");
}
