/* Attention for the quantized modes, tile by tile over the keys (see remat.h for the three phases). The
 * softmax is online (running max and sum per query and head) over the same tiles at the same absolute positions
 * whatever the batch, and every other step (the rebuild products included) is per row: so a prefill repeats the
 * arithmetic of token-by-token decoding bit for bit. Attention runs in f32 on the dequantized or
 * rebuilt rows (no fp16 rounding of q and p, unlike the fp16 baseline). */
#include <math.h>
#include <string.h>

#include "base/pool.h"
#include "cache/remat.h"
#include "model/qtypes.h"
#include "ops/ops.h"
#include "ops/vexp.h"

/* What one attend call works on; shared by the pool tasks. */
typedef struct attend_call {
    remat_cache *rc;
    int il;
    const remat_layer *L;
    const model_layer *ml;
    int64_t pos0, n_tok;
    const float *q;
    float *out;
    remat_tile tile;
    bool x_kind;     /* K and V rebuilt from X̂ rows by the model's Wk and Wv (not from SVD latents) */
    int64_t src_ld;  /* stride of the rows in src_*: d for X̂, d_kv for xq-svd's latents (packed for ops_matmul) */
    bool absorb;
    int w_acc; /* accumulator width: head_dim, or the V source's width when absorbing */
    int stage; /* LK_DELTA_LATENT's phase A: 0 = dequantize latents, 1 = X̂ rows for the GEMMs */
} attend_call;

static const qstream *key_source(const remat_layer *L) { return &L->s[0]; }
static const qstream *value_source(const remat_layer *L) { return L->n_streams == 2 ? &L->s[1] : &L->s[0]; }

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static row_range clip(int64_t lo, int64_t hi) { return (row_range){lo, hi > lo ? hi : lo}; }
static int64_t rows_in(row_range r) { return r.hi > r.lo ? r.hi - r.lo : 0; }

static row_range part_of(row_range r, int ith, int nth)
{
    if (r.hi <= r.lo) return (row_range){0, 0};
    long long lo, hi;
    xq_split_range(r.hi - r.lo, ith, nth, &lo, &hi);
    return (row_range){r.lo + lo, r.lo + hi};
}

/* ---- phase A: rows of the streams in the views the queries need ------------------------------------------- */

static float *at_row(const attend_call *a, float *buf, int64_t ld, int64_t j) { return buf + (j - a->tile.j0) * ld; }

static void read_view(const attend_call *a, const qstream *qs, bool quant, row_range r, float *buf, int64_t ld)
{
    if (r.hi <= r.lo) return;
    if (quant) qstream_read_quant(qs, r.lo, r.hi, at_row(a, buf, ld, r.lo), ld);
    else qstream_read_fp16(qs, r.lo, r.hi, at_row(a, buf, ld, r.lo), ld);
}

/* One stream's rows of this thread: quantized and fp16 rows into main, both-views rows in fp16 into extra. */
static void read_stream(const attend_call *a, const qstream *qs, const tile_rows *r, float *main, float *extra,
                        int64_t ld)
{
    read_view(a, qs, true, r->quant, main, ld);
    read_view(a, qs, false, r->fp16, main, ld);
    read_view(a, qs, false, r->extra, extra, ld);
}

static void rope_range(const attend_call *a, float *buf, row_range r)
{
    const remat_cache *rc = a->rc;
    if (rows_in(r)) remat_rope_rows(rc, at_row(a, buf, rc->d_kv, r.lo), rc->d_kv, rows_in(r), r.lo, 0, rc->n_head_kv);
}

static void fill_kv(const attend_call *a, const remat_tile *p)
{
    const remat_cache *rc = a->rc;
    const remat_layer *L = a->L;
    read_stream(a, &L->s[0], &p->k, rc->km, rc->kx, rc->d_kv);
    read_stream(a, &L->s[1], &p->v, rc->vm, rc->vx, rc->d_kv);
    if (L->k_rotated) return;
    rope_range(a, rc->km, p->k.quant);
    rope_range(a, rc->km, p->k.fp16);
    rope_range(a, rc->kx, p->k.extra);
}

