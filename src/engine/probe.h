/* An fp16 shadow of a running session (`xqprof top --probe N`): a second session with an fp16 cache is fed the
 * same tokens, and every N tokens its logits are compared with the running mode's (KL(fp16‖mode), top-1
 * agreement, compare.h). The shadow has no span sink, so its work never enters the profiler's step timings; it
 * catches up in one batch per check rather than token by token, which keeps its cost to one forward call per
 * N tokens. It holds a second cache, so --probe doubles cache memory. */
#ifndef XQ_ENGINE_PROBE_H
#define XQ_ENGINE_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"
#include "engine/compare.h"
#include "model/model.h"

typedef struct probe_params {
    int64_t n_ctx; /* as the main session's */
    int n_threads; /* 0 → all cores */
    int every;     /* compare every this many tokens, ≥ 1 */
} probe_params;

typedef struct probe_check {
    bool checked;       /* false: the tokens were only queued */
    logits_match match; /* fp16 as the reference */
    int64_t ctx;        /* tokens both sessions held at the check */
    int64_t ns;         /* the shadow's catch-up and the comparison */
} probe_check;

typedef struct probe probe;

int probe_create(const model *m, const probe_params *p, probe **out, xq_err *err);
void probe_destroy(probe *p);
/* A new text: the shadow forgets its tokens. */
void probe_reset(probe *p);
/* The main session has just evaluated ids[0..n) and main_logits are its logits after the last of them. */
int probe_feed(probe *p, const int32_t *ids, int64_t n, const float *main_logits, probe_check *out, xq_err *err);

#endif
