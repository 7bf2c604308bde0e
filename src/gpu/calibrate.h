/* Efficiency factors from a recorded run (`--calibrate RUN.db`): per op class and resource, the rate its ops
 * achieved against the peaks of the device the run was recorded on (its device row: the measured FMA peak and
 * read bandwidth of a CPU, or a GPU's catalogue peaks).
 *
 * A factor measures a resource only where that resource binds, so each op counts toward one factor: the one of
 * its side of the raw roofline (FLOPs / peak against bytes / bandwidth; an op without bytes is compute-bound):
 *
 *   compute = Σ FLOPs / (Σ self time of the class's compute-bound ops · peak FLOP/s)
 *   memory  = Σ bytes of weights and cache / (Σ self time of its memory-bound ops · read bandwidth)
 *
 * (A memory-bound op's FLOP rate says how fast the memory was, not the arithmetic: decode's one-token matrix
 * products taught the rebuild, a compute-bound product, a quarter of its real rate.) Each factor comes from the
 * run's decode steps; where they have no op of its kind, from its prefill steps (whose matrix products are
 * compute-bound); else it keeps its default, except that the rebuild class, absent from runs without a rebuild,
 * takes the gemm class's measured factors: the rebuild is a matrix product too. The link is never measured here.
 * Projecting a run onto its own device gives back each class's decode time as long as every op stays on its
 * side of the roofline with the factors applied. */
#ifndef XQ_GPU_CALIBRATE_H
#define XQ_GPU_CALIBRATE_H

#include "gpu/project.h"
#include "store/align.h"

typedef enum gpu_factor_source {
    GPU_FACTOR_DEFAULT,
    GPU_FACTOR_DECODE,  /* the run's decode steps */
    GPU_FACTOR_PREFILL, /* its prefill steps */
    GPU_FACTOR_GEMM,    /* the rebuild class: the gemm class's factor */
} gpu_factor_source;

const char *gpu_factor_source_name(gpu_factor_source s);

typedef struct gpu_calibration {
    gpu_efficiency eff;
    gpu_factor_source source[GPU_CLASSES][2];                  /* [class][0 compute, 1 memory] */
    double flops_per_s[GPU_CLASSES], bytes_per_s[GPU_CLASSES]; /* achieved where the factor comes from; else 0 */
    double peak_flops, peak_bytes_per_s;                       /* the run's device row */
} gpu_calibration;

/* decode: the run's decode steps; prefill: its prefill steps, or NULL. XQ_EINPUT when the run has no device
 * peaks or no timed ops with FLOPs or bytes. */
int gpu_calibrate(const store_profile *decode, const store_profile *prefill, gpu_calibration *out, xq_err *err);

#endif