static void fill_latent(const attend_call *a, const remat_tile *p)
{
    const remat_cache *rc = a->rc;
    read_stream(a, &a->L->s[0], &p->k, rc->src_km, rc->src_kx, a->src_ld);
    read_stream(a, &a->L->s[1], &p->v, rc->src_vm, rc->src_vx, a->src_ld);
}

/* The K and V products take raw X̂ rows (ops_matmul converts them as the forward pass does); with --absorb-v
 * the attention itself reads X̂ as Wv's product would see it, so that copy is made here. */
static void convert_for_weights(const attend_call *a, const float *row_k, float *row_v)
{
    if (a->absorb) qt_act_roundtrip(a->ml->wv.type, row_k, row_v, a->rc->d);
}

/* Quantized view of X̂ for the X kinds: stored rows (LK_X), or the accumulator after this layer's delta. */
static void fill_x_quant_rows(const attend_call *a, row_range r)
{
    remat_cache *rc = a->rc;
    const remat_layer *L = a->L;
    int d = rc->d;
    for (int64_t j = r.lo; j < r.hi; j++) {
        float *row = at_row(a, rc->src_km, a->src_ld, j), *acc = rc->acc ? rc->acc + j * d : NULL;
        bool old = j < a->pos0; /* rows of this call were brought up to date by append */
        if (L->kind == LK_X) {
            qstream_read_quant(&L->s[0], j, j + 1, row, d);
            if (L->sets_acc && old) memcpy(acc, row, (size_t)d * sizeof(float));
        } else {
            if (L->kind == LK_DELTA && old) {
                qstream_read_quant(&L->s[0], j, j + 1, row, d);
                for (int c = 0; c < d; c++) acc[c] += row[c];
            }
            memcpy(row, acc, (size_t)d * sizeof(float));
        }
        convert_for_weights(a, row, at_row(a, rc->src_vm, a->src_ld, j));
    }
}

static void fill_x_fp16_rows(const attend_call *a, row_range r, float *main_k, float *main_v)
{
    const remat_layer *L = a->L;
    int64_t ld = a->src_ld;
    if (r.hi <= r.lo) return;
    if (L->kind == LK_X) qstream_read_fp16(&L->s[0], r.lo, r.hi, at_row(a, main_k, ld, r.lo), ld);
    else rowring_read_fp16(&L->x_ring, r.lo, r.hi, at_row(a, main_k, ld, r.lo), ld);
    for (int64_t j = r.lo; j < r.hi; j++) convert_for_weights(a, at_row(a, main_k, ld, j), at_row(a, main_v, ld, j));
}

static row_range old_quant_rows(const attend_call *a, row_range quant)
{
    return clip(quant.lo, min64(quant.hi, a->pos0));
}

static void fill_task(void *ctx, int ith, int nth)
{
    const attend_call *a = ctx;
    const remat_tile *t = &a->tile;
    remat_cache *rc = a->rc;
    remat_tile p = *t;
    p.k.quant = part_of(t->k.quant, ith, nth), p.k.fp16 = part_of(t->k.fp16, ith, nth);
    p.k.extra = part_of(t->k.extra, ith, nth);
    p.v.quant = part_of(t->v.quant, ith, nth), p.v.fp16 = part_of(t->v.fp16, ith, nth);
    p.v.extra = part_of(t->v.extra, ith, nth);
    if (a->L->kind == LK_KV) {
        fill_kv(a, &p);
    } else if (a->L->kind == LK_LATENT) {
        fill_latent(a, &p);
    } else if (a->L->kind == LK_DELTA_LATENT && a->stage == 0) {
        read_view(a, &a->L->s[0], true, part_of(old_quant_rows(a, t->k.quant), ith, nth), rc->lat, rc->latent_width);
    } else {
        fill_x_quant_rows(a, p.k.quant);
        fill_x_fp16_rows(a, p.k.fp16, rc->src_km, rc->src_vm);
        fill_x_fp16_rows(a, p.k.extra, rc->src_kx, rc->src_vx);
    }
}

