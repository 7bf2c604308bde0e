/* CPU math for the forward pass: matrix products over weights in their stored type, norms, RoPE, softmax,
 * SwiGLU, attention of one head. Threaded; SIMD paths (chosen at run time, XQ_SIMD caps the level) give the
 * same bits as the scalar code. */
#ifndef XQ_OPS_OPS_H
#define XQ_OPS_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/pool.h"
#include "model/model.h"

/* Per-session scratch for the kernels (float-weight panels, converted activations), sized at creation for
 * rows of at most max_cols elements and batches of at most max_tokens. */
typedef struct ops_ctx ops_ctx;

ops_ctx *ops_create(xq_pool *pool, int64_t max_cols, int64_t max_tokens);
void ops_destroy(ops_ctx *o);
xq_pool *ops_pool(const ops_ctx *o);
/* Bytes of scratch the context holds (converted activations, per-thread panels), for memory reports. */
uint64_t ops_scratch_bytes(const ops_ctx *o);

/* Y[t][r] = Σ_c W[r][c]·X[t][c] for t < n_tok, r < W->rows. X is n_tok × W->cols, Y is n_tok × W->rows
 * (both row-major, f32). Activations are first converted as llama.cpp does (qt_act_type: Q8 blocks, or fp16
 * for F16 weights), so results match its arithmetic. Quantized weights: the tile kernels of ops/qdot.h, each
 * (row, token) with the bits of qt_dot_act whatever the batch, so prefill and decode agree exactly. Float
 * weights with 4+ tokens: the register-blocked tiles of ops/fgemm.h, again with qt_dot_act's bits. */
void ops_matmul(ops_ctx *o, const model_tensor *W, const float *X, int64_t n_tok, float *Y);

/* ops_matmul of two weights over the same activations (Y1 = X·W1ᵀ, Y2 = X·W2ᵀ) with the same bits, converting X
 * once and running both products in one pass over the pool when the weights share a quantized type and width. */
void ops_matmul2(ops_ctx *o, const model_tensor *W1, const model_tensor *W2, const float *X, int64_t n_tok, float *Y1,
                 float *Y2);

/* Row `id` of an embedding table as f32 (n = W->cols). */
void ops_embed_row(const model_tensor *W, int64_t id, float *out);

/* out = x / sqrt(mean(x²) + eps) · w, over n elements (out may alias x). */
void ops_rmsnorm(const float *x, const float *w, int64_t n, float eps, float *out);

/* Rotary embedding over adjacent pairs (x[2i], x[2i+1]) of each head's first n_rot dims, in place, for one
 * token at position pos. theta_i = pos·scale·base^(−2i/n_rot) / factor_i (factors may be NULL). */
void ops_rope(float *x, int n_heads, int head_dim, int n_rot, int64_t pos, float base, float scale,
              const float *factors);

/* The same in two parts, for callers that rotate many rows at the positions they visited before: the angles of
 * position pos (cs[2i] = cos θ_i, cs[2i+1] = sin θ_i, n_rot floats), then the rotation with them. Together they
 * give ops_rope's bits. */
void ops_rope_angles(int n_rot, int64_t pos, float base, float scale, const float *factors, float *cs);
void ops_rope_apply(float *x, int n_heads, int head_dim, int n_rot, const float *cs);

/* The largest of x[0 … n−1] (−inf when n = 0; NaNs are skipped), the same value in any order. */
float ops_max_row(const float *x, int64_t n);
/* In-place softmax over n values; returns nothing, max-subtracted for stability. */
void ops_softmax(float *x, int64_t n);
/* ops_softmax of n_rows rows (row r at x + r·ld, n[r] values), with its bits: the rows' sums run side by side. */
void ops_softmax_rows(float *x, int64_t ld, const int64_t *n, int n_rows);

/* Attention of one query head over n_keys f32 key and value rows (row j at K/V + j·row_stride, head_dim used):
 * scores_j = (Σ_d q_d·k_jd)·head_dim^-½ summed in d order with each product rounded, softmax, then
 * out_d = Σ_j p_j·v_jd in j order with one fma per term; with fp16_operands q and p are first rounded to fp16
 * (llama.cpp with an f16 cache). scores: scratch of n_keys floats. SIMD across keys, the same bits as scalar. */
void ops_attend_head(const float *q, const float *K, const float *V, int64_t n_keys, int64_t row_stride, int head_dim,
                     bool fp16_operands, float *scores, float *out);

/* scores_j = (Σ_d q_d·k_jd)·scale as ops_attend_head computes them (SIMD across keys, the scalar bits), for
 * callers that run their own softmax (the rebuild path's online softmax over tiles). */
void ops_attend_scores(const float *q, const float *K, int64_t n_keys, int64_t row_stride, int head_dim, float scale,
                       float *scores);

