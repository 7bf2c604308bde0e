/* gpu_model from a named shape or a loaded model. Norm vectors are F32 in our files and count as such. */
#include <stdio.h>
#include <string.h>

#include "gpu/workload.h"
#include "model/qtypes.h"

static double matrix_bytes(uint32_t type, int64_t rows, int64_t cols)
{
    return (double)qt_row_bytes(type, cols) * (double)rows;
}

typedef struct dims {
    int n_layer, d, n_ff, n_head, n_head_kv, head_dim, n_vocab, tied;
} dims;

static void set_dims(gpu_model *g, const dims *x)
{
    g->n_layer = x->n_layer;
    g->d = x->d;
    g->n_ff = x->n_ff;
    g->n_head = x->n_head;
    g->n_head_kv = x->n_head_kv;
    g->head_dim = x->head_dim;
    g->n_vocab = x->n_vocab;
    g->d_kv = x->n_head_kv * x->head_dim;
    g->tied_output = x->tied;
    g->norm_bytes = 2.0 * 4 * x->d;
    g->out_norm_bytes = 4.0 * x->d;
}

static int price_in_type(gpu_model *g, uint32_t type, xq_err *err)
{
    int64_t d = g->d, q = (int64_t)g->n_head * g->head_dim, kv = g->d_kv, ff = g->n_ff;
    if (!qt_row_bytes(type, d) || !qt_row_bytes(type, q) || !qt_row_bytes(type, ff))
        return xq_fail(err, XQ_EINPUT, "%s: rows of %lld, %lld or %lld elements cannot be stored as %s", g->name,
                       (long long)d, (long long)q, (long long)ff, qt_name(type));
    g->wq_bytes = matrix_bytes(type, q, d);
    g->wk_bytes = matrix_bytes(type, kv, d);
    g->wv_bytes = matrix_bytes(type, kv, d);
    g->wo_bytes = matrix_bytes(type, d, q);
    g->ffn_bytes = 2 * matrix_bytes(type, ff, d) + matrix_bytes(type, d, ff);
    g->embd_bytes = matrix_bytes(type, g->n_vocab, d);
    g->lm_head_bytes = g->embd_bytes;
    snprintf(g->weight_type, sizeof g->weight_type, "%s", qt_name(type));
    return XQ_OK;
}

int gpu_model_from_shape(const model_shape *s, uint32_t type, gpu_model *out, xq_err *err)
{
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", s->name);
    dims x = {s->n_layer, s->n_embd,     s->n_ff, s->n_head, s->n_head_kv, s->n_embd / s->n_head,
              s->n_vocab, s->tied_output};
    set_dims(out, &x);
    return price_in_type(out, type, err);
}

static double tensor_bytes(const model_tensor *t)
{
    return (double)t->row_bytes * (double)t->rows;
}

int gpu_model_from_model(const model *m, int type, gpu_model *out, xq_err *err)
{
    const model_config *c = &m->cfg;
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", m->name);
    dims x = {c->n_layer, c->n_embd, c->n_ff, c->n_head, c->n_head_kv, c->head_dim, c->n_vocab, c->tied_output};
    set_dims(out, &x);
    if (type >= 0) return price_in_type(out, (uint32_t)type, err);
    snprintf(out->weight_type, sizeof out->weight_type, "as stored");
    for (int l = 0; l < c->n_layer; l++) {
        const model_layer *L = &m->layers[l];
        out->wq_bytes += tensor_bytes(&L->wq) / c->n_layer;
        out->wk_bytes += tensor_bytes(&L->wk) / c->n_layer;
        out->wv_bytes += tensor_bytes(&L->wv) / c->n_layer;
        out->wo_bytes += tensor_bytes(&L->wo) / c->n_layer;
        out->ffn_bytes += (tensor_bytes(&L->w_gate) + tensor_bytes(&L->w_up) + tensor_bytes(&L->w_down)) / c->n_layer;
    }
    out->embd_bytes = tensor_bytes(&m->tok_embd);
    out->lm_head_bytes = tensor_bytes(&m->output);
    return XQ_OK;
}

double gpu_model_layer_weight_bytes(const gpu_model *g)
{
    return g->wq_bytes + g->wk_bytes + g->wv_bytes + g->wo_bytes + g->ffn_bytes + g->norm_bytes;
}

double gpu_model_weight_bytes(const gpu_model *g)
{
    double total = g->n_layer * gpu_model_layer_weight_bytes(g) + g->embd_bytes + g->out_norm_bytes;
    return g->tied_output ? total : total + g->lm_head_bytes;
}

double gpu_model_layer_macs(const gpu_model *g)
{
    double q = (double)g->n_head * g->head_dim;
    return (double)g->d * (2 * q + 2.0 * g->d_kv + 3.0 * g->n_ff);
}
