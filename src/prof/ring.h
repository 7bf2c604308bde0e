/* A bounded single-producer single-consumer queue of fixed-size records, allocated (and faulted in) once. The
 * producer (the engine thread) never waits: a claim on a full ring fails and the caller counts the drop. The
 * consumer (the trace writer) reads records in place and releases them in batches. Invariant:
 * 0 ≤ head − tail ≤ capacity; head is written only by the producer, tail only by the consumer. */
#ifndef XQ_PROF_RING_H
#define XQ_PROF_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct prof_ring {
    _Alignas(64) _Atomic uint64_t head;
    uint64_t tail_seen; /* the producer's last read of tail: re-read only when the ring looks full */
    _Alignas(64) _Atomic uint64_t tail;
    _Alignas(64) uint64_t mask;
    size_t elem; /* bytes per record */
    unsigned char *slots;
} prof_ring;

/* capacity is rounded up to a power of two. Returns 0, or −1 if out of memory. */
int prof_ring_init(prof_ring *r, size_t capacity, size_t elem);
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

/* Hands the claimed slot to the consumer. */
static inline void prof_ring_publish(prof_ring *r)
{
    atomic_store_explicit(&r->head, atomic_load_explicit(&r->head, memory_order_relaxed) + 1, memory_order_release);
}

/* Consumer side: the oldest unread records that lie contiguously in the ring (*first, count returned), valid
 * until prof_ring_release gives back n ≤ count of them. */
size_t prof_ring_peek(prof_ring *r, const void **first);
void prof_ring_release(prof_ring *r, size_t n);
bool prof_ring_empty(prof_ring *r);
size_t prof_ring_capacity(const prof_ring *r);

#endif
