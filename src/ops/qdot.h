/* Dot products of a stored weight row with converted activations (qt_act_type), chosen once per process by
 * the CPU's SIMD level. Every level returns bit-identical results to the scalar reference qt_dot_act (same
 * integer lane sums, same float association), so tests and traces do not depend on the machine. */
#ifndef XQ_OPS_QDOT_H
#define XQ_OPS_QDOT_H

#include <stdint.h>

typedef float (*qdot_fn)(const void *wrow, const void *act, int64_t n);

typedef enum qdot_level { QDOT_SCALAR = 0, QDOT_AVX2 = 1, QDOT_AVX512 = 2, QDOT_LEVEL_COUNT } qdot_level;

/* The kernel for weights of wtype at the active level (falls back to the scalar reference per type). */
qdot_fn qdot_kernel(uint32_t wtype);
/* Active level: the best the CPU supports, or XQ_SIMD=scalar|avx2|avx512 (capped at what the CPU supports). */
qdot_level qdot_active_level(void);
const char *qdot_level_name(qdot_level level);
/* Kernel of a given level for tests (NULL if that level has none for wtype or the CPU lacks it). */
qdot_fn qdot_kernel_at(qdot_level level, uint32_t wtype);

#endif
