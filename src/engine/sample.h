/* Token sampling: greedy at temperature 0, else top-k → temperature softmax → top-p, from a seeded PRNG.
 * All buffers are allocated at creation. */
#ifndef XQ_ENGINE_SAMPLE_H
#define XQ_ENGINE_SAMPLE_H

#include <stdint.h>

typedef struct sampler_params {
    float temp;     /* 0 → greedy */
    int32_t top_k;  /* 0 → all */
    float top_p;    /* 1 → all */
    uint64_t seed;
} sampler_params;

typedef struct sampler sampler;

sampler *sampler_create(int32_t n_vocab, const sampler_params *p);
void sampler_destroy(sampler *s);
int32_t sampler_sample(sampler *s, const float *logits);
/* The index of the largest logit (first one on ties) and the gap to the second largest. */
int32_t sampler_argmax(const float *logits, int32_t n, float *gap_to_second);

#endif
