#include "store/oppack.h"

#include <stdbool.h>

static uint8_t *put_varint(uint8_t *p, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); /* zigzag: small magnitudes of either sign are short */
    while (z >= 0x80) {
        *p++ = (uint8_t)(z | 0x80);
        z >>= 7;
    }
    *p++ = (uint8_t)z;
    return p;
}

/* Reads one varint at *p (< end) into *v; false when it runs past end or beyond 64 bits. */
static bool get_varint(const uint8_t **p, const uint8_t *end, int64_t *v)
{
    uint64_t z = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        z |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
            return true;
        }
    }
    return false;
}

size_t oppack_encode(const prof_op_rec *recs, size_t n, uint8_t *out)
{
    uint8_t *p = out;
    int64_t t_prev = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t f[PROF_OP_FIELDS];
        prof_op_fields(&recs[i], f);
        f[4] = (int64_t)((uint64_t)recs[i].t_ns - (uint64_t)t_prev); /* t_ns as a difference: short */
        for (int k = 0; k < OPPACK_FIELDS; k++)
            p = put_varint(p, f[k]);
        t_prev = recs[i].t_ns;
    }
    return (size_t)(p - out);
}

long oppack_decode(const uint8_t *data, size_t size, prof_op_rec *out, size_t max)
{
    const uint8_t *p = data, *end = data + size;
    int64_t t_prev = 0;
    size_t n = 0;
    while (p < end) {
        int64_t f[OPPACK_FIELDS];
        for (int k = 0; k < OPPACK_FIELDS; k++)
            if (!get_varint(&p, end, &f[k])) return -1;
        if (n == max || f[1] < INT32_MIN || f[1] > INT32_MAX || f[2] < 0 || f[2] > UINT8_MAX || f[3] < 0 ||
            f[3] > UINT8_MAX)
            return -1;
        t_prev = (int64_t)((uint64_t)t_prev + (uint64_t)f[4]); /* wraps, never overflows, on damaged data */
        out[n++] = (prof_op_rec){.step = f[0],
                                 .layer = (int32_t)f[1],
                                 .op = (uint8_t)f[2],
                                 .depth = (uint8_t)f[3],
                                 .t_ns = t_prev,
                                 .ns = f[5],
                                 .self_ns = f[6],
                                 .cost = {.flops = f[7],
                                          .bytes_weights = f[8],
                                          .bytes_cache_read = f[9],
                                          .bytes_cache_write = f[10],
                                          .bytes_act = f[11],
                                          .remat = f[12] != 0}};
    }
    return (long)n;
}
