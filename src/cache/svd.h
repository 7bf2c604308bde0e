/* SVD factors of the K and V projections for the GQA latent modes (XQUANT.md §2), computed once per model in
 * double precision with LAPACKE and shared by every cache that needs them.
 *
 * With the projection written as K = X·A (A = Wkᵀ, d × d_kv): A = U·Σ·Bᵀ at full rank r = min(d, d_kv), no
 * truncation. We keep U (d × r) and the fused F = Σ·Bᵀ (r × d_kv), so K = (X·U)·F. Signs are fixed: each pair
 * (u_i, b_i) is flipped so that the largest-magnitude entry of u_i is positive (the first such entry on ties).
 * `joint` factors [Wk|Wv] (d × 2·d_kv) instead and keeps only U (xq-cl-svd). */
#ifndef XQ_CACHE_SVD_H
#define XQ_CACHE_SVD_H

#include <stdbool.h>

#include "base/status.h"
#include "model/model.h"

typedef struct cache_svd cache_svd;

/* The factors a layer contributes. u: d × rank, row-major (latent = X·u). fused: the F of K or V stored as an
 * F32 weight (rows = d_kv outputs, cols = rank inputs), so that K = latent·fusedᵀ as in ops_matmul. */
typedef struct svd_factor {
    const float *u;
    int rank;
    model_tensor fused; /* data NULL for joint factors */
} svd_factor;

int cache_svd_create(const model *m, bool joint, cache_svd **out, xq_err *err);
void cache_svd_destroy(cache_svd *s);
bool cache_svd_joint(const cache_svd *s);
/* which: 0 = K, 1 = V (separate factors); 0 for the joint factor. */
const svd_factor *cache_svd_factor(const cache_svd *s, int layer, int which);
/* Wall time of the decompositions, for the log line the CLI prints. */
double cache_svd_seconds(const cache_svd *s);
int cache_svd_count(const cache_svd *s);

#endif