static void phase_fill(attend_call *a)
{
    remat_cache *rc = a->rc;
    xq_pool *pool = ops_pool(rc->base.ops_ctx);
    const remat_tile *t = &a->tile;
    int64_t rows = rows_in(t->k.quant) + rows_in(t->k.fp16) + rows_in(t->k.extra);
    int width = 0;
    for (int s = 0; s < a->L->n_streams; s++) width += a->L->s[s].spec.width;
    span_shape sh = {.m = rows, .n = width, .k = a->L->s[0].spec.bits, .cache_mode = rc->base.mode,
                     .ctx = a->pos0 + a->n_tok};
    span_begin(rc->base.sink, OP_DEQUANT, a->il, &sh);
    a->stage = 0;
    xq_pool_run(pool, fill_task, a);
    span_end(rc->base.sink, OP_DEQUANT, a->il);
    if (a->L->kind != LK_DELTA_LATENT) return;
    remat_accumulate_latents(rc, a->il, a->L, t->j0, old_quant_rows(a, t->k.quant));
    a->stage = 1;
    xq_pool_run(pool, fill_task, a);
}

void remat_accumulate_latents(remat_cache *rc, int il, const remat_layer *L, int64_t j0, row_range rows)
{
    if (rows.hi <= rows.lo) return;
    const svd_factor *f = L->fkv;
    int d = rc->d;
    model_tensor U = {.data = f->u, .type = QT_F32, .cols = f->rank, .rows = d,
                      .row_bytes = (uint64_t)f->rank * sizeof(float)};
    span_shape sh = {.m = rows.hi - rows.lo, .n = d, .k = f->rank, .dtype = QT_F32, .cache_mode = rc->base.mode,
                     .ctx = 0};
    span_begin(rc->base.sink, OP_REMAT, il, &sh);
    ops_matmul(rc->tile_ops, &U, rc->lat + (rows.lo - j0) * rc->latent_width, rows.hi - rows.lo,
               rc->lat_out + (rows.lo - j0) * d);
    span_end(rc->base.sink, OP_REMAT, il);
    for (int64_t j = rows.lo; j < rows.hi; j++) {
        float *acc = rc->acc + j * d;
        const float *add = rc->lat_out + (j - j0) * d;
        if (L->chain_from_zero) memcpy(acc, add, (size_t)d * sizeof(float));
        else
            for (int c = 0; c < d; c++) acc[c] += add[c];
    }
}

/* ---- phase B: K = rows·Wkᵀ (+RoPE), V = rows·Wvᵀ, for the rows read ----------------------------------------- */

typedef struct rope_job {
    const remat_cache *rc;
    float *rows;
    row_range r;
} rope_job;

static void rope_task(void *ctx, int ith, int nth)
{
    const rope_job *j = ctx;
    row_range part = part_of(j->r, ith, nth);
    if (rows_in(part))
        remat_rope_rows(j->rc, j->rows + (part.lo - j->r.lo) * j->rc->d_kv, j->rc->d_kv, rows_in(part), part.lo, 0,
                        j->rc->n_head_kv);
}

static const model_tensor *key_weight(const attend_call *a) { return a->x_kind ? &a->ml->wk : &a->L->fk->fused; }

/* K (rotated for its positions) or V of rows r of the tile: from X̂ rows and the model's Wk, Wv, or from xq-svd's
 * latents and the fused factors, by the forward pass's own matmul (rows converted as the engine converts
 * activations for the weight's type). With lossless storage the rebuilt K and V are the engine's projections bit
 * for bit, and a row's result does not depend on the other rows, so only the rows some query reads are rebuilt. */
static void rotate_keys(const attend_call *a, row_range r, float *k)
{
    rope_job rj = {a->rc, k, r};
    xq_pool_run(ops_pool(a->rc->base.ops_ctx), rope_task, &rj);
}

static void build_rows(attend_call *a, bool key, row_range r, const float *src, float *out)
{
    remat_cache *rc = a->rc;
    int64_t n = rows_in(r);
    if (!n) return;
    const model_tensor *w = key ? key_weight(a) : a->x_kind ? &a->ml->wv : &a->L->fv->fused;
    out = at_row(a, out, rc->d_kv, r.lo);
    ops_matmul(rc->tile_ops, w, src + (r.lo - a->tile.j0) * a->src_ld, n, out);
    if (key) rotate_keys(a, r, out);
}

