/* Projection of a recorded run and calibration (issue 7, Done-when 3), on a hand-made profile (no trace file,
 * no timing): the rescaling rules (weights shared by the batch, attention and dequantization per sequence and
 * linear in the context, the rebuild by whole tiles, TP splits), the model and mode read from the run's metadata,
 * factors = achieved rates ÷ the device row's peaks, each from the ops that resource binds (prefill lending
 * compute factors decode cannot measure, the rebuild borrowing gemm's), and a run projected onto its own device
 * with its own factors giving back its measured time. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gpu/calibrate.h"
#include "gpu/project_run.h"
#include "testlib.h"

enum { N_LAYER = 2 };

static store_op_row row(int layer, const char *name, double self_ns, double flops, double weights, double cache_read)
{
    store_op_row r = {.layer = layer,
                      .count = 1,
                      .self_ns = self_ns,
                      .flops = flops,
                      .bytes_weights = weights,
                      .bytes_cache_read = cache_read,
                      .remat = !strcmp(name, "remat") || !strcmp(name, "dequant")};
    snprintf(r.name, sizeof r.name, "%s", name);
    return r;
}

/* lm_head; per layer: matmul_q, the three MLP matrices as one matmul_up row, attend, remat, dequant.
 * Recorded at a mean context of 256 (two tiles of 128), batch 1, on a device of 1e11 FLOP/s and 1e10 B/s. */
static store_op_row rows[N_LAYER * 5 + 1];

static store_profile profile(const char *mode)
{
    store_profile p = {.phase = STORE_PHASE_DECODE};
    int n = 0;
    rows[n++] = row(-1, "lm_head", 3e5, 3e6, 1.5e6, 0); /* layer -1 sorts first, as store_profile_load returns */
    for (int l = 0; l < N_LAYER; l++) {
        rows[n++] = row(l, "matmul_q", 2e5, 2e6, 1e6, 0);
        rows[n++] = row(l, "matmul_up", 6e5, 6e6, 3e6, 0);
        rows[n++] = row(l, "attend", 1e5, 1e6, 0, 5e5);
        rows[n++] = row(l, "remat", 4e5, 8e6, 2e5, 0);
        rows[n++] = row(l, "dequant", 1e5, 1e5, 0, 2e5);
    }
    p.rows = rows;
    p.n_rows = n;
    p.totals = (store_step_totals){.steps = 4, .tokens = 4, .mean_ctx = 256};
    store_run_meta *m = &p.meta;
    snprintf(m->model_name, sizeof m->model_name, "fixture");
    snprintf(m->model_config, sizeof m->model_config,
             "{\"n_layer\":%d,\"n_embd\":512,\"n_ff\":1024,\"n_head\":8,\"n_head_kv\":2,\"head_dim\":64,"
             "\"n_vocab\":1000,\"tied_output\":true}",
             N_LAYER);
    snprintf(m->cache_mode, sizeof m->cache_mode, "%s", mode);
    snprintf(m->cache_params, sizeof m->cache_params, "{\"bits\":4,\"group\":64,\"hi_layers\":0,\"tile_tokens\":128}");
    m->device = (store_device_info){.present = true, .peak_flops = 1e11, .read_bytes_per_s = 1e10};
    snprintf(m->device.name, sizeof m->device.name, "fixture cpu");
    return p;
}

/* A device with the run's peaks, no launch overhead. */
static gpu_spec device(void)
{
    gpu_spec g = {.tensor_tflops = 0.1,
                  .fp32_tflops = 0.1,
                  .bw_tbs = 0.01,
                  .mem_gb = 64,
                  .l2_mb = 1,
                  .link_gbs = 100,
                  .measured = true};
    snprintf(g.id, sizeof g.id, "fixture");
    return g;
}

