/* expf over rows with libm's own bits. A SIMD exp that reproduces a particular libm bit for bit would have to
 * carry that library's tables and polynomial, which is not ours to copy; the plain loop costs a few percent of
 * prefill (softmax) and keeps results identical to scalar expf everywhere. */
#include "ops/vexp.h"

#include <math.h>

void ops_expf_row(const float *in, float *out, int64_t n)
{
    for (int64_t i = 0; i < n; i++) out[i] = expf(in[i]);
}

int ops_expf_row_simd(void) { return 0; }
