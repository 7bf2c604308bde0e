/* Kernels of src/ops against plain references: matmul in every supported weight type (one token and many, i.e.
 * both the per-row dot path and the dequantized-tile sgemm path), RoPE on adjacent pairs, RMSNorm, softmax,
 * SwiGLU, and the thread pool's range split. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fp16.h"
#include "base/pool.h"
#include "model/qtypes.h"
#include "ops/ops.h"
#include "ops/vexp.h"
#include "testlib.h"

static uint64_t rng = 88172645463325252ull;
static float frand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) * 0x1.0p-53 * 2.0 - 1.0);
}

static const uint32_t types[] = {QT_F32,  QT_F16,  QT_BF16, QT_Q8_0, QT_Q4_0, QT_Q4_1, QT_Q5_0,
                                 QT_Q5_1, QT_Q2_K, QT_Q3_K, QT_Q4_K, QT_Q5_K, QT_Q6_K, QT_IQ4_NL, QT_IQ4_XS};

/* Y = X̃·Wᵀ in double from the dequantized weights and the activations as the kernel must see them (X̃: each
 * row quantized to the weight's activation type and back, as llama.cpp does): the reference. */
static void reference_matmul(const model_tensor *W, const float *X, int64_t n, double *Y)
{
    float *row = malloc((size_t)W->cols * sizeof *row);
    float *Xq = malloc((size_t)(n * W->cols) * sizeof *Xq);
    for (int64_t t = 0; t < n; t++) qt_act_roundtrip(W->type, X + t * W->cols, Xq + t * W->cols, W->cols);
    X = Xq;
    for (int64_t r = 0; r < W->rows; r++) {
        qt_dequant_row(W->type, (const char *)W->data + r * W->row_bytes, row, W->cols);
        for (int64_t t = 0; t < n; t++) {
            double s = 0;
            for (int64_t c = 0; c < W->cols; c++) s += (double)row[c] * X[t * W->cols + c];
            Y[t * W->rows + r] = s;
        }
    }
    free(row);
    free(Xq);
}

/* Activation quantization: every element within 0.56·d of its value (d/2 for rounding, plus fp16 storage of
 * d: 127·d·2^-11); exact for a zero block; Q8_1's s equals d·Σq within fp16 rounding. */
static void test_act_quant(void)
{
    const uint32_t wt[] = {QT_Q4_0, QT_Q4_1, QT_Q4_K, QT_F16, QT_BF16};
    float x[512], y[512];
    for (int i = 0; i < 512; i++) x[i] = frand() * (i % 7 == 0 ? 10.0f : 1.0f);
    for (int i = 0; i < 32; i++) x[i] = 0.0f;
    for (size_t k = 0; k < sizeof wt / sizeof wt[0]; k++) {
        qt_act_roundtrip(wt[k], x, y, 512);
        int bs = wt[k] == QT_Q4_K ? 256 : 32;
        for (int b = 0; b < 512; b += bs) {
            float amax = 0;
            for (int j = 0; j < bs; j++) amax = fmaxf(amax, fabsf(x[b + j]));
            double tol = wt[k] == QT_F16 ? amax * 0x1p-11 : wt[k] == QT_BF16 ? amax * 0x1p-8 : 0.56 * amax / 127;
            for (int j = 0; j < bs; j++)
                CHECKF(fabs(y[b + j] - x[b + j]) <= tol, "%s elem %d: %g vs %g", qt_name(wt[k]), b + j, y[b + j], x[b + j]);
        }
        for (int j = 0; j < 32; j++) CHECK(y[j] == 0.0f);
    }
    CHECK(qt_act_type(QT_Q4_1) == QT_Q8_1 && qt_act_type(QT_Q5_0) == QT_Q8_0 && qt_act_type(QT_Q6_K) == QT_Q8_K);
    CHECK(qt_act_type(QT_F32) == QT_F32 && qt_act_type(QT_F16) == QT_F16);
}

static void test_matmul_type(ops_ctx *o, uint32_t type)
{
    const int64_t rows = 131, cols = 512; /* rows not a multiple of the tile: exercises the tail */
    model_tensor W = {.type = type, .cols = cols, .rows = rows, .row_bytes = qt_row_bytes(type, cols)};
    char *data = malloc((size_t)(rows * W.row_bytes));
    float *src = malloc((size_t)cols * sizeof *src);
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t c = 0; c < cols; c++) src[c] = frand();
        qt_quantize_row(type, src, data + r * W.row_bytes, cols);
    }
    W.data = data;
    const int64_t ns[] = {1, 3, 7, 40};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        int64_t n = ns[i];
        float *X = malloc((size_t)(n * cols) * sizeof *X), *Y = malloc((size_t)(n * rows) * sizeof *Y);
        double *R = malloc((size_t)(n * rows) * sizeof *R);
        for (int64_t k = 0; k < n * cols; k++) X[k] = frand();
        ops_matmul(o, &W, X, n, Y);
        reference_matmul(&W, X, n, R);
        double maxd = 0, maxr = 0;
        for (int64_t k = 0; k < n * rows; k++) {
            maxd = fmax(maxd, fabs(Y[k] - R[k]));
            maxr = fmax(maxr, fabs(R[k]));
        }
        /* Q4_1/Q5_1 add m·s with s = fp16(d·Σq) as ggml does, a rounding (2^-11 of a term that cancels against
         * the rest of the block) the exact reference does not make. */
        double tol = type == QT_Q4_1 || type == QT_Q5_1 ? 2e-3 : 1e-5;
        CHECKF(maxd <= tol * maxr + 1e-6, "type %s n=%lld: max|d| %.3g vs max|ref| %.3g", qt_name(type),
               (long long)n, maxd, maxr);
        free(X);
        free(Y);
        free(R);
    }
    free(data);
    free(src);
}

