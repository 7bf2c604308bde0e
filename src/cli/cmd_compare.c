/* `xqprof compare A.db B.db`: two recorded runs of one model aligned by layer and op (src/store/align.h):
 * self time per step of each row in the baseline (A) and the compare run (B), their ratio and difference, and
 * the step totals; as text or CSV on stdout. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "store/align.h"

static const char *const CMD = "compare";

static void help(void)
{
    printf("usage: xqprof compare A.db B.db [--run-a N] [--run-b N] [--phase decode|prefill|all] [--by op|layer]\n"
           "                      [--csv]\n\n"
           "Aligns two recorded runs of one model (traces written with --trace) by layer and op and prints, per\n"
           "row, the self time per step of the baseline A and of B, the ratio B / A (×) and the difference\n"
           "(Δ%%), then the totals: all ops, ms per token, tokens/s, cache held at the last step, mean\n"
           "context. Rows that only one run has (rebuild work of an XQuant mode, say) show '-'. Runs of\n"
           "different models (model sha256, else model configuration) are refused. A and B may be one file.\n\n"
           "  --run-a N, --run-b N  runs to compare (default: the latest run of each file; when A and B are\n"
           "                        the same file, the run before the latest for A)\n"
           "  --phase P             decode (default), prefill or all steps\n"
           "  --by op|layer         one row per op name summed over layers (default), or per layer\n"
           "  --csv                 CSV on stdout: layer,op,metric,unit,baseline,compare,ratio,delta_pct\n"
           "  -h, --help            this help\n");
}

typedef struct compare_opts {
    const char *file_a, *file_b;
    long long run_a, run_b;
    store_phase phase;
    store_align_by by;
    bool csv;
} compare_opts;

static int parse_choice(const char *flag, const char *v, compare_opts *o)
{
    if (!strcmp(flag, "--phase")) {
        int p = store_phase_parse(v);
        if (p < 0) return cli_error(XQ_EINPUT, CMD, "--phase expects decode, prefill or all, got '%s'", v);
        o->phase = (store_phase)p;
        return XQ_OK;
    }
    if (!strcmp(v, "op"))
        o->by = STORE_BY_OP;
    else if (!strcmp(v, "layer"))
        o->by = STORE_BY_LAYER;
    else
        return cli_error(XQ_EINPUT, CMD, "--by expects op or layer, got '%s'", v);
    return XQ_OK;
}

static int parse(int argc, char **argv, compare_opts *o)
{
    static const struct option longs[] = {{"run-a", 1, 0, 'a'}, {"run-b", 1, 0, 'b'}, {"phase", 1, 0, 'p'},
                                          {"by", 1, 0, 'y'},    {"csv", 0, 0, 'c'},   {"help", 0, 0, 'h'},
                                          {0, 0, 0, 0}};
    *o = (compare_opts){.phase = STORE_PHASE_DECODE, .by = STORE_BY_OP};
    opterr = 0;
    optind = 1;
    int ch, rc = 0;
    while (!rc && (ch = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
        switch (ch) {
        case 'a': rc = cli_int(CMD, "--run-a", optarg, 1, 1LL << 62, &o->run_a); break;
        case 'b': rc = cli_int(CMD, "--run-b", optarg, 1, 1LL << 62, &o->run_b); break;
        case 'p': rc = parse_choice("--phase", optarg, o); break;
        case 'y': rc = parse_choice("--by", optarg, o); break;
        case 'c': o->csv = true; break;
        case 'h': help(); return -1;
        default: return cli_bad_option(CMD, ch, argv);
        }
    }
    if (rc) return rc;
    if (argc - optind != 2) return cli_error(XQ_EINPUT, CMD, "give two trace files (xqprof compare A.db B.db)");
    o->file_a = argv[optind];
    o->file_b = argv[optind + 1];
    return XQ_OK;
}

/* The baseline's run when A and B are one file and --run-a is not given: the one before B's. */
static int default_run_a(store_reader *r, const compare_opts *o, int64_t run_b, int64_t *run_a, xq_err *err)
{
    if (o->run_a > 0 || strcmp(o->file_a, o->file_b) != 0) return store_reader_resolve_run(r, o->run_a, run_a, err);
    sqlite3_stmt *s = NULL;
    sqlite3 *db = store_reader_db(r);
    int rc = sqlite3_prepare_v2(db, "SELECT max(id) FROM run WHERE id < ?1", -1, &s, NULL);
    if (rc == SQLITE_OK) sqlite3_bind_int64(s, 1, run_b);
    *run_a = rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    if (*run_a <= 0)
        return xq_fail(err, XQ_EINPUT, "%s holds no run before run %lld to compare it with: give --run-a", o->file_a,
                       (long long)run_b);
    return XQ_OK;
}

typedef struct loaded {
    store_reader *ra, *rb;
    store_profile *a, *b;
} loaded;

static void unload(loaded *l)
{
    store_profile_free(l->a);
    store_profile_free(l->b);
    store_reader_close(l->ra);
    store_reader_close(l->rb);
}

static int load(const compare_opts *o, loaded *l, xq_err *err)
{
    store_profile_opts po = {o->phase, 1.0};
    int64_t run_b = 0, run_a = 0;
    int rc = store_reader_open(o->file_a, &l->ra, err);
    if (!rc) rc = store_reader_open(o->file_b, &l->rb, err);
    if (!rc) rc = store_reader_resolve_run(l->rb, o->run_b, &run_b, err);
    if (!rc) rc = default_run_a(l->ra, o, run_b, &run_a, err);
    if (!rc) rc = store_profile_load(l->ra, run_a, &po, &l->a, err);
    if (!rc) rc = store_profile_load(l->rb, run_b, &po, &l->b, err);
    return rc;
}

