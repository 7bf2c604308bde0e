/* Efficiency factors from a recorded run (calibrate.h). */
#include "gpu/calibrate.h"

#include <string.h>

typedef struct class_sums {
    double flops, flop_ns; /* FLOPs, and the time of the ops that do them */
    double bytes, byte_ns; /* weight and cache bytes, and the time of the ops that move them */
} class_sums;

static void sum_classes(const store_profile *p, class_sums sums[GPU_CLASSES])
{
    memset(sums, 0, GPU_CLASSES * sizeof *sums);
    for (int i = 0; i < p->n_rows; i++) {
        const store_op_row *r = &p->rows[i];
        class_sums *c = &sums[gpu_class_of_op(r->name)];
        double bytes = r->bytes_weights + r->bytes_cache_read + r->bytes_cache_write;
        if (r->flops > 0) {
            c->flops += r->flops;
            c->flop_ns += r->self_ns;
        }
        if (bytes > 0) {
            c->bytes += bytes;
            c->byte_ns += r->self_ns;
        }
    }
}

int gpu_calibrate(const store_profile *p, gpu_calibration *out, xq_err *err)
{
    memset(out, 0, sizeof *out);
    gpu_efficiency_default(&out->eff);
    const store_device_info *d = &p->meta.device;
    if (!d->present || d->peak_flops <= 0 || d->read_bytes_per_s <= 0)
        return xq_fail(err, XQ_EINPUT, "%s run %lld: no device peaks recorded to calibrate against", p->meta.path,
                       (long long)p->meta.id);
    out->peak_flops = d->peak_flops;
    out->peak_bytes_per_s = d->read_bytes_per_s;
    class_sums sums[GPU_CLASSES];
    sum_classes(p, sums);
    bool any = false;
    for (int c = 0; c < GPU_CLASSES; c++) {
        if (sums[c].flops > 0 && sums[c].flop_ns > 0) {
            out->flops_per_s[c] = sums[c].flops / (sums[c].flop_ns * 1e-9);
            out->eff.cls[c].compute = out->flops_per_s[c] / d->peak_flops;
            out->measured[c][0] = any = true;
        }
        if (sums[c].bytes > 0 && sums[c].byte_ns > 0) {
            out->bytes_per_s[c] = sums[c].bytes / (sums[c].byte_ns * 1e-9);
            out->eff.cls[c].memory = out->bytes_per_s[c] / d->read_bytes_per_s;
            out->measured[c][1] = any = true;
        }
    }
    if (!any)
        return xq_fail(err, XQ_EINPUT, "%s run %lld: no timed ops with FLOPs or bytes in its %s steps", p->meta.path,
                       (long long)p->meta.id, store_phase_name(p->phase));
    return XQ_OK;
}
