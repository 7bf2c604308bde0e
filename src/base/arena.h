/* A bump allocator sized once (at session start), so the decode loop never allocates. */
#ifndef XQ_BASE_ARENA_H
#define XQ_BASE_ARENA_H

#include <stddef.h>

typedef struct xq_arena {
    unsigned char *base;
    size_t size, used;
} xq_arena;

/* Reserves size bytes (zeroed). Returns 0, or -1 if out of memory. */
int xq_arena_init(xq_arena *a, size_t size);
void xq_arena_free(xq_arena *a);
/* 64-byte aligned; NULL if the arena is exhausted (a sizing bug: callers check at session start). */
void *xq_arena_alloc(xq_arena *a, size_t size);

#endif
