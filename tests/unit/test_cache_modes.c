/* Every cache mode through the engine: batched prefill, mixed batches and token-by-token decode give the same
 * logits (max|Δ|/max|ref| ≤ 1e-4, same kernels on both paths: Q8_0 weights, or batches of < 4 tokens for float
 * weights) and the same greedy tokens; bytes per token equal XQUANT.md §1 and the allocation; the FLOPs of the
 * REMAT spans of a decode step equal cache_remat_flops; 8-bit modes stay close to fp16; bad parameters fail with
 * a message listing what is valid. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/sample.h"
#include "engine/session.h"
#include "model/qtypes.h"
#include "model/synth.h"
#include "testlib.h"

/* Five layers (the CL modes' default hi layers fit), GQA with g = 2, head dim 32. */
static const model_shape SHAPE_GQA = {"t5-gqa", 5, 128, 256, 4, 2, 300, 256, 10000.0f, 1e-5f, false};
static const model_shape SHAPE_MHA = {"t2-mha", 2, 128, 256, 4, 4, 300, 256, 10000.0f, 1e-5f, false};

typedef struct mode_case {
    const char *name;
    int group, window, hi_layers; /* −1: the mode's default */
    bool fp16_ch0, absorb_v;
} mode_case;

static const mode_case CASES[] = {
    {"fp16", -1, -1, -1, 0, 0},       {"fp32", -1, -1, -1, 0, 0},         {"kv-q8_0", -1, -1, -1, 0, 0},
    {"kv-q4_0", -1, 4, -1, 0, 0},     {"kv-8", 8, -1, -1, 0, 0},          {"kv-4", 8, -1, -1, 0, 0},
    {"kv-3", 8, 5, -1, 0, 0},         {"kv-2", 8, -1, 2, 0, 0},           {"xq-8", 8, -1, -1, 0, 0},
    {"xq-4", 8, -1, -1, 0, 1},        {"xq-3", 32, 6, -1, 0, 0},          {"xq-2", 8, -1, -1, 0, 0},
    {"xq-svd-8", 8, -1, -1, 0, 0},    {"xq-svd-4", 8, -1, -1, 1, 1},      {"xq-svd-3", 8, 3, 2, 0, 0},
    {"xq-svd-2", 5, -1, -1, 1, 0},    {"xq-cl-4", 8, -1, -1, 0, 0},       {"xq-cl-3", 8, 6, -1, 0, 1},
    {"xq-cl-2", 8, -1, 0, 0, 0},      {"xq-cl-svd-4", 8, -1, -1, 0, 0},   {"xq-cl-svd-3", 8, 2, 1, 1, 1},
    {"xq-cl-svd-2", 8, -1, 0, 0, 0},
};
enum { N_CASES = sizeof CASES / sizeof CASES[0] };

static cache_params params_of(const mode_case *mc, int tile)
{
    cache_params p;
    xq_err err = {0};
    CHECKF(cache_params_parse(mc->name, &p, &err) == XQ_OK, "%s: %s", mc->name, err.msg);
    if (mc->group > 0) p.group = mc->group;
    if (mc->window >= 0) p.window = mc->window;
    if (mc->hi_layers >= 0) p.hi_layers = mc->hi_layers;
    p.fp16_ch0 = mc->fp16_ch0;
    p.absorb_v = mc->absorb_v;
    p.tile_tokens = tile;
    return p;
}

/* Logits of every position, the tokens fed in batches of `batch`. */
static float *run(const model *m, const cache_params *cp, const int32_t *ids, int64_t n, int64_t batch)
{
    session_params sp = {.n_ctx = n, .n_batch = batch, .n_threads = 2, .cache = *cp, .logits_all = true};
    session *s;
    xq_err err = {0};
    if (session_create(m, &sp, &s, &err)) {
        fprintf(stderr, "session_create: %s\n", err.msg);
        return NULL;
    }
    size_t nv = (size_t)m->cfg.n_vocab;
    float *out = malloc((size_t)n * nv * sizeof *out);
    for (int64_t i = 0; i < n; i += batch) {
        int64_t k = n - i < batch ? n - i : batch;
        CHECK(session_eval(s, ids + i, k, &err) == XQ_OK);
        for (int64_t r = 0; r < k; r++) memcpy(out + (size_t)(i + r) * nv, session_logits(s, r), nv * sizeof *out);
    }
    session_destroy(s);
    return out;
}

static int argmax_mismatches(const float *a, const float *b, int64_t n, int32_t nv)
{
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        float gap;
        int32_t x = sampler_argmax(a + i * nv, nv, &gap), y = sampler_argmax(b + i * nv, nv, NULL);
        bad += x != y && gap > 1e-4f;
    }
    return bad;
}

