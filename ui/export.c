/* --once output (export.h): a small emitter that writes the same fields as JSON or CSV, and one function per
 * view choosing the fields. */
#include "ui/export.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/status.h"
#include "ui/layer_rows.h"
#include "ui/view.h"

enum { DECIMALS = 3, LINE_MAX = 4096 };

typedef struct emit {
    FILE *f;
    ui_format fmt;
    bool table; /* CSV: the view is a table, so only its rows are written */
    bool in_rows, in_row;
    int fields;                          /* fields written in the current object or row */
    int rows;                            /* rows written */
    char head[LINE_MAX], line[LINE_MAX]; /* CSV: the header (from the first row's keys) and the row being built */
    size_t head_len, line_len;
} emit;

static void append(char *buf, size_t *len, const char *s)
{
    size_t n = strlen(s);
    if (*len + n >= LINE_MAX) n = LINE_MAX - 1 - *len; /* a row wider than 4 KB is cut, never overflows */
    memcpy(buf + *len, s, n);
    *len += n;
    buf[*len] = 0;
}

/* A string as a JSON literal or a CSV field (quoted only when it must be). */
static void quote(const emit *e, const char *s, char *out, size_t size)
{
    size_t n = 0;
    bool csv = e->fmt == UI_FORMAT_CSV, q = !csv || strpbrk(s, ",\"\n\r");
    if (q) out[n++] = '"';
    for (; *s && n + 8 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"')
            n += (size_t)snprintf(out + n, size - n, csv ? "\"\"" : "\\\"");
        else if (!csv && c == '\\')
            n += (size_t)snprintf(out + n, size - n, "\\\\");
        else if (!csv && c < 0x20)
            n += (size_t)snprintf(out + n, size - n, "\\u%04x", c);
        else
            out[n++] = (char)c;
    }
    if (q) out[n++] = '"';
    out[n] = 0;
}

/* One field whose value is already a literal ("12", "\"text\"", "null"). */
static void field(emit *e, const char *key, const char *lit)
{
    if (e->fmt == UI_FORMAT_JSON) {
        const char *sep = e->in_row ? (e->fields ? ", " : "") : (e->fields ? ",\n  " : "\n  ");
        fprintf(e->f, "%s\"%s\": %s", sep, key, lit);
    } else if (e->in_row) {
        if (e->rows == 0) {
            if (e->fields) append(e->head, &e->head_len, ",");
            append(e->head, &e->head_len, key);
        }
        if (e->fields) append(e->line, &e->line_len, ",");
        append(e->line, &e->line_len, strcmp(lit, "null") ? lit : "");
    } else if (!e->table) {
        fprintf(e->f, "%s,%s\n", key, strcmp(lit, "null") ? lit : "");
    }
    e->fields++;
}

static void e_str(emit *e, const char *key, const char *s)
{
    char lit[1024];
    quote(e, s, lit, sizeof lit);
    field(e, key, lit);
}

static void e_int(emit *e, const char *key, long long v)
{
    char lit[32];
    snprintf(lit, sizeof lit, "%lld", v);
    field(e, key, lit);
}

/* A count or a size that may be unknown (null). */
static void e_count(emit *e, const char *key, long long v, bool known)
{
    if (known)
        e_int(e, key, v);
    else
        field(e, key, "null");
}

/* A derived number, 3 decimals; NaN, infinities and unknowns (known = false) are null. */
static void e_num(emit *e, const char *key, double v, bool known)
{
    char lit[64];
    if (!known || !isfinite(v))
        snprintf(lit, sizeof lit, "null");
    else
        snprintf(lit, sizeof lit, "%.*f", DECIMALS, v == 0 ? 0.0 : v); /* no "-0.000" */
    field(e, key, lit);
}

static void e_begin(emit *e, FILE *f, ui_format fmt, bool table, const char *view)
{
    *e = (emit){.f = f, .fmt = fmt, .table = table};
    if (fmt == UI_FORMAT_JSON)
        fputc('{', f);
    else if (!table)
        fprintf(f, "key,value\n");
    e_str(e, "view", view);
}