/* Adjacent-pair convention: (x[2i], x[2i+1]) rotate together by pos·base^(−2i/n_rot). */
static void test_rope(void)
{
    const int hd = 8, heads = 2;
    float x[16], y[16];
    for (int i = 0; i < 16; i++) x[i] = y[i] = frand();
    ops_rope(y, heads, hd, hd, 3, 10000.0f, 1.0f, NULL);
    for (int h = 0; h < heads; h++)
        for (int i = 0; i < hd / 2; i++) {
            double th = 3.0 * pow(10000.0, -2.0 * i / hd);
            float a = x[h * hd + 2 * i], b = x[h * hd + 2 * i + 1];
            CHECK(fabs(y[h * hd + 2 * i] - (a * cos(th) - b * sin(th))) < 1e-5);
            CHECK(fabs(y[h * hd + 2 * i + 1] - (a * sin(th) + b * cos(th))) < 1e-5);
        }
    /* Position 0 is the identity; partial rotation (n_rot < head_dim) leaves the tail untouched. */
    memcpy(y, x, sizeof y);
    ops_rope(y, heads, hd, hd, 0, 10000.0f, 1.0f, NULL);
    CHECK(memcmp(x, y, sizeof x) == 0);
    memcpy(y, x, sizeof y);
    ops_rope(y, heads, hd, 4, 5, 10000.0f, 1.0f, NULL);
    CHECK(y[4] == x[4] && y[7] == x[7] && y[12] == x[12] && y[15] == x[15]);
    CHECK(y[0] != x[0]);
    /* Frequency factors divide theta: factor 2 at pos 6 equals no factor at pos 3 (pair 0 and pair 1). */
    float f[2] = {2.0f, 2.0f}, a[8], b[8];
    for (int i = 0; i < 8; i++) a[i] = b[i] = x[i];
    ops_rope(a, 1, 8, 4, 6, 10000.0f, 1.0f, f);
    ops_rope(b, 1, 8, 4, 3, 10000.0f, 1.0f, NULL);
    for (int i = 0; i < 4; i++) CHECK(fabsf(a[i] - b[i]) < 1e-5f);
    /* Angles computed once and applied later give ops_rope's bits (SmolLM2's head of 64, with and without
     * factors and scaling, positions up to 32K). */
    enum { HD = 64, HEADS = 3 };
    float ff[HD / 2], r1[HEADS * HD], r2[HEADS * HD], cs[HD];
    for (int i = 0; i < HD / 2; i++) ff[i] = 1.0f + (float)i / 8.0f;
    int bad = 0;
    for (int64_t pos = 0; pos < 32768; pos = pos * 3 + 1)
        for (int variant = 0; variant < 2; variant++) {
            const float *fac = variant ? ff : NULL;
            float base = variant ? 500000.0f : 10000.0f, scale = variant ? 0.25f : 1.0f;
            for (int i = 0; i < HEADS * HD; i++) r1[i] = r2[i] = frand() * 4.0f;
            ops_rope(r1, HEADS, HD, HD, pos, base, scale, fac);
            ops_rope_angles(HD, pos, base, scale, fac, cs);
            ops_rope_apply(r2, HEADS, HD, HD, cs);
            bad += memcmp(r1, r2, sizeof r1) != 0;
        }
    CHECKF(bad == 0, "%d rotations with precomputed angles differ from ops_rope", bad);
    /* ops_rope_apply (SIMD over pairs) against the plain rotation, bit for bit, for rotated widths that are and
     * are not a multiple of its four pairs a step, partial rotation included. */
    static const int rots[][2] = {{64, 64}, {80, 80}, {64, 20}, {8, 6}, {16, 2}};
    bad = 0;
    for (int k = 0; k < 5; k++) {
        int hd = rots[k][0], nr = rots[k][1];
        float v[3 * 80], want[3 * 80], angles[80];
        for (int i = 0; i < 3 * hd; i++) v[i] = want[i] = frand() * 8.0f;
        for (int i = 0; i < nr; i++) angles[i] = frand();
        for (int h = 0; h < 3; h++)
            for (int i = 0; i < nr / 2; i++) {
                /* Each product rounded on its own: volatile keeps the compiler from contracting it into an fma. */
                float c = angles[2 * i], sn = angles[2 * i + 1], a = want[h * hd + 2 * i], b = want[h * hd + 2 * i + 1];
                volatile float ac = a * c, bs = b * sn, as = a * sn, bc = b * c;
                want[h * hd + 2 * i] = ac - bs;
                want[h * hd + 2 * i + 1] = as + bc;
            }
        ops_rope_apply(v, 3, hd, nr, angles);
        bad += memcmp(v, want, sizeof(float) * (size_t)(3 * hd)) != 0;
    }
    CHECKF(bad == 0, "ops_rope_apply differs from the plain rotation in %d shapes", bad);
}

