/* Issue 5, Done-when 2, on the default model (SmolLM2-135M; skipped with a message when absent, failed when
 * CI=true): one traced decode step records FLOPs = 2 × weights used + attention FLOPs, both hand-derived here
 * from the model's config, and the rebuild FLOPs of the quantized cache modes equal XQUANT.md §2's formulas
 * (xq-E: 2·l·d·2d_kv, xq-svd-E: 2·l·d_kv·2d_kv per layer) and the policy's own count (cache_remat_flops). */
#include <stdlib.h>
#include <string.h>

#include "engine/session.h"
#include "prof/prof.h"
#include "testlib.h"

enum { MAX_RECORDS = 1 << 16, PROMPT = 15, TILE = 8 };

static prof_record recs[MAX_RECORDS];

typedef struct step_sums {
    int64_t matmul_flops, attend_flops, total_flops, other_flops;
    int64_t matmul_weight_bytes, attend_cache_read, append_cache_write;
    int64_t remat_in_attend, remat_in_append, remat_total;
    int64_t ops_ns, step_ns, n_ctx;
    bool step_seen;
} step_sums;

static bool is_matmul(int op)
{
    return op == OP_MATMUL_Q || op == OP_MATMUL_K || op == OP_MATMUL_V || op == OP_MATMUL_O || op == OP_MATMUL_GATE ||
           op == OP_MATMUL_UP || op == OP_MATMUL_DOWN || op == OP_LM_HEAD;
}

/* Nested records end before their parent: rebuild FLOPs wait in `pending` until the enclosing op arrives. */
static void add_record(step_sums *s, const prof_record *r, int64_t *pending_remat)
{
    if (r->kind == PROF_REC_STEP) {
        s->step_seen = true;
        s->ops_ns = r->step.ops_ns;
        s->step_ns = r->step.ns;
        s->n_ctx = r->step.n_ctx;
        return;
    }
    const prof_op_rec *o = &r->op;
    s->total_flops += o->cost.flops;
    if (o->op == OP_REMAT) s->remat_total += o->cost.flops;
    if (o->depth > 0) {
        if (o->op == OP_REMAT) *pending_remat += o->cost.flops;
        return;
    }
    if (is_matmul(o->op)) {
        s->matmul_flops += o->cost.flops;
        s->matmul_weight_bytes += o->cost.bytes_weights;
    } else if (o->op == OP_ATTEND) {
        s->attend_flops += o->cost.flops;
        s->attend_cache_read += o->cost.bytes_cache_read;
        s->remat_in_attend += *pending_remat;
    } else {
        if (o->op == OP_CACHE_APPEND) {
            s->append_cache_write += o->cost.bytes_cache_write;
            s->remat_in_append += *pending_remat;
        }
        s->other_flops += o->cost.flops;
    }
    *pending_remat = 0;
}

/* Prefills PROMPT tokens, then records one decode step (l = PROMPT + 1 keys). */
static int decode_step(const model *m, const cache_params *cp, step_sums *out, double *policy_remat,
                       double *bytes_per_token)
{
    prof *p = NULL;
    session *s = NULL;
    xq_err err = {0};
    prof_params pp = {.n_layer = m->cfg.n_layer, .queue_records = MAX_RECORDS};
    session_params sp = {.n_ctx = 64, .n_threads = 2, .cache = *cp};
    if (prof_create(&pp, &p, &err) == XQ_OK) sp.sink = prof_sink(p);
    if (!p || session_create(m, &sp, &s, &err) != XQ_OK) {
        fprintf(stderr, "session: %s\n", err.msg);
        prof_destroy(p);
        return -1;
    }
    prof_bind_cache(p, session_cache(s));
    int32_t ids[PROMPT + 1];
    for (int i = 0; i <= PROMPT; i++)
        ids[i] = 100 + 37 * i;
    int rc = session_eval(s, ids, PROMPT, &err);
    prof_drain(p, recs, MAX_RECORDS);
    if (!rc) rc = session_eval(s, ids + PROMPT, 1, &err);
    size_t n = prof_drain(p, recs, MAX_RECORDS);
    *out = (step_sums){0};
    int64_t pending = 0;
    for (size_t i = 0; i < n; i++)
        add_record(out, &recs[i], &pending);
    *policy_remat = cache_remat_flops(session_cache(s), PROMPT + 1);
    *bytes_per_token = cache_bytes_per_token(session_cache(s));
    session_destroy(s);
    prof_destroy(p);
    return rc;
}

