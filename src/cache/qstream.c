/* Quantized streams: storage of one quantity per layer, its two views, and its exact byte count. */
#include "cache/qstream.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/fp16.h"
#include "cache/blockrow.h"
#include "cache/quant.h"
#include "model/qtypes.h"

int rowring_init(rowring *r, int64_t capacity, int width)
{
    *r = (rowring){NULL, capacity, width};
    if (capacity == 0) return 0;
    r->rows = malloc((size_t)capacity * (size_t)width * sizeof(float));
    return r->rows ? 0 : -1;
}

void rowring_free(rowring *r)
{
    free(r->rows);
    r->rows = NULL;
}

const float *rowring_row(const rowring *r, int64_t j) { return r->rows + (j % r->capacity) * r->width; }

void rowring_write(rowring *r, int64_t pos0, int64_t n, const float *rows)
{
    if (!r->capacity) return;
    for (int64_t i = n > r->capacity ? n - r->capacity : 0; i < n; i++)
        memcpy(r->rows + ((pos0 + i) % r->capacity) * r->width, rows + i * r->width, (size_t)r->width * sizeof(float));
}

void rowring_read_fp16(const rowring *r, int64_t j0, int64_t j1, float *out, int64_t stride)
{
    for (int64_t j = j0; j < j1; j++) xq_round_fp16_row(rowring_row(r, j), out + (j - j0) * stride, r->width);
}

int64_t qstream_ring_rows(const qstream_spec *spec, int64_t window, int64_t n_batch)
{
    int64_t span = spec->kind == QS_PER_CHANNEL ? (window > spec->group ? window : spec->group) : window;
    return span > 0 ? span + n_batch : 0;
}

static int alloc_bytes(void **p, uint64_t bytes)
{
    *p = bytes ? calloc(1, (size_t)bytes) : NULL;
    return bytes && !*p ? -1 : 0;
}

int qstream_init(qstream *qs, const qstream_spec *spec, int64_t n_ctx, int64_t window, int64_t ring_rows)
{
    *qs = (qstream){.spec = *spec, .n_ctx = n_ctx, .window = window};
    int G = spec->group;
    qs->w_q = spec->width - (spec->fp16_ch0 ? 1 : 0);
    qs->has_fp16_view = spec->kind == QS_PER_CHANNEL || window > 0;
    switch (spec->kind) {
    case QS_PER_TOKEN:
        qs->groups_per_row = (qs->w_q + G - 1) / G;
        qs->code_bytes = quant_packed_bytes((uint64_t)n_ctx * (uint64_t)qs->w_q, spec->bits);
        qs->param_bytes = (uint64_t)n_ctx * (uint64_t)qs->groups_per_row * 4;
        break;
    case QS_PER_CHANNEL:
        qs->n_groups = n_ctx / G;
        qs->code_bytes = quant_packed_bytes((uint64_t)qs->n_groups * (uint64_t)G * (uint64_t)qs->w_q, spec->bits);
        qs->param_bytes = (uint64_t)qs->n_groups * (uint64_t)qs->w_q * 4;
        break;
    case QS_BLOCK: qs->code_bytes = (uint64_t)n_ctx * qt_row_bytes(spec->block_type, spec->width); break;
    }
    qs->ch0_bytes = spec->fp16_ch0 ? (uint64_t)n_ctx * 2 : 0;
    int rc = alloc_bytes((void **)&qs->codes, qs->code_bytes) | alloc_bytes((void **)&qs->params, qs->param_bytes) |
             alloc_bytes((void **)&qs->ch0, qs->ch0_bytes) | rowring_init(&qs->ring, ring_rows, spec->width);
#ifdef XQ_IDENTITY_QUANT
    rc |= alloc_bytes((void **)&qs->exact, (uint64_t)n_ctx * (uint64_t)spec->width * sizeof(float));
#endif
    if (rc) qstream_free(qs);
    return rc ? -1 : 0;
}

void qstream_free(qstream *qs)
{
    free(qs->codes);
    free(qs->params);
    free(qs->ch0);
    rowring_free(&qs->ring);
#ifdef XQ_IDENTITY_QUANT
    free(qs->exact);
#endif
    qs->codes = NULL;
    qs->params = NULL;
    qs->ch0 = NULL;
}

static void store_token_row(qstream *qs, int64_t j, const float *src)
{
    int G = qs->spec.group;
    for (int g = 0; g < qs->groups_per_row; g++) {
        int c0 = g * G, len = qs->w_q - c0 < G ? qs->w_q - c0 : G;
        uint16_t *p = qs->params + ((uint64_t)j * (uint64_t)qs->groups_per_row + (uint64_t)g) * 2;
        quant_store_group(src + c0, len, 1, qs->spec.bits, qs->codes, (uint64_t)j * (uint64_t)qs->w_q + (uint64_t)c0,
                          p, p + 1);
    }
}

