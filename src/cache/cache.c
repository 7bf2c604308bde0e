#include "cache/cache.h"

#include "base/fp16.h"

#include <math.h>
#include <string.h>

/* Defined by each policy file. */
int cache_plain_create(cache_mode_id mode, const model *m, ops_ctx *o, const span_sink *sink, int64_t n_ctx,
                       cache **out, xq_err *err);

static const char *const mode_names[CACHE_MODE_COUNT] = {"fp16", "fp32"};

int cache_mode_parse(const char *name, cache_mode_id *out, xq_err *err)
{
    for (int i = 0; i < CACHE_MODE_COUNT; i++)
        if (strcmp(name, mode_names[i]) == 0) {
            *out = (cache_mode_id)i;
            return XQ_OK;
        }
    return xq_fail(err, XQ_EINPUT, "unknown cache mode '%s' (known: fp16, fp32)", name);
}

const char *cache_mode_name(cache_mode_id mode)
{
    return (mode >= 0 && mode < CACHE_MODE_COUNT) ? mode_names[mode] : "?";
}

int cache_create(cache_mode_id mode, const model *m, ops_ctx *o, const span_sink *sink, int64_t n_ctx,
                 cache **out, xq_err *err)
{
    switch (mode) {
    case CACHE_FP16:
    case CACHE_FP32: return cache_plain_create(mode, m, o, sink, n_ctx, out, err);
    default: return xq_fail(err, XQ_EINPUT, "cache mode %d not implemented", (int)mode);
    }
}

void cache_destroy(cache *c)
{
    if (c) c->ops->destroy(c);
}

static float round_fp16(float x) { return xq_fp16_to_f32(xq_f32_to_fp16(x)); }

void cache_attend_head_f32(const float *q, const float *K, const float *V, int64_t n_keys, int64_t row_stride,
                           int head_dim, bool fp16_operands, float *scores, float *out)
{
    float scale = 1.0f / sqrtf((float)head_dim);
    float qr[head_dim];
    for (int d = 0; d < head_dim; d++) qr[d] = fp16_operands ? round_fp16(q[d]) : q[d];
    for (int64_t j = 0; j < n_keys; j++) {
        const float *k = K + j * row_stride;
        float s = 0.0f;
        for (int d = 0; d < head_dim; d++) s += qr[d] * k[d];
        scores[j] = s * scale;
    }
    ops_softmax(scores, n_keys);
    if (fp16_operands)
        for (int64_t j = 0; j < n_keys; j++) scores[j] = round_fp16(scores[j]);
    memset(out, 0, (size_t)head_dim * sizeof(float));
    for (int64_t j = 0; j < n_keys; j++) {
        const float *v = V + j * row_stride;
        float p = scores[j];
        for (int d = 0; d < head_dim; d++) out[d] += p * v[d];
    }
}
