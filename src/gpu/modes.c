/* Cache modes for the projection: one table row per family (name prefix, bits offered, default hi-layers,
 * and how one layer stores and rebuilds). SVD factors are priced in fp16, whatever the weights' type, since
 * they are computed, not loaded. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/modes.h"

typedef void (*layer_fn)(const gpu_mode *mode, const gpu_model *m, gpu_layer_costs *out);

typedef struct family_row {
    const char *prefix; /* the full name when bits_mask is 0 */
    gpu_mode_family family;
    unsigned bits_mask; /* bit e set: e bits offered */
    int default_hi;
    layer_fn layer;
} family_row;

enum { FP16_BYTES = 2, SCALE_ZERO_BYTES = 4 };

/* Per-token groups: G consecutive channels of one token; a short last group still has its scale and zero. */
static double per_token_bytes(int width, int bits, int group)
{
    return width * bits / 8.0 + SCALE_ZERO_BYTES * ceil((double)width / group);
}

/* Per-channel groups: one channel over G tokens; the scale and zero amortize over the group's tokens. */
static double per_channel_bytes(int width, int bits, int group)
{
    return width * bits / 8.0 + SCALE_ZERO_BYTES * (double)width / group;
}

static double base_weights(const gpu_model *m)
{
    return gpu_model_layer_weight_bytes(m);
}
static double kv_proj_bytes(const gpu_model *m)
{
    return m->wk_bytes + m->wv_bytes;
}

static void layer_plain(const gpu_mode *mode, const gpu_model *m, gpu_layer_costs *out)
{
    double per_elem = mode->family == GPU_FP32      ? 4
                      : mode->family == GPU_KV_Q8_0 ? 34.0 / 32
                      : mode->family == GPU_KV_Q4_0 ? 18.0 / 32
                                                    : FP16_BYTES;
    out->cache_bytes = 2.0 * m->d_kv * per_elem;
    /* fp16/fp32 keep K after RoPE; llama.cpp's block formats too, so only the dequantization remains. */
    if (mode->family == GPU_KV_Q8_0 || mode->family == GPU_KV_Q4_0) out->elem_flops = 2.0 * 2 * m->d_kv;
    out->weight_bytes = base_weights(m);
}

/* KIVI*: K per-channel (pre-RoPE), V per-token; dequantize both, rotate K. */
static void kv_layer(const gpu_model *m, int bits, int group, gpu_layer_costs *out)
{
    out->cache_bytes = per_channel_bytes(m->d_kv, bits, group) + per_token_bytes(m->d_kv, bits, group);
    out->elem_flops = 2.0 * 2 * m->d_kv + 3.0 * m->d_kv;
    out->weight_bytes = base_weights(m);
}

static void layer_kv(const gpu_mode *mode, const gpu_model *m, gpu_layer_costs *out)
{
    kv_layer(m, mode->bits, mode->group, out);
}

/* Plain XQuant: X per-token, K = X̂·Wk and V = X̂·Wv rebuilt for every cached token (2·d·2d_kv FLOPs). */
static void xq_layer(const gpu_model *m, int bits, int group, gpu_layer_costs *out)
{
    out->cache_bytes = per_token_bytes(m->d, bits, group);
    out->remat_flops_heads = 2.0 * m->d * 2 * m->d_kv;
    out->elem_flops = 2.0 * m->d + 3.0 * m->d_kv;
    out->rebuild_bytes = kv_proj_bytes(m);
    out->weight_bytes = base_weights(m);
    out->stores_x = true;
}

static void layer_xq(const gpu_mode *mode, const gpu_model *m, gpu_layer_costs *out)
{
    xq_layer(m, mode->bits, mode->group, out);
}

/* GQA-SVD: latents X·Uk (per-channel) and X·Uv (per-token), d_kv wide each; K = (X·Uk)(Σk·Bkᵀ). The layer
 * keeps Uk, Uv (d×d_kv, in place of Wk, Wv) and the fused d_kv×d_kv factors. */
static void layer_xq_svd(const gpu_mode *mode, const gpu_model *m, gpu_layer_costs *out)
{
    double factors = 2.0 * m->d_kv * m->d_kv * FP16_BYTES, u = 2.0 * m->d * m->d_kv * FP16_BYTES;
    out->cache_bytes =
        per_channel_bytes(m->d_kv, mode->bits, mode->group) + per_token_bytes(m->d_kv, mode->bits, mode->group);
    out->remat_flops_heads = 2.0 * m->d_kv * 2 * m->d_kv;
    out->elem_flops = 2.0 * 2 * m->d_kv + 3.0 * m->d_kv;
    out->rebuild_bytes = factors;
    out->weight_bytes = base_weights(m) - kv_proj_bytes(m) + u + factors;
    out->stores_x = true;
}

/* Cross-layer deltas of X, per-token; the running X̂ costs d adds per token on top of plain XQuant. */
static void layer_xq_cl(const gpu_mode *mode, const gpu_model *m, gpu_layer_costs *out)
{
    xq_layer(m, mode->bits, mode->group, out);
    out->elem_flops += m->d;
}

/* CL-SVD: deltas projected on Ukv (SVD of [Wk|Wv], 2d_kv wide). Every rank rebuilds the whole X̂ (2·2d_kv·d
 * FLOPs per token), then its heads' [K|V] = X̂·[Wk|Wv] (2·d·2d_kv). */