/* K and V of rows r from the same X̂ rows: converted once for both weights (ops_matmul2, the same bits). */
static void build_kv_rows(attend_call *a, row_range r, const float *src, float *k, float *v)
{
    remat_cache *rc = a->rc;
    int64_t n = rows_in(r);
    if (!n) return;
    k = at_row(a, k, rc->d_kv, r.lo), v = at_row(a, v, rc->d_kv, r.lo);
    ops_matmul2(rc->tile_ops, &a->ml->wk, &a->ml->wv, src + (r.lo - a->tile.j0) * a->src_ld, n, k, v);
    rotate_keys(a, r, k);
}

static void phase_build(attend_call *a)
{
    remat_cache *rc = a->rc;
    const remat_tile *t = &a->tile;
    if (a->L->kind == LK_KV) return;
    row_range all = {t->j0, t->j1};
    int64_t rows_k = rows_in(all) + rows_in(t->k.extra), rows_v = a->absorb ? 0 : rows_in(all) + rows_in(t->v.extra);
    bool same = !rows_v || rows_v == rows_k;
    span_shape sh = {.m = same ? rows_k : rows_k + rows_v, .n = same && rows_v ? 2 * rc->d_kv : rc->d_kv,
                     .k = key_weight(a)->cols, .dtype = key_weight(a)->type, .cache_mode = rc->base.mode,
                     .ctx = a->pos0 + a->n_tok};
    span_begin(rc->base.sink, OP_REMAT, a->il, &sh);
    if (a->x_kind && !a->absorb) { /* one source, the same rows: the extra rows of K are those of V */
        build_kv_rows(a, all, rc->src_km, rc->km, rc->vm);
        build_kv_rows(a, t->k.extra, rc->src_kx, rc->kx, rc->vx);
    } else { /* K alone (--absorb-v), or xq-svd's two latents, each in the rows its grouping gives */
        build_rows(a, true, all, rc->src_km, rc->km);
        build_rows(a, true, t->k.extra, rc->src_kx, rc->kx);
        if (!a->absorb) {
            build_rows(a, false, all, rc->src_vm, rc->vm);
            build_rows(a, false, t->v.extra, rc->src_vx, rc->vx);
        }
    }
    span_end(rc->base.sink, OP_REMAT, a->il);
}

/* ---- phase T: the tile's keys transposed per KV head, once for all queries and heads of the call ------------- */

static void transpose_task(void *ctx, int ith, int nth)
{
    const attend_call *a = ctx;
    const remat_cache *rc = a->rc;
    const remat_tile *t = &a->tile;
    int hd = rc->head_dim;
    for (int kvh = ith; kvh < rc->n_head_kv; kvh += nth) {
        float *main = rc->ktm + (int64_t)kvh * hd * rc->tile, *extra = rc->ktx + (int64_t)kvh * hd * rc->tile;
        ops_transpose_rows(rc->km + (int64_t)kvh * hd, false, rc->d_kv, t->j1 - t->j0, hd, main, rc->tile);
        int64_t e0 = t->k.extra.lo - t->j0;
        if (rows_in(t->k.extra))
            ops_transpose_rows(rc->kx + e0 * rc->d_kv + (int64_t)kvh * hd, false, rc->d_kv, rows_in(t->k.extra), hd,
                               extra + e0, rc->tile);
    }
}

/* Worth a pass over the pool only when several queries share the keys (one decode query scores from the rows;
 * both ways give the same bits). */
static bool keys_transposed(const attend_call *a) { return a->n_tok > 1; }

static void phase_transpose(attend_call *a)
{
    if (keys_transposed(a)) xq_pool_run(ops_pool(a->rc->base.ops_ctx), transpose_task, a);
}

/* ---- phase C: online softmax over the tile ------------------------------------------------------------------ */

static float *state_of(const attend_call *a, int64_t i, int h)
{
    return a->rc->state + (i * a->rc->n_head + h) * (a->rc->acc_width + 2);
}

/* Which buffer holds key j as query i sees it: main (its quantized view below the split, fp16 above), or the
 * extra buffer (fp16 rows below the split). */
static const float *view_row(const tile_rows *r, int64_t prefix, int64_t j, const float *main, const float *extra)
{
    return j < prefix || j >= r->split ? main : extra;
}

