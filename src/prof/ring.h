/* A bounded single-producer single-consumer queue of prof_record, allocated once. The producer (the engine
 * thread) never waits: a push into a full ring fails and the caller counts the drop. The consumer (the trace
 * writer) drains in batches. Invariant: 0 ≤ head − tail ≤ capacity; head is written only by the producer,
 * tail only by the consumer. */
#ifndef XQ_PROF_RING_H
#define XQ_PROF_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prof/record.h"

typedef struct prof_ring {
    _Alignas(64) _Atomic uint64_t head;
    _Alignas(64) _Atomic uint64_t tail;
    _Alignas(64) uint64_t mask;
    prof_record *slots;
} prof_ring;

/* capacity is rounded up to a power of two. Returns 0, or −1 if out of memory. */
int prof_ring_init(prof_ring *r, size_t capacity);
void prof_ring_free(prof_ring *r);

/* Copies rec in unless fewer than reserve + 1 slots are free (reserve keeps room for step records). */
static inline bool prof_ring_push(prof_ring *r, const prof_record *rec, uint64_t reserve)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (head - tail + reserve >= r->mask + 1) return false;
    r->slots[head & r->mask] = *rec;
    atomic_store_explicit(&r->head, head + 1, memory_order_release);
    return true;
}

/* Copies up to max records out, oldest first; returns how many. */
size_t prof_ring_pop(prof_ring *r, prof_record *out, size_t max);
size_t prof_ring_capacity(const prof_ring *r);

#endif