static void e_rows_begin(emit *e)
{
    if (e->fmt == UI_FORMAT_JSON) fprintf(e->f, "%s\"rows\": [", e->fields ? ",\n  " : "\n  ");
    e->in_rows = true;
    e->rows = 0;
}

static void e_row_begin(emit *e)
{
    if (e->fmt == UI_FORMAT_JSON) fprintf(e->f, "%s\n    {", e->rows ? "," : "");
    e->in_row = true;
    e->line_len = 0;
    e->line[0] = 0;
    e->fields = 0;
}

static void e_row_end(emit *e)
{
    if (e->fmt == UI_FORMAT_JSON)
        fputc('}', e->f);
    else if (e->table)
        fprintf(e->f, "%s%s%s\n", e->rows ? "" : e->head, e->rows ? "" : "\n", e->line);
    e->in_row = false;
    e->rows++;
}

static void e_rows_end(emit *e)
{
    if (e->fmt == UI_FORMAT_JSON) fprintf(e->f, "%s]", e->rows ? "\n  " : "");
    e->in_rows = false;
    e->fields = 1;
}

static void e_end(emit *e)
{
    if (e->fmt == UI_FORMAT_JSON) fprintf(e->f, "\n}\n");
}

/* What every view starts with: which run, which device, which peaks the percentages name. */
static void e_common(emit *e, const ui_data *d)
{
    bool peaks = d->peak_flops > 0 && d->peak_bytes_per_s > 0;
    e_str(e, "source", d->live ? "live" : "recorded");
    e_str(e, "status", d->status);
    e_str(e, "model", d->title);
    e_str(e, "mode", d->mode);
    e_str(e, "device", d->device);
    e_int(e, "threads", d->threads);
    e_num(e, "peak_gflop_s", d->peak_flops / 1e9, peaks);
    e_num(e, "peak_gb_s", d->peak_bytes_per_s / 1e9, peaks);
    e_num(e, "ridge_flop_per_byte", peaks ? d->peak_flops / d->peak_bytes_per_s : 0, peaks);
    if (!peaks) e_str(e, "peaks_why", d->peak_why);
    e_int(e, "window_steps", d->window_steps);
    e_int(e, "ctx", d->ctx);
    e_int(e, "n_ctx_max", d->n_ctx_max);
    if (d->error[0]) e_str(e, "error", d->error);
}

static int64_t held_bytes(const ui_data *d)
{
    return d->n_steps ? d->step[d->n_steps - 1].cache_persistent : -1;
}

/* The op kinds of one class summed into a row, so that its bound is judged like a layer's. */
static ui_row class_row(const ui_data *d, ui_class k)
{
    ui_row r = {.id = (int)k, .cache_bytes = -1};
    for (int op = 0; op < OP_COUNT; op++) {
        if (ui_op_class((span_op)op) != k) continue;
        r.count += d->op[op].count;
        r.self_ns += d->op[op].self_ns;
        r.flops += d->op[op].flops;
        r.bytes += ui_agg_bytes(&d->op[op]);
        r.remat_ns += d->op[op].remat_ns;
    }
    return r;
}

static void overview(emit *e, const ui_data *d)
{
    int64_t split[UI_CLASS_COUNT], total = 0;
    ui_class_split(d, split);
    for (int k = 0; k < UI_CLASS_COUNT; k++)
        total += split[k];
    double steps = d->window_steps > 0 ? d->window_steps : 1, pf = ui_prefill_rate(d);
    e_num(e, "decode_tokens_per_s", ui_decode_rate(d), true);
    e_num(e, "step_p50_ms", (double)ui_decode_percentile(d, 50) / 1e6, true);
    e_num(e, "step_p99_ms", (double)ui_decode_percentile(d, 99) / 1e6, true);
    e_num(e, "prefill_tokens_per_s", pf, pf > 0);
    e_num(e, "ms_per_step", (double)total / steps / 1e6, true);
    for (int k = 0; k < UI_CLASS_COUNT; k++) {
        char key[64];
        const char *name = ui_class_name((ui_class)k);
        ui_row r = class_row(d, (ui_class)k);
        snprintf(key, sizeof key, "%s_ms_per_step", name);
        e_num(e, key, (double)split[k] / steps / 1e6, true);
        snprintf(key, sizeof key, "%s_share_pct", name);
        e_num(e, key, total ? 100.0 * (double)split[k] / (double)total : 0, true);
        snprintf(key, sizeof key, "%s_bound", name);
        e_str(e, key, ui_bound_name(ui_row_figures(d, &r, total).bound));
    }
    double fp16 = d->fp16_bytes_per_token * (double)d->ctx;
    int64_t held = held_bytes(d);
    e_num(e, "cache_fp16_bytes", fp16, true);
    e_count(e, "cache_held_bytes", held, held >= 0);
    e_count(e, "cache_ring_bytes", d->n_steps ? d->step[d->n_steps - 1].cache_ring : 0, held >= 0);
    e_num(e, "cache_saved_bytes", fp16 - (double)held, held >= 0);
    e_num(e, "cache_ratio", held > 0 ? fp16 / (double)held : 0, held > 0);
}

