/* The Compare view's data (ui/compare.h) on the TUI fixture traces (tests/data/tui/fixture*.sql over the schema,
 * numbers chosen by hand): layers 0-3 then the ops outside layers, each with the self times per decode step of
 * both runs, the speedup (baseline ÷ compare) and Δ%; a layer's ops with the one only the baseline has (remat);
 * the step totals; a run of another model refused with a one-line reason and nothing aligned; one file's run
 * against itself; a missing file and a missing run are errors. */
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/schema.h"
#include "testlib.h"
#include "ui/compare.h"

static char dir[] = "/tmp/xq_ui_compare_XXXXXX";

/* DIR/NAME.db from the schema and tests/data/tui/NAME.sql. */
static const char *fixture(const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s/%s.db", dir, name);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(out, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, store_schema_text(), NULL, NULL, NULL) == SQLITE_OK);
    char rel[64];
    snprintf(rel, sizeof rel, "tests/data/tui/%s.sql", name);
    char *sql = test_read_file(test_src_path(rel), NULL);
    CHECKF(sql && sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s: %s", rel, sqlite3_errmsg(db));
    free(sql);
    sqlite3_close(db);
    return out;
}

static bool near(double x, double want) { return fabs(x - want) <= 1e-9 * fabs(want) + 1e-9; }

static void test_aligned(const char *a, const char *b)
{
    ui_compare *c = NULL;
    xq_err err = {0};
    CHECKF(ui_compare_load(a, 0, b, 0, &c, &err) == XQ_OK && c, "%s", err.msg);
    if (!c) return;
    CHECK(c->why[0] == 0 && !c->refused && c->phase == STORE_PHASE_DECODE);
    CHECK(!strcmp(c->a.file, "fixture.db") && !strcmp(c->b.file, "fixture_b.db"));
    CHECK(!strcmp(c->a.mode, "xq-fixture") && !strcmp(c->b.mode, "fp16") && c->a.steps == 16 && c->b.tokens == 16);
    /* Layer L: 1.25 + 0.25·L ms against 1.0 + 0.25·L ms; then lm_head, 2 ms in both. */
    CHECK(c->layers.n_rows == 5);
    for (int l = 0; l < 4 && l < c->layers.n_rows; l++) {
        const store_aligned_row *r = &c->layers.rows[l];
        CHECKF(r->layer == l && near(r->self_ns.a, 1.25e6 + 0.25e6 * l) && near(r->self_ns.b, 1e6 + 0.25e6 * l),
               "layer %d: %g %g", l, r->self_ns.a, r->self_ns.b);
    }
    if (c->layers.n_rows == 5) {
        CHECK(near(ui_compare_speedup(&c->layers.rows[0]), 1.25) && near(c->layers.rows[0].self_ns.delta_pct, -20));
        CHECK(c->layers.rows[4].layer == -1 && near(ui_compare_speedup(&c->layers.rows[4]), 1));
    }
    int first = -1, n = ui_compare_layer_ops(c, 0, &first);
    CHECK(n == 3);
    if (n == 3) {
        const store_aligned_row *ops = &c->ops.rows[first];
        CHECK(!strcmp(ops[0].name, "matmul_q") && !strcmp(ops[1].name, "attend") && !strcmp(ops[2].name, "remat"));
        CHECK(ops[2].in_a && !ops[2].in_b && isnan(ui_compare_speedup(&ops[2])));
        CHECK(near(ops[2].self_ns.a, 0.25e6) && near(ui_compare_speedup(&ops[0]), 1));
    }
    CHECK(ui_compare_layer_ops(c, 7, &first) == 0);
    CHECK(near(c->layers.ms_per_token.a, 11.25) && near(c->layers.ms_per_token.b, 9));
    /* Compare counts what each run held: fixture.sql's 16384-byte cache and its 2048-byte fp16 ring. */
    CHECK(near(c->layers.tokens_per_s.ratio, 1.25) && near(c->layers.cache_bytes.a, 16384 + 2048) &&
          near(c->layers.cache_bytes.b, 65536));
    ui_compare_free(c);
}

static void test_refused(const char *a, const char *other)
{
    ui_compare *c = NULL;
    xq_err err = {0};
    CHECKF(ui_compare_load(a, 0, other, 0, &c, &err) == XQ_OK && c, "%s", err.msg);
    if (!c) return;
    CHECK(c->refused && strstr(c->why, "different models") && strstr(c->why, "fixture-2L"));
    CHECK(!strchr(c->why, '\n') && !strstr(c->why, dir)); /* one line, no folder: --once stays the same */
    CHECK(c->layers.n_rows == 0 && c->ops.n_rows == 0);
    ui_compare_free(c);
}

static void test_same_run_and_errors(const char *a)
{
    ui_compare *c = NULL;
    xq_err err = {0};
    CHECKF(ui_compare_load(a, 1, a, 1, &c, &err) == XQ_OK && c, "%s", err.msg);
    if (c) {
        CHECK(!c->why[0] && c->layers.n_rows == 5);
        for (int i = 0; i < c->layers.n_rows; i++)
            CHECK(near(ui_compare_speedup(&c->layers.rows[i]), 1) && c->layers.rows[i].self_ns.delta_pct == 0);
    }
    ui_compare_free(c);
    c = NULL;
    CHECK(ui_compare_load(a, 0, a, 5, &c, &err) == XQ_EINPUT && !c && strstr(err.msg, "no run 5"));
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/absent.db", dir);
    CHECK(ui_compare_load(a, 0, missing, 0, &c, &err) == XQ_EINPUT && !c);
}

int main(void)
{
    if (!mkdtemp(dir)) return 1;
    static char a[4200], b[4200], other[4200];
    fixture("fixture", a, sizeof a);
    fixture("fixture_b", b, sizeof b);
    fixture("fixture_other", other, sizeof other);
    test_aligned(a, b);
    test_refused(a, other);
    test_same_run_and_errors(a);
    unlink(a);
    unlink(b);
    unlink(other);
    rmdir(dir);
    return test_report("test_ui_compare");
}
