/* logits_compare (engine/compare.h) against hand-computed cases: KL(p‖q) of two-token distributions, zero for
 * logits that differ by a constant, first-argmax ties, and no overflow at large logits. */
#include <math.h>

#include "engine/compare.h"
#include "testlib.h"

static void check_hand_computed(void)
{
    /* p = (1/2, 1/2), q = (3/4, 1/4): KL = ½ ln(½/¾) + ½ ln(½/¼) = ½ ln(4/3). Ties go to the first token. */
    const float p[2] = {0.0f, 0.0f}, q[2] = {(float)log(3.0), 0.0f};
    logits_match r = logits_compare(p, q, 2);
    CHECKF(fabs(r.kl - 0.5 * log(4.0 / 3.0)) < 1e-7, "kl %.9f", r.kl);
    CHECK(r.same_top1);
    /* p = (σ(2), σ(−2)), q the reverse: log p1/q1 = 2, log p2/q2 = −2, so KL = 2(p1 − p2) = 2 tanh(1). */
    const float a[2] = {3.0f, 1.0f}, b[2] = {1.0f, 3.0f};
    r = logits_compare(a, b, 2);
    CHECKF(fabs(r.kl - 2.0 * tanh(1.0)) < 1e-6, "kl %.9f", r.kl);
    CHECK(!r.same_top1);
}

static void check_shift_and_scale(void)
{
    /* Softmax ignores a constant added to every logit, so the distributions are equal: KL 0, same top-1. */
    float x[5] = {1.0f, -2.0f, 3.5f, 0.25f, 3.0f}, y[5];
    for (int i = 0; i < 5; i++)
        y[i] = x[i] + 5.0f;
    logits_match r = logits_compare(x, y, 5);
    CHECKF(r.kl >= 0.0 && r.kl < 1e-6, "kl %.3g", r.kl);
    CHECK(r.same_top1);
    /* Logits near 1000 would overflow exp() without the max subtracted. */
    float big[3] = {1000.0f, 999.0f, 0.0f}, other[3] = {999.0f, 1000.0f, 0.0f};
    r = logits_compare(big, other, 3);
    CHECKF(isfinite(r.kl) && r.kl > 0.0, "kl %.3g", r.kl);
    CHECK(!r.same_top1);
    r = logits_compare(big, big, 3);
    CHECK(r.kl == 0.0 && r.same_top1);
}

int main(void)
{
    check_hand_computed();
    check_shift_and_scale();
    return test_report("test_engine_compare");
}
