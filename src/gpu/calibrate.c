/* Efficiency factors from a recorded run (calibrate.h). */
#include "gpu/calibrate.h"

#include <string.h>

/* Per resource j (0 compute, 1 memory): the FLOPs of a class's compute-bound ops or the weight and cache bytes of
 * its memory-bound ops, and their time. */
typedef struct class_sums {
    double work[2], ns[2];
} class_sums;

const char *gpu_factor_source_name(gpu_factor_source s)
{
    static const char *const names[] = {"default", "decode", "prefill", "gemm"};
    return names[s];
}

static void sum_classes(const store_profile *p, const store_device_info *d, class_sums sums[GPU_CLASSES])
{
    memset(sums, 0, GPU_CLASSES * sizeof *sums);
    for (int i = 0; p && i < p->n_rows; i++) {
        const store_op_row *r = &p->rows[i];
        class_sums *c = &sums[gpu_class_of_op(r->name)];
        double bytes = r->bytes_weights + r->bytes_cache_read + r->bytes_cache_write;
        bool compute_bound = r->flops > 0 && r->flops / d->peak_flops >= bytes / d->read_bytes_per_s;
        if (!compute_bound && bytes <= 0) continue;
        int j = compute_bound ? 0 : 1;
        c->work[j] += compute_bound ? r->flops : bytes;
        c->ns[j] += r->self_ns;
    }
}

static double *rate_of(gpu_calibration *out, int c, int j)
{
    return j ? &out->bytes_per_s[c] : &out->flops_per_s[c];
}

/* Class c's factor for resource j from an achieved rate, and where it came from. */
static void set_factor(gpu_calibration *out, int c, int j, double rate, gpu_factor_source src)
{
    *rate_of(out, c, j) = rate;
    if (j) out->eff.cls[c].memory = rate / out->peak_bytes_per_s;
    else out->eff.cls[c].compute = rate / out->peak_flops;
    out->source[c][j] = src;
}

/* Sets the factors of the sums where no earlier phase has; true if any was set. */
static bool take_phase(gpu_calibration *out, const class_sums sums[GPU_CLASSES], gpu_factor_source src)
{
    bool any = false;
    for (int c = 0; c < GPU_CLASSES; c++)
        for (int j = 0; j < 2; j++)
            if (out->source[c][j] == GPU_FACTOR_DEFAULT && sums[c].work[j] > 0 && sums[c].ns[j] > 0) {
                set_factor(out, c, j, sums[c].work[j] / (sums[c].ns[j] * 1e-9), src);
                any = true;
            }
    return any;
}

static void rebuild_from_gemm(gpu_calibration *out)
{
    const int rb = GPU_CLASS_REBUILD, mm = GPU_CLASS_GEMM;
    for (int j = 0; j < 2; j++)
        if (out->source[rb][j] == GPU_FACTOR_DEFAULT && out->source[mm][j] != GPU_FACTOR_DEFAULT)
            set_factor(out, rb, j, *rate_of(out, mm, j), GPU_FACTOR_GEMM);
}

int gpu_calibrate(const store_profile *decode, const store_profile *prefill, gpu_calibration *out, xq_err *err)
{
    memset(out, 0, sizeof *out);
    gpu_efficiency_default(&out->eff);
    const store_device_info *d = &decode->meta.device;
    if (!d->present || d->peak_flops <= 0 || d->read_bytes_per_s <= 0)
        return xq_fail(err, XQ_EINPUT, "%s run %lld: no device peaks recorded to calibrate against",
                       decode->meta.path, (long long)decode->meta.id);
    out->peak_flops = d->peak_flops;
    out->peak_bytes_per_s = d->read_bytes_per_s;
    class_sums sums[GPU_CLASSES];
    sum_classes(decode, d, sums);
    if (!take_phase(out, sums, GPU_FACTOR_DECODE))
        return xq_fail(err, XQ_EINPUT, "%s run %lld: no timed ops with FLOPs or bytes in its %s steps",
                       decode->meta.path, (long long)decode->meta.id, store_phase_name(decode->phase));
    sum_classes(prefill, d, sums);
    take_phase(out, sums, GPU_FACTOR_PREFILL);
    rebuild_from_gemm(out);
    return XQ_OK;
}
