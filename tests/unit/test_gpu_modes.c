/* Byte and FLOP accounting of the cache modes (XQUANT.md §1, §2): the worked stories260K values, Llama-3.1-8B's
 * per-layer bytes, remat FLOPs per family, hi-layers, and the parser's errors. */
#include <string.h>

#include "gpu/modes.h"
#include "model/qtypes.h"
#include "testlib.h"

static gpu_model dims(int n_layer, int d, int n_head, int n_head_kv)
{
    gpu_model m = {0};
    snprintf(m.name, sizeof m.name, "test");
    m.n_layer = n_layer;
    m.d = d;
    m.n_head = n_head;
    m.n_head_kv = n_head_kv;
    m.head_dim = d / n_head;
    m.d_kv = n_head_kv * m.head_dim;
    return m;
}

static double bpt(const gpu_model *m, const char *name, int group)
{
    gpu_mode mode;
    xq_err err = {0};
    CHECKF(gpu_mode_parse(name, group, -1, &mode, &err) == XQ_OK, "%s: %s", name, err.msg);
    return gpu_mode_bytes_per_token(&mode, m);
}

/* §1's worked values: stories260K, 5 layers, d 64, d_kv 32, G 128. */
static void test_stories260k(void)
{
    gpu_model m = dims(5, 64, 8, 4);
    CHECK(m.d_kv == 32);
    CHECKF(bpt(&m, "fp16", 0) == 640, "fp16 %g", bpt(&m, "fp16", 0));
    CHECKF(bpt(&m, "kv-4", 0) == 185, "kv-4 %g", bpt(&m, "kv-4", 0));
    CHECKF(bpt(&m, "kv-4", 32) == 200, "kv-4 G32 %g", bpt(&m, "kv-4", 32));
    CHECKF(bpt(&m, "kv-2", 0) == 105, "kv-2 %g", bpt(&m, "kv-2", 0));
    CHECKF(bpt(&m, "xq-4", 0) == 180, "xq-4 %g", bpt(&m, "xq-4", 0));
    CHECKF(bpt(&m, "xq-svd-4", 0) == 185, "xq-svd-4 %g", bpt(&m, "xq-svd-4", 0));
    CHECKF(bpt(&m, "xq-cl-3", 0) == 164, "xq-cl-3 %g", bpt(&m, "xq-cl-3", 0));
    CHECK(bpt(&m, "fp32", 0) == 1280);
}

/* Llama-3.1-8B (d 4096, d_kv 1024): X is twice K+V at equal bits — why GQA needs the SVD latent. */
static void test_llama3_layer_bytes(void)
{
    gpu_model m = dims(32, 4096, 32, 8);
    gpu_mode mode;
    xq_err err = {0};
    gpu_layer_costs c;
    CHECK(gpu_mode_parse("xq-2", 0, -1, &mode, &err) == XQ_OK);
    gpu_mode_layer_costs(&mode, &m, 5, &c);
    CHECK(c.cache_bytes == 1024 + 4 * 32 && c.stores_x); /* 4096 × 2/8 + 32 groups × 4 */
    CHECK(c.remat_flops_heads == 2.0 * 4096 * 2048 && c.remat_flops_full == 0);
    CHECK(gpu_mode_parse("xq-svd-2", 0, -1, &mode, &err) == XQ_OK);
    gpu_mode_layer_costs(&mode, &m, 5, &c);
    CHECK(c.cache_bytes == 2 * 256 + 32 + 4 * 8);    /* per-channel + per-token latents */
    CHECK(c.remat_flops_heads == 4.0 * 1024 * 1024); /* 4·(d/g)² */
    CHECK(c.rebuild_bytes == 2.0 * 1024 * 1024 * 2); /* Σk·Bkᵀ and Σv·Bvᵀ in fp16 */
    CHECK(gpu_mode_parse("kv-2", 0, -1, &mode, &err) == XQ_OK);
    gpu_mode_layer_costs(&mode, &m, 5, &c);
    CHECK(c.cache_bytes == 576 && !c.stores_x && c.remat_flops_heads == 0);
    CHECK(gpu_mode_parse("fp16", 0, -1, &mode, &err) == XQ_OK);
    gpu_mode_layer_costs(&mode, &m, 5, &c);
    CHECK(c.cache_bytes == 4096 && c.elem_flops == 0);
    CHECK(gpu_mode_parse("kv-q8_0", 0, -1, &mode, &err) == XQ_OK);
    gpu_mode_layer_costs(&mode, &m, 0, &c);
    CHECK(c.cache_bytes == 2048.0 * 34 / 32);
}