static void test_fp16(const model *m)
{
    const model_config *c = &m->cfg;
    int64_t L = c->n_layer, d = c->n_embd, d_kv = (int64_t)c->n_head_kv * c->head_dim, ff = c->n_ff;
    int64_t l = PROMPT + 1;
    /* Weights one token multiplies: per layer Wq (d×d), Wk and Wv (d_kv×d), Wo (d×d), gate, up, down (3·d·ff),
     * then lm_head (vocab × d, tied to the embedding in SmolLM2). */
    int64_t weights_used = L * (d * d + 2 * d_kv * d + d * d + 3 * d * ff) + (int64_t)c->n_vocab * d;
    int64_t attention = L * 4 * l * c->head_dim * c->n_head; /* QKᵀ and P·V over l keys, every head */
    cache_params cp = {.mode = CACHE_FP16};
    step_sums s;
    double policy_remat = 0, bpt = 0;
    CHECK(decode_step(m, &cp, &s, &policy_remat, &bpt) == 0);
    CHECK(s.step_seen && s.n_ctx == l);
    CHECKF(s.matmul_flops == 2 * weights_used, "%lld vs %lld", (long long)s.matmul_flops,
           (long long)(2 * weights_used));
    CHECKF(s.attend_flops == attention, "%lld vs %lld", (long long)s.attend_flops, (long long)attention);
    /* The rest (norms, RoPE, SwiGLU, residuals) is elementwise: under 0.5 % of the step. */
    CHECK(s.total_flops == s.matmul_flops + s.attend_flops + s.other_flops);
    CHECKF(s.other_flops * 200 < s.total_flops, "elementwise %lld of %lld", (long long)s.other_flops,
           (long long)s.total_flops);
    printf("fp16 decode step at l = %lld: %.4f GFLOP = 2 × %.2f M weights + %.3f MFLOP attention + %.3f MFLOP "
           "elementwise\n",
           (long long)l, (double)s.total_flops / 1e9, (double)weights_used / 1e6, (double)attention / 1e6,
           (double)s.other_flops / 1e6);
    /* Every matrix is read once at its stored type: all tensors but the F32 norms (2 per layer + the final). */
    int64_t norm_bytes = (2 * L + 1) * d * 4;
    CHECK(s.matmul_weight_bytes == (int64_t)m->weight_bytes - norm_bytes);
    /* fp16 K and V: 2 · d_kv · 2 bytes per token and layer, all l read, one appended. */
    CHECK(s.attend_cache_read == L * l * 4 * d_kv && s.append_cache_write == L * 4 * d_kv);
    CHECK(s.remat_total == 0 && policy_remat == 0);
    CHECK(s.ops_ns <= s.step_ns);
}

/* xq-E and xq-svd-E against XQUANT.md §2. K and V from X̂ rows are rebuilt for the l keys whatever the tile; the
 * SVD factors' GEMMs run on whole tiles, so their case uses tiles of TILE tokens, l being a multiple of TILE. */
static void test_rebuild(const model *m)
{
    const model_config *c = &m->cfg;
    int64_t L = c->n_layer, d = c->n_embd, d_kv = (int64_t)c->n_head_kv * c->head_dim, l = PROMPT + 1;
    const struct {
        const char *mode;
        int64_t in_attend; /* per layer */
        int tile;
    } cases[] = {{"xq-4", 2 * l * d * 2 * d_kv, TILE},
                 {"xq-4", 2 * l * d * 2 * d_kv, 128}, /* l = 16 keys in one tile of 128: no padded rows counted */
                 {"xq-svd-4", 2 * l * d_kv * 2 * d_kv, TILE},
                 {"kv-4", 0, TILE}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cache_params cp;
        xq_err err = {0};
        CHECK(cache_params_parse(cases[i].mode, &cp, &err) == XQ_OK);
        cp.tile_tokens = cases[i].tile;
        step_sums s;
        double policy = 0, bpt = 0;
        CHECK(decode_step(m, &cp, &s, &policy, &bpt) == 0);
        CHECKF(s.remat_in_attend == L * cases[i].in_attend, "%s: %lld vs %lld", cases[i].mode,
               (long long)s.remat_in_attend, (long long)(L * cases[i].in_attend));
        CHECKF((double)s.remat_total == policy, "%s: spans %lld vs policy %.0f", cases[i].mode,
               (long long)s.remat_total, policy);
        CHECK(s.attend_flops == L * 4 * l * c->head_dim * c->n_head);
        printf("%s (tiles of %d) decode step at l = %lld: rebuild %.3f MFLOP in attend, %.3f MFLOP in append\n", cases[i].mode,
               cases[i].tile, (long long)l, (double)s.remat_in_attend / 1e6, (double)s.remat_in_append / 1e6);
    }
}

int main(void)
{
    if (getenv("XQ_SANITIZER_RUN")) SKIP("the sanitizer run uses generated models and stories260K only");
    const char *path = test_src_path("models/default.gguf");
    model *m = NULL;
    xq_err err = {0};
    if (model_load(path, &m, &err) != XQ_OK) {
        const char *ci = getenv("CI");
        if (ci && !strcmp(ci, "true")) {
            fprintf(stderr, "default model missing with CI=true: %s\n", err.msg);
            return 1;
        }
        SKIP("default model absent (%s): run scripts/fetch-model", err.msg);
    }
    test_fp16(m);
    test_rebuild(m);
    model_free(m);
    return test_report("test_prof_decode");
}