static gpu_result project(const store_profile *p, const gpu_options *o, int64_t ctx, int batch, int tp)
{
    gpu_model m;
    gpu_mode mode;
    xq_err err = {0};
    CHECKF(gpu_model_from_run(p, &m, &err) == XQ_OK, "%s", err.msg);
    CHECKF(gpu_mode_from_run(&p->meta, &mode, &err) == XQ_OK, "%s", err.msg);
    gpu_spec g = device();
    gpu_setting s = {ctx, batch, tp, false, false};
    gpu_result r;
    CHECKF(gpu_project_run(&g, p, &m, &mode, &s, o, &r, &err) == XQ_OK, "%s", err.msg);
    return r;
}

static bool close_to(double x, double want)
{
    return fabs(x - want) <= 1e-9 * fabs(want);
}

static void test_model_and_mode(void)
{
    store_profile p = profile("xq-4");
    gpu_model m;
    gpu_mode mode;
    xq_err err = {0};
    CHECK(gpu_model_from_run(&p, &m, &err) == XQ_OK);
    CHECK(m.n_layer == N_LAYER && m.d == 512 && m.d_kv == 128 && m.tied_output);
    CHECK(m.wq_bytes == 1e6 && m.ffn_bytes == 3e6 && m.lm_head_bytes == 1.5e6); /* per layer, averaged */
    CHECK(gpu_mode_from_run(&p.meta, &mode, &err) == XQ_OK && mode.family == GPU_XQ && mode.bits == 4 &&
          mode.group == 64);
    snprintf(p.meta.cache_mode, sizeof p.meta.cache_mode, "xq-5");
    CHECK(gpu_mode_from_run(&p.meta, &mode, &err) == XQ_EINPUT);
    p.meta.model_config[0] = '\0';
    CHECK(gpu_model_from_run(&p, &m, &err) == XQ_EINPUT);
}

/* At ctx 1024 (8 tiles, 4× the recorded 256) and batch 4: per layer the matmuls' FLOPs ×4 with their weights once,
 * attention and dequantization ×16, the rebuild's FLOPs ×16 and its matrices ×4 (tiles, not batch). */
static void test_rescaling(void)
{
    store_profile p = profile("xq-4");
    gpu_options o;
    gpu_options_default(&o);
    gpu_result r = project(&p, &o, 1024, 4, 1);
    double flops = 3e6 * 4 + N_LAYER * ((2e6 + 6e6) * 4 + 1e6 * 16 + 8e6 * 16 + 1e5 * 16);
    double bytes = 1.5e6 + N_LAYER * ((1e6 + 3e6) + 5e5 * 16 + 2e5 * 4 + 2e5 * 16);
    CHECKF(close_to(r.flops, flops), "flops %g want %g", r.flops, flops);
    CHECKF(close_to(r.hbm_bytes, bytes), "bytes %g want %g", r.hbm_bytes, bytes);
    CHECK(r.kernels == 1 + N_LAYER * 5 && r.launch_s == 0 && close_to(r.tokens_per_s, 4 / r.step_s));
    /* TP 2: GEMM FLOPs and weights, attention and rebuild FLOPs halve; X is read whole; collectives appear. */
    gpu_result t = project(&p, &o, 1024, 4, 2);
    double flops_tp = 3e6 * 4 / 2 + N_LAYER * ((2e6 + 6e6) * 4 / 2 + 1e6 * 16 / 2 + 8e6 * 16 / 2 + 1e5 * 16);
    double bytes_tp = 1.5e6 / 2 + N_LAYER * ((1e6 + 3e6) / 2 + 5e5 * 16 + 2e5 * 4 / 2 + 2e5 * 16);
    CHECKF(close_to(t.flops, flops_tp), "tp flops %g want %g", t.flops, flops_tp);
    CHECKF(close_to(t.hbm_bytes, bytes_tp), "tp bytes %g want %g", t.hbm_bytes, bytes_tp);
    CHECK(t.link_bytes > 0 && r.link_bytes == 0);
    /* A K/V cache shards by head: 2 KV heads over 2 ranks read half the cache each. */
    store_profile kv = profile("kv-4");
    gpu_result k = project(&kv, &o, 1024, 4, 2);
    CHECK(close_to(k.hbm_bytes, bytes_tp - N_LAYER * (5e5 + 2e5) * 16 / 2));
    /* Capacity and break-even come from the shape: fp16-free xq-4 has one, and more context costs more time. */
    CHECK(r.break_even_ctx > 0 && r.max_ctx > 0 && r.fits);
    CHECK(project(&p, &o, 4096, 4, 1).step_s > r.step_s && project(&p, &o, 1024, 1, 1).step_s < r.step_s);
}

