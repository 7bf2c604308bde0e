/* Op spans packed for the trace's op_pending table: the op records of one step (or of the part of one that a
 * batch held) as one BLOB. While the engine keeps every core busy the writer stores these instead of op rows,
 * since a row costs it ~400 ns of a core the engine needs; the rows are built from them later
 * (store_expand_pending). Two codecs, named by op_pending.codec:
 *
 * Codec 1 (records alone; written by schema version 2, still read): each record is 13 zigzag LEB128 varints —
 * step, layer, op, depth, t_ns (as the difference from the previous record's), ns, self_ns, flops, the four
 * byte counts, remat — about 22 bytes.
 *
 * Codec 2 (written since version 3): a decode step repeats the previous one's ops in the same order with the
 * same shapes but for the attention's growing context, so each record is coded against the record at the same
 * position of the previous step: a mask of the fields that differ, then the start as the gap after the
 * previous record's end, the duration, and the differing fields' differences — about 6 bytes a record, which
 * is a quarter of the WAL and checkpoint work codec 1 costs the writer. Blocks form one chain per run; a block
 * that the chain's earlier blocks are not there to explain (the first of a run, the first after its
 * predecessors became rows) carries the coding context itself, so a killed run's blocks always decode. */
#ifndef XQ_STORE_OPPACK_H
#define XQ_STORE_OPPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prof/record.h"

enum { OPPACK_FIELDS = PROF_OP_FIELDS, OPPACK_MAX_RECORD = OPPACK_FIELDS * 10 }; /* a varint: ≤ 10 bytes */
enum { OPPACK_CODEC_RECORDS = 1, OPPACK_CODEC_CHAINED = 2 };

/* Codec 1. Writes n records to out (room for n · OPPACK_MAX_RECORD bytes); returns the bytes written. */
size_t oppack_encode(const prof_op_rec *recs, size_t n, uint8_t *out);
/* Reads every record of data[0, size) into out (room for max); returns the count, or −1 when the data is not
 * a whole number of well-formed records or holds more than max (a damaged file). */
long oppack_decode(const uint8_t *data, size_t size, prof_op_rec *out, size_t max);

/* Codec 2's context: what the encoder and the decoder of one run's chain both know after the same blocks. */
typedef struct oppack_ctx {
    int64_t run;        /* whose chain; −1: none yet */
    int64_t last_block; /* rowid of the chain's last block (the encoder's caller sets it after the insert) */
    prof_op_rec *prev;  /* the previous step's records, by position */
    prof_op_rec *cur;   /* the current step's records so far */
    size_t n_prev, n_cur, cap_prev, cap_cur;
    prof_op_rec last; /* the last record coded (zero before any) */
} oppack_ctx;

/* Empties c for a new chain of run (its memory is kept). A zeroed oppack_ctx is an empty one of run 0. */
void oppack_ctx_reset(oppack_ctx *c, int64_t run);
void oppack_ctx_free(oppack_ctx *c);

/* The most bytes oppack_block_encode writes for n records (carrying c's context or not). */
size_t oppack_block_bound(const oppack_ctx *c, size_t n);
/* Codes n records as the next block of c's chain into out and advances c; ends_step: the block ends its step
 * (op_pending.step not NULL); carry: the block carries the context it is coded against. Returns the bytes
 * written, 0 when out of memory (c is then unusable until reset). */
size_t oppack_block_encode(oppack_ctx *c, const prof_op_rec *recs, size_t n, bool ends_step, bool carry, uint8_t *out);
/* Decodes block rowid of run into out (room for max) and advances c; returns the count, −1 when the block is
 * damaged or is not the next of c's chain and carries no context, −2 when out of memory. */
long oppack_block_decode(oppack_ctx *c, int64_t run, int64_t rowid, const uint8_t *data, size_t size, bool ends_step,
                         prof_op_rec *out, size_t max);
/* Whether a block carries its context; false for damaged data. */
bool oppack_block_carries(const uint8_t *data, size_t size);
/* The same block made to carry c's context, where c is the context just before it (c.last_block is the block's
 * predecessor): written to out (room for oppack_block_bound(c, 0) + size bytes); returns the bytes, 0 when the
 * block already carries one, is damaged or does not follow c. */
size_t oppack_block_rekey(const oppack_ctx *c, const uint8_t *data, size_t size, uint8_t *out);

#endif
