/* Op spans packed for the trace's op_pending table: the op records of one step (or of the part of one that a
 * batch held) as one BLOB. While the engine keeps every core busy the writer stores these instead of op rows,
 * since a row costs it ~400 ns of a core the engine needs and a packed record ~40 ns; the rows are built from
 * them later (store_expand_pending). Each record is 13 zigzag LEB128 varints: step, layer, op, depth, t_ns (as
 * the difference from the previous record's), ns, self_ns, flops, the four byte counts, remat — about 30 bytes
 * instead of 88, the same on every machine. */
#ifndef XQ_STORE_OPPACK_H
#define XQ_STORE_OPPACK_H

#include <stddef.h>
#include <stdint.h>

#include "prof/record.h"

enum { OPPACK_FIELDS = PROF_OP_FIELDS, OPPACK_MAX_RECORD = OPPACK_FIELDS * 10 }; /* a varint: ≤ 10 bytes */

/* Writes n records to out (room for n · OPPACK_MAX_RECORD bytes); returns the bytes written. */
size_t oppack_encode(const prof_op_rec *recs, size_t n, uint8_t *out);
/* Reads every record of data[0, size) into out (room for max); returns the count, or −1 when the data is not
 * a whole number of well-formed records or holds more than max (a damaged file). */
long oppack_decode(const uint8_t *data, size_t size, prof_op_rec *out, size_t max);

#endif
