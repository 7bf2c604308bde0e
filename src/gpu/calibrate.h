/* Efficiency factors from a recorded run (`--calibrate RUN.db`): per op class, the rates its ops achieved in the
 * run's decode steps against the peaks of the device the run was recorded on (its device row: the measured FMA
 * peak and read bandwidth of a CPU, or a GPU's catalogue peaks).
 *
 *   compute = Σ FLOPs / (Σ self time of the class's ops that do FLOPs · peak FLOP/s)
 *   memory  = Σ bytes of weights and cache / (Σ self time of its ops that move such bytes · read bandwidth)
 *
 * Both factors of a class see the same measured time, so projecting the run itself onto its own device gives
 * back each class's measured time (its larger term); a run of another mode or context changes the mix of FLOPs
 * and bytes, and the larger term moves with it. A class without FLOPs (or bytes) in the run keeps its default;
 * the link is never measured here. */
#ifndef XQ_GPU_CALIBRATE_H
#define XQ_GPU_CALIBRATE_H

#include <stdbool.h>

#include "gpu/project.h"
#include "store/align.h"

typedef struct gpu_calibration {
    gpu_efficiency eff;
    bool measured[GPU_CLASSES][2]; /* [class][0 compute, 1 memory]: from the run (else the default) */
    double flops_per_s[GPU_CLASSES], bytes_per_s[GPU_CLASSES]; /* achieved; 0 when not measured */
    double peak_flops, peak_bytes_per_s;                       /* the run's device row */
} gpu_calibration;

/* XQ_EINPUT when the run has no device peaks or no timed ops. */
int gpu_calibrate(const store_profile *p, gpu_calibration *out, xq_err *err);

#endif
