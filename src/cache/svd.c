/* SVD factors of Wk, Wv (or [Wk|Wv]) per layer, in double through LAPACKE, with the sign rule of XQUANT.md. */
#include "cache/svd.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/progress.h"
#include "model/qtypes.h"

struct cache_svd {
    bool joint;
    int n_layer, per_layer; /* factors per layer: 2 (K, V) or 1 (joint) */
    svd_factor *factors;
    float *storage;
    double seconds;
};

/* A = [W_0ᵀ | W_1ᵀ | …] (d × cols) in column-major order: column o is output row o of the weights, so the rows
 * are copied as they are stored, without a transpose. */
static void weights_as_columns(const model_tensor *const *w, int n_w, double *a)
{
    int64_t d = w[0]->cols;
    float row[d];
    for (int k = 0; k < n_w; k++)
        for (int64_t o = 0; o < w[k]->rows; o++, a += d) {
            qt_dequant_row(w[k]->type, (const unsigned char *)w[k]->data + (uint64_t)o * w[k]->row_bytes, row, d);
            for (int64_t c = 0; c < d; c++) a[c] = row[c];
        }
}

/* Flips (u_i, b_i) so that u_i's largest-magnitude entry (the first on ties) is positive; on LAPACK's
 * column-major U (d × r: u_i contiguous) and Bᵀ (r × cols). */
static void fix_signs(double *u, int64_t d, int64_t r, double *vt, int64_t cols)
{
    for (int64_t i = 0; i < r; i++) {
        double *ui = u + i * d;
        int64_t best = 0;
        for (int64_t c = 1; c < d; c++)
            if (fabs(ui[c]) > fabs(ui[best])) best = c;
        if (ui[best] >= 0) continue;
        for (int64_t c = 0; c < d; c++) ui[c] = -ui[c];
        for (int64_t o = 0; o < cols; o++) vt[o * r + i] = -vt[o * r + i];
    }
}

/* LAPACK's workspace for one layer's decomposition, sized once by a query and reused for every layer. */
typedef struct svd_work {
    double *s, *u, *vt;          /* singular values, then U (d × r) and Bᵀ (r × cols) row-major */
    double *a_cm, *u_cm, *vt_cm; /* A (d × cols), U and Bᵀ as LAPACK keeps them: column-major */
    double *lapack;
    lapack_int n_lapack, *iwork;
} svd_work;

/* A = U·Σ·Bᵀ, signs fixed, by divide and conquer on A in column-major order: the computation LAPACKE's row-major
 * dgesdd does after transposing A (same routine, same workspace size, so the same bits), without its copies and
 * its allocations per call. QR iteration (dgesvd) where divide and conquer fails to converge. */
static int decompose(svd_work *w, int64_t d, int64_t cols)
{
    int64_t r = d < cols ? d : cols;
    memcpy(w->a_cm + d * cols, w->a_cm, (size_t)(d * cols) * sizeof(double)); /* dgesdd overwrites A */
    lapack_int info = LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, 'S', (lapack_int)d, (lapack_int)cols, w->a_cm,
                                          (lapack_int)d, w->s, w->u_cm, (lapack_int)d, w->vt_cm, (lapack_int)r,
                                          w->lapack, w->n_lapack, w->iwork);
    if (info != 0) {
        double superb[r];
        info = LAPACKE_dgesvd(LAPACK_COL_MAJOR, 'S', 'S', (lapack_int)d, (lapack_int)cols, w->a_cm + d * cols,
                              (lapack_int)d, w->s, w->u_cm, (lapack_int)d, w->vt_cm, (lapack_int)r, superb);
    }
    if (info != 0) return -1;
    fix_signs(w->u_cm, d, r, w->vt_cm, cols);
    for (int64_t c = 0; c < d; c++)
        for (int64_t i = 0; i < r; i++) w->u[c * r + i] = w->u_cm[i * d + c];
    for (int64_t i = 0; i < r; i++)
        for (int64_t o = 0; o < cols; o++) w->vt[i * cols + o] = w->vt_cm[o * r + i];
    return 0;
}

static void work_free(svd_work *w)
{
    free(w->a_cm);
    free(w->lapack);
    free(w->iwork);
}

static int work_alloc(svd_work *w, int64_t d, int64_t cols)
{
    int64_t r = d < cols ? d : cols;
    *w = (svd_work){0};
    /* a_cm holds A and a second copy for the fallback; then s, U, Bᵀ in both orders. */
    w->a_cm = malloc((size_t)(2 * d * cols + r + 2 * (d * r + r * cols)) * sizeof(double));
    w->iwork = malloc((size_t)(8 * r) * sizeof *w->iwork);
    if (!w->a_cm || !w->iwork) return -1;
    w->s = w->a_cm + 2 * d * cols;
    w->u_cm = w->s + r;
    w->vt_cm = w->u_cm + d * r;
    w->u = w->vt_cm + r * cols;
    w->vt = w->u + d * r;
    double query;
    if (LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, 'S', (lapack_int)d, (lapack_int)cols, w->a_cm, (lapack_int)d, w->s,
                            w->u_cm, (lapack_int)d, w->vt_cm, (lapack_int)r, &query, -1, w->iwork) != 0)
        return -1;
    w->n_lapack = (lapack_int)query;
    w->lapack = malloc((size_t)w->n_lapack * sizeof(double));
    return w->lapack ? 0 : -1;
}

/* Factors one layer's matrices into f (and fills the float storage at *next). */
static int factor_layer(const model_layer *L, bool joint, svd_factor *f, float **next, svd_work *w)
{
    int64_t d = L->wk.cols, d_kv = L->wk.rows;
    const model_tensor *both[2] = {&L->wk, &L->wv};
    int n_fac = joint ? 1 : 2;
    for (int k = 0; k < n_fac; k++) {
        int64_t cols = joint ? 2 * d_kv : d_kv, r = d < cols ? d : cols;
        double *s = w->s, *u = w->u, *vt = w->vt;
        weights_as_columns(joint ? both : both + k, joint ? 2 : 1, w->a_cm);
        if (decompose(w, d, cols) != 0) return -1;
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
    svd_work work = {0};
    int rc = s->factors && s->storage && !work_alloc(&work, d, cols) ? 0 : -1;
    float *next = s->storage;
    for (int il = 0; !rc && il < s->n_layer; il++) {
        xq_progress("SVD factors", il, s->n_layer);
        if (factor_layer(&m->layers[il], joint, s->factors + il * s->per_layer, &next, &work))
            rc = xq_fail(err, XQ_ERUN, "svd: layer %d: LAPACK did not converge", il);
    }
    xq_progress("SVD factors", s->n_layer, s->n_layer);
    work_free(&work);
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
