/* Float-weight GEMM kernels (src/ops/fgemm*.c) against the scalar reference qt_dot_act: for F32, F16 and BF16
 * weights, at every level this CPU runs, odd row counts, token counts and row lengths (k tails of 1..7, tiles
 * cut at every edge, several token blocks, padded strides), every (row, token) must have the reference's very
 * bits. Also: XQ_SIMD=scalar selects the scalar kernel, and a GFLOP/s table (one thread, CPU time) for
 * information. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/qtypes.h"
#include "ops/fgemm.h"
#include "testlib.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const uint32_t TYPES[] = {QT_F32, QT_F16, QT_BF16};

static float rnd_sym(void) { return (float)test_rand_u32() * 0x1p-31f - 1.0f; }
/* Symmetric values over magnitudes 2^-12 .. 2^4, zeros of either sign now and then. */
static float rnd_wide(void)
{
    uint32_t u = test_rand_u32();
    if (u % 16 == 0) return u % 32 == 0 ? -0.0f : 0.0f;
    return rnd_sym() * (float)(1 << (test_rand_u32() % 17)) * 0x1p-12f;
}

/* A problem: nr weight rows of k elements (stride ws bytes), nt tokens of activations as the reference takes
 * them (act, stride as bytes) and as the kernels take them (x: f32 rounded, stride x_ld). */
typedef struct problem {
    uint32_t type;
    int64_t nr, nt, k, x_ld;
    size_t ws, as;
    uint8_t *w, *act;
    float *x;
} problem;

static void make_problem(problem *p)
{
    float *row = malloc((size_t)p->k * sizeof *row + 4);
    for (int64_t r = 0; r < p->nr; r++) {
        for (int64_t i = 0; i < p->k; i++) row[i] = rnd_wide();
        qt_quantize_row(p->type, row, p->w + (size_t)r * p->ws, p->k);
    }
    for (int64_t t = 0; t < p->nt; t++) {
        float *xt = p->x + t * p->x_ld;
        for (int64_t i = 0; i < p->k; i++) xt[i] = rnd_wide();
        qt_quantize_act(qt_act_type(p->type), xt, p->act + (size_t)t * p->as, p->k);
        qt_act_roundtrip(p->type, xt, xt, p->k);
    }
    free(row);
}

/* Runs one level on p; returns the number of outputs that differ from the reference (first few printed). */
static int compare_level(qdot_level lvl, const problem *p, float *y, float *panel, int *compared)
{
    fgemm_fn f = fgemm_kernel_at(lvl);
    if (!f) return 0;
    int64_t y_ld = p->nr + 3;
    for (int64_t i = 0; i < p->nt * y_ld; i++) y[i] = -12345.0f;
    f(p->type, p->w, p->ws, p->nr, p->x, p->x_ld, p->nt, p->k, y, y_ld, panel);
    int bad = 0;
    for (int64_t t = 0; t < p->nt; t++)
        for (int64_t r = 0; r < p->nr; r++) {
            float ref = qt_dot_act(p->type, p->w + (size_t)r * p->ws, p->act + (size_t)t * p->as, p->k);
            float got = y[t * y_ld + r];
            bool same = memcmp(&ref, &got, sizeof ref) == 0;
            if (!same && bad < 5)
                fprintf(stderr, "%s %s k=%lld %lldx%lld at (%lld,%lld): %.9g vs reference %.9g\n",
                        qdot_level_name(lvl), qt_name(p->type), (long long)p->k, (long long)p->nr, (long long)p->nt,
                        (long long)r, (long long)t, (double)got, (double)ref);
            bad += !same;
            ++*compared;
        }
    /* Columns past nr (the padding of y_ld) stay untouched. */
    for (int64_t t = 0; t < p->nt; t++)
        for (int64_t r = p->nr; r < y_ld; r++) bad += y[t * y_ld + r] != -12345.0f;
    return bad;
}