/* Factors are the achieved rates over the peaks, each from the ops its resource binds (ridge of the fixture
 * device: 10 FLOP/byte); projecting the run onto its own device with them gives back the run's time. */
static void test_calibration(void)
{
    store_profile p = profile("fp16");
    int n = 0;
    rows[n++] = row(-1, "lm_head", 4e5, 4e6, 2e6, 0); /* gemm, memory-bound: 5e9 B/s */
    for (int l = 0; l < N_LAYER; l++) {
        rows[n++] = row(l, "matmul_q", 2e5, 2e6, 1e6, 0);
        rows[n++] = row(l, "matmul_up", 6e5, 6e6, 3e6, 0);
        rows[n++] = row(l, "attend", 1e5, 1e5, 0, 1e5); /* attention, memory-bound: 1e9 B/s */
        rows[n++] = row(l, "rmsnorm", 5e4, 1e4, 0, 0);  /* elementwise, no bytes: compute-bound, 2e8 FLOP/s */
    }
    p.n_rows = n;
    gpu_calibration c;
    xq_err err = {0};
    CHECKF(gpu_calibrate(&p, NULL, &c, &err) == XQ_OK, "%s", err.msg);
    const gpu_class_efficiency *e = c.eff.cls;
    /* The matrix products ran at 1e10 FLOP/s, but only because memory bound them: no compute factor from them. */
    CHECK(c.source[GPU_CLASS_GEMM][0] == GPU_FACTOR_DEFAULT && e[GPU_CLASS_GEMM].compute == GPU_EFF_COMPUTE_DEFAULT);
    CHECK(c.source[GPU_CLASS_GEMM][1] == GPU_FACTOR_DECODE && close_to(e[GPU_CLASS_GEMM].memory, 0.5));
    CHECK(e[GPU_CLASS_ATTENTION].compute == GPU_EFF_COMPUTE_DEFAULT && close_to(e[GPU_CLASS_ATTENTION].memory, 0.1));
    CHECK(close_to(e[GPU_CLASS_ELEMENTWISE].compute, 0.002));
    CHECK(c.source[GPU_CLASS_ELEMENTWISE][1] == GPU_FACTOR_DEFAULT &&
          e[GPU_CLASS_ELEMENTWISE].memory == GPU_EFF_MEMORY_DEFAULT);
    /* No rebuild in an fp16 run: the rebuild class takes what the gemm class measured, and only that. */
    CHECK(c.source[GPU_CLASS_REBUILD][0] == GPU_FACTOR_DEFAULT && c.source[GPU_CLASS_REBUILD][1] == GPU_FACTOR_GEMM &&
          close_to(e[GPU_CLASS_REBUILD].memory, 0.5));
    gpu_options o;
    gpu_options_default(&o);
    o.eff = c.eff;
    double measured = 0;
    for (int i = 0; i < n; i++)
        measured += rows[i].self_ns * 1e-9;
    gpu_result r = project(&p, &o, 256, 1, 1);
    CHECKF(close_to(r.step_s, measured), "step %g s, measured %g s", r.step_s, measured);
    p.meta.device.present = false;
    CHECK(gpu_calibrate(&p, NULL, &c, &err) == XQ_EINPUT);
}

/* Prefill's compute-bound products give the compute factor decode cannot; the rebuild class borrows it, and an
 * xq run projected with factors calibrated on fp16 charges its rebuild at that rate. */