/* CL: three 4-bit layers by default, the rest deltas; CL-SVD repeats the X̂ rebuild on every TP rank. */
static void test_cross_layer(void)
{
    gpu_model m = dims(32, 4096, 32, 8);
    gpu_mode mode;
    xq_err err = {0};
    gpu_layer_costs hi, lo;
    CHECK(gpu_mode_parse("xq-cl-svd-2", 0, -1, &mode, &err) == XQ_OK && mode.hi_layers == 3);
    gpu_mode_layer_costs(&mode, &m, 2, &hi);
    gpu_mode_layer_costs(&mode, &m, 3, &lo);
    CHECK(hi.cache_bytes == 2048 + 128 && lo.cache_bytes == 512 + 64);
    CHECK(lo.remat_flops_full == 2.0 * 2048 * 4096 && lo.remat_flops_heads == 2.0 * 4096 * 2048);
    CHECK(gpu_mode_transient_bytes_per_token(&mode, &m) == 2 * 4096);
    CHECK(gpu_mode_parse("xq-cl-2", 0, 0, &mode, &err) == XQ_OK && mode.hi_layers == 0);
    CHECK(gpu_mode_parse("kv-2", 0, 2, &mode, &err) == XQ_OK && mode.hi_layers == 2);
    gpu_mode_layer_costs(&mode, &m, 1, &hi);
    CHECK(hi.cache_bytes == 2 * 512 + 32 + 32); /* 4-bit K and V */
    CHECK(gpu_mode_parse("fp16", 0, 5, &mode, &err) == XQ_OK && mode.hi_layers == 0);
}

/* A width that is not a multiple of G: the short last group counts (SmolLM2: d 576 = 4.5 groups). */
static void test_short_group(void)
{
    gpu_model m = dims(30, 576, 9, 3);
    gpu_mode mode;
    xq_err err = {0};
    gpu_layer_costs c;
    CHECK(gpu_mode_parse("xq-4", 0, -1, &mode, &err) == XQ_OK);
    gpu_mode_layer_costs(&mode, &m, 0, &c);
    CHECK(c.cache_bytes == 288 + 5 * 4);
}

static void test_parse_errors(void)
{
    const char *bad[] = {"fp8", "xq-5", "xq-cl-8", "kv-", "xq-svd-x", "kv-2x", "xq-cl-svd-8", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gpu_mode mode;
        xq_err err = {0};
        CHECKF(gpu_mode_parse(bad[i], 0, -1, &mode, &err) == XQ_EINPUT && err.msg[0], "'%s' accepted", bad[i]);
    }
    gpu_mode mode;
    xq_err err = {0};
    CHECK(gpu_mode_parse("xq-cl-svd-3", 64, -1, &mode, &err) == XQ_OK && mode.family == GPU_XQ_CL_SVD &&
          mode.bits == 3 && mode.group == 64 && strcmp(mode.name, "xq-cl-svd-3") == 0);
    CHECK(gpu_mode_parse("kv-q4_0", 0, -1, &mode, &err) == XQ_OK && mode.family == GPU_KV_Q4_0);
    CHECK(gpu_mode_rematerializes(&mode) == false);
}

int main(void)
{
    test_stories260k();
    test_llama3_layer_bytes();
    test_cross_layer();
    test_short_group();
    test_parse_errors();
    return test_report("test_gpu_modes");
}
