/* Shared option handling of the GPU commands (see gpu_opts.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/common.h"
#include "cli/gpu_opts.h"
#include "gpu/calibrate.h"
#include "model/qtypes.h"
#include "prof/roofline.h"
#include "store/align.h"
#include "store/reader.h"

bool gpu_cli_take_text(int argc, char **argv, int *i, const gpu_cli_text_flag *flags, size_t n, void *args,
                       bool *missing)
{
    const char *v;
    for (size_t k = 0; !*missing && k < n; k++)
        if ((v = cli_flag_value(argc, argv, i, flags[k].flag, missing))) {
            *(const char **)((char *)args + flags[k].offset) = v;
            return true;
        }
    return false;
}

const char *gpu_cli_take_flag(int argc, char **argv, int *i, const char *const *flags, size_t n, const char **value,
                              bool *missing)
{
    for (size_t k = 0; !*missing && k < n; k++)
        if ((*value = cli_flag_value(argc, argv, i, flags[k], missing))) return flags[k];
    return NULL;
}

static int parse_size(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < 0 || s[0] == '-') return -1;
    double unit = 1;
    if (*end == 'k' || *end == 'K')
        unit = 1024, end++;
    else if (*end == 'm' || *end == 'M')
        unit = 1024.0 * 1024, end++;
    if (*end || v * unit > 9e15 || v * unit != (double)(int64_t)(v * unit)) return -1;
    *out = (int64_t)(v * unit);
    return 0;
}

int gpu_cli_sizes(const char *cmd, const char *flag, const char *list, int64_t lo, int64_t hi, int64_t *out, int *n)
{
    *n = 0;
    char buf[1024];
    if (strlen(list) >= sizeof buf) return cli_error(XQ_EINPUT, cmd, "%s: list too long", flag);
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int64_t v;
        if (parse_size(tok, &v) || v < lo || v > hi)
            return cli_error(XQ_EINPUT, cmd, "%s expects whole numbers in [%lld, %lld] (k = 1024), got '%s'", flag,
                             (long long)lo, (long long)hi, tok);
        if (*n == GPU_CLI_MAX_LIST) return cli_error(XQ_EINPUT, cmd, "%s: more than %d values", flag, GPU_CLI_MAX_LIST);
        out[(*n)++] = v;
    }
    if (*n == 0) return cli_error(XQ_EINPUT, cmd, "%s: empty list", flag);
    return XQ_OK;
}

static void cpu_facts(gpu_cpu_facts *f, prof_roofline *r)
{
    int threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1) threads = 1;
    if (prof_roofline_load(threads, r) != 0 && prof_roofline_measure(threads, r) == 0 && !r->contended)
        prof_roofline_save(r);
    long llc = sysconf(_SC_LEVEL3_CACHE_SIZE);
    if (llc <= 0) llc = sysconf(_SC_LEVEL2_CACHE_SIZE);
    *f = (gpu_cpu_facts){r->cpu_name,         r->cores > 0 ? r->cores : threads, r->peak_flops,
                         r->read_bytes_per_s, (double)r->memory_bytes,           llc > 0 ? (double)llc : 0};
}

static int add_cpu(const char *cmd, gpu_catalogue *cat)
{
    prof_roofline r = {0};
    gpu_cpu_facts f;
    cpu_facts(&f, &r);
    if (f.peak_flops <= 0 || f.read_bytes_per_s <= 0)
        return cli_error(XQ_ERUN, cmd, "cpu: could not measure this machine's peaks");
    gpu_spec spec;
    gpu_spec_cpu(&f, &spec);
    xq_err err = {0};
    return gpu_catalogue_put(cat, &spec, &err) ? cli_report(&err) : XQ_OK;
}

int gpu_cli_catalogue(const char *cmd, const char *gpus_file, bool with_cpu, gpu_catalogue **out)
{
    gpu_catalogue *cat = gpu_catalogue_create();
    if (!cat) return cli_error(XQ_ERUN, cmd, "out of memory");
    int rc = with_cpu ? add_cpu(cmd, cat) : XQ_OK;
    if (!rc && gpus_file) {
        xq_err err = {0};
        char *text = NULL;
        size_t len = 0;
        rc = cli_read_file(gpus_file, &text, &len, &err);
        if (!rc) rc = gpu_catalogue_load_text(cat, text, len, gpus_file, &err);
        free(text);
        if (rc) {
            fprintf(stderr, "xqprof: %s: %s\n", cmd, err.msg);
            rc = XQ_EINPUT;
        }
    }
    if (rc) {
        gpu_catalogue_destroy(cat);
        return rc;
    }
    *out = cat;
    return XQ_OK;
}

int gpu_cli_gpus(const char *cmd, gpu_catalogue *cat, const char *list, const gpu_spec **out, int *n)
{
    char buf[1024];
    *n = 0;
    if (strlen(list) >= sizeof buf) return cli_error(XQ_EINPUT, cmd, "--gpu: list too long");
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *id = strtok_r(buf, ",", &save); id; id = strtok_r(NULL, ",", &save)) {
        if (!strcmp(id, "cpu") && !gpu_catalogue_find(cat, "cpu")) {
            int rc = add_cpu(cmd, cat);
            if (rc) return rc;
        }
        const gpu_spec *g = gpu_catalogue_find(cat, id);
        if (!g)
            return cli_error(XQ_EINPUT, cmd, "unknown gpu '%s' (known: %s cpu; see xqprof gpus)", id,
                             gpu_catalogue_builtin_ids());
        if (*n == GPU_CLI_MAX_LIST) return cli_error(XQ_EINPUT, cmd, "--gpu: more than %d ids", GPU_CLI_MAX_LIST);
        out[(*n)++] = g;
    }
    /* Entries are stable pointers: the catalogue is a fixed array that only the cpu entry appends to, above. */
    if (*n == 0) return cli_error(XQ_EINPUT, cmd, "--gpu: empty list");
    return XQ_OK;
}

