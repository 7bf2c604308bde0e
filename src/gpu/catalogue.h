/* The GPU catalogue: one gpu_spec per device, from datasheets (docs/GPUS.md gives each value's source), plus the
 * CPU this runs on with its measured peaks, plus entries read from a text file (--gpus-file).
 *
 * Units are the datasheets': TFLOP/s (dense, no sparsity), GB (10^9 bytes), TB/s, MB of L2 (MiB, as cache
 * sizes are quoted), GB/s of interconnect (bidirectional, as NVIDIA quotes NVLink). A 0 means "not present" (no
 * FP8 on Ampere, no NVLink on an L4). `tensor_tflops` is the dense fp16/bf16 tensor rate with FP32 accumulation: on
 * GeForce cards that is half the FP16-accumulate rate, which `fp16acc_tflops` keeps for reference.
 *
 * The text format of --gpus-file (docs/GPUS.md, "Adding a GPU"):
 *   # comment                       blank lines and comments anywhere
 *   [my-gpu]                        starts an entry; an existing id is overridden field by field
 *   name = My GPU                   key = value, one per line; keys as gpu_spec's fields below
 *   tensor_tflops = 500
 * A new id needs tensor_tflops, bw_tbs and mem_gb. Errors name the file and line. */
#ifndef XQ_GPU_CATALOGUE_H
#define XQ_GPU_CATALOGUE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/status.h"

typedef struct gpu_spec {
    char id[32];           /* command-line id: h100-sxm, a100-80g, cpu … */
    char name[64];         /* marketing name */
    char arch[32];         /* architecture and compute capability */
    int sms;               /* streaming multiprocessors (CPU: cores) */
    double tensor_tflops;  /* dense fp16/bf16 tensor, FP32 accumulate: the rate the roofline uses */
    double fp16acc_tflops; /* dense fp16 with FP16 accumulate where it differs (GeForce), else 0 */
    double fp8_tflops;     /* dense FP8 tensor, 0 if absent */
    double int8_tops;      /* dense INT8 tensor, 0 if absent */
    double fp32_tflops;    /* non-tensor FP32: the rate of element-wise work (dequantization, RoPE) */
    double mem_gb;         /* device memory */
    double bw_tbs;         /* memory bandwidth */
    double l2_mb;          /* L2 (CPU: last-level cache) */
    double l2_tbs;         /* L2 bandwidth; 0 = estimated as GPU_L2_BW_FACTOR × bw_tbs (approximate) */
    double link_gbs;       /* GPU-to-GPU bandwidth, bidirectional (NVLink, else PCIe) */
    char link[24];         /* what link_gbs is: "NVLink 4", "PCIe 4.0 x16" … */
    bool measured;         /* peaks measured on this machine (the cpu entry) rather than from a datasheet */
} gpu_spec;

enum { GPU_MAX_ENTRIES = 96 };
#define GPU_L2_BW_FACTOR 3.0

typedef struct gpu_catalogue gpu_catalogue;

/* The built-in entries (no cpu: see gpu_catalogue_put and gpu_spec_cpu). NULL if out of memory. */
gpu_catalogue *gpu_catalogue_create(void);
void gpu_catalogue_destroy(gpu_catalogue *cat);
int gpu_catalogue_count(const gpu_catalogue *cat);
const gpu_spec *gpu_catalogue_at(const gpu_catalogue *cat, int i);
const gpu_spec *gpu_catalogue_find(const gpu_catalogue *cat, const char *id);
/* Adds the entry, or replaces the one with the same id. XQ_EINPUT if the catalogue is full. */
int gpu_catalogue_put(gpu_catalogue *cat, const gpu_spec *spec, xq_err *err);
/* Parses the --gpus-file text (len bytes) and adds/overrides its entries; errors "<file>:<line>: <why>". */
int gpu_catalogue_load_text(gpu_catalogue *cat, const char *text, size_t len, const char *file, xq_err *err);

/* The ids of the built-in entries, space-separated (for help texts and error messages). */
const char *gpu_catalogue_builtin_ids(void);

/* Derived values. */
double gpu_spec_ridge(const gpu_spec *g); /* tensor FLOP per byte of memory traffic */
double gpu_spec_l2_bw(const gpu_spec *g); /* bytes/s */

/* The CPU as a device: measured fp32 FMA peak and streaming bandwidth, cores, memory, last-level cache. */
typedef struct gpu_cpu_facts {
    const char *name;
    int cores;
    double peak_flops;       /* FLOP/s */
    double read_bytes_per_s; /* bytes/s */
    double memory_bytes;
    double llc_bytes; /* 0 if unknown */
} gpu_cpu_facts;
void gpu_spec_cpu(const gpu_cpu_facts *facts, gpu_spec *out);

#endif