static void layer_xq_cl_svd(const gpu_mode *mode, const gpu_model *m, gpu_layer_costs *out)
{
    double ukv = 2.0 * m->d * m->d_kv * FP16_BYTES;
    out->cache_bytes = per_token_bytes(2 * m->d_kv, mode->bits, mode->group);
    out->remat_flops_full = 2.0 * 2 * m->d_kv * m->d;
    out->remat_flops_heads = 2.0 * m->d * 2 * m->d_kv;
    out->elem_flops = 2.0 * 2 * m->d_kv + m->d + 3.0 * m->d_kv;
    out->rebuild_bytes = ukv + kv_proj_bytes(m);
    out->weight_bytes = base_weights(m) + ukv;
    out->stores_x = true;
}

#define BITS_8432 ((1u << 8) | (1u << 4) | (1u << 3) | (1u << 2))
#define BITS_432 ((1u << 4) | (1u << 3) | (1u << 2))

/* Longest prefixes first, so that "xq-cl-svd-" is not read as "xq-" with bits "cl-svd-2". */
/* clang-format off */
static const family_row families[] = {
    {"fp16", GPU_FP16, 0, 0, layer_plain},
    {"fp32", GPU_FP32, 0, 0, layer_plain},
    {"kv-q8_0", GPU_KV_Q8_0, 0, 0, layer_plain},
    {"kv-q4_0", GPU_KV_Q4_0, 0, 0, layer_plain},
    {"xq-cl-svd-", GPU_XQ_CL_SVD, BITS_432, 3, layer_xq_cl_svd},
    {"xq-svd-", GPU_XQ_SVD, BITS_8432, 0, layer_xq_svd},
    {"xq-cl-", GPU_XQ_CL, BITS_432, 3, layer_xq_cl},
    {"xq-", GPU_XQ, BITS_8432, 0, layer_xq},
    {"kv-", GPU_KV, BITS_8432, 0, layer_kv},
};
/* clang-format on */
enum { N_FAMILIES = sizeof families / sizeof families[0] };

static const family_row *row_of(gpu_mode_family f)
{
    for (int i = 0; i < N_FAMILIES; i++)
        if (families[i].family == f) return &families[i];
    return &families[0];
}

static int parse_bits(const family_row *row, const char *s)
{
    char *end;
    long bits = strtol(s, &end, 10);
    if (end == s || *end || bits < 1 || bits > 16 || !(row->bits_mask & (1u << bits))) return -1;
    return (int)bits;
}

int gpu_mode_parse(const char *name, int group, int hi_layers, gpu_mode *out, xq_err *err)
{
    memset(out, 0, sizeof *out);
    if (strlen(name) >= sizeof out->name) return xq_fail(err, XQ_EINPUT, "cache mode '%.40s…': too long", name);
    for (int i = 0; i < N_FAMILIES; i++) {
        const family_row *row = &families[i];
        size_t n = strlen(row->prefix);
        if (row->bits_mask ? strncmp(name, row->prefix, n) != 0 : strcmp(name, row->prefix) != 0) continue;
        int bits = row->bits_mask ? parse_bits(row, name + n) : 0;
        if (bits < 0)
            return xq_fail(err, XQ_EINPUT, "cache mode '%s': %s%s offers bits %s", name, row->prefix, "E",
                           row->bits_mask == BITS_432 ? "4, 3, 2" : "8, 4, 3, 2");
        snprintf(out->name, sizeof out->name, "%s", name);
        out->family = row->family;
        out->bits = bits;
        out->group = group > 0 ? group : 128;
        out->hi_layers = row->bits_mask == 0 ? 0 : hi_layers >= 0 ? hi_layers : row->default_hi;
        return XQ_OK;
    }
    return xq_fail(err, XQ_EINPUT, "unknown cache mode '%s' (known: %s)", name, gpu_mode_names());
}

const char *gpu_mode_names(void)
{
    return "fp16 fp32 kv-q8_0 kv-q4_0 kv-{8,4,3,2} xq-{8,4,3,2} xq-svd-{8,4,3,2} xq-cl-{4,3,2} "
           "xq-cl-svd-{4,3,2}";
}

bool gpu_mode_rematerializes(const gpu_mode *mode)
{
    return mode->family == GPU_XQ || mode->family == GPU_XQ_SVD || mode->family == GPU_XQ_CL ||
           mode->family == GPU_XQ_CL_SVD;
}

void gpu_mode_layer_costs(const gpu_mode *mode, const gpu_model *m, int layer, gpu_layer_costs *out)
{
    memset(out, 0, sizeof *out);
    if (layer < mode->hi_layers) {
        /* --hi-layers: plain 4-bit X in the XQuant families, 4-bit K and V for kv-E. */
        if (mode->family == GPU_KV)
            kv_layer(m, 4, mode->group, out);
        else
            xq_layer(m, 4, mode->group, out);
        return;
    }
    row_of(mode->family)->layer(mode, m, out);
}

double gpu_mode_bytes_per_token(const gpu_mode *mode, const gpu_model *m)
{
    double total = 0;
    for (int l = 0; l < m->n_layer; l++) {
        gpu_layer_costs c;
        gpu_mode_layer_costs(mode, m, l, &c);
        total += c.cache_bytes;
    }
    return total;
}

double gpu_mode_transient_bytes_per_token(const gpu_mode *mode, const gpu_model *m)
{
    /* One layer's accumulator at a time: the walk over layers reuses it. */
    return mode->family == GPU_XQ_CL || mode->family == GPU_XQ_CL_SVD ? (double)FP16_BYTES * m->d : 0;
}
