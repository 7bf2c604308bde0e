/* exp of our own (vexp.c): within 1 ulp of exp, with the same bits at every SIMD level. */
#ifndef XQ_OPS_VEXP_H
#define XQ_OPS_VEXP_H

#include <stdint.h>

/* exp(x), the arithmetic every row lane does. */
float ops_expf(float x);
/* out[i] = ops_expf(in[i]) for i < n (out may be in), vectorised at the active SIMD level. */
void ops_expf_row(const float *in, float *out, int64_t n);
/* The same at SIMD level `level` (a qdot_level), capped at the active one: for tests. */
void ops_expf_row_at(int level, const float *in, float *out, int64_t n);
/* The SIMD level ops_expf_row uses (0 = scalar; for tests and reports). */
int ops_expf_row_simd(void);

#endif