static void test_norm_softmax_swiglu(void)
{
    float x[5] = {1, -2, 3, 0.5f, -0.25f}, w[5] = {1, 2, 0.5f, 1, 3}, y[5];
    double ms = 0;
    for (int i = 0; i < 5; i++) ms += x[i] * x[i] / 5.0;
    ops_rmsnorm(x, w, 5, 1e-5f, y);
    for (int i = 0; i < 5; i++) CHECK(fabs(y[i] - x[i] / sqrt(ms + 1e-5) * w[i]) < 1e-6);
    float s[4] = {1000, 1001, 999, -INFINITY};
    ops_softmax(s, 4);
    double z = 1 + exp(1) + exp(-1);
    CHECK(fabs(s[1] - exp(1) / z) < 1e-6 && fabs(s[0] - 1 / z) < 1e-6 && s[3] == 0.0f);
    float g[3] = {0, 2, -3}, u[3] = {5, 0.5f, 2};
    ops_swiglu(g, u, 3);
    CHECK(g[0] == 0.0f);
    CHECK(fabs(g[1] - 2 / (1 + exp(-2)) * 0.5) < 1e-6);
    CHECK(fabs(g[2] - (-3) / (1 + exp(3)) * 2) < 1e-6);
}

/* The dot path gives, for every (row, token), the very bits of the reference qt_dot_act on the reference's
 * quantized activations (qt_quantize_act): whatever the thread count, tile shape or token blocking. */
static void test_matmul_bits(ops_ctx *o, uint32_t type)
{
    const int64_t rows = 83, cols = 512;
    model_tensor W = {.type = type, .cols = cols, .rows = rows, .row_bytes = qt_row_bytes(type, cols)};
    char *data = malloc((size_t)(rows * W.row_bytes));
    float *src = malloc((size_t)cols * sizeof *src);
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t c = 0; c < cols; c++) src[c] = frand();
        qt_quantize_row(type, src, data + r * W.row_bytes, cols);
    }
    W.data = data;
    uint32_t at = qt_act_type(type);
    uint64_t ab = qt_row_bytes(at, cols);
    const int64_t ns[] = {1, 2, 5, 70, 130};
    int bad = 0;
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        int64_t n = ns[i];
        float *X = malloc((size_t)(n * cols) * sizeof *X), *Y = malloc((size_t)(n * rows) * sizeof *Y);
        unsigned char *A = malloc((size_t)(n * (int64_t)ab));
        for (int64_t k = 0; k < n * cols; k++) X[k] = frand() * (k % 11 == 0 ? 8.0f : 1.0f);
        for (int64_t t = 0; t < n; t++) qt_quantize_act(at, X + t * cols, A + t * (int64_t)ab, cols);
        ops_matmul(o, &W, X, n, Y);
        for (int64_t t = 0; t < n; t++)
            for (int64_t r = 0; r < rows; r++) {
                float ref = qt_dot_act(type, data + r * W.row_bytes, A + t * (int64_t)ab, cols);
                bad += memcmp(&ref, &Y[t * rows + r], sizeof ref) != 0;
            }
        /* ops_matmul2 over W and W without its first 7 rows: the same bits as ops_matmul gave each row */
        model_tensor W2 = W;
        W2.data = data + 7 * W.row_bytes, W2.rows = rows - 7;
        float *Y1 = malloc((size_t)(n * rows) * sizeof *Y1), *Y2 = malloc((size_t)(n * W2.rows) * sizeof *Y2);
        ops_matmul2(o, &W, &W2, X, n, Y1, Y2);
        bad += memcmp(Y, Y1, (size_t)(n * rows) * sizeof *Y) != 0;
        for (int64_t t = 0; t < n; t++)
            bad += memcmp(Y + t * rows + 7, Y2 + t * W2.rows, (size_t)W2.rows * sizeof *Y2) != 0;
        free(Y1);
        free(Y2);
        free(X);
        free(Y);
        free(A);
    }
    CHECKF(bad == 0, "type %s: %d matmul results differ from qt_dot_act", qt_name(type), bad);
    free(data);
    free(src);
}

/* ops_attend_head and ops_attend_head_kt (keys transposed by ops_transpose_rows, from f32 or fp16 rows) against
 * the scalar definition: products rounded before each sum in d order, softmax, one fma per value term. */
static void attend_reference(const float *q, const float *K, const float *V, int64_t n_keys, int64_t stride, int hd,
                             bool fp16, float *scores, float *out)
{
    float qr[128];
    for (int d = 0; d < hd; d++) qr[d] = fp16 ? xq_fp16_to_f32(xq_f32_to_fp16(q[d])) : q[d];
    float scale = 1.0f / sqrtf((float)hd);
    for (int64_t j = 0; j < n_keys; j++) {
        float s = 0.0f;
        for (int d = 0; d < hd; d++) {
            volatile float p = qr[d] * K[j * stride + d];
            s = s + p;
        }
        scores[j] = s * scale;
    }
    ops_softmax(scores, n_keys);
    for (int64_t j = 0; j < n_keys; j++) scores[j] = fp16 ? xq_fp16_to_f32(xq_f32_to_fp16(scores[j])) : scores[j];
    for (int d = 0; d < hd; d++) {
        float acc = 0.0f;
        for (int64_t j = 0; j < n_keys; j++) acc = fmaf(scores[j], V[j * stride + d], acc);
        out[d] = acc;
    }
}

