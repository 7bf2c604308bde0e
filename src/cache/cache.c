#include "cache/cache.h"

#include "base/fp16.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Defined by each policy file. */
int cache_plain_create(const cache_params *p, const model *m, ops_ctx *o, const span_sink *sink, int64_t n_ctx,
                       int64_t n_batch, cache **out, xq_err *err);
int cache_remat_create(const cache_params *p, const model *m, ops_ctx *o, const span_sink *sink, int64_t n_ctx,
                       int64_t n_batch, cache **out, xq_err *err);

/* One row per mode family: its name, the bits it offers (bit E set) or its fixed bits, its --hi-layers default. */
typedef struct mode_family {
    cache_mode_id id;
    const char *name;
    unsigned offered_bits; /* 0: a fixed-precision mode named without bits */
    int fixed_bits, default_hi_layers;
    bool needs_gqa;
} mode_family;

#define BITS_8432 ((1u << 8) | (1u << 4) | (1u << 3) | (1u << 2))
#define BITS_432 ((1u << 4) | (1u << 3) | (1u << 2))

static const mode_family families[CACHE_MODE_COUNT] = {
    {CACHE_FP16, "fp16", 0, 16, 0, false},          {CACHE_FP32, "fp32", 0, 32, 0, false},
    {CACHE_KV_Q8_0, "kv-q8_0", 0, 8, 0, false},     {CACHE_KV_Q4_0, "kv-q4_0", 0, 4, 0, false},
    {CACHE_KV, "kv", BITS_8432, 0, 0, false},       {CACHE_XQ, "xq", BITS_8432, 0, 0, false},
    {CACHE_XQ_SVD, "xq-svd", BITS_8432, 0, 0, true}, {CACHE_XQ_CL, "xq-cl", BITS_432, 0, 3, false},
    {CACHE_XQ_CL_SVD, "xq-cl-svd", BITS_432, 0, 3, true},
};

static const char *const all_names[] = {
    "fp16",     "fp32",     "kv-q8_0",  "kv-q4_0",  "kv-8",    "kv-4",    "kv-3",    "kv-2",
    "xq-8",     "xq-4",     "xq-3",     "xq-2",     "xq-svd-8", "xq-svd-4", "xq-svd-3", "xq-svd-2",
    "xq-cl-4",  "xq-cl-3",  "xq-cl-2",  "xq-cl-svd-4", "xq-cl-svd-3", "xq-cl-svd-2", NULL};

static const char VALID_MODES[] = "fp16, fp32, kv-q8_0, kv-q4_0, kv-{8,4,3,2}, xq-{8,4,3,2}, xq-svd-{8,4,3,2}, "
                                  "xq-cl-{4,3,2}, xq-cl-svd-{4,3,2}";

const char *const *cache_mode_names_all(void) { return all_names; }

const char *cache_mode_name(cache_mode_id mode)
{
    return (mode >= 0 && mode < CACHE_MODE_COUNT) ? families[mode].name : "?";
}

bool cache_mode_uses_svd(cache_mode_id mode) { return mode == CACHE_XQ_SVD || mode == CACHE_XQ_CL_SVD; }
bool cache_mode_uses_joint_svd(cache_mode_id mode) { return mode == CACHE_XQ_CL_SVD; }

static void set_defaults(const mode_family *f, int bits, cache_params *out)
{
    *out = (cache_params){.mode = f->id, .bits = bits, .group = CACHE_DEFAULT_GROUP,
                          .hi_layers = f->default_hi_layers};
}

/* "<family>-<digits>": the family whose name plus '-' prefixes `name` and leaves only digits. */
static const mode_family *family_with_bits(const char *name, long *bits)
{
    const mode_family *best = NULL;
    for (int i = 0; i < CACHE_MODE_COUNT; i++) {
        size_t n = strlen(families[i].name);
        if (!families[i].offered_bits || strncmp(name, families[i].name, n) != 0 || name[n] != '-') continue;
        const char *rest = name + n + 1;
        if (!*rest || strspn(rest, "0123456789") != strlen(rest) || strlen(rest) > 3) continue;
        best = &families[i];
        *bits = strtol(rest, NULL, 10);
    }
    return best;
}

static void offered_list(const mode_family *f, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = 0;
    for (int b = 8; b >= 2; b--)
        if (f->offered_bits & (1u << b))
            used += (size_t)snprintf(buf + used, size - used, "%s%s-%d", used ? ", " : "", f->name, b);
}

