#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/qtypes.h"

/* Hard limits that reject absurd metadata before anything is allocated from it. */
enum { MAX_LAYERS = 4096, MAX_EMBD = 1 << 17, MAX_HEADS = 4096, MAX_VOCAB = 1 << 22, MAX_FF = 1 << 20 };

static int get_dim(const gguf_file *f, const char *key, int64_t lo, int64_t hi, bool required, int32_t dflt,
                   int32_t *out, xq_err *err)
{
    int64_t v;
    if (!gguf_find(f, key)) {
        if (required) return xq_fail(err, XQ_EINPUT, "%s: missing metadata %s", gguf_path(f), key);
        *out = dflt;
        return XQ_OK;
    }
    if (!gguf_get_i64(f, key, &v)) return xq_fail(err, XQ_EINPUT, "%s: metadata %s is not an integer", gguf_path(f), key);
    if (v < lo || v > hi)
        return xq_fail(err, XQ_EINPUT, "%s: metadata %s = %lld is out of range [%lld, %lld]", gguf_path(f), key,
                       (long long)v, (long long)lo, (long long)hi);
    *out = (int32_t)v;
    return XQ_OK;
}

static int get_float(const gguf_file *f, const char *key, float lo, float hi, float dflt, float *out, xq_err *err)
{
    double v;
    if (!gguf_find(f, key)) {
        *out = dflt;
        return XQ_OK;
    }
    if (!gguf_get_f64(f, key, &v) || !(v >= lo && v <= hi))
        return xq_fail(err, XQ_EINPUT, "%s: metadata %s is not a number in [%g, %g]", gguf_path(f), key, lo, hi);
    *out = (float)v;
    return XQ_OK;
}

static int read_config(const gguf_file *f, model_config *c, xq_err *err)
{
    gguf_str arch;
    if (!gguf_get_str(f, "general.architecture", &arch))
        return xq_fail(err, XQ_EINPUT, "%s: missing metadata general.architecture", gguf_path(f));
    if (!gguf_str_eq(arch, "llama"))
        return xq_fail(err, XQ_EINPUT, "%s: unsupported architecture '%.*s' (only llama)", gguf_path(f),
                       (int)(arch.len > 64 ? 64 : arch.len), arch.ptr);
    int rc;
    if ((rc = get_dim(f, "llama.block_count", 1, MAX_LAYERS, true, 0, &c->n_layer, err)) ||
        (rc = get_dim(f, "llama.embedding_length", 1, MAX_EMBD, true, 0, &c->n_embd, err)) ||
        (rc = get_dim(f, "llama.feed_forward_length", 1, MAX_FF, true, 0, &c->n_ff, err)) ||
        (rc = get_dim(f, "llama.attention.head_count", 1, MAX_HEADS, true, 0, &c->n_head, err)) ||
        (rc = get_dim(f, "llama.attention.head_count_kv", 1, MAX_HEADS, false, c->n_head, &c->n_head_kv, err)) ||
        (rc = get_dim(f, "llama.context_length", 1, 1 << 24, false, 2048, &c->n_ctx_train, err)))
        return rc;
    if (c->n_embd % c->n_head != 0)
        return xq_fail(err, XQ_EINPUT, "%s: embedding_length %d is not a multiple of head_count %d", gguf_path(f),
                       c->n_embd, c->n_head);
    if (c->n_head % c->n_head_kv != 0)
        return xq_fail(err, XQ_EINPUT, "%s: head_count %d is not a multiple of head_count_kv %d", gguf_path(f),
                       c->n_head, c->n_head_kv);
    c->head_dim = c->n_embd / c->n_head;
    if ((rc = get_dim(f, "llama.rope.dimension_count", 2, c->head_dim, false, c->head_dim, &c->n_rot, err)))
        return rc;
    if (c->n_rot % 2) return xq_fail(err, XQ_EINPUT, "%s: rope.dimension_count %d is odd", gguf_path(f), c->n_rot);
    if ((rc = get_float(f, "llama.rope.freq_base", 1.0f, 1e12f, 10000.0f, &c->rope_base, err)) ||
        (rc = get_float(f, "llama.attention.layer_norm_rms_epsilon", 0.0f, 1.0f, 1e-5f, &c->norm_eps, err)))
        return rc;
    c->rope_scale = 1.0f;
    gguf_str stype;
    if (gguf_get_str(f, "llama.rope.scaling.type", &stype) && gguf_str_eq(stype, "linear")) {
        float factor;
        if ((rc = get_float(f, "llama.rope.scaling.factor", 1e-3f, 1e6f, 1.0f, &factor, err))) return rc;
        c->rope_scale = 1.0f / factor;
    }
    return XQ_OK;
}

