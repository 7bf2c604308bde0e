#include "engine/sample.h"

#include <math.h>
#include <stdlib.h>

typedef struct cand {
    int32_t id;
    float p;
} cand;

struct sampler {
    int32_t n_vocab;
    sampler_params p;
    uint64_t state;
    cand *cands;
};

static uint64_t next_u64(uint64_t *s) /* splitmix64 */
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

sampler *sampler_create(int32_t n_vocab, const sampler_params *p)
{
    sampler *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->n_vocab = n_vocab;
    s->p = *p;
    s->state = p->seed;
    s->cands = malloc((size_t)n_vocab * sizeof *s->cands);
    if (!s->cands) {
        free(s);
        return NULL;
    }
    return s;
}

void sampler_destroy(sampler *s)
{
    if (!s) return;
    free(s->cands);
    free(s);
}

int32_t sampler_argmax(const float *logits, int32_t n, float *gap_to_second)
{
    int32_t best = 0;
    float b1 = -INFINITY, b2 = -INFINITY;
    for (int32_t i = 0; i < n; i++) {
        if (logits[i] > b1) {
            b2 = b1;
            b1 = logits[i];
            best = i;
        } else if (logits[i] > b2) {
            b2 = logits[i];
        }
    }
    if (gap_to_second) *gap_to_second = b1 - b2;
    return best;
}

static int by_prob_desc(const void *a, const void *b)
{
    float pa = ((const cand *)a)->p, pb = ((const cand *)b)->p;
    if (pa != pb) return pa < pb ? 1 : -1;
    return ((const cand *)a)->id - ((const cand *)b)->id;
}

int32_t sampler_sample(sampler *s, const float *logits)
{
    if (s->p.temp <= 0.0f) return sampler_argmax(logits, s->n_vocab, NULL);
    int32_t n = s->n_vocab;
    for (int32_t i = 0; i < n; i++) s->cands[i] = (cand){i, logits[i]};
    qsort(s->cands, (size_t)n, sizeof *s->cands, by_prob_desc);
    if (s->p.top_k > 0 && s->p.top_k < n) n = s->p.top_k;
    float mx = s->cands[0].p;
    double sum = 0.0;
    for (int32_t i = 0; i < n; i++) {
        s->cands[i].p = expf((s->cands[i].p - mx) / s->p.temp);
        sum += s->cands[i].p;
    }
    /* Top-p: the smallest prefix whose probability mass reaches top_p. */
    double mass = 0.0;
    int32_t keep = n;
    for (int32_t i = 0; i < n; i++) {
        mass += s->cands[i].p / sum;
        if (mass >= s->p.top_p) {
            keep = i + 1;
            break;
        }
    }
    double kept = 0.0;
    for (int32_t i = 0; i < keep; i++) kept += s->cands[i].p;
    double r = (double)(next_u64(&s->state) >> 11) * 0x1.0p-53 * kept;
    for (int32_t i = 0; i < keep; i++) {
        r -= s->cands[i].p;
        if (r < 0) return s->cands[i].id;
    }
    return s->cands[keep - 1].id;
}
