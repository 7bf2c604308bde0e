#include "base/grow.h"

#include <stdint.h>
#include <stdlib.h>

bool xq_grow(void **buf, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return true;
    size_t cap2 = *cap ? *cap : 64;
    while (cap2 < need)
        cap2 *= 2;
    if (elem && cap2 > SIZE_MAX / elem) return false;
    void *p = realloc(*buf, cap2 * elem);
    if (!p) return false;
    *buf = p;
    *cap = cap2;
    return true;
}