static void prefill_vs_decode(const model *m, const char *label, int64_t n, int64_t big, int64_t mixed, int tile)
{
    int32_t ids[512];
    for (int64_t i = 0; i < n; i++) ids[i] = (int32_t)((i * 37 + 5) % m->cfg.n_vocab);
    size_t count = (size_t)n * (size_t)m->cfg.n_vocab;
    for (int c = 0; c < N_CASES; c++) {
        cache_params cp = params_of(&CASES[c], tile);
        if (cp.hi_layers > m->cfg.n_layer) cp.hi_layers = m->cfg.n_layer;
        float *a = run(m, &cp, ids, n, big), *b = run(m, &cp, ids, n, 1), *x = run(m, &cp, ids, n, mixed);
        if (!a || !b || !x) {
            CHECKF(0, "%s %s: no logits", label, CASES[c].name);
        } else {
            double dab = test_rel_diff(b, a, count), dxb = test_rel_diff(b, x, count);
            int bad = argmax_mismatches(a, b, n, m->cfg.n_vocab);
            printf("%s %-12s prefill %.1e  mixed %.1e\n", label, CASES[c].name, dab, dxb);
            CHECKF(dab <= 1e-4 && dxb <= 1e-4, "%s %s: prefill %.3g mixed %.3g vs decode", label, CASES[c].name, dab,
                   dxb);
            CHECKF(bad == 0, "%s %s: %d greedy tokens differ", label, CASES[c].name, bad);
        }
        free(a);
        free(b);
        free(x);
    }
}

/* Logits of `n` tokens decoded one at a time from where the session is. */
static void decode_logits(session *s, const int32_t *ids, int n, float *out)
{
    xq_err err = {0};
    size_t nv = (size_t)session_model(s)->cfg.n_vocab;
    for (int i = 0; i < n; i++) {
        CHECK(session_eval(s, ids + i, 1, &err) == XQ_OK);
        memcpy(out + (size_t)i * nv, session_logits(s, 0), nv * sizeof *out);
    }
}

/* session_rewind is exact in every mode: after a fill of D tokens and N decoded ones, rewinding to D and decoding
 * other tokens gives a fresh session's logits bit for bit, and decoding the first ones again gives the first
 * logits. D lies inside a per-channel group that the N tokens complete (G = 8) and inside the windows; N equals
 * n_batch, the most the fp16 rings keep; one token further back is refused. */
static void rewind_is_exact(const model *m, int tile)
{
    enum { D = 37, N = 8, CTX = 64 };
    int32_t fill[D], x[N], y[N];
    for (int i = 0; i < D; i++) fill[i] = (int32_t)((i * 53 + 11) % m->cfg.n_vocab);
    for (int i = 0; i < N; i++) {
        x[i] = (int32_t)((i * 17 + 3) % m->cfg.n_vocab);
        y[i] = (int32_t)((i * 29 + 7) % m->cfg.n_vocab);
    }
    size_t count = (size_t)N * (size_t)m->cfg.n_vocab;
    float *a = malloc(count * sizeof *a), *b = malloc(count * sizeof *b), *c = malloc(count * sizeof *c),
          *fresh = malloc(count * sizeof *fresh);
    int bad = 0;
    for (int k = 0; k < N_CASES; k++) {
        cache_params cp = params_of(&CASES[k], tile);
        if (cp.hi_layers > m->cfg.n_layer) cp.hi_layers = m->cfg.n_layer;
        session_params sp = {.n_ctx = CTX, .n_batch = N, .n_threads = 2, .cache = cp};
        session *s = NULL, *t = NULL;
        xq_err err = {0};
        if (session_create(m, &sp, &s, &err) || session_create(m, &sp, &t, &err)) {
            CHECKF(0, "%s: %s", CASES[k].name, err.msg);
            session_destroy(s);
            continue;
        }
        CHECK(session_eval(s, fill, D, &err) == XQ_OK && session_eval(t, fill, D, &err) == XQ_OK);
        decode_logits(s, x, N, a);
        CHECK(session_rewind(s, D - 1, &err) == XQ_EINPUT); /* N + 1 tokens back */
        CHECK(session_pos(s) == D + N);
        CHECK(session_rewind(s, D, &err) == XQ_OK && session_pos(s) == D);
        decode_logits(s, y, N, b);
        decode_logits(t, y, N, fresh);
        CHECK(session_rewind(s, D, &err) == XQ_OK);
        decode_logits(s, x, N, c);
        int differ = memcmp(b, fresh, count * sizeof *b) != 0 || memcmp(a, c, count * sizeof *a) != 0;
        CHECKF(!differ, "%s: logits after session_rewind differ from a fresh session's", CASES[k].name);
        bad += differ;
        session_destroy(s);
        session_destroy(t);
    }
    printf("session_rewind: %d of %d modes differ\n", bad, (int)N_CASES);
    free(a);
    free(b);
    free(c);
    free(fresh);
}

