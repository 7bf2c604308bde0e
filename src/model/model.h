/* A Llama-architecture model: config from GGUF metadata, weights bound in place in the mmapped file (used in
 * their stored type), and its tokenizer. Every inconsistency (missing tensor, a shape that contradicts the
 * metadata, an unsupported type, absurd sizes) is XQ_EINPUT with "<file>: <what>". */
#ifndef XQ_MODEL_MODEL_H
#define XQ_MODEL_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"
#include "model/gguf.h"
#include "model/tokenizer.h"

typedef struct model_config {
    int32_t n_layer, n_embd, n_ff, n_head, n_head_kv, head_dim, n_vocab, n_ctx_train;
    int32_t n_rot;           /* rotated dims per head (llama.rope.dimension_count, default head_dim) */
    float rope_base;         /* llama.rope.freq_base, default 10000 */
    float rope_scale;        /* 1/factor for linear rope scaling, else 1 */
    float norm_eps;          /* llama.attention.layer_norm_rms_epsilon */
    bool tied_output;        /* no output.weight: lm_head uses token_embd */
} model_config;

/* A 2-D weight: `rows` rows of `cols` elements each, stored in `type` (ggml id). */
typedef struct model_tensor {
    const void *data;
    uint32_t type;
    int64_t cols, rows;
    uint64_t row_bytes;
} model_tensor;

typedef struct model_layer {
    const float *attn_norm, *ffn_norm; /* F32 copies (n_embd) */
    model_tensor wq, wk, wv, wo, w_gate, w_up, w_down;
} model_layer;

typedef struct model {
    gguf_file *gguf;
    model_config cfg;
    model_tensor tok_embd, output;    /* output == tok_embd when tied */
    const float *output_norm;         /* F32 copy */
    const float *rope_freq_factors;   /* NULL, or n_rot/2 divisors of theta (Llama 3.1 rope_freqs.weight) */
    model_layer *layers;
    tokenizer *tok;
    uint64_t n_params;
    uint64_t weight_bytes;            /* bytes of all tensors as stored */
    char name[128];                   /* general.name or file base name */
    float *owned;                     /* backing store of the F32 copies */
} model;

int model_load(const char *path, model **out, xq_err *err);
/* Only the tokenizer (and cfg.n_vocab): works on vocabulary-only GGUF files without tensors. */
int model_load_vocab(const char *path, model **out, xq_err *err);
void model_free(model *m);

/* Bytes of an fp16 K+V cache per token over all layers (what `info` prints). */
uint64_t model_kv_bytes_per_token_fp16(const model_config *c);

#endif
