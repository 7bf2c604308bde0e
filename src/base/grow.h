/* A growable buffer: the one realloc-doubling rule for the buffers that outside the decode loop grow to fit
 * (tokenizer work areas, the trace writer's packing buffers). */
#ifndef XQ_BASE_GROW_H
#define XQ_BASE_GROW_H

#include <stdbool.h>
#include <stddef.h>

/* Makes *buf (of *cap elements of elem bytes) hold at least need elements, doubling from 64; false when out of
 * memory (*buf and *cap unchanged). */
bool xq_grow(void **buf, size_t *cap, size_t need, size_t elem);

#endif
