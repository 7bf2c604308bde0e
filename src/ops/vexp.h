/* expf over rows, with the bits of the libm in use (SIMD where a self-check shows it reproduces them). */
#ifndef XQ_OPS_VEXP_H
#define XQ_OPS_VEXP_H

#include <stdint.h>

/* out[i] = expf(in[i]) for i < n (out may be in). */
void ops_expf_row(const float *in, float *out, int64_t n);
/* Whether ops_expf_row uses SIMD (for tests and reports). */
int ops_expf_row_simd(void);

#endif