static void test_attend(void)
{
    enum { MAXK = 300, MAXD = 64, STRIDE = 70 };
    float *K = malloc(MAXK * STRIDE * sizeof *K), *V = malloc(MAXK * STRIDE * sizeof *V), *Kt = malloc(MAXK * MAXD * sizeof *Kt);
    uint16_t *Kh = malloc(MAXK * STRIDE * sizeof *Kh), *Vh = malloc(MAXK * STRIDE * sizeof *Vh);
    float q[MAXD], ref[MAXD], got[MAXD], sref[MAXK], sgot[MAXK];
    static const int hds[] = {64, 40, 13, 8, 3};
    static const int64_t nks[] = {1, 7, 8, 16, 31, 32, 33, 100, 300};
    int bad = 0, compared = 0;
    for (size_t a = 0; a < sizeof hds / sizeof hds[0]; a++)
        for (size_t b = 0; b < sizeof nks / sizeof nks[0]; b++)
            for (int fp16 = 0; fp16 < 2; fp16++) {
                int hd = hds[a];
                int64_t nk = nks[b];
                for (int d = 0; d < hd; d++) q[d] = frand() * 3.0f;
                for (int64_t i = 0; i < nk * STRIDE; i++) {
                    Kh[i] = xq_f32_to_fp16(frand() * 2.0f);
                    K[i] = fp16 ? xq_fp16_to_f32(Kh[i]) : frand() * 2.0f;
                    V[i] = frand();
                }
                attend_reference(q, K, V, nk, STRIDE, hd, fp16, sref, ref);
                ops_attend_head(q, K, V, nk, STRIDE, hd, fp16, sgot, got);
                bad += memcmp(ref, got, (size_t)hd * sizeof *ref) != 0;
                if (fp16) ops_transpose_rows(Kh, true, STRIDE, nk, hd, Kt, nk);
                else ops_transpose_rows(K, false, STRIDE, nk, hd, Kt, nk);
                ops_attend_head_kt(q, Kt, nk, V, false, STRIDE, nk, hd, fp16, sgot, got);
                bad += memcmp(ref, got, (size_t)hd * sizeof *ref) != 0;
                /* the scores alone, from rows and from the transposed keys: the same bits */
                ops_attend_scores(q, K, nk, STRIDE, hd, 0.125f, sref);
                ops_attend_scores_kt(q, Kt, nk, nk, hd, 0.125f, sgot);
                bad += memcmp(sref, sgot, (size_t)nk * sizeof *sref) != 0;
                /* values stored as fp16 */
                for (int64_t i = 0; i < nk * STRIDE; i++) {
                    Vh[i] = xq_f32_to_fp16(V[i]);
                    V[i] = xq_fp16_to_f32(Vh[i]);
                }
                attend_reference(q, K, V, nk, STRIDE, hd, fp16, sref, ref);
                ops_attend_head_kt(q, Kt, nk, Vh, true, STRIDE, nk, hd, fp16, sgot, got);
                bad += memcmp(ref, got, (size_t)hd * sizeof *ref) != 0;
                compared += 3;
            }
    CHECKF(bad == 0, "%d of %d attention outputs differ from the scalar definition", bad, compared);
    free(K);
    free(V);
    free(Kt);
    free(Kh);
    free(Vh);
}

/* ops_attend_rows_kt (rows of queries over one set of keys, in key blocks; four rows at a time with AVX-512)
 * against the scalar definition row by row: causal rows as a prefill makes them (g heads per token, one more key
 * per token, after 0 or 200 earlier keys) and rows in no order; head widths with and without 64- and 16-wide
 * blocks; key counts around the 128-key blocks; f32 and fp16 values; with and without fp16 operands. */
static void test_attend_rows(void)
{
    enum { MAXK = 300, MAXD = 128, STRIDE = 140, MAXR = 13 };
    float *K = malloc(MAXK * STRIDE * sizeof *K), *V = malloc(MAXK * STRIDE * sizeof *V);
    float *Kt = malloc(MAXK * MAXD * sizeof *Kt), *scratch = malloc(MAXR * (MAXK + MAXD) * sizeof *scratch);
    uint16_t *Kh = malloc(MAXK * STRIDE * sizeof *Kh), *Vh = malloc(MAXK * STRIDE * sizeof *Vh);
    float q[MAXR * MAXD], got[MAXR * MAXD], ref[MAXD], sref[MAXK];
    static const int hds[] = {128, 80, 64, 40, 13, 8};
    static const int64_t scattered[] = {300, 1, 129, 128, 17, 255, 256, 2, 131, 64, 300, 5, 127};
    int bad = 0, compared = 0;
    for (size_t a = 0; a < sizeof hds / sizeof hds[0]; a++)
        for (int shape = 0; shape < 4; shape++)
            for (int fp16 = 0; fp16 < 2; fp16++) {
                int hd = hds[a], n_rows = shape == 3 ? MAXR : shape == 0 ? 12 : 5;
                ops_attend_row rows[MAXR];
                for (int r = 0; r < n_rows; r++) {
                    /* 0: 4 tokens × 3 heads from key 0; 1: 5 tokens × 1 head after 200 keys; 2: 5 single-key rows */
                    int64_t n = shape == 0 ? r / 3 + 1 : shape == 1 ? 200 + r + 1 : shape == 2 ? 1 : scattered[r];
                    rows[r] = (ops_attend_row){q + r * hd, got + r * hd, n};
                }
                int64_t nk = 0;
                for (int r = 0; r < n_rows; r++) nk = rows[r].n_keys > nk ? rows[r].n_keys : nk;
                for (int i = 0; i < n_rows * hd; i++) q[i] = frand() * 3.0f;
                for (int64_t i = 0; i < nk * STRIDE; i++) {
                    Kh[i] = xq_f32_to_fp16(frand() * 2.0f);
                    K[i] = xq_fp16_to_f32(Kh[i]);
                    Vh[i] = xq_f32_to_fp16(frand());
                    V[i] = xq_fp16_to_f32(Vh[i]);
                }
                ops_transpose_rows(Kh, true, STRIDE, nk, hd, Kt, nk);
                for (int v16 = 0; v16 < 2; v16++) {
                    ops_attend_rows_kt(rows, n_rows, Kt, nk, v16 ? (const void *)Vh : (const void *)V, v16, STRIDE, hd,
                                       fp16, scratch);
                    for (int r = 0; r < n_rows; r++) {
                        attend_reference(rows[r].q, K, V, rows[r].n_keys, STRIDE, hd, fp16, sref, ref);
                        bad += memcmp(ref, rows[r].out, (size_t)hd * sizeof *ref) != 0;
                        compared++;
                    }
                }
            }
    CHECKF(bad == 0, "%d of %d rows of ops_attend_rows_kt differ from the scalar definition", bad, compared);
    free(K);
    free(V);
    free(Kt);
    free(scratch);
    free(Kh);
    free(Vh);
}

