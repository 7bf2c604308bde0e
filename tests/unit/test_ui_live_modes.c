/* The live source's mode stretches (ui/live.h), driven headlessly as `xqprof top`'s worker drives them: a
 * profiled session generates under fp16, switches to kv-8 between two tokens (engine/mode_switch.h) announcing
 * the new stretch at the profiler's next step, and carries on. After polling, the second stretch has the new
 * mode, the re-prefill's cost and the decode tokens generated after the switch, the first keeps its own, and a
 * re-announcement (probe sums) updates a stretch without losing what its steps showed. */
#include <string.h>
#include <unistd.h>

#include "engine/mode_switch.h"
#include "engine/session.h"
#include "model/qtypes.h"
#include "model/synth.h"
#include "prof/prof.h"
#include "testlib.h"
#include "ui/live.h"

enum { N_PROMPT = 6, N_BEFORE = 5, N_AFTER = 7 };

typedef struct rig {
    prof *p;
    session *s;
    ui_live *live;
    ui_data *d;
    int32_t text[64];
    int64_t n_text;
} rig;

static int64_t next_step(prof *p)
{
    prof_stats st;
    prof_get_stats(p, &st);
    return st.steps + st.steps_dropped;
}

static void announce(rig *r, const cache *c)
{
    ui_mode_segment g = {.first_step = next_step(r->p), .bytes_per_token = cache_bytes_per_token(c)};
    cache_params_name(&c->params, g.mode, sizeof g.mode);
    ui_live_segment(r->d, &g);
}

static void on_installed(void *user, const cache *fresh, const cache *old)
{
    rig *r = user;
    (void)old;
    announce(r, fresh);
    ui_live_set_cache(r->live, fresh);
    prof_bind_cache(r->p, fresh);
}

static void decode(rig *r, int n)
{
    xq_err err = {0};
    for (int i = 0; i < n; i++) {
        int32_t id = (int32_t)((r->n_text * 31 + 7) % 512);
        CHECK(session_eval(r->s, &id, 1, &err) == XQ_OK);
        r->text[r->n_text++] = id;
    }
}

static void run(rig *r)
{
    xq_err err = {0};
    announce(r, session_cache(r->s));
    for (int i = 0; i < N_PROMPT; i++)
        r->text[r->n_text++] = 10 + i;
    CHECK(session_eval(r->s, r->text, N_PROMPT, &err) == XQ_OK);
    decode(r, N_BEFORE);
    ui_live_poll(r->live, r->d);
    cache_params kv8;
    mode_switch_cost cost;
    CHECK(cache_params_parse("kv-8", &kv8, &err) == XQ_OK);
    CHECK(mode_switch_apply(r->s, &kv8, r->text, r->n_text, on_installed, r, &cost, &err) == XQ_OK);
    ui_mode_segment g = r->d->segment[r->d->n_segments - 1];
    g.switch_ns = cost.prefill_ns;
    g.switch_tokens = cost.prefill_tokens;
    ui_live_segment(r->d, &g);
    decode(r, N_AFTER);
    ui_live_poll(r->live, r->d);
}

static void check(const rig *r)
{
    const ui_data *d = r->d;
    CHECKF(d->n_segments == 2, "%d stretches", d->n_segments);
    const ui_mode_segment *a = &d->segment[0], *b = &d->segment[1];
    CHECK(strcmp(a->mode, "fp16") == 0 && strcmp(b->mode, "kv-8") == 0);
    CHECK(a->first_step == 0 && b->first_step == 1 + N_BEFORE); /* prefill, 5 decode steps, then the re-prefill */
    CHECKF(a->decode_tokens == N_BEFORE, "fp16 decode tokens %lld", (long long)a->decode_tokens);
    CHECKF(b->decode_tokens == N_AFTER, "kv-8 decode tokens %lld", (long long)b->decode_tokens);
    CHECK(b->switch_tokens == N_PROMPT + N_BEFORE && b->switch_ns > 0);
    CHECK(a->ctx == N_PROMPT + N_BEFORE && b->ctx == N_PROMPT + N_BEFORE + N_AFTER);
    /* kv-8 holds about half of what fp16 does per token. */
    double per_a = (double)a->cache_persistent / (double)a->ctx, per_b = (double)b->cache_persistent / (double)b->ctx;
    CHECKF(per_b > 0 && per_b < 0.6 * per_a, "bytes/token fp16 %.1f kv-8 %.1f", per_a, per_b);
    CHECK(b->bytes_per_token > 0 && b->bytes_per_token < a->bytes_per_token);
    CHECK(a->n_rate == N_BEFORE && b->n_rate == N_AFTER && b->rate[0] > 0);
    CHECK(a->rebuild_tokens == N_BEFORE && b->rebuild_tokens == N_AFTER); /* drained: each step's split known */
    /* A later announcement (the probe's sums) keeps what the steps showed. */
    ui_mode_segment g = *b;
    g.probe_checks = 3;
    g.decode_tokens = 0;
    ui_live_segment(r->d, &g);
    CHECK(d->segment[1].probe_checks == 3 && d->segment[1].decode_tokens == N_AFTER && d->n_segments == 2);
}

int main(void)
{
    char path[256];
    snprintf(path, sizeof path, "/tmp/xq_test_live_modes_%d.gguf", (int)getpid());
    xq_err err = {0};
    model *m = NULL;
    rig r = {0};
    static ui_data d;
    r.d = &d;
    if (synth_write(path, model_shape_find("tiny"), QT_Q8_0, 5, &err) || model_load(path, &m, &err)) {
        CHECKF(0, "tiny model: %s", err.msg);
        goto done;
    }
    prof_params pp = {.n_layer = m->cfg.n_layer, .n_threads = 2};
    CHECK(prof_create(&pp, &r.p, &err) == XQ_OK);
    session_params sp = {.n_ctx = 64, .n_threads = 2, .sink = prof_sink(r.p)};
    CHECK(session_create(m, &sp, &r.s, &err) == XQ_OK);
    prof_bind_cache(r.p, session_cache(r.s));
    r.live = ui_live_create(r.p, session_cache(r.s), true);
    if (r.p && r.s && r.live) {
        run(&r);
        check(&r);
    }
done:
    ui_live_destroy(r.live);
    session_destroy(r.s);
    prof_destroy(r.p);
    model_free(m);
    unlink(path);
    return test_report("test_ui_live_modes");
}