/* Scores of query i, heads h0 … h0+nh−1 (of KV head kvh; head h's at scores + (h − h0)·ld) over keys j … end−1,
 * which lie in one buffer: from the transposed tile (column j − j0 of KV head kvh's block), or from the key rows,
 * read once for all nh heads. */
static void score_run(const attend_call *a, int64_t i, int h0, int nh, int kvh, int64_t j, int64_t end, float *scores,
                      int64_t ld)
{
    const remat_cache *rc = a->rc;
    int hd = rc->head_dim;
    float scale = 1.0f / sqrtf((float)hd);
    const float *q = a->q + i * rc->n_head * hd + (int64_t)h0 * hd;
    if (keys_transposed(a)) {
        const float *kt = view_row(&a->tile.k, rc->a_k[i], j, rc->ktm, rc->ktx);
        kt += (int64_t)kvh * hd * rc->tile + (j - a->tile.j0);
        ops_attend_scores_kt_heads(q, nh, kt, rc->tile, end - j, hd, scale, scores, ld);
    } else {
        const float *k = view_row(&a->tile.k, rc->a_k[i], j, rc->km, rc->kx);
        ops_attend_scores_heads(q, nh, k + (j - a->tile.j0) * rc->d_kv + (int64_t)kvh * hd, end - j, rc->d_kv, hd,
                                scale, scores, ld);
    }
}

static const float *value_row(const attend_call *a, int64_t i, int64_t j, int kvh)
{
    const remat_cache *rc = a->rc;
    if (a->absorb)
        return view_row(&a->tile.v, rc->a_v[i], j, rc->src_vm, rc->src_vx) + (j - a->tile.j0) * a->src_ld;
    return view_row(&a->tile.v, rc->a_v[i], j, rc->vm, rc->vx) + (j - a->tile.j0) * rc->d_kv +
           (int64_t)kvh * rc->head_dim;
}

/* Rows j … end−1 of one stream lie in one buffer: the buffer a row is read from changes only at the query's
 * quantized prefix and at the tile's split. */
static int64_t run_end(const tile_rows *r, int64_t prefix, int64_t j, int64_t j1)
{
    int64_t end = j1;
    if (prefix > j && prefix < end) end = prefix;
    if (r->split > j && r->split < end) end = r->split;
    return end;
}

/* One tile's step of the online softmax for one head, but for its sum: scores → probabilities relative to the
 * new running max; rescales the head's accumulator to that max. Returns the running sum rescaled. */
static float rescale_head(const attend_call *a, float *st, float *p, int64_t n)
{
    float mx = ops_max_row(p, n);
    float m_new = st[0] > mx ? st[0] : mx, corr = ops_expf(st[0] - m_new); /* exp(−inf) = 0 on the first tile */
    float *acc = st + 2;
    for (int c = 0; c < a->w_acc; c++) acc[c] *= corr;
    for (int64_t j = 0; j < n; j++) p[j] -= m_new;
    ops_expf_row(p, p, n);
    st[0] = m_new;
    return st[1] * corr;
}

/* sum[h] += p[h·ld + j] for j in order, NH chains side by side (one add no longer waits for the last), in
 * registers: through memory each chain would wait on a store each key. */
static inline __attribute__((always_inline)) void add_rows(const float *p, int64_t ld, const int NH, int64_t n,
                                                           float *sum)
{
    float s[4];
    for (int h = 0; h < NH; h++) s[h] = sum[h];
    for (int64_t j = 0; j < n; j++)
        for (int h = 0; h < NH; h++) s[h] += p[h * ld + j];
    for (int h = 0; h < NH; h++) sum[h] = s[h];
}

/* The online softmax's step for nh heads (state h at st + h·st_ld, scores at p + h·ld). */
static void rescale_heads(const attend_call *a, float *st, int64_t st_ld, float *p, int64_t ld, int nh, int64_t n)
{
    for (int h0 = 0; h0 < nh; h0 += 4) {
        int m = nh - h0 < 4 ? nh - h0 : 4;
        float sum[4];
        for (int h = 0; h < m; h++) sum[h] = rescale_head(a, st + (h0 + h) * st_ld, p + (h0 + h) * ld, n);
        const float *ph = p + h0 * ld;
        switch (m) {
        case 4: add_rows(ph, ld, 4, n, sum); break;
        case 3: add_rows(ph, ld, 3, n, sum); break;
        case 2: add_rows(ph, ld, 2, n, sum); break;
        default: add_rows(ph, ld, 1, n, sum); break;
        }
        for (int h = 0; h < m; h++) st[(h0 + h) * st_ld + 1] = sum[h];
    }
}