static int bind_tensor(const gguf_file *f, const char *name, int64_t cols, int64_t rows, model_tensor *t, xq_err *err)
{
    const gguf_tensor *gt = gguf_find_tensor(f, name);
    if (!gt) return xq_fail(err, XQ_EINPUT, "%s: missing tensor %s", gguf_path(f), name);
    int64_t g_rows = gt->ne[1] * gt->ne[2] * gt->ne[3];
    if (gt->ne[0] != cols || g_rows != rows)
        return xq_fail(err, XQ_EINPUT, "%s: tensor %s has shape [%lld, %lld], metadata implies [%lld, %lld]",
                       gguf_path(f), name, (long long)gt->ne[0], (long long)g_rows, (long long)cols, (long long)rows);
    if (!qt_supported(gt->type))
        return xq_fail(err, XQ_EINPUT, "%s: tensor %s has unsupported type %s", gguf_path(f), name, qt_name(gt->type));
    t->data = gt->data;
    t->type = gt->type;
    t->cols = cols;
    t->rows = rows;
    t->row_bytes = qt_row_bytes(gt->type, cols);
    return XQ_OK;
}

/* Norm vectors are tiny; keep an F32 copy so the hot loop never branches on their type. */
static int copy_vector(const gguf_file *f, const char *name, int64_t n, float *dst, xq_err *err)
{
    model_tensor t;
    int rc = bind_tensor(f, name, n, 1, &t, err);
    if (rc) return rc;
    qt_dequant_row(t.type, t.data, dst, n);
    return XQ_OK;
}

static int bind_layer(model *m, int il, float *norms, xq_err *err)
{
    const gguf_file *f = m->gguf;
    const model_config *c = &m->cfg;
    model_layer *L = &m->layers[il];
    int64_t d = c->n_embd, d_kv = (int64_t)c->n_head_kv * c->head_dim, ff = c->n_ff;
    char name[96];
    int rc;
#define BIND(field, suffix, cols, rows) \
    snprintf(name, sizeof name, "blk.%d.%s.weight", il, suffix); \
    if ((rc = bind_tensor(f, name, cols, rows, &L->field, err))) return rc;
    BIND(wq, "attn_q", d, d);
    BIND(wk, "attn_k", d, d_kv);
    BIND(wv, "attn_v", d, d_kv);
    BIND(wo, "attn_output", d, d);
    BIND(w_gate, "ffn_gate", d, ff);
    BIND(w_up, "ffn_up", d, ff);
    BIND(w_down, "ffn_down", ff, d);
#undef BIND
    snprintf(name, sizeof name, "blk.%d.attn_norm.weight", il);
    if ((rc = copy_vector(f, name, d, norms, err))) return rc;
    snprintf(name, sizeof name, "blk.%d.ffn_norm.weight", il);
    if ((rc = copy_vector(f, name, d, norms + d, err))) return rc;
    L->attn_norm = norms;
    L->ffn_norm = norms + d;
    return XQ_OK;
}

static int bind_weights(model *m, xq_err *err)
{
    const gguf_file *f = m->gguf;
    model_config *c = &m->cfg;
    int rc;
    const gguf_tensor *emb = gguf_find_tensor(f, "token_embd.weight");
    if (!emb) return xq_fail(err, XQ_EINPUT, "%s: missing tensor token_embd.weight", gguf_path(f));
    if (emb->ne[1] < 1 || emb->ne[1] > MAX_VOCAB)
        return xq_fail(err, XQ_EINPUT, "%s: token_embd.weight has an absurd vocabulary size", gguf_path(f));
    c->n_vocab = (int32_t)emb->ne[1];
    if ((rc = bind_tensor(f, "token_embd.weight", c->n_embd, c->n_vocab, &m->tok_embd, err))) return rc;
    c->tied_output = gguf_find_tensor(f, "output.weight") == NULL;
    if (c->tied_output) m->output = m->tok_embd;
    else if ((rc = bind_tensor(f, "output.weight", c->n_embd, c->n_vocab, &m->output, err))) return rc;

    size_t n_floats = (size_t)c->n_embd * (2 * (size_t)c->n_layer + 1) + (size_t)c->n_rot / 2;
    m->owned = calloc(n_floats, sizeof(float));
    m->layers = calloc((size_t)c->n_layer, sizeof *m->layers);
    if (!m->owned || !m->layers) return xq_fail(err, XQ_ERUN, "%s: out of memory", gguf_path(f));
    for (int il = 0; il < c->n_layer; il++)
        if ((rc = bind_layer(m, il, m->owned + (size_t)il * 2 * c->n_embd, err))) return rc;
    float *tail = m->owned + (size_t)c->n_layer * 2 * c->n_embd;
    if ((rc = copy_vector(f, "output_norm.weight", c->n_embd, tail, err))) return rc;
    m->output_norm = tail;
    if (gguf_find_tensor(f, "rope_freqs.weight")) {
        if ((rc = copy_vector(f, "rope_freqs.weight", c->n_rot / 2, tail + c->n_embd, err))) return rc;
        m->rope_freq_factors = tail + c->n_embd;
    }
    return XQ_OK;
}