static void figures(emit *e, const ui_figures *g)
{
    e_num(e, "ms_per_step", g->ns_per_step / 1e6, true);
    e_num(e, "share_pct", 100 * g->share, true);
    e_num(e, "gb_s", g->bytes_per_s / 1e9, true);
    e_num(e, "gflop_s", g->flops_per_s / 1e9, true);
    e_num(e, "flop_per_byte", g->flops_per_byte, true);
    e_str(e, "bound", ui_bound_name(g->bound));
    e_num(e, "mem_pct_of_peak", 100 * g->mem_of_peak, g->bound != UI_BOUND_NA);
    e_num(e, "cmp_pct_of_peak", 100 * g->cmp_of_peak, g->bound != UI_BOUND_NA);
}

static void layer_table(emit *e, const ui_data *d, const ui_filter *f)
{
    static ui_row rows[UI_MAX_LAYERS];
    int n = ui_layer_rows(d, f, false, rows);
    int64_t total = 0;
    for (int i = 0; i < d->n_layer; i++)
        total += d->layer[i].agg.self_ns;
    e_rows_begin(e);
    for (int i = 0; i < n; i++) {
        ui_figures g = ui_row_figures(d, &rows[i], total);
        e_row_begin(e);
        e_int(e, "layer", rows[i].id);
        figures(e, &g);
        e_num(e, "rebuild_ms_per_step", g.rebuild_ns_per_step / 1e6, true);
        e_count(e, "cache_bytes", rows[i].cache_bytes, rows[i].cache_bytes >= 0);
        e_row_end(e);
    }
    e_rows_end(e);
}

static void op_table(emit *e, const ui_data *d, const ui_filter *f, int layer)
{
    ui_row rows[OP_COUNT];
    int n = ui_op_rows(d, layer, f, false, rows);
    int64_t total = layer < d->n_layer ? d->layer[layer].agg.self_ns : 0;
    e_rows_begin(e);
    for (int i = 0; i < n; i++) {
        ui_figures g = ui_row_figures(d, &rows[i], total);
        e_row_begin(e);
        e_str(e, "op", span_op_name((span_op)rows[i].id));
        e_num(e, "calls_per_step", g.calls_per_step, true);
        figures(e, &g);
        e_row_end(e);
    }
    e_rows_end(e);
}

static void layers(emit *e, const ui_export_req *r)
{
    ui_filter f;
    ui_filter_parse(r->filter, &f);
    e_str(e, "filter", r->filter ? r->filter : "");
    if (r->layer >= 0) {
        e_int(e, "layer", r->layer);
        if (!r->d->layer_ops_known)
            e_str(e, "empty", "ops of one layer: N/A while --trace records (xqprof view the trace)");
        op_table(e, r->d, &f, r->layer);
    } else {
        layer_table(e, r->d, &f);
    }
}