/* A span sink that sums the FLOPs of OP_REMAT spans as src/prof/cost.h defines them (2·m·n·k). */
typedef struct flop_counter {
    double flops;
    int spans;
} flop_counter;

static void count_begin(void *self, span_op op, int32_t layer, const span_shape *sh)
{
    (void)layer;
    flop_counter *fc = self;
    if (op != OP_REMAT) return;
    fc->flops += 2.0 * (double)sh->m * (double)sh->n * (double)sh->k;
    fc->spans++;
}

static void remat_flops_match_spans(const model *m)
{
    enum { N = 37 };
    int32_t ids[N];
    for (int i = 0; i < N; i++) ids[i] = (i * 11 + 3) % m->cfg.n_vocab;
    for (int c = 0; c < N_CASES; c++) {
        flop_counter fc = {0};
        span_sink sink = {&fc, count_begin, NULL};
        cache_params cp = params_of(&CASES[c], 16);
        session_params sp = {.n_ctx = N, .n_batch = N, .n_threads = 2, .cache = cp, .sink = &sink};
        session *s;
        xq_err err = {0};
        if (session_create(m, &sp, &s, &err)) {
            CHECKF(0, "%s: %s", CASES[c].name, err.msg);
            continue;
        }
        CHECK(session_eval(s, ids, N - 1, &err) == XQ_OK);
        fc = (flop_counter){0};
        CHECK(session_eval(s, ids + N - 1, 1, &err) == XQ_OK);
        double want = cache_remat_flops(session_cache(s), N);
        CHECKF(fabs(fc.flops - want) <= 1e-9 * want, "%s: spans %.0f FLOPs, cache_remat_flops %.0f", CASES[c].name,
               fc.flops, want);
        CHECK((want > 0) == (strncmp(CASES[c].name, "xq", 2) == 0));
        session_destroy(s);
    }
}

/* XQUANT.md §1's worked values for stories260K, and persistent bytes = bytes_per_token × tokens = allocation. */
static void bytes_match_formula(const model *m)
{
    struct {
        const char *name;
        int group;
        double bpt;
    } cases[] = {{"fp16", 128, 640},      {"kv-4", 128, 185},     {"kv-4", 32, 200},   {"kv-2", 128, 105},
                 {"xq-4", 128, 180},      {"xq-svd-4", 128, 185}, {"xq-cl-3", 128, 164}, {"kv-q8_0", 128, 340},
                 {"xq-cl-svd-3", 128, 164}, {"fp32", 128, 1280}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cache_params cp;
        xq_err err = {0};
        CHECK(cache_params_parse(cases[i].name, &cp, &err) == XQ_OK);
        cp.group = cases[i].group;
        session_params sp = {.n_ctx = 256, .n_batch = 64, .n_threads = 1, .cache = cp};
        session *s;
        if (session_create(m, &sp, &s, &err)) {
            CHECKF(0, "%s: %s", cases[i].name, err.msg);
            continue;
        }
        const cache *c = session_cache(s);
        cache_bytes b, half;
        cache_get_bytes(c, -1, 256, &b);
        cache_get_bytes(c, -1, 128, &half);
        double bpt = cache_bytes_per_token(c);
        CHECKF(bpt == cases[i].bpt, "%s G=%d: %g bytes/token, XQUANT.md says %g", cases[i].name, cases[i].group, bpt,
               cases[i].bpt);
        CHECK((double)b.persistent == bpt * 256 && (double)b.allocated == bpt * 256);
        CHECK((double)half.persistent == bpt * 128);
        uint64_t per_layer = 0;
        for (int il = 0; il < m->cfg.n_layer; il++) {
            cache_bytes lb;
            cache_get_bytes(c, il, 256, &lb);
            per_layer += lb.persistent;
        }
        CHECK(per_layer == b.persistent);
        session_destroy(s);
    }
}

/* 8-bit group quantization is nearly fp16 (XQUANT.md's claim to test). (kv-q8_0 is not in the list: with
 * stories260K's head dim of 8 one Q8_0 block of 32 spans four heads, and llama.cpp refuses that case.) */
