/* The built-in GPU table and the catalogue container. Values and their sources: docs/GPUS.md. Dense rates only
 * (NVIDIA's sparse figures halved). Cells that no primary source confirms are marked approximate there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/catalogue.h"

struct gpu_catalogue {
    int n;
    gpu_spec entries[GPU_MAX_ENTRIES];
};

/* id, name, arch, SMs, tensor(FP32 acc), fp16 acc, fp8, int8, fp32, GB, TB/s, L2 MB, L2 TB/s, link GB/s, link */
/* clang-format off */
static const gpu_spec builtin[] = {
    {"a100-40g", "A100 40GB SXM4", "Ampere (8.0)", 108, 312, 0, 0, 624, 19.5, 40, 1.555, 40, 0, 600, "NVLink 3", false},
    {"a100-80g", "A100 80GB SXM4", "Ampere (8.0)", 108, 312, 0, 0, 624, 19.5, 80, 2.039, 40, 0, 600, "NVLink 3", false},
    {"a10", "A10", "Ampere (8.6)", 72, 125, 0, 0, 250, 31.2, 24, 0.600, 6, 0, 64, "PCIe 4.0 x16", false},
    {"l4", "L4", "Ada (8.9)", 58, 121, 0, 242.5, 242.5, 30.3, 24, 0.300, 48, 0, 64, "PCIe 4.0 x16", false},
    {"l40s", "L40S", "Ada (8.9)", 142, 362, 0, 733, 733, 91.6, 48, 0.864, 96, 0, 64, "PCIe 4.0 x16", false},
    {"rtx3090", "GeForce RTX 3090", "Ampere (8.6)", 82, 71, 142, 0, 284, 35.6, 24, 0.936, 6, 0, 112.5,
     "NVLink 3 bridge", false},
    {"rtx4090", "GeForce RTX 4090", "Ada (8.9)", 128, 165.2, 330.3, 330.3, 660.6, 82.6, 24, 1.008, 72, 0, 64,
     "PCIe 4.0 x16", false},
    {"rtx5090", "GeForce RTX 5090", "Blackwell (12.0)", 170, 209.5, 419, 419, 838, 104.8, 32, 1.792, 96, 0, 128,
     "PCIe 5.0 x16", false},
    {"h100-sxm", "H100 SXM5", "Hopper (9.0)", 132, 989.4, 0, 1979, 1979, 67, 80, 3.35, 50, 0, 900, "NVLink 4",
     false},
    {"h100-pcie", "H100 PCIe", "Hopper (9.0)", 114, 756.5, 0, 1513, 1513, 51, 80, 2.0, 50, 0, 600,
     "NVLink 4 bridge", false},
    {"h100-nvl", "H100 NVL", "Hopper (9.0)", 132, 835.5, 0, 1670.5, 1670.5, 60, 94, 3.9, 50, 0, 600,
     "NVLink 4 bridge", false},
    {"h200", "H200 SXM", "Hopper (9.0)", 132, 989.4, 0, 1979, 1979, 67, 141, 4.8, 50, 0, 900, "NVLink 4", false},
    {"h20", "H20", "Hopper (9.0)", 78, 148, 0, 296, 296, 44, 96, 4.0, 60, 0, 900, "NVLink 4", false},
    {"gh200", "GH200 (GPU, 96 GB HBM3)", "Hopper (9.0)", 132, 989.4, 0, 1979, 1979, 67, 96, 4.0, 50, 0, 900,
     "NVLink 4", false},
    {"b200", "B200 (HGX)", "Blackwell (10.0)", 148, 2250, 0, 4500, 4500, 75, 180, 7.7, 126, 0, 1800, "NVLink 5",
     false},
};
/* clang-format on */
enum { N_BUILTIN = sizeof builtin / sizeof builtin[0] };

gpu_catalogue *gpu_catalogue_create(void)
{
    gpu_catalogue *cat = calloc(1, sizeof *cat);
    if (!cat) return NULL;
    memcpy(cat->entries, builtin, sizeof builtin);
    cat->n = N_BUILTIN;
    return cat;
}

void gpu_catalogue_destroy(gpu_catalogue *cat)
{
    free(cat);
}

int gpu_catalogue_count(const gpu_catalogue *cat)
{
    return cat->n;
}

const gpu_spec *gpu_catalogue_at(const gpu_catalogue *cat, int i)
{
    return i >= 0 && i < cat->n ? &cat->entries[i] : NULL;
}

const gpu_spec *gpu_catalogue_find(const gpu_catalogue *cat, const char *id)
{
    for (int i = 0; id && i < cat->n; i++)
        if (strcmp(cat->entries[i].id, id) == 0) return &cat->entries[i];
    return NULL;
}

int gpu_catalogue_put(gpu_catalogue *cat, const gpu_spec *spec, xq_err *err)
{
    for (int i = 0; i < cat->n; i++)
        if (strcmp(cat->entries[i].id, spec->id) == 0) {
            cat->entries[i] = *spec;
            return XQ_OK;
        }
    if (cat->n == GPU_MAX_ENTRIES)
        return xq_fail(err, XQ_EINPUT, "gpu catalogue: more than %d entries", GPU_MAX_ENTRIES);
    cat->entries[cat->n++] = *spec;
    return XQ_OK;
}

const char *gpu_catalogue_builtin_ids(void)
{
    static char ids[512];
    if (!ids[0])
        for (int i = 0; i < N_BUILTIN; i++) {
            strcat(ids, i ? " " : "");
            strcat(ids, builtin[i].id);
        }
    return ids;
}

double gpu_spec_ridge(const gpu_spec *g)
{
    return g->tensor_tflops / g->bw_tbs;
}

double gpu_spec_l2_bw(const gpu_spec *g)
{
    return (g->l2_tbs > 0 ? g->l2_tbs : GPU_L2_BW_FACTOR * g->bw_tbs) * 1e12;
}

void gpu_spec_cpu(const gpu_cpu_facts *facts, gpu_spec *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "cpu");
    snprintf(out->name, sizeof out->name, "%s", facts->name && facts->name[0] ? facts->name : "this CPU");
    snprintf(out->arch, sizeof out->arch, "CPU (measured)");
    out->sms = facts->cores;
    /* No tensor cores: the measured fp32 FMA peak stands for matrix and element-wise work alike. */
    out->tensor_tflops = facts->peak_flops / 1e12;
    out->fp32_tflops = out->tensor_tflops;
    out->mem_gb = facts->memory_bytes / 1e9;
    out->bw_tbs = facts->read_bytes_per_s / 1e12;
    out->l2_mb = facts->llc_bytes / (1 << 20); /* cache sizes are binary megabytes */
    snprintf(out->link, sizeof out->link, "-");
    out->measured = true;
}
