/* Run profiles and their alignment (align.h). Every query binds ?1 = run, ?2 = phase (NULL: all phases) and
 * ?3 = how many of the phase's steps to keep, fastest first; the selected steps are the subquery SEL. */
#include "store/align.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/schema.h"

#define SEL "SELECT idx FROM step WHERE run = ?1 AND (?2 IS NULL OR phase = ?2) ORDER BY ns, idx LIMIT ?3"

static const char *const phase_names[] = {"decode", "prefill", "all"};

int store_phase_parse(const char *name)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(name, phase_names[i])) return i;
    return -1;
}

const char *store_phase_name(store_phase p)
{
    return phase_names[p];
}

typedef struct query {
    store_reader *r;
    int64_t run;
    store_phase phase;
    int64_t keep; /* steps selected */
    xq_err *err;
} query;

static int prepare(const query *q, const char *sql, sqlite3_stmt **s)
{
    sqlite3 *db = store_reader_db(q->r);
    int rc = sqlite3_prepare_v2(db, sql, -1, s, NULL);
    if (rc != SQLITE_OK) return store_sqlite_fail(db, rc, store_reader_path(q->r), "cannot read", q->err);
    sqlite3_bind_int64(*s, 1, q->run);
    if (sqlite3_bind_parameter_count(*s) >= 2) {
        if (q->phase == STORE_PHASE_ALL)
            sqlite3_bind_null(*s, 2);
        else
            sqlite3_bind_text(*s, 2, phase_names[q->phase], -1, SQLITE_STATIC);
    }
    if (sqlite3_bind_parameter_count(*s) >= 3) sqlite3_bind_int64(*s, 3, q->keep);
    return XQ_OK;
}

/* Steps a statement until done, calling row() per row; SQLite errors become the query's error. */
static int each_row(const query *q, sqlite3_stmt *s, int (*row)(void *user, sqlite3_stmt *s), void *user)
{
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int urc = row(user, s);
        if (urc) {
            sqlite3_finalize(s);
            return urc;
        }
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return store_sqlite_fail(store_reader_db(q->r), rc, store_reader_path(q->r), "cannot read", q->err);
    return XQ_OK;
}

static int run_query(const query *q, const char *sql, int (*row)(void *user, sqlite3_stmt *s), void *user)
{
    sqlite3_stmt *s = NULL;
    int rc = prepare(q, sql, &s);
    return rc ? rc : each_row(q, s, row, user);
}

