/* A quantized stream: what one cache mode stores for one quantity of one layer (K, V, X, a latent, a delta),
 * one row of `width` channels per token, and the two views a query may have of a row (XQUANT.md §2):
 *   - the quantized view (dequantized codes), and
 *   - the fp16 view of the original row (kept in a ring of recent rows): the --window, and per-channel groups that
 *     are not yet full.
 * Which view a query at position t has of row j depends only on (j, t), never on how the tokens were batched:
 * row j is quantized for t ≥ threshold(j) = max(j + W, end of j's group for per-channel grouping), and that
 * threshold grows with j, so the quantized rows for t form a prefix [0, qstream_quant_prefix(t)).
 *
 * Layouts (all allocated at creation for n_ctx tokens; bytes counted exactly, nothing padded):
 *   per-token:   row j's codes at code index j·w_q + c; scale and zero per (row, group of G channels; the last
 *                group of a row may be shorter).
 *   per-channel: group g (tokens gG … gG+G−1) holds channel c's G codes at (g·w_q + c)·G + i; scale and zero
 *                per (group, channel). Only whole groups are allocated: floor(n_ctx/G).
 *   block:       llama.cpp block rows (Q8_0, Q4_0) per token.
 * With fp16_ch0, channel 0 is stored in fp16 and the other w_q = width − 1 channels are quantized. */
#ifndef XQ_CACHE_QSTREAM_H
#define XQ_CACHE_QSTREAM_H

#include <stdbool.h>
#include <stdint.h>

typedef enum qstream_kind { QS_PER_TOKEN, QS_PER_CHANNEL, QS_BLOCK } qstream_kind;

typedef struct qstream_spec {
    qstream_kind kind;
    int width;           /* channels per token */
    int bits;            /* e, for QS_PER_TOKEN and QS_PER_CHANNEL */
    int group;           /* G */
    uint32_t block_type; /* QT_Q8_0 or QT_Q4_0, for QS_BLOCK */
    bool fp16_ch0;       /* channel 0 kept in fp16 */
} qstream_spec;

/* The most recent rows of a stream as f32 originals, indexed by absolute position modulo the capacity. */
typedef struct rowring {
    float *rows;
    int64_t capacity;
    int width;
} rowring;

int rowring_init(rowring *r, int64_t capacity, int width);
void rowring_free(rowring *r);
void rowring_write(rowring *r, int64_t pos0, int64_t n, const float *rows);
/* Rows j0 … j1−1 rounded to fp16, into out (row stride `stride`). The rows must still be held. */
void rowring_read_fp16(const rowring *r, int64_t j0, int64_t j1, float *out, int64_t stride);
const float *rowring_row(const rowring *r, int64_t j);

typedef struct qstream {
    qstream_spec spec;
    int w_q;                  /* quantized channels */
    int64_t n_ctx, n_groups;  /* n_groups: whole per-channel groups allocated */
    int groups_per_row;       /* per-token: ceil(w_q / G) */
    uint8_t *codes;           /* packed codes, or block rows */
    uint16_t *params;         /* (scale, zero) fp16 pairs */
    uint16_t *ch0;            /* fp16 channel 0, n_ctx entries */
    uint64_t code_bytes, param_bytes, ch0_bytes;
    rowring ring;             /* originals for the fp16 view and for filling per-channel groups */
    bool has_fp16_view;       /* some row is seen in fp16 by some query (window or per-channel grouping) */
    int64_t window;
    float *exact; /* only in the identity-quantizer test build (XQ_IDENTITY_QUANT): the input, unchanged */
} qstream;

/* ring_rows: rows the ring must hold (0 when the stream has no fp16 view). */
int qstream_init(qstream *qs, const qstream_spec *spec, int64_t n_ctx, int64_t window, int64_t ring_rows);
void qstream_free(qstream *qs);
/* Rows the ring needs so that a call appending n_batch rows and attending right after finds every fp16 row. */
int64_t qstream_ring_rows(const qstream_spec *spec, int64_t window, int64_t n_batch);

/* Stores rows pos0 … pos0+n−1 (n × width f32): per-token and block rows are quantized at once; per-channel
 * groups are quantized from the ring's fp32 originals when this append fills them. */
void qstream_append(qstream *qs, int64_t pos0, int64_t n, const float *rows);
/* Number of leading rows a query at position t sees quantized. */
int64_t qstream_quant_prefix(const qstream *qs, int64_t t);
/* Quantized view of rows j0 … j1−1 (all below the prefix of the latest position appended). */
void qstream_read_quant(const qstream *qs, int64_t j0, int64_t j1, float *out, int64_t stride);
void qstream_read_fp16(const qstream *qs, int64_t j0, int64_t j1, float *out, int64_t stride);

/* Persistent bytes per token as XQUANT.md §1 counts them (whole groups, scale+zero 4 bytes per group). */
double qstream_bytes_per_token(const qstream_spec *spec);
/* Bytes of the store that n tokens occupy (whole groups only), from the layout; and what was allocated. */
uint64_t qstream_bytes_held(const qstream *qs, int64_t n_tokens);
uint64_t qstream_bytes_allocated(const qstream *qs);
uint64_t qstream_ring_bytes(const qstream *qs);

#endif
