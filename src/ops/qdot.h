/* Dot products of a stored weight row with converted activations (qt_act_type), chosen once per process by
 * the CPU's SIMD level. Every level returns bit-identical results to the scalar reference qt_dot_act (same
 * integer lane sums, same float association), so tests and traces do not depend on the machine. */
#ifndef XQ_OPS_QDOT_H
#define XQ_OPS_QDOT_H

#include <stdint.h>

#include <stddef.h>

typedef float (*qdot_fn)(const void *wrow, const void *act, int64_t n);

/* A tile of dot products: y[t·y_stride + r] = qt_dot_act(row r, activation t, n) for r < nr, t < nt, with rows
 * at w + r·w_stride and activations at act + t·act_stride. Each result has the bits of the one-row kernel;
 * the tile form lets a kernel run several rows' (and tokens') accumulation chains side by side and reuse each
 * unpacked weight block across tokens. */
typedef void (*qdot_tile_fn)(const void *w, size_t w_stride, int64_t nr, const void *act, size_t act_stride,
                             int64_t nt, int64_t n, float *y, int64_t y_stride);

typedef enum qdot_level { QDOT_SCALAR = 0, QDOT_AVX2 = 1, QDOT_AVX512 = 2, QDOT_LEVEL_COUNT } qdot_level;

/* The kernel for weights of wtype at the active level (falls back to the scalar reference per type). */
qdot_fn qdot_kernel(uint32_t wtype);
/* Active level: the best the CPU supports, or XQ_SIMD=scalar|avx2|avx512 (capped at what the CPU supports). */
qdot_level qdot_active_level(void);
const char *qdot_level_name(qdot_level level);
/* The best level this CPU runs (ignoring XQ_SIMD). */
qdot_level qdot_cpu_level(void);
/* Kernel of a given level for tests (NULL if that level has none for wtype or the CPU lacks it). */
qdot_fn qdot_kernel_at(qdot_level level, uint32_t wtype);
/* The tile kernel for wtype at the active level, and of a given level for tests (as qdot_kernel / _at). */
qdot_tile_fn qdot_tile_kernel(uint32_t wtype);
qdot_tile_fn qdot_tile_kernel_at(qdot_level level, uint32_t wtype);
/* qt_quantize_act with the same bytes, SIMD at the active level (or at a given one, for tests). */
void qdot_quantize_act(uint32_t act_type, const float *x, void *dst, int64_t n);
void qdot_quantize_act_at(qdot_level level, uint32_t act_type, const float *x, void *dst, int64_t n);

#endif
