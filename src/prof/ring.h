/* A bounded single-producer single-consumer queue of fixed-size records, allocated (and faulted in) once. The
 * producer (the engine thread) never waits: a claim on a full ring fails and the caller counts the drop. The
 * consumer (the trace writer) reads records in place and releases them in batches; it polls, and the producer
 * wakes it early (one system call) when it finds the ring half full. Invariant: 0 ≤ head − tail ≤ capacity; head
 * and wake_at are written only by the producer, tail only by the consumer. */
#ifndef XQ_PROF_RING_H
#define XQ_PROF_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/wake.h"

typedef struct prof_ring {
    _Alignas(64) _Atomic uint64_t head;
    uint64_t tail_seen; /* the producer's last read of tail: re-read only when the ring looks full */
    uint64_t wake_at;   /* the head at which the producer next looks whether the ring is half full */
    _Alignas(64) _Atomic uint64_t tail;
    _Alignas(64) uint64_t mask;
    size_t elem; /* bytes per record */
    unsigned char *slots;
    xq_wake *wake; /* signalled when the ring is found half full (may be shared by several rings) */
} prof_ring;

/* capacity is rounded up to a power of two; wake may be NULL. Returns 0, or −1 if out of memory. */
int prof_ring_init(prof_ring *r, size_t capacity, size_t elem, xq_wake *wake);
void prof_ring_free(prof_ring *r);

/* The next free slot, to be filled in place and then published, or NULL unless more than reserve slots are free
 * (reserve keeps room for other records). Filling in place spares the engine thread a copy of the record. */
static inline void *prof_ring_claim(prof_ring *r, uint64_t reserve)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    if (head - r->tail_seen + reserve >= r->mask + 1) {
        r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (head - r->tail_seen + reserve >= r->mask + 1) return NULL;
    }
    return r->slots + (head & r->mask) * r->elem;
}

void prof_ring_check_fill(prof_ring *r, uint64_t head);

/* Hands the claimed slot to the consumer. */
static inline void prof_ring_publish(prof_ring *r)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed) + 1;
    atomic_store_explicit(&r->head, head, memory_order_release);
    if (head >= r->wake_at) prof_ring_check_fill(r, head);
}

/* Consumer side: the oldest unread records that lie contiguously in the ring (*first, count returned), valid
 * until prof_ring_release gives back n ≤ count of them. */
size_t prof_ring_peek(prof_ring *r, const void **first);
void prof_ring_release(prof_ring *r, size_t n);
bool prof_ring_empty(prof_ring *r);
/* Whether at least half the ring holds unread records (consumer side). */
bool prof_ring_half_full(prof_ring *r);
size_t prof_ring_capacity(const prof_ring *r);

#endif
