/* Built with XQ_IDENTITY_QUANT (a test-only build of src/cache, never the xqprof binary): the quantized view of
 * every stream returns its input unchanged, so what remains of each mode is its rebuild arithmetic. Checks, on
 * float-weight models (quantized weights turn storage roundings into Q8 activation flips, see test_engine):
 *   - rows seen in the quantized view reproduce the fp32 baseline within 1e-5 (xq, xq-svd, xq-cl, xq-cl-svd, kv,
 *     with and without --absorb-v): the rebuilt K and V are the projections themselves;
 *   - modes that show some rows in fp16 by design (window, unfilled per-channel groups) stay within the fp16
 *     baseline's own distance from fp32;
 *   - every mode reproduces the fp16 baseline within 1e-3 (Done-when 3) — checked where the fp16 baseline itself
 *     is within 1e-3 of lossless storage (the synthetic model). On stories260K over 60 positions fp16 and fp32
 *     storage already differ by 1.4e-3 (the fp16 rounding of K and V, not of q and p, makes that gap), so no
 *     lossless mode can be closer; there the distance is printed and the fp32 checks carry the test. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/session.h"
#include "model/qtypes.h"
#include "model/synth.h"
#include "testlib.h"

static const model_shape SHAPE_GQA = {"t5-gqa", 5, 128, 256, 4, 2, 300, 256, 10000.0f, 1e-5f, false};

typedef struct mode_case {
    const char *name;
    int group, window, hi_layers;
    bool fp16_ch0, absorb_v;
} mode_case;

static const mode_case CASES[] = {
    {"kv-4", 8, 0, -1, 0, 0},     {"kv-2", 8, 5, -1, 0, 0},        {"xq-4", 8, 0, -1, 0, 0},
    {"xq-4", 8, 0, -1, 0, 1},     {"xq-svd-4", 8, 0, -1, 0, 0},    {"xq-svd-3", 8, 4, -1, 0, 1},
    {"xq-cl-3", 8, 0, -1, 0, 0},  {"xq-cl-2", 8, 0, 0, 0, 1},      {"xq-cl-svd-3", 8, 0, -1, 0, 0},
    {"xq-cl-svd-2", 8, 3, 0, 0, 1},
};

static float *run(const model *m, const char *name, const mode_case *mc, const int32_t *ids, int64_t n)
{
    cache_params cp;
    xq_err err = {0};
    CHECK(cache_params_parse(name, &cp, &err) == XQ_OK);
    if (mc) {
        cp.group = mc->group;
        cp.window = mc->window;
        if (mc->hi_layers >= 0) cp.hi_layers = mc->hi_layers;
        cp.fp16_ch0 = mc->fp16_ch0;
        cp.absorb_v = mc->absorb_v;
        cp.tile_tokens = 16;
    }
    session_params sp = {.n_ctx = n, .n_batch = n, .n_threads = 2, .cache = cp, .logits_all = true};
    session *s;
    if (session_create(m, &sp, &s, &err)) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        return NULL;
    }
    size_t nv = (size_t)m->cfg.n_vocab;
    float *out = malloc((size_t)n * nv * sizeof *out);
    CHECK(session_eval(s, ids, n, &err) == XQ_OK);
    for (int64_t i = 0; i < n; i++) memcpy(out + (size_t)i * nv, session_logits(s, i), nv * sizeof *out);
    session_destroy(s);
    return out;
}

static void reproduce_baseline(const model *m, const char *label)
{
    enum { N = 60 };
    int32_t ids[N];
    for (int i = 0; i < N; i++) ids[i] = (i * 37 + 5) % m->cfg.n_vocab;
    float *fp16 = run(m, "fp16", NULL, ids, N), *fp32 = run(m, "fp32", NULL, ids, N);
    size_t count = (size_t)N * (size_t)m->cfg.n_vocab;
    double gap = fp16 && fp32 ? test_rel_diff(fp16, fp32, count) : 1.0;
    printf("%s: fp16 vs fp32 baseline %.2e\n", label, gap);
    for (size_t c = 0; c < sizeof CASES / sizeof *CASES && fp16 && fp32; c++) {
        float *got = run(m, CASES[c].name, &CASES[c], ids, N);
        if (!got) {
            CHECK(0);
            continue;
        }
        double d16 = test_rel_diff(fp16, got, count), d32 = test_rel_diff(fp32, got, count);
        printf("%s %-12s%s vs fp16 %.1e, vs fp32 %.1e\n", label, CASES[c].name, CASES[c].absorb_v ? " absorb" : "",
               d16, d32);
        bool fp16_rows = CASES[c].window > 0 || strncmp(CASES[c].name, "kv-", 3) == 0 ||
                         strncmp(CASES[c].name, "xq-svd", 6) == 0;
        CHECKF(d16 <= 1e-3 || gap > 1e-3, "%s %s: %.3g from fp16", label, CASES[c].name, d16);
        CHECKF(d32 <= (fp16_rows ? gap : 1e-5), "%s %s: %.3g from fp32", label, CASES[c].name, d32);
        free(got);
    }
    free(fp16);
    free(fp32);
}

int main(void)
{
    char path[256];
    snprintf(path, sizeof path, "/tmp/xq_test_identity_%d.gguf", (int)getpid());
    xq_err err = {0};
    model *m = NULL;
    if (synth_write(path, &SHAPE_GQA, QT_F32, 5, &err) || model_load(path, &m, &err)) {
        fprintf(stderr, "synth: %s\n", err.msg);
        CHECK(0);
    }
    unlink(path);
    if (m) reproduce_baseline(m, "t5 F32");
    model_free(m);
    const char *st = test_shared_path("models/stories260K/stories260K.gguf");
    if (!st) {
        printf("SKIP: stories260K absent (../shared): its checks did not run\n");
        return test_report("test_cache_identity");
    }
    m = NULL;
    CHECK(model_load(st, &m, &err) == XQ_OK);
    if (m) reproduce_baseline(m, "stories260K");
    model_free(m);
    return test_report("test_cache_identity");
}
