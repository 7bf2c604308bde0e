/* AVX2 kernels (placeholder table: filled in by the SIMD work; NULL falls back to the scalar reference). */
#include <stddef.h>

#include "ops/qdot.h"

qdot_fn qdot_avx2_kernel(uint32_t wtype)
{
    (void)wtype;
    return NULL;
}

qdot_fn qdot_avx512_kernel(uint32_t wtype)
{
    (void)wtype;
    return NULL;
}
