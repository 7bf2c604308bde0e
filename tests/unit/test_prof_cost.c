/* The cost model op by op against values computed by hand for SmolLM2-135M's shapes (d = 576, d_kv = 192,
 * 9 heads of 64, n_ff = 1536, Q4_1 weights: 32 elements in 20 bytes), and the rebuild FLOPs of OP_REMAT
 * against XQUANT.md §2 (xq-E: 2·l·d·2d_kv; xq-svd-E: 2·l·d_kv·2d_kv) and §4 (MHA: 4·l·d²). */
#include "model/qtypes.h"
#include "prof/cost.h"
#include "testlib.h"

enum { D = 576, D_KV = 192, N_HEAD = 9, HEAD_DIM = 64, N_FF = 1536 };

static prof_cost cost(span_op op, span_shape sh, const prof_cache_step *cache)
{
    prof_cost c;
    prof_cost_of(op, &sh, cache, &c);
    return c;
}

static void test_matmul(void)
{
    /* Q projection of one token: 576 rows of 576 Q4_1 elements = 18 blocks of 20 bytes per row. */
    prof_cost c = cost(OP_MATMUL_Q, (span_shape){.m = D, .n = 1, .k = D, .dtype = QT_Q4_1}, NULL);
    CHECK(c.flops == 2LL * 576 * 576);
    CHECK(c.bytes_weights == 576LL * 18 * 20);
    CHECK(c.bytes_act == 4LL * (576 + 576));
    CHECK(c.bytes_cache_read == 0 && c.bytes_cache_write == 0 && !c.remat);
    /* Down projection of a 7-token batch: 576 rows of 1536 inputs; weights are read once per call. */
    c = cost(OP_MATMUL_DOWN, (span_shape){.m = D, .n = 7, .k = N_FF, .dtype = QT_Q4_1}, NULL);
    CHECK(c.flops == 2LL * 576 * 7 * 1536);
    CHECK(c.bytes_weights == 576LL * 48 * 20);
    CHECK(c.bytes_act == 4LL * 7 * (1536 + 576));
    /* lm_head in Q8_0 (34 bytes per 32), 49152 rows. */
    c = cost(OP_LM_HEAD, (span_shape){.m = 49152, .n = 1, .k = D, .dtype = QT_Q8_0}, NULL);
    CHECK(c.flops == 2LL * 49152 * 576);
    CHECK(c.bytes_weights == 49152LL * 18 * 34);
    /* F16 and F32 weights: 2 and 4 bytes per element. */
    CHECK(cost(OP_MATMUL_K, (span_shape){.m = D_KV, .n = 1, .k = D, .dtype = QT_F16}, NULL).bytes_weights ==
          192LL * 576 * 2);
    CHECK(cost(OP_MATMUL_K, (span_shape){.m = D_KV, .n = 1, .k = D, .dtype = QT_F32}, NULL).bytes_weights ==
          192LL * 576 * 4);
}

static void test_elementwise(void)
{
    prof_cost c = cost(OP_EMBED, (span_shape){.m = D, .n = 3, .k = 1, .dtype = QT_Q8_0}, NULL);
    CHECK(c.flops == 0 && c.bytes_weights == 3LL * 18 * 34 && c.bytes_act == 4LL * 3 * 576);
    c = cost(OP_RMSNORM, (span_shape){.m = D, .n = 2, .k = 1}, NULL);
    CHECK(c.flops == 4LL * 576 * 2 && c.bytes_act == 4LL * (2 * 576 * 2 + 576) && c.bytes_weights == 0);
    c = cost(OP_RESIDUAL, (span_shape){.m = 576 * 2, .n = 1, .k = 1}, NULL);
    CHECK(c.flops == 1152 && c.bytes_act == 4LL * 3 * 1152);
    c = cost(OP_ROPE, (span_shape){.m = N_HEAD, .n = 1, .k = HEAD_DIM}, NULL);
    CHECK(c.flops == 3LL * 9 * 64 && c.bytes_act == 4LL * 2 * 9 * 64);
    c = cost(OP_SWIGLU, (span_shape){.m = N_FF, .n = 1, .k = 1}, NULL);
    CHECK(c.flops == 5LL * 1536 && c.bytes_act == 4LL * 3 * 1536);
    c = cost(OP_STEP, (span_shape){.m = 1, .n = 1, .k = 1}, NULL);
    CHECK(c.flops == 0 && c.bytes_act == 0 && c.bytes_weights == 0);
    c = cost(OP_SAMPLE, (span_shape){.m = 49152, .n = 1, .k = 1}, NULL);
    CHECK(c.flops == 0);
}