/* Query i's heads h0 … h0+nh−1, all of one KV head, over the tile: the key and value rows are read once for all
 * of them; each head's arithmetic is its own, in key order. scores: nh × tile floats. */
static void attend_heads(const attend_call *a, int64_t i, int h0, int nh, float *scores)
{
    const remat_cache *rc = a->rc;
    int64_t j0 = a->tile.j0, t = a->pos0 + i, j1 = min64(a->tile.j1, t + 1), ld = rc->tile;
    if (j1 <= j0) return;
    int kvh = h0 / (rc->n_head / rc->n_head_kv);
    int64_t v_stride = a->absorb ? a->src_ld : rc->d_kv, acc_ld = rc->acc_width + 2;
    for (int64_t j = j0, end; j < j1; j = end) {
        end = run_end(&a->tile.k, rc->a_k[i], j, j1);
        score_run(a, i, h0, nh, kvh, j, end, scores + (j - j0), ld);
    }
    float *st = state_of(a, i, h0);
    rescale_heads(a, st, acc_ld, scores, ld, nh, j1 - j0);
    for (int64_t j = j0, end; j < j1; j = end) {
        end = run_end(&a->tile.v, rc->a_v[i], j, j1);
        ops_attend_values_acc_heads(scores + (j - j0), ld, nh, value_row(a, i, j, kvh), end - j, v_stride, a->w_acc,
                                    st + 2, acc_ld);
    }
}

/* Units are (query, head) pairs; a thread's run of them goes in groups of one query's heads of one KV head. */
static void attend_task(void *ctx, int ith, int nth)
{
    const attend_call *a = ctx;
    int n_head = a->rc->n_head, g = n_head / a->rc->n_head_kv;
    long long lo, hi;
    xq_split_range(a->n_tok * n_head, ith, nth, &lo, &hi);
    for (long long u = lo, next; u < hi; u = next) {
        int h = (int)(u % n_head);
        next = u + (g - h % g);
        if (next > hi) next = hi;
        attend_heads(a, u / n_head, h, (int)(next - u), a->rc->scores[ith]);
    }
}

static void phase_attend(attend_call *a)
{
    remat_cache *rc = a->rc;
    span_shape sh = {.m = a->n_tok * rc->n_head, .n = a->w_acc, .k = a->tile.j1 - a->tile.j0, .dtype = QT_F32,
                     .cache_mode = rc->base.mode, .ctx = a->pos0 + a->n_tok};
    if (a->absorb) span_begin(rc->base.sink, OP_REMAT, a->il, &sh); /* the p·X̂ products replace V's rebuild */
    xq_pool_run(ops_pool(rc->base.ops_ctx), attend_task, a);
    if (a->absorb) span_end(rc->base.sink, OP_REMAT, a->il);
}

static const model_tensor *absorbed_weight(const attend_call *a)
{
    return a->L->kind == LK_LATENT ? &a->L->fv->fused : &a->ml->wv;
}

/* out = acc / sum, or with --absorb-v out_h = (acc / sum)·Wv,hᵀ. */
static void finish_task(void *ctx, int ith, int nth)
{
    const attend_call *a = ctx;
    const remat_cache *rc = a->rc;
    int hd = rc->head_dim, g = rc->n_head / rc->n_head_kv;
    const model_tensor *wv = absorbed_weight(a);
    long long lo, hi;
    xq_split_range(a->n_tok * rc->n_head, ith, nth, &lo, &hi);
    for (long long u = lo; u < hi; u++) {
        int64_t i = u / rc->n_head;
        int h = (int)(u % rc->n_head);
        const float *st = state_of(a, i, h);
        float *out = a->out + i * rc->n_head * hd + (int64_t)h * hd, inv = 1.0f / st[1];
        for (int c = 0; c < hd && !a->absorb; c++) out[c] = st[2 + c] * inv;
        for (int c = 0; c < hd && a->absorb; c++) {
            const unsigned char *row = (const unsigned char *)wv->data + (uint64_t)((h / g) * hd + c) * wv->row_bytes;
            out[c] = qt_dot_row(wv->type, row, st + 2, wv->cols) * inv;
        }
    }
}

