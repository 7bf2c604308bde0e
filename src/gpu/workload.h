/* What the projection needs to know of a model: its dimensions and the bytes of its weights per layer, from a
 * named shape (weights in one type, fp16 unless told) or from a loaded GGUF model (weights as stored). */
#ifndef XQ_GPU_WORKLOAD_H
#define XQ_GPU_WORKLOAD_H

#include <stdint.h>

#include "base/status.h"
#include "model/model.h"
#include "model/synth.h"

typedef struct gpu_model {
    char name[128];
    char weight_type[16]; /* "F16", "Q4_K" …, or "as stored" for a GGUF file */
    int n_layer, d, n_ff, n_head, n_head_kv, head_dim, n_vocab;
    int d_kv; /* n_head_kv × head_dim */
    /* Bytes of one layer's matrices (averaged over layers for a file whose layers differ), and its norms. */
    double wq_bytes, wk_bytes, wv_bytes, wo_bytes, ffn_bytes, norm_bytes;
    double embd_bytes;    /* token embedding table */
    double lm_head_bytes; /* output matrix (the embedding table again when tied) */
    double out_norm_bytes;
    int tied_output;
} gpu_model;

/* A named shape with every matrix in `type` (ggml id) and norms in F32, as `xqprof synth` writes it.
 * XQ_EINPUT if a row length is not a multiple of the type's block size. */
int gpu_model_from_shape(const model_shape *s, uint32_t type, gpu_model *out, xq_err *err);
/* A loaded model: weights at their stored types; type ≥ 0 re-prices every matrix in that type instead. */
int gpu_model_from_model(const model *m, int type, gpu_model *out, xq_err *err);

/* All weights held in memory (fp16 named-shape weights: what the card must hold), and one layer's share. */
double gpu_model_weight_bytes(const gpu_model *g);
double gpu_model_layer_weight_bytes(const gpu_model *g);
/* Multiply-accumulate count of one token through one layer's matrices (q, k, v, o, gate, up, down). */
double gpu_model_layer_macs(const gpu_model *g);

#endif