/* The layer index of a tensor named "blk.N.…", or −1. */
static long layer_of(gguf_str name)
{
    const char *p = name.ptr, *end = name.ptr + name.len;
    if (name.len < 6 || memcmp(p, "blk.", 4) != 0) return -1;
    long il = 0;
    for (p += 4; p < end && *p >= '0' && *p <= '9' && il < 1000000; p++) il = il * 10 + (*p - '0');
    return p < end && *p == '.' && p > name.ptr + 4 ? il : -1;
}

/* A layer tensor past llama.block_count means the count is wrong (llama.cpp refuses such a file too): running
 * the layers the count names would silently skip the rest. */
static int check_layer_tensors(const model *m, xq_err *err)
{
    const gguf_file *f = m->gguf;
    for (uint64_t i = 0; i < gguf_tensor_count(f); i++) {
        gguf_str name = gguf_tensor_at(f, i)->name;
        if (layer_of(name) >= m->cfg.n_layer)
            return xq_fail(err, XQ_EINPUT, "%s: tensor %.*s is past llama.block_count = %d", gguf_path(f),
                           (int)(name.len > 80 ? 80 : name.len), name.ptr, m->cfg.n_layer);
    }
    return XQ_OK;
}

static void count_params(model *m)
{
    const gguf_file *f = m->gguf;
    for (uint64_t i = 0; i < gguf_tensor_count(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        m->n_params += (uint64_t)(t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]);
        m->weight_bytes += t->nbytes;
    }
}

static void set_name(model *m, const char *path)
{
    gguf_str s;
    if (gguf_get_str(m->gguf, "general.name", &s) && s.len > 0) {
        snprintf(m->name, sizeof m->name, "%.*s", (int)(s.len > 120 ? 120 : s.len), s.ptr);
        return;
    }
    const char *slash = strrchr(path, '/');
    snprintf(m->name, sizeof m->name, "%s", slash ? slash + 1 : path);
}

int model_load(const char *path, model **out, xq_err *err)
{
    *out = NULL;
    model *m = calloc(1, sizeof *m);
    if (!m) return xq_fail(err, XQ_ERUN, "%s: out of memory", path);
    int rc = gguf_open(path, &m->gguf, err);
    if (!rc) rc = read_config(m->gguf, &m->cfg, err);
    if (!rc) rc = bind_weights(m, err);
    if (!rc) rc = check_layer_tensors(m, err);
    if (!rc) {
        rc = tokenizer_create(m->gguf, &m->tok, err);
        if (rc && strncmp(err->msg, path, strlen(path)) != 0) xq_err_prefix(err, path);
    }
    if (!rc && tokenizer_n_vocab(m->tok) != m->cfg.n_vocab)
        rc = xq_fail(err, XQ_EINPUT, "%s: tokenizer has %d tokens but token_embd.weight has %d rows", path,
                     tokenizer_n_vocab(m->tok), m->cfg.n_vocab);
    if (rc) {
        model_free(m);
        return rc;
    }
    count_params(m);
    set_name(m, path);
    *out = m;
    return XQ_OK;
}

int model_load_vocab(const char *path, model **out, xq_err *err)
{
    *out = NULL;
    model *m = calloc(1, sizeof *m);
    if (!m) return xq_fail(err, XQ_ERUN, "%s: out of memory", path);
    int rc = gguf_open(path, &m->gguf, err);
    if (!rc) {
        rc = tokenizer_create(m->gguf, &m->tok, err);
        if (rc && strncmp(err->msg, path, strlen(path)) != 0) xq_err_prefix(err, path);
    }
    if (rc) {
        model_free(m);
        return rc;
    }
    m->cfg.n_vocab = tokenizer_n_vocab(m->tok);
    set_name(m, path);
    *out = m;
    return XQ_OK;
}

void model_free(model *m)
{
    if (!m) return;
    tokenizer_destroy(m->tok);
    gguf_close(m->gguf);
    free(m->layers);
    free(m->owned);
    free(m);
}

uint64_t model_kv_bytes_per_token_fp16(const model_config *c)
{
    return (uint64_t)c->n_layer * 2 * (uint64_t)c->n_head_kv * (uint64_t)c->head_dim * 2;
}
