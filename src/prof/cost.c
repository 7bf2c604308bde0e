/* The cost model of cost.h: one small function per op family, dispatched by a table indexed by span_op.
 * Invariant: every figure is ≥ 0 and depends only on the shape and the step's cache figures. */
#include "prof/cost.h"

#include <string.h>

#include "model/qtypes.h"

enum { F32_BYTES = 4 };

typedef void (*cost_fn)(const span_shape *sh, const prof_cache_step *cache, prof_cost *out);

/* Bytes of `rows` rows of `cols` elements at a ggml type; f32 if the type or the width does not fit blocks. */
static int64_t weight_bytes(uint32_t dtype, int64_t rows, int64_t cols)
{
    uint64_t row = qt_row_bytes(dtype, cols);
    if (row == 0) row = (uint64_t)cols * F32_BYTES;
    return rows * (int64_t)row;
}

static void cost_matmul(const span_shape *sh, const prof_cache_step *cache, prof_cost *out)
{
    (void)cache;
    out->flops = 2 * sh->m * sh->n * sh->k;
    out->bytes_weights = weight_bytes(sh->dtype, sh->m, sh->k);
    out->bytes_act = F32_BYTES * sh->n * (sh->k + sh->m);
}

static void cost_embed(const span_shape *sh, const prof_cache_step *cache, prof_cost *out)
{
    (void)cache;
    out->bytes_weights = weight_bytes(sh->dtype, sh->n, sh->m);
    out->bytes_act = F32_BYTES * sh->n * sh->m;
}

static void cost_sample(const span_shape *sh, const prof_cache_step *cache, prof_cost *out)
{
    (void)cache;
    out->bytes_act = F32_BYTES * sh->m;
}

static void cost_rmsnorm(const span_shape *sh, const prof_cache_step *cache, prof_cost *out)
{
    (void)cache;
    out->flops = 4 * sh->m * sh->n;
    out->bytes_act = F32_BYTES * (2 * sh->m * sh->n + sh->m); /* rows in and out, plus the norm weight */
}

static void cost_residual(const span_shape *sh, const prof_cache_step *cache, prof_cost *out)
{
    (void)cache;
    out->flops = sh->m;
    out->bytes_act = F32_BYTES * 3 * sh->m;
}

static void cost_rope(const span_shape *sh, const prof_cache_step *cache, prof_cost *out)
{
    (void)cache;
    out->flops = 3 * sh->m * sh->n * sh->k;
    out->bytes_act = F32_BYTES * 2 * sh->m * sh->n * sh->k;
}

static void cost_swiglu(const span_shape *sh, const prof_cache_step *cache, prof_cost *out)
{
    (void)cache;
    out->flops = 5 * sh->m * sh->n;
    out->bytes_act = F32_BYTES * 3 * sh->m * sh->n;
}

static void cost_append(const span_shape *sh, const prof_cache_step *cache, prof_cost *out)
{
    (void)sh;
    if (cache) out->bytes_cache_write = cache->layer_bytes_appended;
}

int64_t prof_attend_keys(int64_t n, int64_t ctx)
{
    /* Σ_{t<n} (ctx − n + t + 1) = n·(ctx − n) + n·(n + 1)/2 */
    return n * (ctx - n) + n * (n + 1) / 2;
}

static void cost_attend(const span_shape *sh, const prof_cache_step *cache, prof_cost *out)
{
    out->flops = 4 * sh->k * sh->m * prof_attend_keys(sh->n, sh->ctx);
    out->bytes_act = F32_BYTES * 2 * sh->m * sh->n * sh->k; /* q in, out */
    if (cache) out->bytes_cache_read = cache->layer_bytes_held;
}

static void cost_remat(const span_shape *sh, const prof_cache_step *cache, prof_cost *out)
{
    (void)cache;
    out->flops = 2 * sh->m * sh->n * sh->k;
    out->bytes_weights = weight_bytes(sh->dtype, sh->n, sh->k);
    out->bytes_act = F32_BYTES * sh->m * (sh->k + sh->n);
    out->remat = true;
}

static void cost_dequant(const span_shape *sh, const prof_cache_step *cache, prof_cost *out)
{
    (void)cache;
    out->flops = 2 * sh->m * sh->n;
    out->bytes_cache_read = sh->m * sh->n * sh->k / 8;
    out->bytes_act = F32_BYTES * sh->m * sh->n;
    out->remat = true;
}

static const cost_fn cost_table[OP_COUNT] = {
    [OP_EMBED] = cost_embed,         [OP_RMSNORM] = cost_rmsnorm,    [OP_MATMUL_Q] = cost_matmul,
    [OP_MATMUL_K] = cost_matmul,     [OP_MATMUL_V] = cost_matmul,    [OP_ROPE] = cost_rope,
    [OP_CACHE_APPEND] = cost_append, [OP_ATTEND] = cost_attend,      [OP_MATMUL_O] = cost_matmul,
    [OP_RESIDUAL] = cost_residual,   [OP_MATMUL_GATE] = cost_matmul, [OP_MATMUL_UP] = cost_matmul,
    [OP_SWIGLU] = cost_swiglu,       [OP_MATMUL_DOWN] = cost_matmul, [OP_LM_HEAD] = cost_matmul,
    [OP_REMAT] = cost_remat,         [OP_DEQUANT] = cost_dequant,    [OP_SAMPLE] = cost_sample,
};

void prof_cost_of(span_op op, const span_shape *shape, const prof_cache_step *cache, prof_cost *out)
{
    memset(out, 0, sizeof *out);
    if (op < 0 || op >= OP_COUNT || !cost_table[op]) return;
    cost_table[op](shape, cache, out);
}