static int workload_from_file(const char *cmd, const char *path, int type, gpu_model *out)
{
    model *m;
    int rc = cli_load_model(path, true, &m);
    if (rc) return rc;
    xq_err err = {0};
    rc = gpu_model_from_model(m, type, out, &err);
    model_free(m);
    return rc ? (fprintf(stderr, "xqprof: %s: %s\n", cmd, err.msg), XQ_EINPUT) : XQ_OK;
}

int gpu_cli_workload(const char *cmd, const char *shape, const char *model_path, const char *type, gpu_model *out)
{
    if (!!shape == !!model_path) return cli_error(XQ_EINPUT, cmd, "give exactly one of --shape NAME and --model FILE");
    int t = -1;
    if (type && (t = qt_from_name(type)) < 0)
        return cli_error(
            XQ_EINPUT, cmd,
            "unknown tensor type '%s' (F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 IQ4_NL IQ4_XS Q2_K … Q6_K)", type);
    if (model_path) return workload_from_file(cmd, model_path, t, out);
    const model_shape *s = model_shape_find(shape);
    if (!s) return cli_error(XQ_EINPUT, cmd, "unknown shape '%s' (see xqprof synth --list)", shape);
    xq_err err = {0};
    if (gpu_model_from_shape(s, t >= 0 ? (uint32_t)t : QT_F16, out, &err))
        return cli_error(XQ_EINPUT, cmd, "%s", err.msg);
    return XQ_OK;
}

int gpu_cli_modes(const char *cmd, const char *list, int group, int hi_layers, gpu_mode *out, int *n)
{
    char buf[1024];
    *n = 0;
    if (strlen(list) >= sizeof buf) return cli_error(XQ_EINPUT, cmd, "--modes: list too long");
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *name = strtok_r(buf, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        if (*n == GPU_CLI_MAX_LIST) return cli_error(XQ_EINPUT, cmd, "--modes: more than %d modes", GPU_CLI_MAX_LIST);
        xq_err err = {0};
        if (gpu_mode_parse(name, group, hi_layers, &out[*n], &err)) return cli_error(XQ_EINPUT, cmd, "%s", err.msg);
        (*n)++;
    }
    if (*n == 0) return cli_error(XQ_EINPUT, cmd, "--modes: empty list");
    return XQ_OK;
}