/* ops_softmax_rows against ops_softmax row by row, bit for bit: 1 … 17 rows (around its eight sums side by
 * side) of lengths from 1 to 300 in no order. */
static void test_softmax_rows(void)
{
    enum { MAXR = 17, LD = 301 };
    float *x = malloc(MAXR * LD * sizeof *x), *y = malloc(MAXR * LD * sizeof *y);
    int64_t n[MAXR];
    int bad = 0;
    for (int n_rows = 1; n_rows <= MAXR; n_rows++) {
        for (int r = 0; r < n_rows; r++) n[r] = 1 + (r * 97 + n_rows * 31) % 300;
        for (int i = 0; i < MAXR * LD; i++) x[i] = y[i] = frand() * 20.0f;
        ops_softmax_rows(x, LD, n, n_rows);
        for (int r = 0; r < n_rows; r++) {
            ops_softmax(y + r * LD, n[r]);
            bad += memcmp(x + r * LD, y + r * LD, (size_t)n[r] * sizeof *x) != 0;
        }
    }
    CHECKF(bad == 0, "%d rows of ops_softmax_rows differ from ops_softmax", bad);
    free(x);
    free(y);
}

/* ops_attend_heads_kb (several query heads over keys in the blocked layout of ops.h, values as rows: a decode step
 * of the plain caches) against the scalar definition head by head: fp16 and f32 keys and values, head widths with
 * and without 16-wide blocks, key counts around the 16-key blocks and the 128-key value blocks, more heads than one
 * pass takes (9 > 4), block strides wider than a block, with and without fp16 operands, and an fp16 block holding a
 * signalling NaN. */
static void test_attend_heads_kb(void)
{
    enum { MAXK = 300, MAXD = 128, STRIDE = 140, MAXQ = 9, BLOCKS = (MAXK + 15) / 16, BSTRIDE = 16 * MAXD + 32 };
    uint16_t *Kbh = calloc(BLOCKS * BSTRIDE, sizeof *Kbh), *Vh = malloc(MAXK * STRIDE * sizeof *Vh);
    float *Kbf = calloc(BLOCKS * BSTRIDE, sizeof *Kbf), *K = malloc(MAXK * STRIDE * sizeof *K);
    float *V = malloc(MAXK * STRIDE * sizeof *V), *scores = malloc(MAXQ * MAXK * sizeof *scores);
    float q[MAXQ * MAXD], got[MAXQ * MAXD], ref[MAXD], sref[MAXK];
    static const int hds[] = {128, 64, 40, 13};
    static const int64_t nks[] = {1, 7, 16, 33, 129, 300};
    static const int nqs[] = {1, 3, 9};
    int bad = 0, compared = 0;
    for (size_t a = 0; a < 4; a++)
        for (size_t b = 0; b < 6; b++)
            for (size_t c = 0; c < 3; c++)
                for (int mode = 0; mode < 4; mode++) { /* bit 0: fp16 operands; bit 1: fp16 keys and values */
                    int hd = hds[a], nq = nqs[c], fp16 = mode & 1, k16 = mode >> 1;
                    int64_t nk = nks[b];
                    for (int i = 0; i < nq * hd; i++) q[i] = frand() * 3.0f;
                    for (int64_t j = 0; j < nk; j++)
                        for (int d = 0; d < hd; d++) {
                            uint16_t kh = xq_f32_to_fp16(frand() * 2.0f);
                            if (k16 && nk == 33 && nq == 3 && j == 20 && d == 2) kh = 0x7d00; /* a signalling NaN */
                            int64_t at = j / 16 * BSTRIDE + d * 16 + j % 16;
                            Kbh[at] = kh;
                            K[j * STRIDE + d] = Kbf[at] = k16 ? xq_fp16_to_f32(kh) : frand() * 2.0f;
                            Vh[j * STRIDE + d] = xq_f32_to_fp16(frand());
                            V[j * STRIDE + d] = k16 ? xq_fp16_to_f32(Vh[j * STRIDE + d]) : frand();
                        }
                    const void *Kb = k16 ? (const void *)Kbh : (const void *)Kbf;
                    const void *Vr = k16 ? (const void *)Vh : (const void *)V;
                    ops_attend_heads_kb(q, nq, Kb, k16, BSTRIDE, Vr, k16, STRIDE, nk, hd, fp16, scores, got);
                    for (int h = 0; h < nq; h++) {
                        attend_reference(q + h * hd, K, V, nk, STRIDE, hd, fp16, sref, ref);
                        bad += memcmp(ref, got + h * hd, (size_t)hd * sizeof *ref) != 0;
                        compared++;
                    }
                }
    CHECKF(bad == 0, "%d of %d heads of ops_attend_heads_kb differ from the scalar definition", bad, compared);
    /* ops_untile_keys: the blocked keys back as Kt[d·ld + j] */
    float *Kt = malloc(MAXD * MAXK * sizeof *Kt);
    int bad_untile = 0;
    for (int k16 = 0; k16 < 2; k16++) {
        ops_untile_keys(k16 ? (const void *)Kbh : (const void *)Kbf, k16, BSTRIDE, 300, 13, Kt, 301);
        for (int64_t j = 0; j < 300; j++)
            for (int d = 0; d < 13; d++) {
                int64_t at = j / 16 * BSTRIDE + d * 16 + j % 16;
                float want = k16 ? xq_fp16_to_f32(Kbh[at]) : Kbf[at];
                bad_untile += memcmp(&want, &Kt[d * 301 + j], sizeof want) != 0;
            }
    }
    CHECKF(bad_untile == 0, "%d keys of ops_untile_keys differ from the blocked layout", bad_untile);
    free(Kt);
    free(Kbh);
    free(Vh);
    free(Kbf);
    free(K);
    free(V);
    free(scores);
}

