/* Derived figures of a ui_data, shared by the views. */
#include "ui/data.h"

#include <stdlib.h>
#include <string.h>

ui_class ui_op_class(span_op op)
{
    switch (op) {
    case OP_MATMUL_Q: case OP_MATMUL_K: case OP_MATMUL_V: case OP_MATMUL_O: case OP_MATMUL_GATE:
    case OP_MATMUL_UP: case OP_MATMUL_DOWN: case OP_LM_HEAD: case OP_EMBED: return UI_WEIGHTS;
    case OP_ATTEND: case OP_CACHE_APPEND: case OP_ROPE: return UI_ATTENTION;
    case OP_REMAT: case OP_DEQUANT: return UI_REBUILD;
    default: return UI_OTHER;
    }
}

const char *ui_class_name(ui_class c)
{
    static const char *const names[UI_CLASS_COUNT] = {"weights", "attention", "rebuild", "other"};
    return c < UI_CLASS_COUNT ? names[c] : "?";
}

int64_t ui_agg_bytes(const prof_agg *a)
{
    return a->bytes_weights + a->bytes_cache_read + a->bytes_cache_write + a->bytes_act;
}

void ui_class_split(const ui_data *d, int64_t out[UI_CLASS_COUNT])
{
    memset(out, 0, sizeof(int64_t) * UI_CLASS_COUNT);
    for (int op = 0; op < OP_COUNT; op++)
        out[ui_op_class((span_op)op)] += d->op[op].self_ns;
}

double ui_decode_rate(const ui_data *d)
{
    int64_t tokens = 0, ns = 0;
    for (int i = d->n_steps - 1; i >= 0 && i >= d->n_steps - 32; i--) {
        if (d->step[i].prefill) continue;
        tokens += d->step[i].n_tokens;
        ns += d->step[i].ns;
    }
    return ns > 0 ? (double)tokens * 1e9 / (double)ns : 0.0;
}

double ui_prefill_rate(const ui_data *d)
{
    for (int i = d->n_steps - 1; i >= 0; i--)
        if (d->step[i].prefill && d->step[i].n_tokens > 1 && d->step[i].ns > 0)
            return (double)d->step[i].n_tokens * 1e9 / (double)d->step[i].ns;
    return 0.0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int64_t ui_decode_percentile(const ui_data *d, int pct)
{
    int64_t ns[UI_MAX_STEPS];
    int n = 0;
    for (int i = 0; i < d->n_steps; i++)
        if (!d->step[i].prefill) ns[n++] = d->step[i].ns;
    if (!n) return 0;
    qsort(ns, (size_t)n, sizeof ns[0], cmp_i64);
    int at = (int)((int64_t)(n - 1) * pct / 100);
    return ns[at];
}

void ui_rate_push(ui_data *d, double rate)
{
    if (d->n_rate == UI_RATE_HISTORY) {
        memmove(d->rate, d->rate + 1, sizeof(double) * (UI_RATE_HISTORY - 1));
        d->n_rate--;
    }
    d->rate[d->n_rate++] = rate;
}
