/* Efficiency factors from a recorded run (calibrate.h). */
#include "gpu/calibrate.h"

#include <string.h>

typedef struct class_sums {
    double flops, flop_ns; /* FLOPs of the compute-bound ops, and their time */
    double bytes, byte_ns; /* weight and cache bytes of the memory-bound ops, and their time */
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
        if (compute_bound) {
            c->flops += r->flops;
            c->flop_ns += r->self_ns;
        } else if (bytes > 0) {
            c->bytes += bytes;
            c->byte_ns += r->self_ns;
        }
    }
}

/* Sets the factors of the sums where no earlier phase has; true if any was set. */
static bool take_phase(gpu_calibration *out, const class_sums sums[GPU_CLASSES], gpu_factor_source src)
{
    bool any = false;
    for (int c = 0; c < GPU_CLASSES; c++) {
        const class_sums *s = &sums[c];
        if (out->source[c][0] == GPU_FACTOR_DEFAULT && s->flops > 0 && s->flop_ns > 0) {
            out->flops_per_s[c] = s->flops / (s->flop_ns * 1e-9);
            out->eff.cls[c].compute = out->flops_per_s[c] / out->peak_flops;
            out->source[c][0] = src;
            any = true;
        }
        if (out->source[c][1] == GPU_FACTOR_DEFAULT && s->bytes > 0 && s->byte_ns > 0) {
            out->bytes_per_s[c] = s->bytes / (s->byte_ns * 1e-9);
            out->eff.cls[c].memory = out->bytes_per_s[c] / out->peak_bytes_per_s;
            out->source[c][1] = src;
            any = true;
        }
    }
    return any;
}

static void rebuild_from_gemm(gpu_calibration *out)
{
    const int rb = GPU_CLASS_REBUILD, mm = GPU_CLASS_GEMM;
    if (out->source[rb][0] == GPU_FACTOR_DEFAULT && out->source[mm][0] != GPU_FACTOR_DEFAULT) {
        out->eff.cls[rb].compute = out->eff.cls[mm].compute;
        out->flops_per_s[rb] = out->flops_per_s[mm];
        out->source[rb][0] = GPU_FACTOR_GEMM;
    }
    if (out->source[rb][1] == GPU_FACTOR_DEFAULT && out->source[mm][1] != GPU_FACTOR_DEFAULT) {
        out->eff.cls[rb].memory = out->eff.cls[mm].memory;
        out->bytes_per_s[rb] = out->bytes_per_s[mm];
        out->source[rb][1] = GPU_FACTOR_GEMM;
    }
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
