/* The GPU catalogue: every id the issue names, sane values, the ridge points of XQUANT.md §4, the CPU entry,
 * and the --gpus-file format (overrides, additions, and one-line errors with the line number). */
#include <string.h>

#include "gpu/catalogue.h"
#include "testlib.h"

static const char *const required_ids[] = {"a100-40g", "a100-80g", "a10",     "l4",       "l40s",
                                           "rtx3090",  "rtx4090",  "rtx5090", "h100-sxm", "h100-pcie",
                                           "h100-nvl", "h200",     "h20",     "gh200",    "b200"};

static void test_builtins(void)
{
    gpu_catalogue *cat = gpu_catalogue_create();
    CHECK(cat != NULL);
    for (size_t i = 0; i < sizeof required_ids / sizeof required_ids[0]; i++) {
        const gpu_spec *g = gpu_catalogue_find(cat, required_ids[i]);
        CHECKF(g != NULL, "missing %s", required_ids[i]);
        if (!g) continue;
        CHECKF(g->sms > 0 && g->tensor_tflops > 0 && g->fp32_tflops > 0 && g->mem_gb > 0 && g->bw_tbs > 0 &&
                   g->l2_mb > 0 && g->link_gbs > 0 && g->name[0] && g->arch[0],
               "%s has an empty field", g->id);
        CHECKF(g->tensor_tflops > g->fp32_tflops, "%s: tensor rate below fp32", g->id);
    }
    CHECK(gpu_catalogue_find(cat, "nope") == NULL);
    CHECK(strstr(gpu_catalogue_builtin_ids(), "h100-pcie") != NULL);
    gpu_catalogue_destroy(cat);
}

/* GPUS.md's ridge points; h100-pcie is the paper's example: 756.5 / 2.0 = 378. */
static void test_ridges(void)
{
    gpu_catalogue *cat = gpu_catalogue_create();
    struct {
        const char *id;
        double ridge;
    } want[] = {
        {"h100-pcie", 378}, {"h100-sxm", 295}, {"a100-80g", 153}, {"a100-40g", 201}, {"h200", 206},
        {"l4", 403},        {"h20", 37},       {"rtx4090", 164},  {"rtx3090", 76},   {"h100-nvl", 214},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        double r = gpu_spec_ridge(gpu_catalogue_find(cat, want[i].id));
        CHECKF(fabs(r - want[i].ridge) < 1.0, "%s ridge %.1f, want %.0f", want[i].id, r, want[i].ridge);
    }
    const gpu_spec *h = gpu_catalogue_find(cat, "h100-pcie");
    CHECK(h->tensor_tflops == 756.5 && h->bw_tbs == 2.0);
    CHECK(gpu_spec_l2_bw(h) == GPU_L2_BW_FACTOR * 2.0e12);
    gpu_catalogue_destroy(cat);
}

static void test_cpu_entry(void)
{
    gpu_cpu_facts f = {"Test CPU", 8, 5e11, 4e10, 64e9, 32 << 20};
    gpu_spec g;
    gpu_spec_cpu(&f, &g);
    CHECK(strcmp(g.id, "cpu") == 0 && g.measured && g.sms == 8);
    CHECK(g.tensor_tflops == 0.5 && g.bw_tbs == 0.04 && g.mem_gb == 64 && g.l2_mb == 32);
    gpu_catalogue *cat = gpu_catalogue_create();
    xq_err err = {0};
    CHECK(gpu_catalogue_put(cat, &g, &err) == XQ_OK);
    CHECK(gpu_catalogue_find(cat, "cpu") != NULL);
    gpu_catalogue_destroy(cat);
}

static int load(gpu_catalogue *cat, const char *text, xq_err *err)
{
    return gpu_catalogue_load_text(cat, text, strlen(text), "g.txt", err);
}

static void test_file_ok(void)
{
    gpu_catalogue *cat = gpu_catalogue_create();
    int n = gpu_catalogue_count(cat);
    xq_err err = {0};
    const char *text = "# override one field, add one card\n"
                       "[h100-sxm]\n"
                       "bw_tbs = 3.0   # derated\n"
                       "\n"
                       "[my-card]\r\n"
                       "name = My Card\n"
                       "tensor_tflops=100\n"
                       "bw_tbs = 1\n"
                       "mem_gb = 16\n"
                       "sms = 40\n";
    CHECKF(load(cat, text, &err) == XQ_OK, "%s", err.msg);
    CHECK(gpu_catalogue_count(cat) == n + 1);
    const gpu_spec *h = gpu_catalogue_find(cat, "h100-sxm");
    CHECK(h->bw_tbs == 3.0 && h->tensor_tflops == 989.4 && h->mem_gb == 80);
    const gpu_spec *m = gpu_catalogue_find(cat, "my-card");
    CHECK(m && strcmp(m->name, "My Card") == 0 && m->sms == 40 && gpu_spec_ridge(m) == 100);
    gpu_catalogue_destroy(cat);
}

static void expect_error(const char *text, const char *where, const char *what)
{
    gpu_catalogue *cat = gpu_catalogue_create();
    xq_err err = {0};
    int rc = load(cat, text, &err);
    CHECKF(rc == XQ_EINPUT && strstr(err.msg, where) && strstr(err.msg, what) && !strchr(err.msg, '\n'),
           "rc %d, message '%s' (want '%s' … '%s')", rc, err.msg, where, what);
    gpu_catalogue_destroy(cat);
}

static void test_file_errors(void)
{
    expect_error("[a]\ntensor_tflops = 1\nfrobs = 2\n", "g.txt:3:", "unknown key 'frobs'");
    expect_error("\n\nbw_tbs = 1\n", "g.txt:3:", "before any '[id]'");
    expect_error("[a]\nbw_tbs = fast\n", "g.txt:2:", "'fast'");
    expect_error("[a]\nbw_tbs = -1\n", "g.txt:2:", "non-negative");
    expect_error("[a]\nsms = 1.5\n", "g.txt:2:", "whole number");
    expect_error("[a]\njust words\n", "g.txt:2:", "key = value");
    expect_error("[bad id]\n", "g.txt:1:", "bad id");
    expect_error("[a\n", "g.txt:1:", "[id]");
    expect_error("# new card lacks its peaks\n[new]\nmem_gb = 8\n", "g.txt:2:", "tensor_tflops");
    expect_error("[new]\ntensor_tflops = 8\nmem_gb = 8\n[other]\n", "g.txt:1:", "bw_tbs");
    gpu_catalogue *cat = gpu_catalogue_create();
    xq_err err = {0};
    CHECK(gpu_catalogue_load_text(cat, "[a]\0x", 5, "g.txt", &err) == XQ_EINPUT && strstr(err.msg, "NUL"));
    gpu_catalogue_destroy(cat);
}

int main(void)
{
    test_builtins();
    test_ridges();
    test_cpu_entry();
    test_file_ok();
    test_file_errors();
    return test_report("test_gpu_catalogue");
}
