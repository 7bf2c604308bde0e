/* Option handling shared by `gpus`, `project` and `plan`: flag values, lists of sizes ("2k,8k,32k"), the
 * catalogue with --gpus-file and the measured CPU, the model (--shape NAME or --model FILE, --type T), the
 * cache modes and the efficiency factors (--calibrate). Every function prints its own one-line error and returns
 * XQ_EINPUT on bad input. */
#ifndef XQ_CLI_GPU_OPTS_H
#define XQ_CLI_GPU_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpu/catalogue.h"
#include "gpu/modes.h"
#include "gpu/project.h"
#include "gpu/workload.h"

enum { GPU_CLI_MAX_LIST = 64 };

/* A flag whose text value is stored in an argument struct at `offset`. */
typedef struct gpu_cli_text_flag {
    const char *flag;
    size_t offset;
} gpu_cli_text_flag;

/* argv[*i] as one of flags[0 .. n): stores its value as a (const char *) at args + offset and returns true. */
bool gpu_cli_take_text(int argc, char **argv, int *i, const gpu_cli_text_flag *flags, size_t n, void *args,
                       bool *missing);
/* argv[*i] as one of flags[0 .. n): returns the flag matched, its value in *value; NULL if none. */
const char *gpu_cli_take_flag(int argc, char **argv, int *i, const char *const *flags, size_t n, const char **value,
                              bool *missing);

/* "1,8,64" or "2k,32k,128k" (k = 1024, m = 1024²) into values in [lo, hi]. */
int gpu_cli_sizes(const char *cmd, const char *flag, const char *list, int64_t lo, int64_t hi, int64_t *out, int *n);

/* The catalogue: built-ins, then the measured CPU (when with_cpu), then --gpus-file (may be NULL). */
int gpu_cli_catalogue(const char *cmd, const char *gpus_file, bool with_cpu, gpu_catalogue **out);
/* Comma-separated ids; "cpu" makes sure the CPU entry is there (measured once, cached). */
int gpu_cli_gpus(const char *cmd, gpu_catalogue *cat, const char *list, const gpu_spec **out, int *n);

/* --shape NAME or --model FILE (exactly one), weights in --type T (NULL: F16 for shapes, as stored for files). */
int gpu_cli_workload(const char *cmd, const char *shape, const char *model_path, const char *type, gpu_model *out);

/* Comma-separated cache modes with --group / --hi-layers (≤ 0 / < 0: defaults). */
int gpu_cli_modes(const char *cmd, const char *list, int group, int hi_layers, gpu_mode *out, int *n);

/* --calibrate CAL.db: efficiency factors from the latest run's decode steps — the fastest quarter by wall time,
 * since on a shared machine a step can only be slowed by load, never sped up — printed with the rates behind
 * them; source gets a one-line description, on_cpu whether the run was recorded on a CPU. */
int gpu_cli_calibrate(const char *cmd, const char *path, gpu_efficiency *eff, char *source, size_t cap, bool *on_cpu);
/* "efficiency (compute / memory of the peaks): gemm 0.80 / 0.90, … link 1.00 — <source>" */
void gpu_cli_print_efficiency(const gpu_efficiency *e, const char *source);

#endif
