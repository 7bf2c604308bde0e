#include "base/arena.h"

#include <stdlib.h>
#include <string.h>

int xq_arena_init(xq_arena *a, size_t size)
{
    a->used = 0;
    a->size = size;
    a->base = NULL;
    if (size == 0) return 0;
    if (posix_memalign((void **)&a->base, 64, size) != 0) return -1;
    memset(a->base, 0, size);
    return 0;
}

void xq_arena_free(xq_arena *a)
{
    free(a->base);
    a->base = NULL;
    a->size = a->used = 0;
}

void *xq_arena_alloc(xq_arena *a, size_t size)
{
    size_t start = (a->used + 63) & ~(size_t)63;
    if (start > a->size || size > a->size - start) return NULL;
    a->used = start + size;
    return a->base + start;
}