static void copy_text(char *dst, size_t cap, sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static double real_or(sqlite3_stmt *s, int col, double none)
{
    return sqlite3_column_type(s, col) == SQLITE_NULL ? none : sqlite3_column_double(s, col);
}

static int meta_row(void *user, sqlite3_stmt *s)
{
    store_run_meta *m = user;
    copy_text(m->started, sizeof m->started, s, 0);
    copy_text(m->status, sizeof m->status, s, 1);
    copy_text(m->version, sizeof m->version, s, 2);
    copy_text(m->model_file, sizeof m->model_file, s, 3);
    copy_text(m->model_sha256, sizeof m->model_sha256, s, 4);
    copy_text(m->model_name, sizeof m->model_name, s, 5);
    copy_text(m->model_config, sizeof m->model_config, s, 6);
    copy_text(m->cache_mode, sizeof m->cache_mode, s, 7);
    copy_text(m->cache_params, sizeof m->cache_params, s, 8);
    m->threads = sqlite3_column_int(s, 9);
    m->n_ctx = sqlite3_column_int64(s, 10);
    store_device_info *d = &m->device;
    d->present = sqlite3_column_type(s, 11) != SQLITE_NULL;
    copy_text(d->name, sizeof d->name, s, 11);
    copy_text(d->kind, sizeof d->kind, s, 12);
    copy_text(d->source, sizeof d->source, s, 13);
    d->cores = sqlite3_column_int(s, 14);
    d->threads = sqlite3_column_int(s, 15);
    d->peak_flops = real_or(s, 16, 0);
    d->read_bytes_per_s = real_or(s, 17, 0);
    d->memory_bytes = real_or(s, 18, 0);
    return XQ_OK;
}

static int load_meta(const query *q, store_run_meta *m)
{
    static const char sql[] =
        "SELECT r.started, r.status, r.version, r.model_file, r.model_sha256, r.model_name, r.model_config, "
        "r.cache_mode, r.cache_params, r.threads, r.n_ctx, d.name, d.kind, d.source, d.cores, d.threads, "
        "d.peak_flops, d.read_bytes_per_s, d.memory_bytes FROM run r LEFT JOIN device d ON d.id = r.device_id "
        "WHERE r.id = ?1";
    m->id = q->run;
    snprintf(m->path, sizeof m->path, "%s", store_reader_path(q->r));
    return run_query(q, sql, meta_row, m);
}

static int count_row(void *user, sqlite3_stmt *s)
{
    *(int64_t *)user = sqlite3_column_int64(s, 0);
    return XQ_OK;
}

static int totals_row(void *user, sqlite3_stmt *s)
{
    store_step_totals *t = user;
    t->steps = sqlite3_column_int64(s, 0);
    t->tokens = sqlite3_column_int64(s, 1);
    t->ns = sqlite3_column_double(s, 2);
    t->mean_ctx = sqlite3_column_double(s, 3);
    return XQ_OK;
}

static int last_step_row(void *user, sqlite3_stmt *s)
{
    store_step_totals *t = user;
    t->last_ctx = sqlite3_column_int64(s, 0);
    t->cache_persistent = real_or(s, 1, -1);
    t->cache_residual = real_or(s, 2, -1);
    t->cache_transient = real_or(s, 3, -1);
    return XQ_OK;
}

static int load_totals(query *q, double keep_fastest, store_step_totals *t)
{
    int rc = run_query(q, "SELECT count(*) FROM step WHERE run = ?1 AND (?2 IS NULL OR phase = ?2)", count_row,
                       &t->steps_in_phase);
    if (rc) return rc;
    if (t->steps_in_phase == 0)
        return xq_fail(q->err, XQ_EINPUT, "%s: run %lld has no %s steps", store_reader_path(q->r), (long long)q->run,
                       q->phase == STORE_PHASE_ALL ? "recorded" : phase_names[q->phase]);
    double keep = ceil((double)t->steps_in_phase * (keep_fastest > 0 && keep_fastest < 1 ? keep_fastest : 1));
    q->keep = keep < 1 ? 1 : (int64_t)keep;
    rc = run_query(q,
                   "SELECT count(*), sum(n_tokens), sum(ns), avg(n_ctx) FROM step WHERE run = ?1 AND idx IN (" SEL ")",
                   totals_row, t);
    if (!rc)
        rc = run_query(q,
                       "SELECT n_ctx, cache_persistent, cache_residual, cache_transient FROM step WHERE run = ?1 AND "
                       "(?2 IS NULL OR phase = ?2) ORDER BY idx DESC LIMIT 1",
                       last_step_row, t);
    t->ms_per_token = t->tokens > 0 ? t->ns / 1e6 / (double)t->tokens : NAN;
    t->tokens_per_s = t->ns > 0 ? (double)t->tokens * 1e9 / t->ns : NAN;
    return rc;
}

typedef struct rows_acc {
    store_profile *p;
    int cap;
} rows_acc;

static int op_row(void *user, sqlite3_stmt *s)
{
    rows_acc *acc = user;
    store_profile *p = acc->p;
    if (p->n_rows == acc->cap) {
        int cap = acc->cap ? 2 * acc->cap : 64;
        store_op_row *rows = realloc(p->rows, (size_t)cap * sizeof *rows);
        if (!rows) return XQ_ERUN;
        p->rows = rows;
        acc->cap = cap;
    }
    double steps = (double)p->totals.steps;
    store_op_row *r = &p->rows[p->n_rows++];
    memset(r, 0, sizeof *r);
    r->layer = sqlite3_column_int(s, 0);
    r->op = sqlite3_column_int(s, 1);
    copy_text(r->name, sizeof r->name, s, 2);
    r->remat = sqlite3_column_int(s, 3) != 0;
    double *per_step[] = {&r->count,         &r->self_ns,          &r->flops,
                          &r->bytes_weights, &r->bytes_cache_read, &r->bytes_cache_write,
                          &r->bytes_act};
    for (int i = 0; i < 7; i++)
        *per_step[i] = sqlite3_column_double(s, 4 + i) / steps;
    return XQ_OK;
}

static int load_rows(const query *q, store_profile *p)
{
    static const char sql[] =
        "SELECT o.layer, o.op, coalesce(k.name, 'op' || o.op), max(o.remat), count(*), sum(o.self_ns), sum(o.flops), "
        "sum(o.bytes_weights), sum(o.bytes_cache_read), sum(o.bytes_cache_write), sum(o.bytes_act) "
        "FROM op o LEFT JOIN op_kind k ON k.id = o.op WHERE o.run = ?1 AND o.step IN (" SEL ") "
        "GROUP BY o.layer, o.op ORDER BY o.layer, o.op";
    rows_acc acc = {p, 0};
    int rc = run_query(q, sql, op_row, &acc);
    if (rc == XQ_ERUN && !q->err->msg[0]) return xq_fail(q->err, XQ_ERUN, "%s: out of memory", p->meta.path);
    return rc;
}

int store_profile_load(store_reader *r, int64_t run, const store_profile_opts *o, store_profile **out, xq_err *err)
{
    *out = NULL;
    int64_t id;
    int rc = store_reader_resolve_run(r, run, &id, err);
    if (rc) return rc;
    store_profile *p = calloc(1, sizeof *p);
    if (!p) return xq_fail(err, XQ_ERUN, "%s: out of memory", store_reader_path(r));
    xq_err local = {0};
    if (!err) err = &local;
    err->msg[0] = '\0';
    query q = {r, id, o->phase, 0, err};
    p->phase = o->phase;
    rc = load_meta(&q, &p->meta);
    if (!rc) rc = load_totals(&q, o->keep_fastest, &p->totals);
    if (!rc) rc = load_rows(&q, p);
    if (rc) {
        store_profile_free(p);
        return rc;
    }
    *out = p;
    return XQ_OK;
}

void store_profile_free(store_profile *p)
{
    if (!p) return;
    free(p->rows);
    free(p);
}

/* "run 3 of a.db (SmolLM2 …, sha b179c952…)" */
static void describe(const store_run_meta *m, char *buf, size_t cap)
{
    const char *name = m->model_name[0] ? m->model_name : "unnamed model";
    if (m->model_sha256[0])
        snprintf(buf, cap, "%s run %lld (%s, sha256 %.12s)", m->path, (long long)m->id, name, m->model_sha256);
    else
        snprintf(buf, cap, "%s run %lld (%s)", m->path, (long long)m->id, name);
}

int store_runs_same_model(const store_run_meta *a, const store_run_meta *b, xq_err *err)
{
    bool differ;
    if (a->model_sha256[0] && b->model_sha256[0])
        differ = strcmp(a->model_sha256, b->model_sha256) != 0;
    else if (a->model_config[0] && b->model_config[0])
        differ = strcmp(a->model_config, b->model_config) != 0;
    else
        differ = false; /* nothing to tell them apart by: the caller's word is taken */
    if (!differ) return XQ_OK;
    char da[1400], db[1400];
    describe(a, da, sizeof da);
    describe(b, db, sizeof db);
    return xq_fail(err, XQ_EINPUT, "%s and %s are runs of different models: not comparable", da, db);
}

bool store_json_number(const char *json, const char *key, double *out)
{
    char pattern[72];
    snprintf(pattern, sizeof pattern, "\"%s\"", key);
    const char *at = json ? strstr(json, pattern) : NULL;
    if (!at) return false;
    at += strlen(pattern);
    while (isspace((unsigned char)*at))
        at++;
    if (*at++ != ':') return false;
    while (isspace((unsigned char)*at))
        at++;
    if (!strncmp(at, "true", 4) || !strncmp(at, "false", 5)) {
        *out = at[0] == 't';
        return true;
    }
    char *end;
    double v = strtod(at, &end);
    if (end == at) return false;
    *out = v;
    return true;
}

/* ---- alignment ------------------------------------------------------------------------------------------- */

store_delta store_delta_of(double a, double b)
{
    store_delta d = {a, b, NAN, NAN};
    if (a != 0 && isfinite(a) && isfinite(b)) {
        d.ratio = b / a;
        d.delta_pct = 100 * (b - a) / a;
    }
    return d;
}

static void key_of(const store_op_row *r, store_align_by by, int *layer, int *op)
{
    *layer = by == STORE_BY_OP ? STORE_ALL_LAYERS : r->layer;
    *op = by == STORE_BY_LAYER ? STORE_ALL_OPS : r->op;
}

/* Rows by op are keyed by name (ids are the engine's, but names are what a reader sees); by layer, by layer. */
static bool same_key(const store_aligned_row *row, const store_op_row *r, store_align_by by)
{
    if (by == STORE_BY_LAYER) return row->layer == r->layer;
    if (by == STORE_BY_OP) return !strcmp(row->name, r->name);
    return row->layer == r->layer && !strcmp(row->name, r->name);
}

static void add_into(store_op_row *sum, const store_op_row *r)
{
    sum->count += r->count;
    sum->self_ns += r->self_ns;
    sum->flops += r->flops;
    sum->bytes_weights += r->bytes_weights;
    sum->bytes_cache_read += r->bytes_cache_read;
    sum->bytes_cache_write += r->bytes_cache_write;
    sum->bytes_act += r->bytes_act;
    sum->remat = sum->remat || r->remat;
}

static store_aligned_row *find_or_add(store_alignment *al, const store_op_row *r, store_align_by by)
{
    for (int i = 0; i < al->n_rows; i++)
        if (same_key(&al->rows[i], r, by)) return &al->rows[i];
    store_aligned_row *row = &al->rows[al->n_rows++];
    memset(row, 0, sizeof *row);
    key_of(r, by, &row->layer, &row->op);
    if (by != STORE_BY_LAYER) snprintf(row->name, sizeof row->name, "%s", r->name);
    store_op_row *sums[] = {&row->sum_a, &row->sum_b};
    for (int k = 0; k < 2; k++) {
        sums[k]->layer = row->layer;
        sums[k]->op = row->op;
        snprintf(sums[k]->name, sizeof sums[k]->name, "%s", row->name);
    }
    return row;
}

static int row_order(const void *x, const void *y)
{
    const store_aligned_row *a = x, *b = y;
    if (a->layer != b->layer) return a->layer < b->layer ? -1 : 1;
    if (a->op != b->op) return a->op < b->op ? -1 : 1;
    return strcmp(a->name, b->name);
}

static double cache_held(const store_step_totals *t)
{
    if (t->cache_persistent < 0) return NAN;
    return t->cache_persistent + (t->cache_residual > 0 ? t->cache_residual : 0);
}

static void align_totals(const store_profile *a, const store_profile *b, store_alignment *al)
{
    double ops_a = 0, ops_b = 0;
    for (int i = 0; i < a->n_rows; i++)
        ops_a += a->rows[i].self_ns;
    for (int i = 0; i < b->n_rows; i++)
        ops_b += b->rows[i].self_ns;
    al->ops_ns = store_delta_of(ops_a, ops_b);
    al->ms_per_token = store_delta_of(a->totals.ms_per_token, b->totals.ms_per_token);
    al->tokens_per_s = store_delta_of(a->totals.tokens_per_s, b->totals.tokens_per_s);
    al->cache_bytes = store_delta_of(cache_held(&a->totals), cache_held(&b->totals));
    al->mean_ctx = store_delta_of(a->totals.mean_ctx, b->totals.mean_ctx);
}

int store_align(const store_profile *a, const store_profile *b, store_align_by by, store_alignment *out, xq_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = store_runs_same_model(&a->meta, &b->meta, err);
    if (rc) return rc;
    int cap = a->n_rows + b->n_rows;
    out->rows = calloc(cap > 0 ? (size_t)cap : 1, sizeof *out->rows);
    if (!out->rows) return xq_fail(err, XQ_ERUN, "alignment: out of memory");
    for (int side = 0; side < 2; side++) {
        const store_profile *p = side ? b : a;
        for (int i = 0; i < p->n_rows; i++) {
            store_aligned_row *row = find_or_add(out, &p->rows[i], by);
            add_into(side ? &row->sum_b : &row->sum_a, &p->rows[i]);
            if (side)
                row->in_b = true;
            else
                row->in_a = true;
        }
    }
    /* A row only in b keeps the op id it has there, so that it sorts where the engine runs it. */
    qsort(out->rows, (size_t)out->n_rows, sizeof *out->rows, row_order);
    for (int i = 0; i < out->n_rows; i++) {
        store_aligned_row *row = &out->rows[i];
        row->self_ns = store_delta_of(row->sum_a.self_ns, row->sum_b.self_ns);
    }
    align_totals(a, b, out);
    return XQ_OK;
}

void store_alignment_free(store_alignment *al)
{
    free(al->rows);
    memset(al, 0, sizeof *al);
}