static void test_calibration_prefill(void)
{
    store_profile p = profile("fp16");
    static store_op_row pre_rows[2 * N_LAYER];
    store_profile pre = p;
    pre.phase = STORE_PHASE_PREFILL;
    int n = 0;
    for (int l = 0; l < N_LAYER; l++) {
        pre_rows[n++] = row(l, "matmul_q", 4e6, 2e8, 1e6, 0); /* 200 FLOP/byte: compute-bound, 5e10 FLOP/s */
        pre_rows[n++] = row(l, "attend", 1e5, 1e5, 0, 1e5);   /* memory-bound: ignored, decode measured it */
    }
    pre.rows = pre_rows;
    pre.n_rows = n;
    rows[0] = row(-1, "lm_head", 4e5, 4e6, 2e6, 0);
    rows[1] = row(0, "attend", 1e5, 1e5, 0, 3e5); /* 3e9 B/s */
    p.n_rows = 2;
    gpu_calibration c;
    xq_err err = {0};
    CHECKF(gpu_calibrate(&p, &pre, &c, &err) == XQ_OK, "%s", err.msg);
    const gpu_class_efficiency *e = c.eff.cls;
    CHECK(c.source[GPU_CLASS_GEMM][0] == GPU_FACTOR_PREFILL && close_to(e[GPU_CLASS_GEMM].compute, 0.5));
    CHECK(c.source[GPU_CLASS_GEMM][1] == GPU_FACTOR_DECODE && close_to(e[GPU_CLASS_GEMM].memory, 0.5));
    CHECK(c.source[GPU_CLASS_ATTENTION][1] == GPU_FACTOR_DECODE && close_to(e[GPU_CLASS_ATTENTION].memory, 0.3));
    CHECK(c.source[GPU_CLASS_REBUILD][0] == GPU_FACTOR_GEMM && close_to(e[GPU_CLASS_REBUILD].compute, 0.5));

    /* The fixture's xq-4 run at its own context: the remat rows (8e6 FLOPs, 2e5 bytes each: compute-bound) take
     * 8e6 / (1e11 · 0.5) s each; the old rule (gemm's achieved 1e10 FLOP/s) charged 5× that. */
    store_profile xq = profile("xq-4");
    gpu_options o;
    gpu_options_default(&o);
    o.eff = c.eff;
    gpu_result with = project(&xq, &o, 256, 1, 1);
    o.eff.cls[GPU_CLASS_REBUILD].compute = 0.1;
    gpu_result old = project(&xq, &o, 256, 1, 1);
    double remat_s = 8e6 / (1e11 * 0.5);
    CHECKF(close_to(old.step_s - with.step_s, N_LAYER * (5 * remat_s - remat_s)), "rebuild time %g s vs %g s",
           with.step_s, old.step_s);

    /* A run that rebuilds measures the rebuild itself: remat compute-bound, dequant memory-bound. */
    store_profile q = profile("xq-4");
    rows[0] = row(0, "remat", 2e5, 8e6, 2e5, 0);   /* 4e10 FLOP/s: 0.4 */
    rows[1] = row(0, "dequant", 1e5, 1e5, 0, 2e5); /* 0.5 FLOP/byte: memory-bound, 2e9 B/s: 0.2 */
    q.n_rows = 2;
    CHECKF(gpu_calibrate(&q, &pre, &c, &err) == XQ_OK, "%s", err.msg);
    CHECK(c.source[GPU_CLASS_REBUILD][0] == GPU_FACTOR_DECODE && close_to(c.eff.cls[GPU_CLASS_REBUILD].compute, 0.4));
    CHECK(c.source[GPU_CLASS_REBUILD][1] == GPU_FACTOR_DECODE && close_to(c.eff.cls[GPU_CLASS_REBUILD].memory, 0.2));
}

int main(void)
{
    test_model_and_mode();
    test_rescaling();
    test_calibration();
    test_calibration_prefill();
    return test_report("test_gpu_project_run");
}
