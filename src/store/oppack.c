#include "store/oppack.h"

#include <stdlib.h>
#include <string.h>

#include "base/grow.h"

/* Field indices of prof_op_fields. */
enum {
    F_STEP,
    F_LAYER,
    F_OP,
    F_DEPTH,
    F_T,
    F_NS,
    F_SELF,
    F_FLOPS,
    F_WEIGHTS,
    F_CACHE_READ,
    F_CACHE_WRITE,
    F_ACT,
    F_REMAT
};

static uint8_t *put_uvarint(uint8_t *p, uint64_t z)
{
    while (z >= 0x80) {
        *p++ = (uint8_t)(z | 0x80);
        z >>= 7;
    }
    *p++ = (uint8_t)z;
    return p;
}

static uint8_t *put_varint(uint8_t *p, int64_t v)
{
    return put_uvarint(p, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63)); /* zigzag: small magnitudes are short */
}

/* Reads one varint at *p (< end); false when it runs past end or beyond 64 bits. */
static bool get_uvarint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t z = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        z |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = z;
            return true;
        }
    }
    return false;
}

static bool get_varint(const uint8_t **p, const uint8_t *end, int64_t *v)
{
    uint64_t z;
    if (!get_uvarint(p, end, &z)) return false;
    *v = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
    return true;
}

/* Differences wrap rather than overflow: extreme values survive, damaged data cannot cause undefined behaviour. */
static int64_t diff(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a - (uint64_t)b);
}

static int64_t add(int64_t a, int64_t d)
{
    return (int64_t)((uint64_t)a + (uint64_t)d);
}

/* The record of fields f, false when a field is out of its column's range (a damaged file). */
static bool from_fields(const int64_t f[OPPACK_FIELDS], prof_op_rec *r)
{
    if (f[F_LAYER] < INT32_MIN || f[F_LAYER] > INT32_MAX || f[F_OP] < 0 || f[F_OP] > UINT8_MAX || f[F_DEPTH] < 0 ||
        f[F_DEPTH] > UINT8_MAX)
        return false;
    *r = (prof_op_rec){.step = f[F_STEP],
                       .layer = (int32_t)f[F_LAYER],
                       .op = (uint8_t)f[F_OP],
                       .depth = (uint8_t)f[F_DEPTH],
                       .t_ns = f[F_T],
                       .ns = f[F_NS],
                       .self_ns = f[F_SELF],
                       .cost = {.flops = f[F_FLOPS],
                                .bytes_weights = f[F_WEIGHTS],
                                .bytes_cache_read = f[F_CACHE_READ],
                                .bytes_cache_write = f[F_CACHE_WRITE],
                                .bytes_act = f[F_ACT],
                                .remat = f[F_REMAT] != 0}};
    return true;
}

/* Codec 1 */

static uint8_t *put_records(const prof_op_rec *recs, size_t n, uint8_t *p)
{
    int64_t t_prev = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t f[OPPACK_FIELDS];
        prof_op_fields(&recs[i], f);
        f[F_T] = diff(f[F_T], t_prev); /* t_ns as a difference: short */
        for (int k = 0; k < OPPACK_FIELDS; k++)
            p = put_varint(p, f[k]);
        t_prev = recs[i].t_ns;
    }
    return p;
}

/* Reads one record at *p (t_prev: the previous record's start); false when damaged. */
static bool get_record(const uint8_t **p, const uint8_t *end, int64_t *t_prev, prof_op_rec *out)
{
    int64_t f[OPPACK_FIELDS];
    for (int k = 0; k < OPPACK_FIELDS; k++)
        if (!get_varint(p, end, &f[k])) return false;
    f[F_T] = *t_prev = add(*t_prev, f[F_T]);
    return from_fields(f, out);
}

size_t oppack_encode(const prof_op_rec *recs, size_t n, uint8_t *out)
{
    return (size_t)(put_records(recs, n, out) - out);
}

long oppack_decode(const uint8_t *data, size_t size, prof_op_rec *out, size_t max)
{
    const uint8_t *p = data, *end = data + size;
    int64_t t_prev = 0;
    size_t n = 0;
    while (p < end)
        if (n == max || !get_record(&p, end, &t_prev, &out[n++])) return -1;
    return (long)n;
}

/* Codec 2 */

enum { CARRIES = 1 };                      /* block flags */
enum { MIN_RECORD_BYTES = OPPACK_FIELDS }; /* a codec 1 record: one byte a field at least */

/* The fields a chained record codes as differences, in the order of its mask bits (the most often differing
 * first, so that a decode step's masks take one byte): from the record at the same position of the previous
 * step, but self_ns from the record's own ns and step from the previous record's. */
enum {
    B_FLOPS,
    B_CACHE_READ,
    B_ACT,
    B_SELF,
    B_STEP,
    B_CACHE_WRITE,
    B_WEIGHTS,
    B_LAYER,
    B_OP,
    B_DEPTH,
    B_REMAT,
    N_CODED
};
enum { MIN_CHAINED_BYTES = 3 }; /* mask, gap, ns */

