/* SVD factors of the GQA latent modes (XQUANT.md §2): without quantization the rebuilt K = (X·Uk)·Fk and
 * V = (X·Uv)·Fv equal X·Wk and X·Wv to float rounding; the sign rule holds (each u_i's largest-magnitude entry is
 * positive); the joint factor of [Wk|Wv] has orthonormal columns and X·U·Uᵀ projects onto what K and V see. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/progress.h"
#include "cache/svd.h"
#include "model/qtypes.h"
#include "model/synth.h"
#include "testlib.h"

static const model_shape SHAPE_GQA = {"t5-gqa", 5, 128, 256, 4, 2, 300, 256, 10000.0f, 1e-5f, false};
enum { N_ROWS = 6 };

static void weight_row(const model_tensor *W, int64_t o, float *out)
{
    qt_dequant_row(W->type, (const unsigned char *)W->data + (uint64_t)o * W->row_bytes, out, W->cols);
}

/* max over rows and outputs of |Σ_c x[c]·W[o][c] − y[o]| / max |Σ_c x[c]·W[o][c]| */
static double projection_error(const model_tensor *W, const float *x, const double *y)
{
    int64_t d = W->cols;
    float w[d];
    double worst = 0, scale = 0;
    for (int t = 0; t < N_ROWS; t++)
        for (int64_t o = 0; o < W->rows; o++) {
            weight_row(W, o, w);
            double ref = 0;
            for (int64_t c = 0; c < d; c++) ref += (double)x[t * d + c] * w[c];
            worst = fmax(worst, fabs(ref - y[t * W->rows + o]));
            scale = fmax(scale, fabs(ref));
        }
    return worst / scale;
}

static void check_signs(const svd_factor *f, int64_t d, const char *label)
{
    for (int i = 0; i < f->rank; i++) {
        int64_t best = 0;
        for (int64_t c = 1; c < d; c++)
            if (fabsf(f->u[c * f->rank + i]) > fabsf(f->u[best * f->rank + i])) best = c;
        CHECKF(f->u[best * f->rank + i] > 0, "%s: u_%d's largest entry is negative", label, i);
    }
}

/* K = (X·U)·Fᵀ for one factor, against X·Wᵀ. */
static void check_separate(const model *m, const cache_svd *svd, const float *x)
{
    int64_t d = m->cfg.n_embd;
    for (int il = 0; il < m->cfg.n_layer; il++)
        for (int which = 0; which < 2; which++) {
            const svd_factor *f = cache_svd_factor(svd, il, which);
            const model_tensor *W = which ? &m->layers[il].wv : &m->layers[il].wk;
            double *y = calloc((size_t)(N_ROWS * W->rows), sizeof *y);
            for (int t = 0; t < N_ROWS; t++) {
                double latent[f->rank];
                for (int i = 0; i < f->rank; i++) {
                    latent[i] = 0;
                    for (int64_t c = 0; c < d; c++) latent[i] += (double)x[t * d + c] * f->u[c * f->rank + i];
                }
                const float *F = f->fused.data;
                for (int64_t o = 0; o < W->rows; o++)
                    for (int i = 0; i < f->rank; i++) y[t * W->rows + o] += latent[i] * F[o * f->rank + i];
            }
            double e = projection_error(W, x, y);
            CHECKF(e < 1e-5, "layer %d %s: rebuilt differs by %.3g", il, which ? "V" : "K", e);
            check_signs(f, d, which ? "Uv" : "Uk");
            free(y);
        }
}

