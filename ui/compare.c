/* Two recorded runs aligned for the Compare view (compare.h). */
#include "ui/compare.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/schema.h"

typedef struct pair {
    store_reader *ra, *rb;
    int64_t run_a, run_b;
    store_profile *a, *b;
} pair;

static int open_runs(const char *file_a, int64_t run_a, const char *file_b, int64_t run_b, pair *p, xq_err *err)
{
    int rc = store_reader_open(file_a, &p->ra, err);
    if (!rc) rc = store_reader_resolve_run(p->ra, run_a, &p->run_a, err);
    if (!rc) rc = store_reader_open(file_b, &p->rb, err);
    if (!rc) rc = store_reader_resolve_run(p->rb, run_b, &p->run_b, err);
    return rc;
}

static void close_pair(pair *p)
{
    store_profile_free(p->a);
    store_profile_free(p->b);
    store_reader_close(p->ra);
    store_reader_close(p->rb);
}

static void describe_run(const store_profile *p, ui_compare_run *r)
{
    const store_run_meta *m = &p->meta;
    const char *slash = strrchr(m->path, '/');
    snprintf(r->file, sizeof r->file, "%.255s", slash ? slash + 1 : m->path);
    r->run = m->id;
    snprintf(r->model, sizeof r->model, "%s", m->model_name[0] ? m->model_name : "unnamed model");
    snprintf(r->mode, sizeof r->mode, "%s", m->cache_mode[0] ? m->cache_mode : "?");
    r->threads = m->threads;
    r->steps = p->totals.steps;
    r->tokens = p->totals.tokens;
    r->mean_ctx = p->totals.mean_ctx;
}

/* The refusal in one line, naming the models as a reader knows them (no paths: --once must not depend on them). */
static void refuse(ui_compare *c, const store_run_meta *a, const store_run_meta *b)
{
    char *how = c->differ;
    size_t size = sizeof c->differ;
    if (strcmp(c->a.model, c->b.model) != 0)
        snprintf(how, size, "baseline %s, compare %s", c->a.model, c->b.model);
    else if (a->model_sha256[0] && b->model_sha256[0])
        snprintf(how, size, "both %s, sha256 %.12s vs %.12s", c->a.model, a->model_sha256, b->model_sha256);
    else
        snprintf(how, size, "both %s, configurations differ", c->a.model);
    c->refused = true;
    snprintf(c->why, sizeof c->why,
             "Compare: refused, the runs are of different models (%s); the other views show the baseline", how);
}

/* Layer −1 (the ops outside layers) after the layers, where a reader looks for the model's head. */
static void non_layer_rows_last(store_alignment *al)
{
    int n_neg = 0;
    while (n_neg < al->n_rows && al->rows[n_neg].layer < 0)
        n_neg++;
    if (n_neg == 0 || n_neg == al->n_rows) return;
    store_aligned_row *tmp = malloc((size_t)n_neg * sizeof *tmp);
    if (!tmp) return; /* the order is cosmetic */
    memcpy(tmp, al->rows, (size_t)n_neg * sizeof *tmp);
    memmove(al->rows, al->rows + n_neg, (size_t)(al->n_rows - n_neg) * sizeof *tmp);
    memcpy(al->rows + al->n_rows - n_neg, tmp, (size_t)n_neg * sizeof *tmp);
    free(tmp);
}

/* *n: the steps of a run, of one phase (NULL: all). */
static int count_steps(store_reader *r, int64_t run, const char *phase, int64_t *n, xq_err *err)
{
    sqlite3 *db = store_reader_db(r);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM step WHERE run = ?1 AND (?2 IS NULL OR phase = ?2)", -1,
                                &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, run);
        if (phase) sqlite3_bind_text(st, 2, phase, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) *n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? XQ_OK : store_sqlite_fail(db, rc, store_reader_path(r), "cannot read", err);
}

/* Decode steps when both runs have some (a step per token: the numbers a reader compares), else all steps;
 * c->why says so when a run has none at all. */
static int pick_phase(pair *p, ui_compare *c, xq_err *err)
{
    int64_t decode_a = 0, decode_b = 0, all_a = 0, all_b = 0;
    int rc = count_steps(p->ra, p->run_a, "decode", &decode_a, err);
    if (!rc) rc = count_steps(p->rb, p->run_b, "decode", &decode_b, err);
    if (!rc) rc = count_steps(p->ra, p->run_a, NULL, &all_a, err);
    if (!rc) rc = count_steps(p->rb, p->run_b, NULL, &all_b, err);
    if (rc) return rc;
    c->phase = decode_a && decode_b ? STORE_PHASE_DECODE : STORE_PHASE_ALL;
    if (!all_a || !all_b)
        snprintf(c->why, sizeof c->why, "Compare: nothing to align: the %s run (%lld) has no recorded step",
                 all_a ? "compare" : "baseline", (long long)(all_a ? p->run_b : p->run_a));
    return XQ_OK;
}

static int align(pair *p, ui_compare *c, xq_err *err)
{
    int rc = pick_phase(p, c, err);
    if (rc || c->why[0]) return rc;
    store_profile_opts o = {c->phase, 1.0};
    rc = store_profile_load(p->ra, p->run_a, &o, &p->a, err);
    if (!rc) rc = store_profile_load(p->rb, p->run_b, &o, &p->b, err);
    if (rc) return rc;
    describe_run(p->a, &c->a);
    describe_run(p->b, &c->b);
    xq_err differ = {0};
    if (store_runs_same_model(&p->a->meta, &p->b->meta, &differ)) {
        refuse(c, &p->a->meta, &p->b->meta);
        return XQ_OK;
    }
    rc = store_align(p->a, p->b, STORE_BY_LAYER, &c->layers, err);
    if (!rc) rc = store_align(p->a, p->b, STORE_BY_LAYER_OP, &c->ops, err);
    if (!rc) non_layer_rows_last(&c->layers);
    return rc;
}

int ui_compare_load(const char *file_a, int64_t run_a, const char *file_b, int64_t run_b, ui_compare **out,
                    xq_err *err)
{
    *out = NULL;
    ui_compare *c = calloc(1, sizeof *c);
    if (!c) return xq_fail(err, XQ_ERUN, "out of memory");
    pair p = {0};
    int rc = open_runs(file_a, run_a, file_b, run_b, &p, err);
    if (!rc) rc = align(&p, c, err);
    close_pair(&p);
    if (rc) {
        ui_compare_free(c);
        return rc;
    }
    *out = c;
    return XQ_OK;
}

void ui_compare_free(ui_compare *c)
{
    if (!c) return;
    store_alignment_free(&c->layers);
    store_alignment_free(&c->ops);
    free(c);
}

int ui_compare_layer_ops(const ui_compare *c, int layer, int *first)
{
    int n = 0;
    *first = 0;
    for (int i = 0; i < c->ops.n_rows; i++)
        if (c->ops.rows[i].layer == layer) {
            if (!n) *first = i;
            n++;
        }
    return n;
}

double ui_compare_speedup(const store_aligned_row *r)
{
    const store_delta *d = &r->self_ns;
    if (!r->in_a || !r->in_b || !(d->a > 0) || !(d->b > 0)) return NAN;
    return d->a / d->b;
}
