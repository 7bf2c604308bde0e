/* The live source's per-(layer, op) sums (ui/live.h), for the Layers view's op filter and drill-down in `top`:
 * synthetic spans through a profiler for more steps than its window, then a poll. Draining the queue, the source
 * knows each layer's ops over the last PROF_WINDOW steps; each layer's ops add up to the layer; the layers and ops
 * equal the profiler's own window (its snapshot) exactly; a nested rebuild op is counted as rebuild time; the
 * drill-down rows come out. Without draining (--trace takes the queue) the ops per layer stay unknown. */
#include <string.h>

#include "prof/prof.h"
#include "testlib.h"
#include "ui/layer_rows.h"
#include "ui/live.h"

enum { N_LAYER = 3, N_STEPS = PROF_WINDOW + 9 };

static void busy(int n)
{
    volatile double x = 0;
    for (int i = 0; i < n; i++)
        x += 1e-9 * i;
}

static void span(const span_sink *s, span_op op, int layer, span_shape sh, int work)
{
    span_begin(s, op, layer, &sh);
    busy(work);
    span_end(s, op, layer);
}

/* Per layer L: matmul_q (work grows with L), attend with a nested remat; then lm_head outside layers. */
static void step(const span_sink *s, int i)
{
    span_shape st = {.n = 1, .ctx = 16 + i};
    span_begin(s, OP_STEP, -1, &st);
    for (int l = 0; l < N_LAYER; l++) {
        span(s, OP_MATMUL_Q, l, (span_shape){.m = 64, .n = 1, .k = 64}, 500 * (l + 1));
        span_shape att = {.m = 4, .n = 1, .k = 16, .ctx = 16 + i};
        span_begin(s, OP_ATTEND, l, &att);
        span(s, OP_REMAT, l, (span_shape){.m = 16, .n = 64, .k = 32}, 300);
        busy(200);
        span_end(s, OP_ATTEND, l);
    }
    span(s, OP_LM_HEAD, -1, (span_shape){.m = 256, .n = 1, .k = 64}, 400);
    span_end(s, OP_STEP, -1);
}

static prof *run(void)
{
    prof *p = NULL;
    xq_err err = {0};
    prof_params pp = {.n_layer = N_LAYER};
    CHECK(prof_create(&pp, &p, &err) == XQ_OK);
    if (!p) return NULL;
    for (int i = 0; i < N_STEPS; i++)
        step(prof_sink(p), i);
    prof_publish(p);
    return p;
}

static bool same_agg(const prof_agg *a, const prof_agg *b)
{
    return a->count == b->count && a->self_ns == b->self_ns && a->flops == b->flops &&
           a->bytes_weights == b->bytes_weights && a->bytes_cache_read == b->bytes_cache_read &&
           a->bytes_act == b->bytes_act && a->remat_ns == b->remat_ns;
}

static void test_drained(void)
{
    prof *p = run();
    ui_live *l = p ? ui_live_create(p, NULL, true) : NULL;
    static ui_data d;
    memset(&d, 0, sizeof d);
    CHECK(l != NULL);
    if (!l) return;
    CHECK(ui_live_poll(l, &d));
    CHECK(d.layer_ops_known && d.window_steps == PROF_WINDOW && d.n_layer == N_LAYER);
    static prof_snapshot snap;
    CHECK(prof_snapshot_read(p, &snap) == 0);
    for (int layer = 0; layer < N_LAYER; layer++) {
        int64_t ns = 0, count = 0;
        for (int op = 0; op < OP_COUNT; op++) {
            ns += d.layer_op[layer][op].self_ns;
            count += d.layer_op[layer][op].count;
        }
        CHECKF(ns == d.layer[layer].agg.self_ns && count == 3 * PROF_WINDOW, "layer %d: %lld ns, %lld ops", layer,
               (long long)ns, (long long)count);
        CHECKF(same_agg(&d.layer[layer].agg, &snap.layer[layer]), "layer %d differs from the profiler's", layer);
        const ui_cell *remat = &d.layer_op[layer][OP_REMAT];
        CHECK(remat->count == PROF_WINDOW && remat->remat_ns == remat->self_ns && remat->self_ns > 0);
        CHECK(d.layer_op[layer][OP_MATMUL_Q].count == PROF_WINDOW && d.layer_op[layer][OP_LM_HEAD].count == 0);
    }
    for (int op = 0; op < OP_COUNT; op++)
        CHECKF(same_agg(&d.op[op], &snap.op[op]), "op %d differs from the profiler's", op);
    ui_filter f;
    ui_filter_parse("attend", &f);
    ui_row rows[OP_COUNT];
    CHECK(ui_op_rows(&d, 2, &f, true, rows) == 1 && rows[0].id == OP_ATTEND && rows[0].count == PROF_WINDOW);
    ui_filter_parse("", &f);
    CHECK(ui_op_rows(&d, 2, &f, true, rows) == 3);
    ui_live_destroy(l);
    prof_destroy(p);
}

static void test_not_drained(void)
{
    prof *p = run();
    ui_live *l = p ? ui_live_create(p, NULL, false) : NULL;
    static ui_data d;
    memset(&d, 0, sizeof d);
    CHECK(l != NULL);
    if (!l) return;
    ui_live_poll(l, &d);
    CHECK(!d.layer_ops_known && d.window_steps == PROF_WINDOW && d.layer[0].agg.count == 3 * PROF_WINDOW);
    ui_live_destroy(l);
    prof_destroy(p);
}

int main(void)
{
    test_drained();
    test_not_drained();
    return test_report("test_ui_live_layer_ops");
}