static void eight_bit_near_fp16(const model *m)
{
    enum { N = 96 };
    int32_t ids[N];
    for (int i = 0; i < N; i++) ids[i] = (i * 37 + 5) % m->cfg.n_vocab;
    mode_case base = {"fp16", -1, -1, -1, 0, 0};
    cache_params bp = params_of(&base, 0);
    float *ref = run(m, &bp, ids, N, N);
    const char *modes[] = {"kv-8", "xq-8", "xq-svd-8"};
    for (int i = 0; i < 3 && ref; i++) {
        mode_case mc = {modes[i], 32, -1, -1, 0, 0};
        cache_params cp = params_of(&mc, 0);
        float *got = run(m, &cp, ids, N, N);
        double d = got ? test_rel_diff(ref, got, (size_t)N * (size_t)m->cfg.n_vocab) : 1.0;
        printf("stories260K %s vs fp16: %.2e\n", modes[i], d);
        CHECKF(d < 2e-2, "%s vs fp16: %.3g", modes[i], d);
        free(got);
    }
    free(ref);
}

static void expect_error(int rc, const xq_err *err, const char *needle)
{
    CHECKF(rc == XQ_EINPUT && strstr(err->msg, needle), "want XQ_EINPUT with '%s', got %d '%s'", needle, rc, err->msg);
    printf("error as expected: %s\n", err->msg);
}

static void bad_parameters(const model *gqa, const model *mha)
{
    cache_params p;
    xq_err err = {0};
    expect_error(cache_params_parse("xq-5", &p, &err), &err, "valid: xq-8, xq-4, xq-3, xq-2");
    expect_error(cache_params_parse("xq-cl-8", &p, &err), &err, "valid: xq-cl-4, xq-cl-3, xq-cl-2");
    expect_error(cache_params_parse("kv-q8_1", &p, &err), &err, "valid: fp16, fp32, kv-q8_0");
    expect_error(cache_params_parse("xq-svd-", &p, &err), &err, "unknown cache mode");
    expect_error(cache_params_parse("", &p, &err), &err, "unknown cache mode");
    CHECK(cache_params_parse("xq-cl-svd-2", &p, &err) == XQ_OK && p.mode == CACHE_XQ_CL_SVD && p.bits == 2 &&
          p.hi_layers == 3 && p.group == 128);
    int bad_groups[] = {-1, CACHE_GROUP_MAX + 1};
    for (int i = 0; i < 2; i++) {
        CHECK(cache_params_parse("kv-4", &p, &err) == XQ_OK);
        p.group = bad_groups[i];
        expect_error(cache_params_check(&p, &gqa->cfg, &err), &err, "valid: 1..4096");
    }
    CHECK(cache_params_parse("xq-cl-3", &p, &err) == XQ_OK);
    p.hi_layers = 6;
    expect_error(cache_params_check(&p, &gqa->cfg, &err), &err, "valid: 0..5");
    const char *svd[] = {"xq-svd-4", "xq-cl-svd-3"};
    for (int i = 0; i < 2; i++) {
        CHECK(cache_params_parse(svd[i], &p, &err) == XQ_OK);
        p.hi_layers = 0;
        session_params sp = {.n_ctx = 16, .n_threads = 1, .cache = p};
        session *s = NULL;
        expect_error(session_create(mha, &sp, &s, &err), &err, "needs a GQA model");
        CHECK(strstr(err.msg, "valid here: fp16") != NULL && s == NULL);
    }
}

static model *synth_model(const model_shape *shape, uint32_t type, const char *tag)
{
    char path[256];
    snprintf(path, sizeof path, "/tmp/xq_test_cache_%d_%s.gguf", (int)getpid(), tag);
    xq_err err = {0};
    model *m = NULL;
    if (synth_write(path, shape, type, 7, &err) || model_load(path, &m, &err)) {
        fprintf(stderr, "%s: %s\n", tag, err.msg);
        CHECK(0);
    }
    unlink(path);
    return m;
}

int main(void)
{
    model *gqa = synth_model(&SHAPE_GQA, QT_Q8_0, "gqa"), *mha = synth_model(&SHAPE_MHA, QT_Q8_0, "mha");
    if (gqa) {
        /* Q8_0 weights: the engine's kernels do not depend on the batch, so any batching must agree. */
        prefill_vs_decode(gqa, "t5 Q8_0", 45, 45, 7, 16);
        remat_flops_match_spans(gqa);
        rewind_is_exact(gqa, 16);
    }
    if (gqa && mha) bad_parameters(gqa, mha);
    model_free(gqa);
    model_free(mha);
    const char *st = test_shared_path("models/stories260K/stories260K.gguf");
    if (!st) {
        printf("SKIP: stories260K absent (../shared): its checks did not run\n");
        return test_report("test_cache_modes");
    }
    model *m = NULL;
    xq_err err = {0};
    CHECK(model_load(st, &m, &err) == XQ_OK);
    if (m) {
        /* F32 weights: fgemm from 4 tokens on, bit-identical to the per-token dot; batches of 3 as before. */
        prefill_vs_decode(m, "stories260K", 70, 3, 2, 32);
        bytes_match_formula(m);
        eight_bit_near_fp16(m);
        model_free(m);
    }
    return test_report("test_cache_modes");
}