int cache_params_parse(const char *name, cache_params *out, xq_err *err)
{
    for (int i = 0; i < CACHE_MODE_COUNT; i++)
        if (!families[i].offered_bits && strcmp(name, families[i].name) == 0) {
            set_defaults(&families[i], families[i].fixed_bits, out);
            return XQ_OK;
        }
    long bits = 0;
    const mode_family *f = family_with_bits(name, &bits);
    if (!f) return xq_fail(err, XQ_EINPUT, "unknown cache mode '%s' (valid: %s)", name, VALID_MODES);
    if (bits < 2 || bits > 8 || !(f->offered_bits & (1u << bits))) {
        char valid[96];
        offered_list(f, valid, sizeof valid);
        return xq_fail(err, XQ_EINPUT, "cache mode '%s': %ld bits not offered (valid: %s)", name, bits, valid);
    }
    set_defaults(f, (int)bits, out);
    return XQ_OK;
}

void cache_params_name(const cache_params *p, char *buf, size_t size)
{
    const mode_family *f = &families[p->mode];
    if (f->offered_bits) snprintf(buf, size, "%s-%d", f->name, p->bits);
    else snprintf(buf, size, "%s", f->name);
}

int cache_params_check(const cache_params *p, const model_config *cfg, xq_err *err)
{
    char name[32];
    cache_params_name(p, name, sizeof name);
    int64_t d_kv = (int64_t)cfg->n_head_kv * cfg->head_dim;
    if (p->group < 1 || p->group > CACHE_GROUP_MAX)
        return xq_fail(err, XQ_EINPUT, "group size %d out of range (valid: 1..%d)", p->group, CACHE_GROUP_MAX);
    if (p->window < 0) return xq_fail(err, XQ_EINPUT, "window %d is negative (valid: 0 or more tokens)", p->window);
    if (p->hi_layers < 0 || p->hi_layers > cfg->n_layer)
        return xq_fail(err, XQ_EINPUT, "--hi-layers %d out of range for %d layers (valid: 0..%d)", p->hi_layers,
                       cfg->n_layer, cfg->n_layer);
    if (p->tile_tokens < 0) return xq_fail(err, XQ_EINPUT, "tile of %d tokens (valid: 1 or more)", p->tile_tokens);
    if (families[p->mode].needs_gqa && cfg->n_head_kv >= cfg->n_head)
        return xq_fail(err, XQ_EINPUT,
                       "cache mode '%s' needs a GQA model (n_head_kv < n_head); this one has %d query and %d KV "
                       "heads (valid here: fp16, fp32, kv-q8_0, kv-q4_0, kv-E, xq-E, xq-cl-E)",
                       name, cfg->n_head, cfg->n_head_kv);
    if ((p->mode == CACHE_KV_Q8_0 || p->mode == CACHE_KV_Q4_0) && d_kv % 32 != 0)
        return xq_fail(err, XQ_EINPUT, "cache mode '%s' needs n_head_kv*head_dim a multiple of 32, this model has %lld",
                       name, (long long)d_kv);
    return XQ_OK;
}

int cache_create(const cache_params *p, const model *m, ops_ctx *o, const span_sink *sink, int64_t n_ctx,
                 int64_t n_batch, cache **out, xq_err *err)
{
    *out = NULL;
    cache_params q = *p;
    if (q.mode < 0 || q.mode >= CACHE_MODE_COUNT) return xq_fail(err, XQ_EINPUT, "cache mode %d unknown", (int)q.mode);
    if (q.group == 0) q.group = CACHE_DEFAULT_GROUP;
    if (q.tile_tokens == 0) q.tile_tokens = CACHE_DEFAULT_TILE;
    if (q.bits == 0) q.bits = families[q.mode].fixed_bits;
    int rc = cache_params_check(&q, &m->cfg, err);
    if (rc) return rc;
    if (n_batch <= 0 || n_batch > n_ctx) n_batch = n_ctx;
    if (q.mode == CACHE_FP16 || q.mode == CACHE_FP32) return cache_plain_create(&q, m, o, sink, n_ctx, n_batch, out, err);
    return cache_remat_create(&q, m, o, sink, n_ctx, n_batch, out, err);
}

void cache_destroy(cache *c)
{
    if (c) c->ops->destroy(c);
}

double cache_bytes_per_token(const cache *c) { return c->ops->bytes_per_token(c); }

void cache_get_bytes(const cache *c, int layer, int64_t n_tokens_held, cache_bytes *out)
{
    *out = (cache_bytes){0};
    if (layer < 0) c->ops->bytes(c, n_tokens_held, out);
    else c->ops->layer_bytes(c, layer, n_tokens_held, out);
}

double cache_remat_flops(const cache *c, int64_t n_keys) { return c->ops->remat_flops(c, n_keys); }

/* The arithmetic (and its SIMD form) lives in ops_attend_head. */
void cache_attend_head_f32(const float *q, const float *K, const float *V, int64_t n_keys, int64_t row_stride,
                           int head_dim, bool fp16_operands, float *scores, float *out)
{
    ops_attend_head(q, K, V, n_keys, row_stride, head_dim, fp16_operands, scores, out);
}