static void test_attention(void)
{
    prof_cache_step cache = {.layer_bytes_held = 100 * 768, .layer_bytes_appended = 768};
    /* Decode: one query over l = 100 keys (the current token included): 4·l·d_h·h (XQUANT.md §4). */
    prof_cost c = cost(OP_ATTEND, (span_shape){.m = N_HEAD, .n = 1, .k = HEAD_DIM, .ctx = 100}, &cache);
    CHECK(c.flops == 4LL * 100 * 64 * 9);
    CHECK(c.bytes_cache_read == 100 * 768 && c.bytes_cache_write == 0 && !c.remat);
    /* Prefill of 4 tokens into an empty cache sees 1 + 2 + 3 + 4 keys; after 6 tokens, 7 + 8 + 9 + 10. */
    CHECK(prof_attend_keys(4, 4) == 10 && prof_attend_keys(4, 10) == 34 && prof_attend_keys(1, 100) == 100);
    CHECK(cost(OP_ATTEND, (span_shape){.m = N_HEAD, .n = 4, .k = HEAD_DIM, .ctx = 10}, &cache).flops ==
          4LL * 34 * 64 * 9);
    c = cost(OP_CACHE_APPEND, (span_shape){.m = N_HEAD, .n = 1, .k = HEAD_DIM, .ctx = 100}, &cache);
    CHECK(c.bytes_cache_write == 768 && c.flops == 0);
    /* Without a bound cache there are no cache bytes. */
    CHECK(cost(OP_ATTEND, (span_shape){.m = N_HEAD, .n = 1, .k = HEAD_DIM, .ctx = 100}, NULL).bytes_cache_read == 0);
}

static void test_rebuild(void)
{
    int64_t l = 1000;
    /* xq-E rebuilds K and V (2·d_kv outputs) from X̂ (d inputs): 2·l·d·2d_kv, Wk and Wv read at their type. */
    prof_cost c = cost(OP_REMAT, (span_shape){.m = l, .n = 2 * D_KV, .k = D, .dtype = QT_Q4_1}, NULL);
    CHECK(c.flops == 2 * l * D * 2 * D_KV);
    CHECK(c.remat && c.bytes_weights == 384LL * 18 * 20);
    /* xq-svd-E rebuilds from the two d_kv-wide latents with the fused d_kv × d_kv factors: 2·l·d_kv·2d_kv. */
    c = cost(OP_REMAT, (span_shape){.m = l, .n = 2 * D_KV, .k = D_KV, .dtype = QT_F32}, NULL);
    CHECK(c.flops == 2 * l * D_KV * 2 * D_KV && c.bytes_weights == 384LL * 192 * 4);
    /* MHA (d_kv = d, Llama-2-7B): 4·l·d², the numerator of XQUANT.md §4's break-even. */
    int64_t d = 4096;
    CHECK(cost(OP_REMAT, (span_shape){.m = l, .n = 2 * d, .k = d, .dtype = QT_F16}, NULL).flops == 4 * l * d * d);
    /* Dequantization of 100 tokens of 192 4-bit codes: bytes read from the cache, 2 FLOPs per element. */
    c = cost(OP_DEQUANT, (span_shape){.m = 100, .n = D_KV, .k = 4}, NULL);
    CHECK(c.bytes_cache_read == 100 * 192 / 2 && c.flops == 2 * 100 * 192 && c.remat);
}

int main(void)
{
    test_matmul();
    test_elementwise();
    test_attention();
    test_rebuild();
    return test_report("test_prof_cost");
}