/* ops_attend_values_acc_heads for one head (the online softmax's running sum) against its definition: onto out as
 * it holds, one fma per term in key order; widths with and without 32- and 8-wide blocks, strides wider than the
 * rows. */
static void test_attend_values_acc(void)
{
    enum { MAXK = 100, MAXW = 576, STRIDE = 600 };
    float *V = malloc(MAXK * STRIDE * sizeof *V), p[MAXK], ref[MAXW], got[MAXW];
    static const int widths[] = {576, 64, 40, 13, 3};
    static const int64_t nks[] = {1, 7, 100};
    int bad = 0, compared = 0;
    for (int64_t i = 0; i < MAXK * STRIDE; i++) V[i] = frand() * 4.0f;
    for (size_t a = 0; a < sizeof widths / sizeof widths[0]; a++)
        for (size_t b = 0; b < sizeof nks / sizeof nks[0]; b++) {
            int w = widths[a];
            int64_t nk = nks[b];
            for (int64_t j = 0; j < nk; j++) p[j] = fabsf(frand());
            for (int d = 0; d < w; d++) ref[d] = got[d] = frand() * 10.0f;
            for (int d = 0; d < w; d++)
                for (int64_t j = 0; j < nk; j++) ref[d] = fmaf(p[j], V[j * STRIDE + d], ref[d]);
            ops_attend_values_acc_heads(p, 0, 1, V, nk, STRIDE, w, got, 0);
            bad += memcmp(ref, got, (size_t)w * sizeof *ref) != 0;
            compared++;
        }
    CHECKF(bad == 0, "%d of %d value accumulations differ from the scalar definition", bad, compared);
    free(V);
}

/* ops_attend_scores_heads, ops_attend_scores_kt_heads and ops_attend_values_acc_heads (several query heads over the
 * same f32 rows or transposed keys: the remat caches' steps) against the scalar definitions head by head: products
 * rounded before each sum in d order times the scale; one fma per value term in key order onto what the sum holds.
 * Head counts around one pass (3 or 4 for the values, 4 or 8 for the scores), head widths with and without 8-wide
 * blocks, value widths with and without 16- and 32-wide slices (576: --absorb-v's X̂ rows), key counts around the
 * 8-key blocks, strides and leading dimensions wider than the rows. */
static void test_attend_heads_f32(void)
{
    enum { MAXK = 130, MAXW = 576, STRIDE = 600, MAXQ = 9, LD = 131, OUT_LD = 580 };
    float *K = malloc(MAXK * STRIDE * sizeof *K), *scores = malloc(MAXQ * LD * sizeof *scores);
    float *ref = malloc(MAXQ * OUT_LD * sizeof *ref), *got = malloc(MAXQ * OUT_LD * sizeof *got), q[MAXQ * 64];
    float *Kt = malloc(MAXK * 64 * sizeof *Kt);
    static const int hds[] = {64, 40, 13}, widths[] = {576, 64, 40, 13}, nqs[] = {1, 2, 3, 4, 9};
    static const int64_t nks[] = {1, 7, 8, 33, 130};
    int bad_scores = 0, bad_values = 0, compared = 0;
    for (int64_t i = 0; i < MAXK * STRIDE; i++) K[i] = frand() * 2.0f;
    for (size_t c = 0; c < sizeof nqs / sizeof nqs[0]; c++)
        for (size_t b = 0; b < sizeof nks / sizeof nks[0]; b++)
            for (size_t a = 0; a < 4; a++) {
                int nq = nqs[c], hd = hds[a % 3], w = widths[a];
                int64_t nk = nks[b];
                for (int i = 0; i < nq * hd; i++) q[i] = frand() * 3.0f;
                /* from the rows, then from the keys transposed (ops_attend_scores_kt_heads) */
                for (int from_kt = 0; from_kt < 2; from_kt++) {
                    if (from_kt) {
                        ops_transpose_rows(K, false, STRIDE, nk, hd, Kt, nk);
                        ops_attend_scores_kt_heads(q, nq, Kt, nk, nk, hd, 0.125f, scores, LD);
                    } else {
                        ops_attend_scores_heads(q, nq, K, nk, STRIDE, hd, 0.125f, scores, LD);
                    }
                    for (int h = 0; h < nq; h++)
                        for (int64_t j = 0; j < nk; j++) {
                            float s = 0.0f;
                            for (int d = 0; d < hd; d++) {
                                volatile float prod = q[h * hd + d] * K[j * STRIDE + d];
                                s = s + prod;
                            }
                            bad_scores += memcmp(&(float){s * 0.125f}, &scores[h * LD + j], sizeof s) != 0;
                        }
                }
                for (int h = 0; h < nq; h++)
                    for (int64_t j = 0; j < nk; j++) scores[h * LD + j] = fabsf(frand());
                for (int i = 0; i < nq * OUT_LD; i++) ref[i] = got[i] = frand() * 10.0f;
                for (int h = 0; h < nq; h++)
                    for (int d = 0; d < w; d++)
                        for (int64_t j = 0; j < nk; j++)
                            ref[h * OUT_LD + d] = fmaf(scores[h * LD + j], K[j * STRIDE + d], ref[h * OUT_LD + d]);
                ops_attend_values_acc_heads(scores, LD, nq, K, nk, STRIDE, w, got, OUT_LD);
                bad_values += memcmp(ref, got, (size_t)nq * OUT_LD * sizeof *ref) != 0;
                compared++;
            }
    CHECKF(bad_scores == 0, "%d scores of ops_attend_scores_heads / _kt_heads differ from the scalar definition",
           bad_scores);
    CHECKF(bad_values == 0, "%d of %d calls of ops_attend_values_acc_heads differ from the scalar definition",
           bad_values, compared);
    free(K);
    free(Kt);
    free(scores);
    free(ref);
    free(got);
}

