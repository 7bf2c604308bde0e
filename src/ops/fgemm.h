/* Float-weight matrix products over many tokens (prefill): F32, F16 or BF16 weight rows times activations that
 * were already rounded to the weight's activation type (qt_act_type: fp16 for F16, bf16 for BF16) and are held
 * as f32. Every output has the bits of qt_dot_act for its (row, token) — one fma chain per lane i mod 8 in
 * element order, then hsum8 — so a batch gives exactly what token-by-token decoding (ops/qdot.h) gives.
 *
 * The kernels are register-blocked: a tile of weight rows × tokens of accumulators runs along k, so each weight
 * vector loaded serves several tokens and each activation vector several rows. Weight rows are first unpacked
 * to f32 into a small per-thread panel (the fp16/bf16 conversion then costs once per tile, not once per token).
 * Chosen at run time with the qdot level (XQ_SIMD=scalar|avx2|avx512 caps it). */
#ifndef XQ_OPS_FGEMM_H
#define XQ_OPS_FGEMM_H

#include <stddef.h>
#include <stdint.h>

#include "ops/qdot.h"

/* y[t·y_ld + r] = qt_dot_act(wtype, row r, activations of token t) for r < nr, t < nt: rows of k elements at
 * w + r·w_stride bytes, token t's k rounded activations at x + t·x_ld (f32). panel: fgemm_panel_floats(k)
 * floats of scratch owned by the caller's thread. */
typedef void (*fgemm_fn)(uint32_t wtype, const void *w, size_t w_stride, int64_t nr, const float *x, int64_t x_ld,
                         int64_t nt, int64_t k, float *y, int64_t y_ld, float *panel);

/* Scratch a kernel of any level needs for rows of k elements. */
size_t fgemm_panel_floats(int64_t k);
/* Rows handed to one kernel call should be a multiple of this (the largest row tile) to avoid padded tiles. */
enum { FGEMM_ROW_ALIGN = 8 };

/* The kernel at the active qdot level, and at a given level for tests (NULL if the CPU lacks it). */
fgemm_fn fgemm_kernel(void);
fgemm_fn fgemm_kernel_at(qdot_level level);

#endif
