/* SVD factors of Wk, Wv (or [Wk|Wv]) per layer, in double through LAPACKE, with the sign rule of XQUANT.md. */
#include "cache/svd.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "model/qtypes.h"

struct cache_svd {
    bool joint;
    int n_layer, per_layer; /* factors per layer: 2 (K, V) or 1 (joint) */
    svd_factor *factors;
    float *storage;
    double seconds;
};

/* A = [W_0ᵀ | W_1ᵀ | …] as d × cols doubles, from weights stored as rows of outputs. */
static void transpose_weights(const model_tensor *const *w, int n_w, double *a, int64_t cols)
{
    int64_t d = w[0]->cols, c0 = 0;
    float row[d];
    for (int k = 0; k < n_w; c0 += w[k]->rows, k++)
        for (int64_t o = 0; o < w[k]->rows; o++) {
            qt_dequant_row(w[k]->type, (const unsigned char *)w[k]->data + (uint64_t)o * w[k]->row_bytes, row, d);
            for (int64_t c = 0; c < d; c++) a[c * cols + c0 + o] = row[c];
        }
}

/* Flips (u_i, vt_i) so that u_i's largest-magnitude entry (the first on ties) is positive. */
static void fix_signs(double *u, int64_t d, int64_t r, double *vt, int64_t cols)
{
    for (int64_t i = 0; i < r; i++) {
        int64_t best = 0;
        for (int64_t c = 1; c < d; c++)
            if (fabs(u[c * r + i]) > fabs(u[best * r + i])) best = c;
        if (u[best * r + i] >= 0) continue;
        for (int64_t c = 0; c < d; c++) u[c * r + i] = -u[c * r + i];
        for (int64_t o = 0; o < cols; o++) vt[i * cols + o] = -vt[i * cols + o];
    }
}

static int decompose(double *a, int64_t d, int64_t cols, double *s, double *u, double *vt)
{
    int64_t r = d < cols ? d : cols;
    double *copy = malloc((size_t)(d * cols) * sizeof *copy);
    if (!copy) return -1;
    memcpy(copy, a, (size_t)(d * cols) * sizeof *copy);
    int info = (int)LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'S', (lapack_int)d, (lapack_int)cols, a, (lapack_int)cols, s, u,
                                   (lapack_int)r, vt, (lapack_int)cols);
    if (info != 0) { /* divide and conquer can fail to converge where QR iteration does not */
        double superb[r];
        info = (int)LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'S', 'S', (lapack_int)d, (lapack_int)cols, copy, (lapack_int)cols,
                                   s, u, (lapack_int)r, vt, (lapack_int)cols, superb);
    }
    free(copy);
    return info;
}

/* Factors one layer's matrices into f (and fills the float storage at *next). */
static int factor_layer(const model_layer *L, bool joint, svd_factor *f, float **next, double *work)
{
    int64_t d = L->wk.cols, d_kv = L->wk.rows;
    const model_tensor *both[2] = {&L->wk, &L->wv};
    int n_fac = joint ? 1 : 2;
    for (int k = 0; k < n_fac; k++) {
        int64_t cols = joint ? 2 * d_kv : d_kv, r = d < cols ? d : cols;
        double *a = work, *s = a + d * cols, *u = s + r, *vt = u + d * r;
        transpose_weights(joint ? both : both + k, joint ? 2 : 1, a, cols);
        if (decompose(a, d, cols, s, u, vt) != 0) return -1;
        fix_signs(u, d, r, vt, cols);
        float *uf = *next, *ff = uf + d * r;
        for (int64_t i = 0; i < d * r; i++) uf[i] = (float)u[i];
        f[k] = (svd_factor){.u = uf, .rank = (int)r};
        *next = ff;
        if (joint) continue;
        for (int64_t o = 0; o < d_kv; o++)
            for (int64_t i = 0; i < r; i++) ff[o * r + i] = (float)(s[i] * vt[i * cols + o]);
        f[k].fused = (model_tensor){.data = ff, .type = QT_F32, .cols = r, .rows = d_kv,
                                    .row_bytes = (uint64_t)r * sizeof(float)};
        *next = ff + d_kv * r;
    }
    return 0;
}

int cache_svd_create(const model *m, bool joint, cache_svd **out, xq_err *err)
{
    int64_t t0 = xq_now_ns();
    const model_config *c = &m->cfg;
    int64_t d = c->n_embd, d_kv = (int64_t)c->n_head_kv * c->head_dim, cols = joint ? 2 * d_kv : d_kv;
    int64_t r = d < cols ? d : cols;
    cache_svd *s = calloc(1, sizeof *s);
    if (!s) return xq_fail(err, XQ_ERUN, "svd: out of memory");
    s->joint = joint;
    s->n_layer = c->n_layer;
    s->per_layer = joint ? 1 : 2;
    int64_t floats_per_layer = joint ? d * r : 2 * (d * r + d_kv * r);
    s->factors = calloc((size_t)(s->n_layer * s->per_layer), sizeof *s->factors);
    s->storage = malloc((size_t)(floats_per_layer * s->n_layer) * sizeof(float));
    double *work = malloc((size_t)(d * cols + r + d * r + r * cols) * sizeof *work);
    int rc = s->factors && s->storage && work ? 0 : -1;
    float *next = s->storage;
    for (int il = 0; !rc && il < s->n_layer; il++)
        if (factor_layer(&m->layers[il], joint, s->factors + il * s->per_layer, &next, work))
            rc = xq_fail(err, XQ_ERUN, "svd: layer %d: LAPACK did not converge", il);
    free(work);
    if (rc) {
        cache_svd_destroy(s);
        return err && err->code ? err->code : xq_fail(err, XQ_ERUN, "svd: out of memory");
    }
    s->seconds = (double)(xq_now_ns() - t0) / 1e9;
    *out = s;
    return XQ_OK;
}

void cache_svd_destroy(cache_svd *s)
{
    if (!s) return;
    free(s->factors);
    free(s->storage);
    free(s);
}

bool cache_svd_joint(const cache_svd *s) { return s->joint; }
const svd_factor *cache_svd_factor(const cache_svd *s, int layer, int which)
{
    return &s->factors[layer * s->per_layer + which];
}
double cache_svd_seconds(const cache_svd *s) { return s->seconds; }
int cache_svd_count(const cache_svd *s) { return s->n_layer * s->per_layer; }