/* ops_max_row: the compare-and-select loop's value for every length around its 8- and 32-wide blocks, with a NaN
 * (never the max), −inf and the max anywhere. */
static void test_max_row(void)
{
    enum { N = 70 };
    float x[N];
    int bad = 0;
    for (int n = 0; n <= N; n++)
        for (int where = 0; where < n; where++) {
            for (int i = 0; i < n; i++) x[i] = frand() * 100.0f - 200.0f;
            x[where] = 7.5f;
            if (n > 2) x[(where + 1) % n] = NAN;
            if (n > 3) x[(where + 2) % n] = -INFINITY;
            float ref = -INFINITY;
            for (int i = 0; i < n; i++) ref = x[i] > ref ? x[i] : ref;
            bad += ops_max_row(x, n) != ref || ref != 7.5f;
        }
    CHECK(ops_max_row(x, 0) == -INFINITY);
    CHECKF(bad == 0, "ops_max_row differs from the compare-and-select loop in %d cases", bad);
}

static uint32_t float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Distance in ulps between two finite floats of one sign (or zero). */
static int64_t ulps_apart(float a, float b) { return llabs((long long)float_bits(a) - (long long)float_bits(b)); }

/* ops_expf against exp in double, rounded once: every 97th float of [−104, 89] (some 22 million) within 1 ulp,
 * and equal to it but for a handful (the double arithmetic misrounds only where exp lies within ~3e-13 of a
 * midpoint: 2 of all 2.2 billion floats there; libm's expf differs from it in 170,648). Exact where exp is exact
 * or saturates. */
static void test_expf_accuracy(void)
{
    int64_t worst = 0, n = 0, misrounded = 0;
    float worst_x = 0.0f;
    for (int sign = 0; sign < 2; sign++) {
        float lim = sign ? -104.0f : 89.0f;
        for (uint32_t u = 0; u <= float_bits(fabsf(lim)); u += 97, n++) {
            uint32_t v = u | (uint32_t)sign << 31;
            float x;
            memcpy(&x, &v, sizeof x);
            float want = (float)exp((double)x), got = ops_expf(x);
            int64_t d = isinf(want) ? (isinf(got) ? 0 : 99) : ulps_apart(got, want);
            misrounded += d != 0;
            if (d > worst) worst = d, worst_x = x;
        }
    }
    CHECKF(worst <= 1 && misrounded <= 2, "ops_expf: %lld of %lld values off, up to %lld ulp (x = %a)",
           (long long)misrounded, (long long)n, (long long)worst, worst_x);
    CHECK(ops_expf(0.0f) == 1.0f && ops_expf(-0.0f) == 1.0f);
    CHECK(ops_expf(INFINITY) == INFINITY && ops_expf(89.0f) == INFINITY && ops_expf(1e30f) == INFINITY);
    CHECK(ops_expf(88.72283f) < INFINITY && ops_expf(88.72284f) == INFINITY); /* FLT_MAX = exp(88.7228391) */
    CHECK(ops_expf(-INFINITY) == 0.0f && !signbit(ops_expf(-INFINITY)) && ops_expf(-104.0f) == 0.0f);
    CHECK(ops_expf(-1e30f) == 0.0f && isnan(ops_expf(NAN)));
    CHECK(ops_expf(-103.0f) > 0.0f && ulps_apart(ops_expf(-100.0f), (float)exp(-100.0)) <= 1); /* subnormal */
}

/* Every SIMD level gives ops_expf's bits, out of place and in place: ordinary values, values past the clamps,
 * subnormal results, infinities and NaNs, rows of every tail length. */
