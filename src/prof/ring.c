/* The SPSC ring of ring.h. */
#include "prof/ring.h"

#include <stdlib.h>

int prof_ring_init(prof_ring *r, size_t capacity)
{
    size_t cap = 16;
    while (cap < capacity)
        cap <<= 1;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    r->mask = cap - 1;
    r->slots = calloc(cap, sizeof *r->slots);
    return r->slots ? 0 : -1;
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

size_t prof_ring_pop(prof_ring *r, prof_record *out, size_t max)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    size_t n = (size_t)(head - tail);
    if (n > max) n = max;
    for (size_t i = 0; i < n; i++)
        out[i] = r->slots[(tail + i) & r->mask];
    atomic_store_explicit(&r->tail, tail + n, memory_order_release);
    return n;
}