/* ---- text ---------------------------------------------------------------------------------------------------- */

static void print_run(const char *label, const store_profile *p)
{
    const store_run_meta *m = &p->meta;
    printf("%-9s %s run %lld: %s", label, m->path, (long long)m->id, m->model_name[0] ? m->model_name : "?");
    if (m->model_sha256[0]) printf(" (sha256 %.12s)", m->model_sha256);
    printf(", %s, %d threads; %s: %lld steps, %lld tokens, mean ctx %.1f\n", m->cache_mode[0] ? m->cache_mode : "?",
           m->threads, store_phase_name(p->phase), (long long)p->totals.steps, (long long)p->totals.tokens,
           p->totals.mean_ctx);
}

static void print_value(double v, int decimals)
{
    if (isnan(v))
        printf(" %12s", "-");
    else
        printf(" %12.*f", decimals, v);
}

static void print_delta(const char *label, store_delta d, double scale, int decimals)
{
    printf("%-20s", label);
    print_value(d.a * scale, decimals);
    print_value(d.b * scale, decimals);
    if (isnan(d.ratio))
        printf(" %8s  %9s\n", "-", isnan(d.a) ? "new" : isnan(d.b) ? "gone" : "-");
    else
        printf(" %8.2f× %+8.1f%%\n", d.ratio, d.delta_pct); /* × is one column wide, two bytes */
}

static void row_label(const store_aligned_row *row, char *buf, size_t cap)
{
    if (row->op != STORE_ALL_OPS && row->layer == STORE_ALL_LAYERS)
        snprintf(buf, cap, "%s", row->name);
    else if (row->op == STORE_ALL_OPS)
        snprintf(buf, cap, row->layer < 0 ? "other (no layer)" : "layer %d", row->layer);
    else
        snprintf(buf, cap, "%d %s", row->layer, row->name);
}

static store_delta nan_if_absent(const store_aligned_row *row)
{
    store_delta d = row->self_ns;
    if (!row->in_a) d.a = NAN;
    if (!row->in_b) d.b = NAN;
    return d;
}

static void print_text(const compare_opts *o, const loaded *l, const store_alignment *al)
{
    print_run("baseline", l->a);
    print_run("compare", l->b);
    printf("\nself time per %s step, by %s (ms); × = compare / baseline, Δ%% = (compare − baseline) / baseline\n",
           store_phase_name(o->phase), o->by == STORE_BY_OP ? "op" : "layer");
    printf("%-20s %12s %12s %8s× %7sΔ%%\n", o->by == STORE_BY_OP ? "op" : "layer", "baseline", "compare", "", "");
    for (int i = 0; i < al->n_rows; i++) {
        char label[48];
        row_label(&al->rows[i], label, sizeof label);
        print_delta(label, nan_if_absent(&al->rows[i]), 1e-6, 3);
    }
    print_delta("all ops", al->ops_ns, 1e-6, 3);
    printf("\ntotals (%s steps)\n", store_phase_name(o->phase));
    print_delta("ms per token", al->ms_per_token, 1, 3);
    print_delta("tokens/s", al->tokens_per_s, 1, 2);
    print_delta("cache MB (last step)", al->cache_bytes, 1e-6, 3);
    print_delta("mean ctx", al->mean_ctx, 1, 1);
}

/* ---- CSV ----------------------------------------------------------------------------------------------------- */

static void csv_number(double v)
{
    if (!isnan(v)) printf("%.9g", v);
}

static void csv_line(const char *layer, const char *op, const char *metric, const char *unit, store_delta d)
{
    printf("%s,%s,%s,%s,", layer, op, metric, unit);
    csv_number(d.a);
    putchar(',');
    csv_number(d.b);
    putchar(',');
    csv_number(d.ratio);
    putchar(',');
    csv_number(d.delta_pct);
    putchar('\n');
}

static store_delta scaled(store_delta d, double k)
{
    d.a *= k;
    d.b *= k;
    return d;
}

static void print_csv(const store_alignment *al)
{
    printf("layer,op,metric,unit,baseline,compare,ratio,delta_pct\n");
    for (int i = 0; i < al->n_rows; i++) {
        const store_aligned_row *row = &al->rows[i];
        char layer[16] = "";
        if (row->layer != STORE_ALL_LAYERS) snprintf(layer, sizeof layer, "%d", row->layer);
        csv_line(layer, row->name, "self_time", "ms", scaled(nan_if_absent(row), 1e-6));
    }
    csv_line("", "", "ops_time", "ms", scaled(al->ops_ns, 1e-6));
    csv_line("", "", "time_per_token", "ms", al->ms_per_token);
    csv_line("", "", "tokens_per_s", "1/s", al->tokens_per_s);
    csv_line("", "", "cache", "bytes", al->cache_bytes);
    csv_line("", "", "mean_ctx", "tokens", al->mean_ctx);
}

int cmd_compare(int argc, char **argv)
{
    compare_opts o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    xq_err err = {0};
    loaded l = {0};
    store_alignment al = {0};
    rc = load(&o, &l, &err);
    if (!rc) rc = store_align(l.a, l.b, o.by, &al, &err);
    if (rc) {
        unload(&l);
        xq_err_prefix(&err, CMD);
        return cli_report(&err);
    }
    if (o.csv)
        print_csv(&al);
    else
        print_text(&o, &l, &al);
    store_alignment_free(&al);
    unload(&l);
    if (fflush(stdout) != 0 || ferror(stdout)) return cli_error(XQ_ERUN, CMD, "cannot write to stdout");
    return XQ_OK;
}