/* Quantizes per-channel group g from the ring's fp32 originals (its G rows are still held there). */
static void store_channel_group(qstream *qs, int64_t g)
{
    int G = qs->spec.group, off = qs->spec.fp16_ch0 ? 1 : 0;
    float column[G];
    for (int c = 0; c < qs->w_q; c++) {
        for (int i = 0; i < G; i++) column[i] = rowring_row(&qs->ring, g * G + i)[off + c];
        uint16_t *p = qs->params + ((uint64_t)g * (uint64_t)qs->w_q + (uint64_t)c) * 2;
        quant_store_group(column, G, 1, qs->spec.bits, qs->codes, ((uint64_t)g * (uint64_t)qs->w_q + (uint64_t)c) * G,
                          p, p + 1);
    }
}

void qstream_append(qstream *qs, int64_t pos0, int64_t n, const float *rows)
{
    const qstream_spec *sp = &qs->spec;
    int off = sp->fp16_ch0 ? 1 : 0;
    rowring_write(&qs->ring, pos0, n, rows);
#ifdef XQ_IDENTITY_QUANT
    memcpy(qs->exact + pos0 * sp->width, rows, (size_t)(n * sp->width) * sizeof(float));
#endif
    for (int64_t t = 0; t < n && off; t++) qs->ch0[pos0 + t] = xq_f32_to_fp16(rows[t * sp->width]);
    if (sp->kind == QS_PER_TOKEN) {
        for (int64_t t = 0; t < n; t++) store_token_row(qs, pos0 + t, rows + t * sp->width + off);
    } else if (sp->kind == QS_BLOCK) {
        uint64_t rb = qt_row_bytes(sp->block_type, sp->width);
        for (int64_t t = 0; t < n; t++)
            qt_quantize_row(sp->block_type, rows + t * sp->width, qs->codes + (uint64_t)(pos0 + t) * rb, sp->width);
    } else {
        /* Groups whose last token arrives in this append: g with pos0 ≤ (g+1)·G − 1 ≤ pos0 + n − 1. */
        for (int64_t g = pos0 / sp->group; (g + 1) * sp->group <= pos0 + n && g < qs->n_groups; g++)
            store_channel_group(qs, g);
    }
}

int64_t qstream_quant_prefix(const qstream *qs, int64_t t)
{
    int64_t a = t + 1 - qs->window;
    if (qs->spec.kind == QS_PER_CHANNEL) {
        int64_t full = (t + 1) / qs->spec.group * qs->spec.group;
        a = a < full ? a : full;
    }
    return a > 0 ? a : 0;
}

static void read_token_rows(const qstream *qs, int64_t j0, int64_t j1, float *out, int64_t stride, int off)
{
    int G = qs->spec.group;
    for (int64_t j = j0; j < j1; j++)
        for (int g = 0; g < qs->groups_per_row; g++) {
            int c0 = g * G, len = qs->w_q - c0 < G ? qs->w_q - c0 : G;
            const uint16_t *p = qs->params + ((uint64_t)j * (uint64_t)qs->groups_per_row + (uint64_t)g) * 2;
            quant_load_group(qs->codes, (uint64_t)j * (uint64_t)qs->w_q + (uint64_t)c0, len, qs->spec.bits, p[0], p[1],
                             out + (j - j0) * stride + off + c0, 1);
        }
}

/* Channels c … c + nc − 1 of group g, its tokens [i0, i1), one channel at a time; token i of the group goes to
 * row row0 + i of out (row0 < 0 when out starts inside the group). */
static void read_channel_span(const qstream *qs, int64_t g, int c, int nc, int64_t i0, int64_t i1, float *out,
                              int64_t row0, int64_t stride)
{
    uint64_t G = (uint64_t)qs->spec.group;
    for (int k = c; k < c + nc && i1 > i0; k++) {
        const uint16_t *p = qs->params + ((uint64_t)g * (uint64_t)qs->w_q + (uint64_t)k) * 2;
        quant_load_group(qs->codes, ((uint64_t)g * (uint64_t)qs->w_q + (uint64_t)k) * G + (uint64_t)i0, i1 - i0,
                         qs->spec.bits, p[0], p[1], out + (row0 + i0) * stride + k, stride);
    }
}

/* Per-channel groups store each channel's G tokens together, so rows are read across channels: 8 channels × 8
 * tokens at a time where quant_load_8x8 can (tokens from a multiple of 8), channel by channel elsewhere. */
