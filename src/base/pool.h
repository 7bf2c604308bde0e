/* The engine's thread pool: the caller runs a task on all n threads (itself as thread 0) and waits.
 * Idle workers sleep on a condition variable (no spinning that burns a core). */
#ifndef XQ_BASE_POOL_H
#define XQ_BASE_POOL_H

typedef struct xq_pool xq_pool;

/* fn(ctx, ith, nth) runs once per thread, ith in [0, nth). */
typedef void (*xq_task_fn)(void *ctx, int ith, int nth);

/* n_threads ≥ 1; NULL on failure (out of memory, thread creation failed). */
xq_pool *xq_pool_create(int n_threads);
void xq_pool_destroy(xq_pool *p);
int xq_pool_size(const xq_pool *p);
/* Runs fn on every thread and returns when all are done. p may be NULL (runs on the caller as 1 thread). */
void xq_pool_run(xq_pool *p, xq_task_fn fn, void *ctx);

/* Splits [0, n) into nth near-equal ranges; thread ith gets [*lo, *hi). */
static inline void xq_split_range(long long n, int ith, int nth, long long *lo, long long *hi)
{
    long long per = n / nth, rem = n % nth;
    *lo = ith * per + (ith < rem ? ith : rem);
    *hi = *lo + per + (ith < rem ? 1 : 0);
}

/* fn(ctx, lo, hi) over [0, n) in near-equal ranges, one per thread; on the caller alone (one range) when
 * n < min_parallel, where a hand-off would cost more than the work. */
typedef void (*xq_range_fn)(void *ctx, long long lo, long long hi);
void xq_pool_for(xq_pool *p, long long n, long long min_parallel, xq_range_fn fn, void *ctx);

int xq_cpu_count(void);
/* A thread count as given, or all cores for n <= 0 (the commands' default -t). */
int xq_threads_or_all(int n);

#endif
