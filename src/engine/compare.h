/* How far one logit vector is from a reference: KL(ref‖other) of their softmax distributions and whether their
 * top-1 tokens agree. The live probe of `xqprof top --probe N` uses it; the math is the one `xqprof eval` uses
 * (log-softmax with the max subtracted, sums in double). */
#ifndef XQ_ENGINE_COMPARE_H
#define XQ_ENGINE_COMPARE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct logits_match {
    double kl;      /* KL(ref‖other) in nats, ≥ 0 */
    bool same_top1; /* the first argmax of each is the same token */
} logits_match;

/* n ≥ 1 logits each. */
logits_match logits_compare(const float *ref, const float *other, int32_t n);

/* The same, for scoring a text: *nll = −log softmax(other)[target], and the KL as summed (round-off can leave an
 * identical pair a hair below zero; logits_compare clamps it, eval's averages keep the raw sum). */
logits_match logits_compare_scored(const float *ref, const float *other, int32_t n, int32_t target, double *nll);

#endif