static const prof_op_rec NO_RECORD;

/* The record coded against at the current position: the previous step's at the same position, if any. */
static const prof_op_rec *reference(const oppack_ctx *c)
{
    return c->n_cur < c->n_prev ? &c->prev[c->n_cur] : &NO_RECORD;
}

static uint8_t *put_chained(const oppack_ctx *c, const prof_op_rec *r, uint8_t *p)
{
    const prof_op_rec *ref = reference(c), *last = &c->last;
    const int64_t d[N_CODED] = {
        [B_FLOPS] = diff(r->cost.flops, ref->cost.flops),
        [B_CACHE_READ] = diff(r->cost.bytes_cache_read, ref->cost.bytes_cache_read),
        [B_ACT] = diff(r->cost.bytes_act, ref->cost.bytes_act),
        [B_SELF] = diff(r->self_ns, r->ns),
        [B_STEP] = diff(r->step, last->step),
        [B_CACHE_WRITE] = diff(r->cost.bytes_cache_write, ref->cost.bytes_cache_write),
        [B_WEIGHTS] = diff(r->cost.bytes_weights, ref->cost.bytes_weights),
        [B_LAYER] = (int64_t)r->layer - ref->layer,
        [B_OP] = (int64_t)r->op - ref->op,
        [B_DEPTH] = (int64_t)r->depth - ref->depth,
        [B_REMAT] = (int64_t)r->cost.remat - ref->cost.remat,
    };
    unsigned mask = 0;
    for (int b = 0; b < N_CODED; b++)
        mask |= (unsigned)(d[b] != 0) << b;
    p = put_uvarint(p, mask);
    p = put_varint(p, diff(r->t_ns, add(last->t_ns, last->ns))); /* the gap after the previous record's end */
    p = put_varint(p, r->ns);
    for (int b = 0; b < N_CODED; b++)
        if (mask & (1u << b)) p = put_varint(p, d[b]);
    return p;
}

static bool get_chained(const oppack_ctx *c, const uint8_t **p, const uint8_t *end, prof_op_rec *r)
{
    const prof_op_rec *ref = reference(c), *last = &c->last;
    uint64_t mask;
    int64_t gap, ns, d[N_CODED] = {0};
    if (!get_uvarint(p, end, &mask) || mask >> N_CODED || !get_varint(p, end, &gap) || !get_varint(p, end, &ns))
        return false;
    for (int b = 0; b < N_CODED; b++)
        if ((mask & (1u << b)) && !get_varint(p, end, &d[b])) return false;
    int64_t layer = add(ref->layer, d[B_LAYER]), op = add(ref->op, d[B_OP]), depth = add(ref->depth, d[B_DEPTH]);
    if (layer < INT32_MIN || layer > INT32_MAX || op < 0 || op > UINT8_MAX || depth < 0 || depth > UINT8_MAX)
        return false;
    *r = (prof_op_rec){.step = add(last->step, d[B_STEP]),
                       .t_ns = add(add(last->t_ns, last->ns), gap),
                       .ns = ns,
                       .self_ns = add(ns, d[B_SELF]),
                       .cost = {.flops = add(ref->cost.flops, d[B_FLOPS]),
                                .bytes_weights = add(ref->cost.bytes_weights, d[B_WEIGHTS]),
                                .bytes_cache_read = add(ref->cost.bytes_cache_read, d[B_CACHE_READ]),
                                .bytes_cache_write = add(ref->cost.bytes_cache_write, d[B_CACHE_WRITE]),
                                .bytes_act = add(ref->cost.bytes_act, d[B_ACT]),
                                .remat = add(ref->cost.remat, d[B_REMAT]) != 0},
                       .layer = (int32_t)layer,
                       .op = (uint8_t)op,
                       .depth = (uint8_t)depth};
    return true;
}

/* Room in c->cur for n more records. */
static bool reserve(oppack_ctx *c, size_t n)
{
    return xq_grow((void **)&c->cur, &c->cap_cur, c->n_cur + n, sizeof *c->cur);
}

static void append(oppack_ctx *c, const prof_op_rec *r)
{
    c->cur[c->n_cur++] = *r;
    c->last = *r;
}

static void end_step(oppack_ctx *c)
{
    prof_op_rec *t = c->prev;
    size_t cap = c->cap_prev;
    c->prev = c->cur, c->cap_prev = c->cap_cur, c->n_prev = c->n_cur;
    c->cur = t, c->cap_cur = cap, c->n_cur = 0;
}

void oppack_ctx_reset(oppack_ctx *c, int64_t run)
{
    c->run = run;
    c->last_block = 0;
    c->n_prev = c->n_cur = 0;
    c->last = NO_RECORD;
}

void oppack_ctx_free(oppack_ctx *c)
{
    free(c->prev);
    free(c->cur);
    *c = (oppack_ctx){.run = -1};
}