/* The same scores from keys transposed as ops_attend_head_kt takes them (Kt[d·kt_ld + j]), with the same bits:
 * for callers that score many queries against one set of keys (transpose once, no per-query transposition). */
void ops_attend_scores_kt(const float *q, const float *Kt, int64_t kt_ld, int64_t n_keys, int head_dim, float scale,
                          float *scores);
/* ops_attend_scores_kt for n_q queries (query h at q + h·head_dim, its scores at scores + h·ld) over the same
 * transposed keys, with its bits; with AVX-512 each key vector is loaded once for four queries. */
void ops_attend_scores_kt_heads(const float *q, int n_q, const float *Kt, int64_t kt_ld, int64_t n_keys, int head_dim,
                                float scale, float *scores, int64_t ld);

/* The same with the keys transposed, Kt[d·kt_ld + j] (lanes = keys, no per-query transposition) and the values
 * read where they are stored: row j at V + j·v_stride elements, f32 or (v_fp16) fp16 taken exactly; the same
 * bits as ops_attend_head over the values as f32. */
void ops_attend_head_kt(const float *q, const float *Kt, int64_t kt_ld, const void *V, bool v_fp16, int64_t v_stride,
                        int64_t n_keys, int head_dim, bool fp16_operands, float *scores, float *out);
/* Query rows that share one KV head, each with its own number of visible keys (the causal mask of a prefill). */
typedef struct ops_attend_row {
    const float *q;     /* head_dim floats */
    float *out;         /* head_dim floats */
    int64_t n_keys;     /* keys 0 … n_keys−1, at most kt_ld */
} ops_attend_row;

/* ops_attend_head_kt for each of n_rows rows, with its bits, in blocks of keys: every row scores a block of the
 * transposed keys while it stays in cache, then after the softmaxes every row adds a block of values to its sums.
 * One pass over the keys and one over the values serve all rows (one row at a time streams them once per row).
 * scratch: n_rows × (kt_ld + head_dim) floats. */
void ops_attend_rows_kt(const ops_attend_row *rows, int n_rows, const float *Kt, int64_t kt_ld, const void *V,
                        bool v_fp16, int64_t v_stride, int head_dim, bool fp16_operands, float *scratch);
/* Keys per block of the blocked key layout: a block holds OPS_KEY_LANES positions of one KV head transposed,
 * element d of its key i at block + d·OPS_KEY_LANES + i, so a vector load takes element d of 16 keys. */
enum { OPS_KEY_LANES = 16 };

/* Attention of n_q query heads that share one KV head over keys in the blocked layout (element d of key j at
 * Kb + (j / OPS_KEY_LANES)·block_stride + d·OPS_KEY_LANES + j % OPS_KEY_LANES; fp16 or f32) and value rows
 * (row j at V + j·v_stride; fp16 or f32), with ops_attend_head_kt's arithmetic and bits per head: no transposition
 * at all, for decoding, where every step reads every key once. scores: n_q × n_keys floats. */
void ops_attend_heads_kb(const float *q, int n_q, const void *Kb, bool k_fp16, int64_t block_stride, const void *V,
                         bool v_fp16, int64_t v_stride, int64_t n_keys, int head_dim, bool fp16_operands, float *scores,
                         float *out);
/* Keys 0 … n−1 of the blocked layout as Kt[d·kt_ld + j] in f32 (the scalar conversion's bits). */
void ops_untile_keys(const void *Kb, bool k_fp16, int64_t block_stride, int64_t n, int head_dim, float *Kt,
                     int64_t kt_ld);


/* ops_attend_scores for n_q query heads that share one KV head (query h at q + h·head_dim, its scores at
 * scores + h·ld), each head's bits as ops_attend_scores gives them; the key rows are read and transposed in
 * registers once for all heads. */
void ops_attend_scores_heads(const float *q, int n_q, const float *K, int64_t n_keys, int64_t row_stride, int head_dim,
                             float scale, float *scores, int64_t ld);
/* For each of n_q heads (probabilities at p + h·p_ld, sums at out + h·out_ld): out_d = fma(p_j, v_jd, out_d) for
 * j = 0 … n_keys−1 in order, onto out as it holds (an online softmax's running sums), over width f32 values of
 * row j at V + j·row_stride; SIMD over d with the scalar loop's bits, each row loaded once for up to three heads. */
void ops_attend_values_acc_heads(const float *p, int64_t p_ld, int n_q, const float *V, int64_t n_keys,
                                 int64_t row_stride, int width, float *out, int64_t out_ld);

/* dst[d·ld + j] = element d of row j as f32, for j < n, d < head_dim; rows at src + j·stride elements, fp16 (the
 * scalar conversion's bits) or f32. */
void ops_transpose_rows(const void *src, bool fp16, int64_t stride, int64_t n, int head_dim, float *dst, int64_t ld);

/* gate[i] = silu(gate[i]) · up[i]. */
void ops_swiglu(float *gate, const float *up, int64_t n);

#endif
