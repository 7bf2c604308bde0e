/* KL and top-1 agreement of two logit vectors (compare.h). */
#include "engine/compare.h"

#include <math.h>
#include <stddef.h>

/* The max and log Σ exp(x − max), so that log p_i = x_i − max − log_sum without overflow. */
static void log_normalizer(const float *x, int32_t n, double *mx, double *log_sum)
{
    float m = x[0];
    for (int32_t i = 1; i < n; i++)
        m = x[i] > m ? x[i] : m;
    double sum = 0.0;
    for (int32_t i = 0; i < n; i++)
        sum += exp((double)x[i] - m);
    *mx = m;
    *log_sum = log(sum);
}

static int32_t first_argmax(const float *x, int32_t n)
{
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        best = x[i] > x[best] ? i : best;
    return best;
}

logits_match logits_compare_scored(const float *ref, const float *other, int32_t n, int32_t target, double *nll)
{
    double mr, lr, mo, lo, kl = 0.0;
    log_normalizer(ref, n, &mr, &lr);
    log_normalizer(other, n, &mo, &lo);
    for (int32_t i = 0; i < n; i++) {
        double log_p = (double)ref[i] - mr - lr, log_q = (double)other[i] - mo - lo;
        kl += exp(log_p) * (log_p - log_q);
    }
    if (nll) *nll = lo - ((double)other[target] - mo);
    return (logits_match){.kl = kl, .same_top1 = first_argmax(ref, n) == first_argmax(other, n)};
}

logits_match logits_compare(const float *ref, const float *other, int32_t n)
{
    logits_match m = logits_compare_scored(ref, other, n, 0, NULL);
    m.kl = m.kl > 0.0 ? m.kl : 0.0; /* rounding can leave an identical pair a hair below zero; KL never is */
    return m;
}