static void read_channel_rows(const qstream *qs, int64_t j0, int64_t j1, float *out, int64_t stride, int off)
{
    int64_t G = qs->spec.group;
    for (int64_t g = j0 / G; g * G < j1; g++) {
        int64_t i0 = (j0 > g * G ? j0 : g * G) - g * G, i1 = (j1 < (g + 1) * G ? j1 : (g + 1) * G) - g * G;
        assert(g < qs->n_groups);
        int64_t row0 = g * G - j0;
        for (int c = 0; c < qs->w_q; c += 8) {
            int nc = qs->w_q - c < 8 ? qs->w_q - c : 8;
            int64_t i = nc == 8 ? (i0 + 7) / 8 * 8 : i1;
            i = i < i1 ? i : i1;
            read_channel_span(qs, g, c, nc, i0, i, out + off, row0, stride);
            const uint16_t *p = qs->params + ((uint64_t)g * (uint64_t)qs->w_q + (uint64_t)c) * 2;
            uint64_t first = ((uint64_t)g * (uint64_t)qs->w_q + (uint64_t)c) * (uint64_t)G;
            for (; i + 8 <= i1; i += 8)
                if (!quant_load_8x8(qs->codes, first + (uint64_t)i, (uint64_t)G, qs->spec.bits, p,
                                    out + off + (row0 + i) * stride + c, stride))
                    break;
            read_channel_span(qs, g, c, nc, i, i1, out + off, row0, stride);
        }
    }
}

void qstream_read_quant(const qstream *qs, int64_t j0, int64_t j1, float *out, int64_t stride)
{
    const qstream_spec *sp = &qs->spec;
    int off = sp->fp16_ch0 ? 1 : 0;
#ifdef XQ_IDENTITY_QUANT
    for (int64_t j = j0; j < j1; j++)
        memcpy(out + (j - j0) * stride, qs->exact + j * sp->width, (size_t)sp->width * sizeof(float));
    return;
#endif
    for (int64_t j = j0; j < j1 && off; j++) out[(j - j0) * stride] = xq_fp16_to_f32(qs->ch0[j]);
    if (sp->kind == QS_PER_TOKEN) {
        read_token_rows(qs, j0, j1, out, stride, off);
    } else if (sp->kind == QS_PER_CHANNEL) {
        read_channel_rows(qs, j0, j1, out, stride, off);
    } else {
        uint64_t rb = qt_row_bytes(sp->block_type, sp->width);
        for (int64_t j = j0; j < j1; j++)
            blockrow_load(sp->block_type, qs->codes + (uint64_t)j * rb, out + (j - j0) * stride, sp->width);
    }
}

void qstream_read_fp16(const qstream *qs, int64_t j0, int64_t j1, float *out, int64_t stride)
{
    rowring_read_fp16(&qs->ring, j0, j1, out, stride);
}

double qstream_bytes_per_token(const qstream_spec *spec)
{
    int w_q = spec->width - (spec->fp16_ch0 ? 1 : 0), G = spec->group;
    double fp16 = spec->fp16_ch0 ? 2.0 : 0.0;
    switch (spec->kind) {
    case QS_PER_TOKEN: return w_q * spec->bits / 8.0 + 4.0 * ((w_q + G - 1) / G) + fp16;
    case QS_PER_CHANNEL: return w_q * spec->bits / 8.0 + 4.0 * w_q / G + fp16;
    case QS_BLOCK: return (double)qt_row_bytes(spec->block_type, spec->width);
    }
    return 0.0;
}

uint64_t qstream_bytes_held(const qstream *qs, int64_t n_tokens)
{
    const qstream_spec *sp = &qs->spec;
    uint64_t n = (uint64_t)n_tokens, fp16 = sp->fp16_ch0 ? 2 * n : 0;
    switch (sp->kind) {
    case QS_PER_TOKEN:
        return quant_packed_bytes(n * (uint64_t)qs->w_q, sp->bits) + n * (uint64_t)qs->groups_per_row * 4 + fp16;
    case QS_PER_CHANNEL: {
        uint64_t g = n / (uint64_t)sp->group;
        g = g < (uint64_t)qs->n_groups ? g : (uint64_t)qs->n_groups;
        return quant_packed_bytes(g * (uint64_t)sp->group * (uint64_t)qs->w_q, sp->bits) + g * (uint64_t)qs->w_q * 4 +
               fp16;
    }
    case QS_BLOCK: return n * qt_row_bytes(sp->block_type, sp->width);
    }
    return 0;
}

uint64_t qstream_bytes_allocated(const qstream *qs) { return qs->code_bytes + qs->param_bytes + qs->ch0_bytes; }

uint64_t qstream_ring_bytes(const qstream *qs)
{
    return (uint64_t)qs->ring.capacity * (uint64_t)qs->ring.width * sizeof(float);
}
