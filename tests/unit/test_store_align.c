/* Run alignment (src/store/align.h) on the fixture traces of tests/data/compare (schema + committed SQL, no
 * timing): per-step averages of the selected steps, keep_fastest picking the fastest steps, the union of rows
 * of two modes in engine order, the model check (sha256, else model_config), and the JSON field reader. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/status.h"
#include "store/align.h"
#include "store/schema.h"
#include "testlib.h"

static char dir[] = "/tmp/xq_align_XXXXXX";

/* A fixture trace: the schema, then tests/data/compare/common.sql and NAME.sql. */
static const char *fixture(const char *name)
{
    static char path[2][4200];
    char *out = path[name[0] == 'b'];
    snprintf(out, sizeof path[0], "%s/%s.db", dir, name);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(out, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, store_schema_text(), NULL, NULL, NULL) == SQLITE_OK);
    char rel[64];
    const char *parts[] = {"common", name};
    for (int i = 0; i < 2; i++) {
        snprintf(rel, sizeof rel, "tests/data/compare/%s.sql", parts[i]);
        char *sql = test_read_file(test_src_path(rel), NULL);
        CHECKF(sql && sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s: %s", rel, sqlite3_errmsg(db));
        free(sql);
    }
    sqlite3_close(db);
    return out;
}

static store_profile *load(store_reader *r, int64_t run, store_phase phase, double keep)
{
    store_profile_opts o = {phase, keep};
    store_profile *p = NULL;
    xq_err err = {0};
    CHECKF(store_profile_load(r, run, &o, &p, &err) == XQ_OK, "%s", err.msg);
    return p;
}

static const store_op_row *find(const store_profile *p, int layer, const char *name)
{
    for (int i = 0; i < p->n_rows; i++)
        if (p->rows[i].layer == layer && !strcmp(p->rows[i].name, name)) return &p->rows[i];
    return NULL;
}

static void test_profile(store_reader *ra)
{
    store_profile *p = load(ra, 1, STORE_PHASE_DECODE, 1);
    if (!p) return;
    CHECK(p->totals.steps == 3 && p->totals.steps_in_phase == 3 && p->totals.tokens == 3);
    CHECK(p->totals.ms_per_token == 12 && p->totals.mean_ctx == 6 && p->totals.last_ctx == 7);
    CHECK(p->totals.cache_persistent == 3584000 && !strcmp(p->meta.cache_mode, "fp16"));
    CHECK(p->meta.device.present && p->meta.device.peak_flops == 1e11 && p->meta.device.read_bytes_per_s == 2e10);
    CHECK(p->n_rows == 2 * 3 + 2);
    /* layer 1's matmul_q: 1000 + 100·step + 10 µs over steps 1..3 → 1210 µs per step; one span per step. */
    const store_op_row *q = find(p, 1, "matmul_q");
    CHECK(q && q->self_ns == 1210000 && q->count == 1 && q->bytes_weights == 8192 && q->flops == 8192);
    for (int i = 1; i < p->n_rows; i++)
        CHECK(p->rows[i - 1].layer < p->rows[i].layer ||
              (p->rows[i - 1].layer == p->rows[i].layer && p->rows[i - 1].op < p->rows[i].op));
    store_profile_free(p);
    /* The fastest half (2 of 3) of the decode steps: steps 1 and 2 (10 and 12 ms). */
    p = load(ra, 0, STORE_PHASE_DECODE, 0.5);
    if (!p) return;
    q = find(p, 1, "matmul_q");
    CHECK(p->totals.steps == 2 && p->totals.ms_per_token == 11 && q && q->self_ns == 1160000);
    store_profile_free(p);
    store_profile_opts o = {STORE_PHASE_DECODE, 1};
    xq_err err = {0};
    CHECK(store_profile_load(ra, 7, &o, &p, &err) == XQ_EINPUT && p == NULL);
}

static void test_align(store_reader *ra, store_reader *rb)
{
    store_profile *a = load(ra, 1, STORE_PHASE_DECODE, 1), *b = load(rb, 1, STORE_PHASE_DECODE, 1);
    store_profile *other = load(rb, 2, STORE_PHASE_DECODE, 1), *wide = load(rb, 3, STORE_PHASE_DECODE, 1);
    if (!a || !b || !other || !wide) return;
    store_alignment al;
    xq_err err = {0};
    CHECK(store_align(a, b, STORE_BY_OP, &al, &err) == XQ_OK);
    /* embed rmsnorm matmul_q attend lm_head remat dequant: the union, in engine order within layers. */
    const char *want[] = {"embed", "rmsnorm", "matmul_q", "attend", "lm_head", "remat", "dequant"};
    CHECK(al.n_rows == 7);
    for (int i = 0; i < al.n_rows && i < 7; i++)
        CHECKF(!strcmp(al.rows[i].name, want[i]), "row %d", i);
    CHECK(al.rows[5].in_b && !al.rows[5].in_a && isnan(al.rows[5].self_ns.ratio));
    CHECK(al.ms_per_token.a == 12 && al.ms_per_token.b == 18 && al.ms_per_token.ratio == 1.5 &&
          al.ms_per_token.delta_pct == 50);
    store_alignment_free(&al);
    CHECK(store_align(a, b, STORE_BY_LAYER, &al, &err) == XQ_OK && al.n_rows == 3 && al.rows[0].layer == -1);
    store_alignment_free(&al);
    CHECK(store_align(a, other, STORE_BY_OP, &al, &err) == XQ_EINPUT && strstr(err.msg, "different models"));
    CHECK(store_align(a, wide, STORE_BY_OP, &al, &err) == XQ_EINPUT);
    store_profile_free(a);
    store_profile_free(b);
    store_profile_free(other);
    store_profile_free(wide);
}

static void test_json(void)
{
    double v = 0;
    const char *json = "{\"bits\":4,\"group\": 128,\"fp16_ch0\":false,\"name\":\"x\"}";
    CHECK(store_json_number(json, "bits", &v) && v == 4);
    CHECK(store_json_number(json, "group", &v) && v == 128);
    CHECK(store_json_number(json, "fp16_ch0", &v) && v == 0);
    CHECK(!store_json_number(json, "name", &v) && !store_json_number(json, "window", &v));
    CHECK(!store_json_number(NULL, "bits", &v));
}

int main(void)
{
    if (!mkdtemp(dir)) return 1;
    const char *a = fixture("a"), *b = fixture("b");
    store_reader *ra = NULL, *rb = NULL;
    xq_err err = {0};
    CHECKF(store_reader_open(a, &ra, &err) == XQ_OK && store_reader_open(b, &rb, &err) == XQ_OK, "%s", err.msg);
    if (ra && rb) {
        test_profile(ra);
        test_align(ra, rb);
    }
    test_json();
    store_reader_close(ra);
    store_reader_close(rb);
    unlink(a);
    unlink(b);
    rmdir(dir);
    return test_report("test_store_align");
}