static void print_calibration(const store_profile *p, const store_profile *prefill, const gpu_calibration *c)
{
    const store_run_meta *m = &p->meta;
    printf("calibration: %s run %lld (%s, %d threads) on %s (%s): peaks %.1f GFLOP/s, %.1f GB/s; %lld fastest of %lld "
           "decode steps, mean ctx %.1f",
           m->path, (long long)m->id, m->cache_mode, m->threads, m->device.name, m->device.source, c->peak_flops / 1e9,
           c->peak_bytes_per_s / 1e9, (long long)p->totals.steps, (long long)p->totals.steps_in_phase,
           p->totals.mean_ctx);
    if (prefill)
        printf("; %lld fastest of %lld prefill steps", (long long)prefill->totals.steps,
               (long long)prefill->totals.steps_in_phase);
    printf("\n%-12s %10s %8s %-8s %10s %8s %s\n", "class", "GFLOP/s", "compute", "from", "GB/s", "memory", "from");
    for (int k = 0; k < GPU_CLASSES; k++) {
        printf("%-12s", gpu_class_name((gpu_op_class)k));
        const double rate[2] = {c->flops_per_s[k] / 1e9, c->bytes_per_s[k] / 1e9};
        const double factor[2] = {c->eff.cls[k].compute, c->eff.cls[k].memory};
        for (int j = 0; j < 2; j++) {
            if (c->source[k][j] != GPU_FACTOR_DEFAULT)
                printf(" %10.2f", rate[j]);
            else
                printf(" %10s", "-");
            printf(" %8.4g %-*s", factor[j], j ? 0 : 8, gpu_factor_source_name(c->source[k][j])); /* a tiny factor stays > 0 */
        }
        printf("\n");
    }
    printf("%-12s %10s %8s %-8s %10s %8.4g %s\n", "link", "", "", "", "-", c->eff.link, "default");
}

/* The run's prefill steps, when it has any (they lend compute factors decode cannot measure); NULL if none. */
static store_profile *load_prefill(store_reader *r, int64_t run)
{
    store_profile *p = NULL;
    store_profile_opts po = {STORE_PHASE_PREFILL, 0.25};
    xq_err ignored = {0};
    if (store_profile_load(r, run, &po, &p, &ignored)) return NULL;
    return p;
}

int gpu_cli_calibrate(const char *cmd, const char *path, gpu_efficiency *eff, char *source, size_t cap, bool *on_cpu)
{
    store_reader *r = NULL;
    store_profile *p = NULL, *prefill = NULL;
    store_profile_opts po = {STORE_PHASE_DECODE, 0.25};
    gpu_calibration c;
    xq_err err = {0};
    int rc = store_reader_open(path, &r, &err);
    if (!rc) rc = store_profile_load(r, 0, &po, &p, &err);
    if (!rc) {
        prefill = load_prefill(r, p->meta.id);
        rc = gpu_calibrate(p, prefill, &c, &err);
    }
    if (!rc) {
        print_calibration(p, prefill, &c);
        *eff = c.eff;
        *on_cpu = !strcmp(p->meta.device.kind, "cpu");
        snprintf(source, cap, "calibrated on %s run %lld (%s)", path, (long long)p->meta.id, p->meta.device.name);
    }
    store_profile_free(prefill);
    store_profile_free(p);
    store_reader_close(r);
    if (rc) {
        xq_err_prefix(&err, cmd);
        return cli_report(&err);
    }
    return XQ_OK;
}

void gpu_cli_print_efficiency(const gpu_efficiency *e, const char *source)
{
    printf("efficiency (compute / memory of the peaks):");
    for (int k = 0; k < GPU_CLASSES; k++)
        printf(" %s %.4g / %.4g,", gpu_class_name((gpu_op_class)k), e->cls[k].compute, e->cls[k].memory);
    printf(" link %.4g — %s\n", e->link, source);
}
