/* The SPSC ring of ring.h. */
#include "prof/ring.h"

#include <stdlib.h>

enum { PAGE_BYTES = 4096 }; /* the smallest page size: touching every PAGE_BYTES touches every page */

int prof_ring_init(prof_ring *r, size_t capacity, size_t elem, xq_wake *wake)
{
    size_t cap = 16;
    while (cap < capacity)
        cap <<= 1;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    r->tail_seen = 0;
    r->wake_at = cap / 2;
    r->wake = wake;
    r->mask = cap - 1;
    r->elem = elem;
    r->slots = calloc(cap, elem);
    if (!r->slots) return -1;
    /* Fault every page in now: otherwise the engine thread takes the page faults of the first pass through the
     * ring (tens of MB: up to 80 ms in a VM) in the middle of the run. */
    volatile unsigned char *bytes = r->slots;
    for (size_t at = 0; at < cap * elem; at += PAGE_BYTES)
        bytes[at] = 0;
    return 0;
}

void prof_ring_free(prof_ring *r)
{
    free(r->slots);
    r->slots = NULL;
}

size_t prof_ring_capacity(const prof_ring *r)
{
    return (size_t)r->mask + 1;
}

size_t prof_ring_peek(prof_ring *r, const void **first)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    uint64_t to_wrap = r->mask + 1 - (tail & r->mask);
    *first = r->slots + (tail & r->mask) * r->elem;
    return (size_t)(head - tail < to_wrap ? head - tail : to_wrap);
}

void prof_ring_release(prof_ring *r, size_t n)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    atomic_store_explicit(&r->tail, tail + n, memory_order_release);
}

void prof_ring_check_fill(prof_ring *r, uint64_t head)
{
    uint64_t half = (r->mask + 1) / 2;
    r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (head - r->tail_seen < half) {
        r->wake_at = r->tail_seen + half; /* the earliest head at which it can be half full */
        return;
    }
    if (r->wake) xq_wake_signal(r->wake);
    r->wake_at = head + half / 2; /* again at three quarters if the consumer has not come by then */
}

bool prof_ring_half_full(prof_ring *r)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    return atomic_load_explicit(&r->head, memory_order_acquire) - tail >= (r->mask + 1) / 2;
}

bool prof_ring_empty(prof_ring *r)
{
    return atomic_load_explicit(&r->head, memory_order_acquire) == atomic_load_explicit(&r->tail, memory_order_acquire);
}
