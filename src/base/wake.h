/* A word one thread sleeps on, with a timeout, until another thread signals it (a private Linux futex): for a
 * consumer that polls a queue but must be woken early when its producer finds it filling up. The producer pays a
 * system call only when it signals. */
#ifndef XQ_BASE_WAKE_H
#define XQ_BASE_WAKE_H

#include <stdatomic.h>
#include <stdint.h>

typedef struct xq_wake {
    _Atomic uint32_t seq; /* bumped by each signal */
} xq_wake;

/* Read before checking the condition to wait for; then xq_wake_wait(w, seen, …) returns at once if a signal came
 * in between, so none is lost. */
static inline uint32_t xq_wake_seen(xq_wake *w)
{
    return atomic_load_explicit(&w->seq, memory_order_acquire);
}

/* Sleeps until a signal after `seen` was read, or timeout_ns, or a stray wake-up (callers re-check). */
void xq_wake_wait(xq_wake *w, uint32_t seen, int64_t timeout_ns);
void xq_wake_signal(xq_wake *w);

#endif