static void phase_finish(attend_call *a)
{
    remat_cache *rc = a->rc;
    span_shape sh = {.m = a->n_tok * rc->n_head, .n = rc->head_dim, .k = a->w_acc, .dtype = absorbed_weight(a)->type,
                     .cache_mode = rc->base.mode, .ctx = a->pos0 + a->n_tok};
    if (a->absorb) span_begin(rc->base.sink, OP_REMAT, a->il, &sh);
    xq_pool_run(ops_pool(rc->base.ops_ctx), finish_task, a);
    if (a->absorb) span_end(rc->base.sink, OP_REMAT, a->il);
}

/* ---- the tile loop ------------------------------------------------------------------------------------------ */

/* a_lo, a_hi: rows the call's first and last query see quantized. */
static tile_rows plan_rows(const qstream *qs, int64_t j0, int64_t j1, int64_t a_lo, int64_t a_hi)
{
    tile_rows r = {.quant = clip(j0, min64(j1, a_hi)), .fp16 = clip(j1, j1), .extra = clip(j1, j1), .split = a_hi};
    if (!qs->has_fp16_view) return r;
    r.fp16 = clip(max64(j0, a_hi), j1);
    r.extra = clip(max64(j0, a_lo), min64(j1, a_hi));
    return r;
}

static void plan_tile(attend_call *a, int64_t j0, int64_t j1)
{
    const remat_cache *rc = a->rc;
    int64_t last = a->n_tok - 1;
    a->tile = (remat_tile){.j0 = j0, .j1 = j1};
    a->tile.k = plan_rows(key_source(a->L), j0, j1, rc->a_k[0], rc->a_k[last]);
    a->tile.v = plan_rows(value_source(a->L), j0, j1, rc->a_v[0], rc->a_v[last]);
}

static void reset_state(const attend_call *a)
{
    for (int64_t i = 0; i < a->n_tok; i++)
        for (int h = 0; h < a->rc->n_head; h++) {
            float *st = state_of(a, i, h);
            st[0] = -INFINITY;
            memset(st + 1, 0, (size_t)(a->w_acc + 1) * sizeof(float));
        }
}

void remat_attend(cache *c, int layer, int64_t pos0, int64_t n_tok, const float *q, float *out)
{
    remat_cache *rc = (remat_cache *)c;
    const remat_layer *L = &rc->layers[layer];
    const model_layer *ml = &c->m->layers[layer];
    attend_call a = {.rc = rc, .il = layer, .L = L, .ml = ml, .pos0 = pos0, .n_tok = n_tok, .q = q, .out = out};
    a.x_kind = L->kind == LK_X || L->kind == LK_DELTA || L->kind == LK_DELTA_LATENT;
    a.src_ld = L->kind == LK_LATENT ? rc->d_kv : rc->src_width;
    a.absorb = rc->acc_width != rc->head_dim && L->kind != LK_KV;
    a.w_acc = !a.absorb ? rc->head_dim : L->kind == LK_LATENT ? value_source(L)->spec.width : rc->d;
    if (L->k_rotated && rc->q_conv) { /* llama.cpp's CPU attention dots a Q8_0 copy of q with quantized K */
        for (int64_t r = 0; r < n_tok * rc->n_head; r++)
            qt_act_roundtrip(QT_Q8_0, q + r * rc->head_dim, rc->q_conv + r * rc->head_dim, rc->head_dim);
        a.q = rc->q_conv;
    }
    for (int64_t i = 0; i < n_tok; i++) {
        rc->a_k[i] = qstream_quant_prefix(key_source(L), pos0 + i);
        rc->a_v[i] = qstream_quant_prefix(value_source(L), pos0 + i);
    }
    reset_state(&a);
    for (int64_t j0 = 0; j0 < pos0 + n_tok; j0 += rc->tile) {
        plan_tile(&a, j0, min64(j0 + rc->tile, pos0 + n_tok));
        phase_fill(&a);
        phase_build(&a);
        phase_transpose(&a);
        phase_attend(&a);
    }
    phase_finish(&a);
}