static uint8_t *put_context(const oppack_ctx *c, uint8_t *p)
{
    p = put_uvarint(p, c->n_prev);
    p = put_uvarint(p, c->n_cur);
    p = put_records(c->prev, c->n_prev, p);
    p = put_records(c->cur, c->n_cur, p);
    return put_records(&c->last, 1, p);
}

/* Reads n codec 1 records at *p into *buf (grown to fit). 0, −1 damaged, −2 out of memory. */
static int get_records(const uint8_t **p, const uint8_t *end, uint64_t n, prof_op_rec **buf, size_t *cap)
{
    if (n > (uint64_t)(end - *p) / MIN_RECORD_BYTES) return -1; /* no absurd allocation from a damaged count */
    if (!xq_grow((void **)buf, cap, (size_t)n, sizeof **buf)) return -2;
    int64_t t_prev = 0;
    for (uint64_t i = 0; i < n; i++)
        if (!get_record(p, end, &t_prev, &(*buf)[i])) return -1;
    return 0;
}

static int get_context(oppack_ctx *c, int64_t run, const uint8_t **p, const uint8_t *end)
{
    oppack_ctx_reset(c, run);
    uint64_t n_prev, n_cur;
    if (!get_uvarint(p, end, &n_prev) || !get_uvarint(p, end, &n_cur)) return -1;
    int rc = get_records(p, end, n_prev, &c->prev, &c->cap_prev);
    if (!rc) rc = get_records(p, end, n_cur, &c->cur, &c->cap_cur);
    int64_t t_prev = 0;
    if (!rc && !get_record(p, end, &t_prev, &c->last)) rc = -1;
    if (rc) return rc;
    c->n_prev = (size_t)n_prev, c->n_cur = (size_t)n_cur;
    return 0;
}

size_t oppack_block_bound(const oppack_ctx *c, size_t n)
{
    enum { HEADER = 4 * 10, CHAINED_MAX = (2 + N_CODED) * 10 + 2 };
    return HEADER + (c->n_prev + c->n_cur + 1) * OPPACK_MAX_RECORD + n * CHAINED_MAX;
}

size_t oppack_block_encode(oppack_ctx *c, const prof_op_rec *recs, size_t n, bool ends_step, bool carry, uint8_t *out)
{
    if (!reserve(c, n)) return 0;
    uint8_t *p = put_uvarint(out, carry ? CARRIES : 0);
    if (carry) p = put_context(c, p);
    p = put_uvarint(p, (uint64_t)c->last_block);
    for (size_t i = 0; i < n; i++) {
        p = put_chained(c, &recs[i], p);
        append(c, &recs[i]);
    }
    if (ends_step) end_step(c);
    return (size_t)(p - out);
}

static long decode_block(oppack_ctx *c, int64_t run, const uint8_t *p, const uint8_t *end, bool ends_step,
                         prof_op_rec *out, size_t max)
{
    uint64_t flags, prev_block;
    if (!get_uvarint(&p, end, &flags) || flags > CARRIES) return -1;
    if (flags & CARRIES) {
        int rc = get_context(c, run, &p, end);
        if (rc) return rc;
    }
    if (!get_uvarint(&p, end, &prev_block)) return -1;
    if (!(flags & CARRIES) && (c->run != run || (uint64_t)c->last_block != prev_block)) return -1;
    size_t room = (size_t)(end - p) / MIN_CHAINED_BYTES; /* not what a damaged count says */
    if (!reserve(c, max < room ? max : room)) return -2;
    size_t n = 0;
    for (; p < end; n++) {
        if (n == max || n == room || !get_chained(c, &p, end, &out[n])) return -1;
        append(c, &out[n]);
    }
    if (ends_step) end_step(c);
    return (long)n;
}

long oppack_block_decode(oppack_ctx *c, int64_t run, int64_t rowid, const uint8_t *data, size_t size, bool ends_step,
                         prof_op_rec *out, size_t max)
{
    long n = decode_block(c, run, data, data + size, ends_step, out, max);
    c->last_block = rowid;
    if (n < 0) c->run = -1; /* half advanced: only a block carrying its context can follow */
    return n;
}

bool oppack_block_carries(const uint8_t *data, size_t size)
{
    uint64_t flags;
    return get_uvarint(&data, data + size, &flags) && flags == CARRIES;
}

size_t oppack_block_rekey(const oppack_ctx *c, const uint8_t *data, size_t size, uint8_t *out)
{
    const uint8_t *p = data, *end = data + size;
    uint64_t flags, prev_block;
    if (!get_uvarint(&p, end, &flags) || flags != 0 || !get_uvarint(&p, end, &prev_block) ||
        prev_block != (uint64_t)c->last_block)
        return 0;
    uint8_t *q = put_uvarint(out, CARRIES);
    q = put_context(c, q);
    q = put_uvarint(q, prev_block);
    memcpy(q, p, (size_t)(end - p));
    return (size_t)(q - out) + (size_t)(end - p);
}