static void roofline(emit *e, const ui_export_req *r)
{
    const ui_data *d = r->d;
    e_str(e, "overlay_gpus", r->gpus ? r->gpus : "");
    int64_t total = 0;
    for (int op = 0; op < OP_COUNT; op++)
        total += d->op[op].self_ns;
    e_rows_begin(e);
    for (int op = 0; op < OP_COUNT; op++) {
        const prof_agg *a = &d->op[op];
        ui_row row = {.id = op,
                      .count = a->count,
                      .self_ns = a->self_ns,
                      .flops = a->flops,
                      .bytes = ui_agg_bytes(a),
                      .remat_ns = a->remat_ns,
                      .cache_bytes = -1};
        if (row.flops <= 0 || row.bytes <= 0 || row.self_ns <= 0) continue; /* not a point on the plot */
        ui_figures g = ui_row_figures(d, &row, total);
        e_row_begin(e);
        e_str(e, "op", span_op_name((span_op)op));
        e_num(e, "calls_per_step", g.calls_per_step, true);
        figures(e, &g);
        e_row_end(e);
    }
    e_rows_end(e);
}

static void timeline(emit *e, const ui_data *d)
{
    e_rows_begin(e);
    for (int i = 0; i < d->n_steps; i++) {
        const ui_step *s = &d->step[i];
        e_row_begin(e);
        e_int(e, "step", s->index);
        e_str(e, "phase", s->prefill ? "prefill" : "decode");
        e_int(e, "n_tokens", s->n_tokens);
        e_int(e, "n_ctx", s->n_ctx);
        e_int(e, "ns", s->ns);
        for (int k = 0; k < UI_CLASS_COUNT; k++) {
            char key[32];
            snprintf(key, sizeof key, "%s_ns", ui_class_name((ui_class)k));
            e_count(e, key, s->class_ns[k], s->classes_known);
        }
        e_count(e, "cache_bytes", s->cache_persistent, s->cache_persistent >= 0);
        e_row_end(e);
    }
    e_rows_end(e);
}

static void modes(emit *e, const ui_data *d)
{
    if (!d->live) {
        e_str(e, "empty", "a recorded run: its mode is fixed; switching modes needs a live run (xqprof top)");
        return;
    }
    int64_t held = held_bytes(d);
    e_num(e, "cache_bytes_per_token", held >= 0 && d->ctx > 0 ? (double)held / (double)d->ctx : 0,
          held >= 0 && d->ctx > 0);
    e_num(e, "fp16_bytes_per_token", d->fp16_bytes_per_token, true);
    e_int(e, "probe_every", d->probe_every);
    if (d->mode_note[0]) e_str(e, "note", d->mode_note);
    e_rows_begin(e);
    for (int i = 0; i < d->n_segments && i < UI_MAX_SEGMENTS; i++) {
        const ui_mode_segment *s = &d->segment[i];
        e_row_begin(e);
        e_str(e, "mode", s->mode);
        e_int(e, "first_step", s->first_step);
        e_num(e, "bytes_per_token", s->bytes_per_token, true);
        e_num(e, "decode_tokens_per_s", s->decode_ns > 0 ? (double)s->decode_tokens * 1e9 / (double)s->decode_ns : 0,
              s->decode_ns > 0);
        e_num(e, "switch_ms", (double)s->switch_ns / 1e6, true);
        e_int(e, "probe_checks", s->probe_checks);
        e_num(e, "probe_top1_pct", s->probe_checks ? 100.0 * (double)s->probe_top1_same / (double)s->probe_checks : 0,
              s->probe_checks > 0);
        e_num(e, "probe_kl_mean", s->probe_checks ? s->probe_kl_sum / (double)s->probe_checks : 0, s->probe_checks > 0);
        e_row_end(e);
    }
    e_rows_end(e);
}

/* Compare: which runs, the step totals, then the aligned rows: per layer, or the ops of --layer N. */
static void compare_run(emit *e, const char *side, const ui_compare_run *run)
{
    char key[48];
    snprintf(key, sizeof key, "%s_file", side);
    e_str(e, key, run->file);
    snprintf(key, sizeof key, "%s_run", side);
    e_int(e, key, run->run);
    snprintf(key, sizeof key, "%s_model", side);
    e_str(e, key, run->model);
    snprintf(key, sizeof key, "%s_mode", side);
    e_str(e, key, run->mode);
    snprintf(key, sizeof key, "%s_steps", side);
    e_int(e, key, run->steps);
    snprintf(key, sizeof key, "%s_tokens", side);
    e_int(e, key, run->tokens);
}

