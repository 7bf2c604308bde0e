/* The K-quant tails of qdot_tails.h. */
#include "ops/qdot_tails.h"

__attribute__((noinline)) float qdot_kq_tail(float sum, float d, float dmin, float yd, int s1, int s2)
{
    sum += d * yd * (float)s1 - dmin * yd * (float)s2;
    return sum;
}

__attribute__((noinline)) float qdot_q6k_tail(float sum, float d, float yd, int total)
{
    sum += d * yd * (float)total;
    return sum;
}

__attribute__((noinline)) void qdot_kq_tails(float *sum, int64_t T, float d, float dmin, const float *yd,
                                             const int *s1, const int *s2)
{
    for (int64_t t = 0; t < T; t++) sum[t] += d * yd[t] * (float)s1[t] - dmin * yd[t] * (float)s2[t];
}

__attribute__((noinline)) void qdot_q6k_tails(float *sum, int64_t T, float d, const float *yd, const int *total)
{
    for (int64_t t = 0; t < T; t++) sum[t] += d * yd[t] * (float)total[t];
}
