/* The Layers view's rows (ui/layer_rows.h) on a hand-made ui_data: filter terms (layer, range, op name, a term
 * naming no op), rows by time with ties by index, op rows of one layer, the bound against the measured ridge,
 * and an op filter without per-layer ops (a live run) falling back to whole layers. */
#include <string.h>

#include "testlib.h"
#include "ui/layer_rows.h"

static ui_data data;

/* 4 layers; layer L spends (L+1) ms in matmul_q (2 FLOP/B) and 1 ms in attend (0.5 FLOP/B); ridge 4 FLOP/B. */
static void fill(void)
{
    memset(&data, 0, sizeof data);
    data.n_layer = 4;
    data.window_steps = 2;
    data.peak_flops = 4e9;
    data.peak_bytes_per_s = 1e9;
    data.layer_ops_known = true;
    for (int l = 0; l < 4; l++) {
        data.layer_op[l][OP_MATMUL_Q] = (ui_cell){2, (l + 1) * 1000000, 2000000, 1000000, 0};
        data.layer_op[l][OP_ATTEND] = (ui_cell){2, 1000000, 100000, 200000, 0};
        prof_agg *a = &data.layer[l].agg;
        a->count = 4;
        a->self_ns = (l + 2) * 1000000;
        a->flops = 2100000;
        a->bytes_weights = 1200000;
        data.layer[l].cache_bytes = -1;
    }
    data.layer[2].agg.self_ns = data.layer[1].agg.self_ns; /* a tie: index order decides */
}

static void test_filter_parse(void)
{
    ui_filter f;
    ui_filter_parse("", &f);
    CHECK(ui_filter_empty(&f));
    ui_filter_parse("2", &f);
    CHECK(f.by_layer && !f.by_op && f.layers[0] == 1u << 2);
    ui_filter_parse("1-3 attend", &f);
    CHECK(f.by_layer && f.layers[0] == 0xE && f.by_op && f.ops == 1u << OP_ATTEND && !f.unmatched[0]);
    ui_filter_parse("MATMUL", &f);
    CHECK(f.by_op && (f.ops & 1u << OP_MATMUL_Q) && (f.ops & 1u << OP_MATMUL_DOWN) && !(f.ops & 1u << OP_ATTEND));
    ui_filter_parse("nosuchop", &f);
    CHECK(f.by_op && f.ops == 0 && !strcmp(f.unmatched, "nosuchop"));
    ui_filter_parse("999", &f); /* beyond UI_MAX_LAYERS: keeps nothing, never writes past the bitset */
    CHECK(f.by_layer && f.layers[0] == 0 && f.layers[3] == 0);
}

static void test_layer_rows(void)
{
    ui_filter f;
    ui_row rows[UI_MAX_LAYERS];
    ui_filter_parse("", &f);
    int n = ui_layer_rows(&data, &f, false, rows);
    CHECK(n == 4 && rows[0].id == 3 && rows[1].id == 1 && rows[2].id == 2 && rows[3].id == 0);
    n = ui_layer_rows(&data, &f, true, rows);
    CHECK(n == 4 && rows[0].id == 0 && rows[3].id == 3);
    ui_filter_parse("1-2", &f);
    CHECK(ui_layer_rows(&data, &f, false, rows) == 2 && rows[0].id == 1 && rows[1].id == 2);
    ui_filter_parse("attend", &f); /* rows sum only attend: all 1 ms, index order */
    n = ui_layer_rows(&data, &f, false, rows);
    CHECK(n == 4 && rows[0].id == 0 && rows[0].self_ns == 1000000 && rows[0].bytes == 200000);
    data.layer_ops_known = false; /* live: whole layers */
    ui_layer_rows(&data, &f, false, rows);
    CHECK(rows[0].id == 3 && rows[0].self_ns == 5000000);
    data.layer_ops_known = true;
}

static void test_op_rows_and_figures(void)
{
    ui_filter f;
    ui_row rows[OP_COUNT];
    ui_filter_parse("", &f);
    int n = ui_op_rows(&data, 3, &f, false, rows);
    CHECK(n == 2 && rows[0].id == OP_MATMUL_Q && rows[1].id == OP_ATTEND);
    ui_figures g = ui_row_figures(&data, &rows[0], 5000000);
    CHECK(fabs(g.ns_per_step - 2e6) < 1e-6 && fabs(g.share - 0.8) < 1e-12 && fabs(g.calls_per_step - 1) < 1e-12);
    CHECK(fabs(g.flops_per_byte - 2) < 1e-12 && g.bound == UI_BOUND_MEMORY); /* 2 < ridge 4 */
    CHECK(fabs(g.bytes_per_s - 0.25e9) < 1 && fabs(g.mem_of_peak - 0.25) < 1e-9);
    ui_filter_parse("att", &f);
    CHECK(ui_op_rows(&data, 3, &f, false, rows) == 1 && rows[0].id == OP_ATTEND);
    CHECK(ui_op_rows(&data, 4, &f, false, rows) == 0 && ui_op_rows(&data, -1, &f, false, rows) == 0);
    ui_row compute = {.flops = 8000, .bytes = 1000, .self_ns = 1000};
    CHECK(ui_row_figures(&data, &compute, 0).bound == UI_BOUND_COMPUTE);
    data.peak_flops = 0; /* no measured peaks: N/A, never a guess */
    CHECK(ui_row_figures(&data, &compute, 0).bound == UI_BOUND_NA && !strcmp(ui_bound_name(UI_BOUND_NA), "N/A"));
    data.peak_flops = 4e9;
}

int main(void)
{
    fill();
    test_filter_parse();
    test_layer_rows();
    test_op_rows_and_figures();
    return test_report("test_ui_layer_rows");
}