/* name_baseline, name_compare, name_GAIN (how many times better compare is: baseline ÷ compare, or the
 * inverse for rates), name_delta_pct */
static void compare_total(emit *e, const char *name, store_delta d, bool higher_is_better,
                          const char *gain_name)
{
    char key[64];
    snprintf(key, sizeof key, "%s_baseline", name);
    e_num(e, key, d.a, isfinite(d.a));
    snprintf(key, sizeof key, "%s_compare", name);
    e_num(e, key, d.b, isfinite(d.b));
    double gain = higher_is_better ? d.ratio : 1.0 / d.ratio;
    snprintf(key, sizeof key, "%s_%s", name, gain_name);
    e_num(e, key, gain, isfinite(d.ratio) && d.ratio != 0);
    snprintf(key, sizeof key, "%s_delta_pct", name);
    e_num(e, key, d.delta_pct, isfinite(d.delta_pct));
}

static void compare_row(emit *e, const store_aligned_row *row, bool op)
{
    double speedup = ui_compare_speedup(row);
    e_row_begin(e);
    e_int(e, "layer", row->layer);
    if (op) e_str(e, "op", row->name);
    e_num(e, "baseline_ms", row->self_ns.a / 1e6, row->in_a);
    e_num(e, "compare_ms", row->self_ns.b / 1e6, row->in_b);
    e_num(e, "speedup", speedup, isfinite(speedup));
    e_num(e, "delta_pct", row->self_ns.delta_pct, row->in_a && row->in_b);
    e_row_end(e);
}

static void compare(emit *e, const ui_export_req *r)
{
    const ui_compare *c = r->cmp;
    if (!c) {
        e_str(e, "empty", r->other_why ? r->other_why : "Compare: needs a second run (xqprof view A.db B.db)");
        return;
    }
    if (c->a.file[0]) {
        compare_run(e, "baseline", &c->a);
        compare_run(e, "compare", &c->b);
    }
    if (c->why[0]) {
        e_str(e, c->refused ? "refused" : "empty", c->why);
        return;
    }
    e_str(e, "phase", store_phase_name(c->phase));
    compare_total(e, "ms_per_token", c->layers.ms_per_token, false, "speedup");
    compare_total(e, "tokens_per_s", c->layers.tokens_per_s, true, "speedup");
    compare_total(e, "cache_bytes", c->layers.cache_bytes, false, "times_less");
    if (r->layer >= 0) e_int(e, "layer", r->layer);
    e_rows_begin(e);
    int first = 0, n = r->layer >= 0 ? ui_compare_layer_ops(c, r->layer, &first) : c->layers.n_rows;
    for (int i = 0; i < n; i++)
        compare_row(e, r->layer >= 0 ? &c->ops.rows[first + i] : &c->layers.rows[i], r->layer >= 0);
    e_rows_end(e);
}

static bool is_table(const ui_export_req *r)
{
    switch (r->view) {
    case UI_VIEW_LAYERS:
    case UI_VIEW_ROOFLINE:
    case UI_VIEW_TIMELINE: return true;
    case UI_VIEW_MODES: return r->d->live;
    case UI_VIEW_COMPARE: return r->cmp && !r->cmp->why[0];
    default: return false;
    }
}

int ui_export(FILE *f, const ui_export_req *r)
{
    emit e;
    e_begin(&e, f, r->format, is_table(r), ui_view_name(r->view));
    e_common(&e, r->d);
    switch (r->view) {
    case UI_VIEW_OVERVIEW: overview(&e, r->d); break;
    case UI_VIEW_LAYERS: layers(&e, r); break;
    case UI_VIEW_ROOFLINE: roofline(&e, r); break;
    case UI_VIEW_TIMELINE: timeline(&e, r->d); break;
    case UI_VIEW_MODES: modes(&e, r->d); break;
    case UI_VIEW_COMPARE: compare(&e, r); break;
    default: break;
    }
    e_end(&e);
    return fflush(f) == 0 && !ferror(f) ? 0 : XQ_ERUN;
}