static void test_bit_identity(void)
{
    enum { MAXR = 37, MAXT = 130, MAXK = 3001 };
    /* 3001 with up to 130 tokens: more than one token block (a kernel's block is at least 96 tokens). */
    static const int64_t ks[] = {1, 7, 8, 9, 15, 37, 72, 257, 576, 1536, 3001};
    problem p = {0};
    p.w = malloc((size_t)MAXR * (4 * MAXK + 64));
    p.act = malloc((size_t)MAXT * (4 * MAXK + 64));
    p.x = malloc((size_t)MAXT * (MAXK + 16) * sizeof(float));
    float *y = malloc((size_t)MAXT * (MAXR + 3) * sizeof *y);
    float *panel = malloc(fgemm_panel_floats(MAXK) * sizeof *panel);
    int compared = 0, bad = 0;
    for (size_t ti = 0; ti < COUNT(TYPES); ti++)
        for (size_t ki = 0; ki < COUNT(ks); ki++)
            for (int shape = 0; shape < 8; shape++) {
                p.type = TYPES[ti];
                p.k = ks[ki];
                p.nr = shape == 0 ? 8 : shape == 1 ? 16 : 1 + (int64_t)(test_rand_u32() % MAXR);
                p.nt = shape == 0 ? 6 : shape == 7 ? MAXT - (int64_t)(test_rand_u32() % 8) : 1 + (int64_t)(test_rand_u32() % 20);
                p.ws = qt_row_bytes(p.type, p.k) + 2 * (test_rand_u32() % 8);
                p.as = qt_row_bytes(qt_act_type(p.type), p.k) + 6;
                p.x_ld = p.k + (int64_t)(test_rand_u32() % 9);
                make_problem(&p);
                for (int l = QDOT_SCALAR; l < QDOT_LEVEL_COUNT; l++)
                    bad += compare_level((qdot_level)l, &p, y, panel, &compared);
            }
    CHECKF(bad == 0, "%d results differ from the reference", bad);
    printf("bit identity: %d results compared, %d different\n", compared, bad);
    free(p.w);
    free(p.act);
    free(p.x);
    free(y);
    free(panel);
}

/* Called first: XQ_SIMD is read once, on the first use. */
static void test_env_scalar(void)
{
    setenv("XQ_SIMD", "scalar", 1);
    CHECK(qdot_active_level() == QDOT_SCALAR);
    CHECK(fgemm_kernel() == fgemm_kernel_at(QDOT_SCALAR));
    CHECK(fgemm_kernel_at(QDOT_SCALAR) != NULL);
    for (int l = QDOT_SCALAR; l < QDOT_LEVEL_COUNT; l++)
        CHECK((fgemm_kernel_at((qdot_level)l) != NULL) == (l <= (int)qdot_cpu_level()));
}

/* ---- throughput (information only) ---------------------------------------------------------------------- */

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void print_throughput(void)
{
    enum { NR = 64, NT = 96, K = 576 };
    problem p = {.type = QT_F16, .nr = NR, .nt = NT, .k = K, .x_ld = K};
    p.ws = qt_row_bytes(QT_F16, K);
    p.as = qt_row_bytes(QT_F16, K);
    p.w = malloc((size_t)NR * p.ws);
    p.act = malloc((size_t)NT * p.as);
    p.x = malloc((size_t)NT * K * sizeof(float));
    float *y = malloc((size_t)NT * NR * sizeof *y), *panel = malloc(fgemm_panel_floats(K) * sizeof *panel);
    make_problem(&p);
    printf("GFLOP/s, 1 thread (CPU time), F16 %d rows x %d tokens x k %d:", NR, NT, K);
    for (int l = QDOT_SCALAR; l < QDOT_LEVEL_COUNT; l++) {
        fgemm_fn f = fgemm_kernel_at((qdot_level)l);
        if (!f) continue;
        double flops = 0.0, t0 = cpu_s(), t1 = t0;
        while (t1 - t0 < 0.05) {
            f(QT_F16, p.w, p.ws, NR, p.x, K, NT, K, y, NR, panel);
            flops += 2.0 * NR * NT * K;
            t1 = cpu_s();
        }
        printf("  %s %.1f", qdot_level_name((qdot_level)l), flops / (t1 - t0) * 1e-9);
    }
    printf("\n");
    free(p.w);
    free(p.act);
    free(p.x);
    free(y);
    free(panel);
}

int main(void)
{
    test_env_scalar();
    test_bit_identity();
    print_throughput();
    return test_report("test_fgemm");
}