/* Joint factor: UᵀU = I, and X·U·Uᵀ·Wᵀ = X·Wᵀ for W = Wk and Wv. */
static void check_joint(const model *m, const cache_svd *svd, const float *x)
{
    int64_t d = m->cfg.n_embd;
    for (int il = 0; il < m->cfg.n_layer; il++) {
        const svd_factor *f = cache_svd_factor(svd, il, 0);
        double off = 0;
        for (int i = 0; i < f->rank; i++)
            for (int k = 0; k < f->rank; k++) {
                double dot = 0;
                for (int64_t c = 0; c < d; c++) dot += (double)f->u[c * f->rank + i] * f->u[c * f->rank + k];
                off = fmax(off, fabs(dot - (i == k)));
            }
        CHECKF(off < 1e-5, "layer %d: |UᵀU − I| = %.3g", il, off);
        check_signs(f, d, "Ukv");
        float *xp = calloc((size_t)(N_ROWS * d), sizeof *xp);
        for (int t = 0; t < N_ROWS; t++)
            for (int i = 0; i < f->rank; i++) {
                double l = 0;
                for (int64_t c = 0; c < d; c++) l += (double)x[t * d + c] * f->u[c * f->rank + i];
                for (int64_t c = 0; c < d; c++) xp[t * d + c] += (float)(l * f->u[c * f->rank + i]);
            }
        for (int which = 0; which < 2; which++) {
            const model_tensor *W = which ? &m->layers[il].wv : &m->layers[il].wk;
            double *y = calloc((size_t)(N_ROWS * W->rows), sizeof *y);
            float w[d];
            for (int t = 0; t < N_ROWS; t++)
                for (int64_t o = 0; o < W->rows; o++) {
                    weight_row(W, o, w);
                    for (int64_t c = 0; c < d; c++) y[t * W->rows + o] += (double)xp[t * d + c] * w[c];
                }
            double e = projection_error(W, x, y);
            CHECKF(e < 1e-5, "layer %d: X·U·Uᵀ loses %.3g of %s", il, e, which ? "V" : "K");
            free(y);
        }
        free(xp);
    }
}

/* What the progress hook saw: every call must continue the count, done = 0, 1, …, total. */
typedef struct progress_seen {
    int calls, out_of_order;
    int64_t last_done, total;
} progress_seen;

static void note_progress(void *ctx, const char *what, int64_t done, int64_t total)
{
    progress_seen *p = ctx;
    if (done != p->calls || strcmp(what, "SVD factors") != 0) p->out_of_order++;
    p->calls++;
    p->last_done = done;
    p->total = total;
}

static void check_model(const model *m, const char *label)
{
    int64_t d = m->cfg.n_embd;
    float *x = malloc((size_t)(N_ROWS * d) * sizeof *x);
    uint32_t s = 12345;
    for (int64_t i = 0; i < N_ROWS * d; i++) x[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    cache_svd *sep = NULL, *joint = NULL;
    xq_err err = {0};
    progress_seen seen = {0};
    xq_progress_hook(note_progress, &seen, NULL);
    CHECK(cache_svd_create(m, false, &sep, &err) == XQ_OK);
    xq_progress_hook(NULL, NULL, NULL);
    CHECKF(seen.calls == m->cfg.n_layer + 1 && !seen.out_of_order && seen.last_done == seen.total &&
               seen.total == m->cfg.n_layer,
           "%s: progress reported %d calls (%d out of order), last %lld of %lld, for %d layers", label, seen.calls,
           seen.out_of_order, (long long)seen.last_done, (long long)seen.total, m->cfg.n_layer);
    CHECK(cache_svd_create(m, true, &joint, &err) == XQ_OK);
    if (sep && joint) {
        printf("%s: %d + %d factorizations in %.3f + %.3f s\n", label, cache_svd_count(sep), cache_svd_count(joint),
               cache_svd_seconds(sep), cache_svd_seconds(joint));
        CHECK(cache_svd_factor(sep, 0, 0)->rank == m->cfg.n_head_kv * m->cfg.head_dim);
        CHECK(cache_svd_factor(joint, 0, 0)->rank == 2 * m->cfg.n_head_kv * m->cfg.head_dim);
        check_separate(m, sep, x);
        check_joint(m, joint, x);
    }
    cache_svd_destroy(sep);
    cache_svd_destroy(joint);
    free(x);
}

int main(void)
{
    char path[256];
    snprintf(path, sizeof path, "/tmp/xq_test_svd_%d.gguf", (int)getpid());
    xq_err err = {0};
    model *m = NULL;
    if (synth_write(path, &SHAPE_GQA, QT_Q8_0, 3, &err) || model_load(path, &m, &err)) {
        fprintf(stderr, "synth: %s\n", err.msg);
        CHECK(0);
    }
    unlink(path);
    if (m) check_model(m, "t5 Q8_0");
    model_free(m);
    const char *st = test_shared_path("models/stories260K/stories260K.gguf");
    if (!st) {
        printf("SKIP: stories260K absent (../shared): its checks did not run\n");
        return test_report("test_cache_svd");
    }
    m = NULL;
    CHECK(model_load(st, &m, &err) == XQ_OK);
    if (m) check_model(m, "stories260K");
    model_free(m);
    return test_report("test_cache_svd");
}
