/* Hand-off cost matters: a decode step of a 30-layer model runs ~250 parallel regions. Workers spin briefly on
 * an atomic generation counter (a region usually follows within microseconds), then sleep on a condition
 * variable, so an idle pool burns no core. */
#include "base/pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

enum { SPIN_ITERS = 1 << 12 }; /* tens of µs of pause instructions before a thread sleeps */

struct xq_pool {
    int n;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t work_cv;
    pthread_cond_t done_cv;
    int caller_sleeping; /* guarded by mu */
    atomic_ulong generation;
    atomic_int pending;
    atomic_int quit;
    int n_sleeping; /* guarded by mu */
    xq_task_fn fn;
    void *ctx;
};

typedef struct worker_arg {
    xq_pool *pool;
    int ith;
} worker_arg;

/* Returns the new generation, or 0 when the pool is shutting down. */
static unsigned long wait_for_work(xq_pool *p, unsigned long seen)
{
    for (int i = 0; i < SPIN_ITERS; i++) {
        unsigned long g = atomic_load_explicit(&p->generation, memory_order_acquire);
        if (g != seen) return g;
        if (atomic_load_explicit(&p->quit, memory_order_relaxed)) return 0;
        cpu_relax();
    }
    pthread_mutex_lock(&p->mu);
    p->n_sleeping++;
    unsigned long g;
    while ((g = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen && !atomic_load(&p->quit))
        pthread_cond_wait(&p->work_cv, &p->mu);
    p->n_sleeping--;
    pthread_mutex_unlock(&p->mu);
    return atomic_load(&p->quit) ? 0 : g;
}

static void *worker_main(void *arg)
{
    worker_arg *wa = arg;
    xq_pool *p = wa->pool;
    int ith = wa->ith;
    free(wa);
    unsigned long seen = 0;
    while ((seen = wait_for_work(p, seen)) != 0) {
        p->fn(p->ctx, ith, p->n);
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            if (p->caller_sleeping) pthread_cond_signal(&p->done_cv);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

xq_pool *xq_pool_create(int n_threads)
{
    if (n_threads < 1) return NULL;
    xq_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    atomic_init(&p->generation, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->quit, 0);
    p->threads = calloc((size_t)n_threads, sizeof *p->threads);
    if (!p->threads) {
        free(p);
        return NULL;
    }
    for (int i = 1; i < n_threads; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (wa) *wa = (worker_arg){p, i};
        if (!wa || pthread_create(&p->threads[i], NULL, worker_main, wa) != 0) {
            free(wa);
            p->n = i;
            xq_pool_destroy(p);
            return NULL;
        }
    }
    return p;
}

void xq_pool_destroy(xq_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->quit, 1);
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    free(p->threads);
    free(p);
}

int xq_pool_size(const xq_pool *p) { return p ? p->n : 1; }

void xq_pool_run(xq_pool *p, xq_task_fn fn, void *ctx)
{
    if (!p || p->n == 1) {
        fn(ctx, 0, 1);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->pending, p->n - 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    /* A worker that decided to sleep did so under mu after counting itself; wake it under mu. */
    pthread_mutex_lock(&p->mu);
    if (p->n_sleeping > 0) pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);

    fn(ctx, 0, p->n);

    for (int i = 0; i < SPIN_ITERS; i++) {
        if (atomic_load_explicit(&p->pending, memory_order_acquire) == 0) return;
        cpu_relax();
    }
    /* A straggler was descheduled (more threads than free cores): sleep instead of burning its core. */
    pthread_mutex_lock(&p->mu);
    p->caller_sleeping = 1;
    while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0) pthread_cond_wait(&p->done_cv, &p->mu);
    p->caller_sleeping = 0;
    pthread_mutex_unlock(&p->mu);
}

int xq_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int xq_threads_or_all(int n) { return n > 0 ? n : xq_cpu_count(); }

typedef struct range_job {
    xq_range_fn fn;
    void *ctx;
    long long n;
} range_job;

static void range_task(void *ctx, int ith, int nth)
{
    const range_job *j = ctx;
    long long lo, hi;
    xq_split_range(j->n, ith, nth, &lo, &hi);
    if (lo < hi) j->fn(j->ctx, lo, hi);
}

void xq_pool_for(xq_pool *p, long long n, long long min_parallel, xq_range_fn fn, void *ctx)
{
    if (n <= 0) return;
    if (n < min_parallel || !p || p->n == 1) {
        fn(ctx, 0, n);
        return;
    }
    range_job j = {fn, ctx, n};
    xq_pool_run(p, range_task, &j);
}