static void test_expf_row(void)
{
    enum { N = 4000 };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y), *z = malloc(N * sizeof *z);
    static const float special[] = {0.0f,   -0.0f,   88.0f,   88.7f,  89.0f, -88.0f,
                                    -103.0f, -104.0f, -150.0f, 1e30f, -1e30f, -95.5f};
    for (int i = 0; i < N; i++) {
        x[i] = frand() * (i % 3 ? 20.0f : 120.0f);
        if (i % 17 == 0) x[i] = special[(i / 17) % (sizeof special / sizeof special[0])];
        if (i % 101 == 0) x[i] = i % 2 ? INFINITY : -INFINITY;
        if (i % 211 == 0) x[i] = NAN;
    }
    int bad = 0, nan_bad = 0;
    for (int level = 0; level <= ops_expf_row_simd(); level++) {
        for (int64_t off = 0, len = 1; off + len <= N; off += len, len = len % 41 + 1) {
            ops_expf_row_at(level, x + off, y + off, len);
            memcpy(z + off, x + off, (size_t)len * sizeof *z);
            ops_expf_row_at(level, z + off, z + off, len);
        }
        for (int i = 0; i < 3800; i++) {
            float want = ops_expf(x[i]);
            if (isnan(want)) nan_bad += !isnan(y[i]) || !isnan(z[i]);
            else bad += float_bits(want) != float_bits(y[i]) || float_bits(want) != float_bits(z[i]);
        }
    }
    CHECKF(bad == 0 && nan_bad == 0, "%d / %d row results differ from ops_expf (levels 0..%d)", bad, nan_bad,
           ops_expf_row_simd());
    free(x);
    free(y);
    free(z);
}

static void test_split_range(void)
{
    for (long long n = 0; n < 50; n++)
        for (int nth = 1; nth <= 7; nth++) {
            long long prev = 0;
            for (int i = 0; i < nth; i++) {
                long long lo, hi;
                xq_split_range(n, i, nth, &lo, &hi);
                CHECK(lo == prev && hi >= lo && hi - lo <= n / nth + 1);
                prev = hi;
            }
            CHECK(prev == n);
        }
}

typedef struct cover {
    int hits[1000];
    int ranges; /* ranges run (atomically: threads add to it) */
} cover;

static void cover_range(void *ctx, long long lo, long long hi)
{
    cover *c = ctx;
    for (long long i = lo; i < hi; i++) c->hits[i]++;
    __atomic_add_fetch(&c->ranges, 1, __ATOMIC_RELAXED);
}

/* xq_pool_for visits every index exactly once: one range on the caller below the threshold, one per thread above. */
static void test_pool_for(void)
{
    for (int threads = 1; threads <= 3; threads += 2) {
        xq_pool *pool = xq_pool_create(threads);
        static const long long sizes[] = {0, 1, 2, 5, 999, 1000};
        for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++)
            for (long long min = 1; min <= 1000; min *= 10) {
                long long n = sizes[k];
                cover c = {0};
                xq_pool_for(pool, n, min, cover_range, &c);
                int bad = 0;
                for (long long i = 0; i < 1000; i++) bad += c.hits[i] != (i < n);
                int want = n == 0 ? 0 : n < min ? 1 : (int)(n < threads ? n : threads);
                CHECKF(bad == 0 && c.ranges == want, "threads %d n %lld min %lld: %d wrong, %d ranges (want %d)",
                       threads, n, min, bad, c.ranges, want);
            }
        xq_pool_destroy(pool);
    }
}

/* Each region's task runs once per thread and the caller returns only after all of them, also when the
 * workers fell asleep between regions (the caller pauses past their spin) or the caller did (a worker's task
 * outlasts the caller's spin): the hand-off's lock-free fast path must not lose a wake-up. More threads than
 * this machine's cores exercise the sleeping paths too. */
typedef struct handoff {
    long long calls[8];
    int pause_us;
} handoff;

static void handoff_task(void *ctx, int ith, int nth)
{
    handoff *h = ctx;
    (void)nth;
    if (ith == nth - 1 && h->pause_us) usleep((useconds_t)h->pause_us); /* a worker: the caller is ith 0 */
    __atomic_add_fetch(&h->calls[ith], 1, __ATOMIC_RELAXED);
}

static void test_pool_handoff(void)
{
    for (int threads = 2; threads <= 5; threads += 3) {
        xq_pool *pool = xq_pool_create(threads);
        handoff h = {{0}, 0};
        int regions = 600, missing = 0;
        for (int r = 0; r < regions; r++) {
            h.pause_us = r % 7 == 0 ? 150 : 0;
            long long before = h.calls[threads - 1];
            xq_pool_run(pool, handoff_task, &h);
            missing += __atomic_load_n(&h.calls[threads - 1], __ATOMIC_RELAXED) != before + 1; /* returned early */
            if (r % 5 == 0) usleep(300);
        }
        for (int t = 0; t < threads; t++) missing += h.calls[t] != regions;
        CHECKF(missing == 0, "threads %d: %d task calls missing or late over %d regions", threads, missing, regions);
        xq_pool_destroy(pool);
    }
}

int main(void)
{
    for (int threads = 1; threads <= 3; threads += 2) {
        xq_pool *pool = xq_pool_create(threads);
        ops_ctx *o = ops_create(pool, 512, 64);
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) test_matmul_type(o, types[i]);
        ops_destroy(o);
        o = ops_create(pool, 512, 130);
        for (size_t i = 3; i < sizeof types / sizeof types[0]; i++) test_matmul_bits(o, types[i]);
        ops_destroy(o);
        xq_pool_destroy(pool);
    }
    test_act_quant();
    test_rope();
    test_norm_softmax_swiglu();
    test_split_range();
    test_pool_for();
    test_pool_handoff();
    test_attend();
    test_attend_rows();
    test_softmax_rows();
    test_attend_heads_kb();
    test_attend_values_acc();
    test_attend_heads_f32();
    test_max_row();
    test_expf_accuracy();
    test_expf_row();
    return test_report("test_ops");
}
