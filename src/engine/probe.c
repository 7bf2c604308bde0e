/* The fp16 shadow session (probe.h). Invariant: shadow position + pending = the main session's position. */
#include "engine/probe.h"

#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "engine/session.h"

struct probe {
    session *shadow;
    int every;
    int32_t *pending; /* tokens the main session evaluated that the shadow has not */
    int64_t n_pending, cap;
};

int probe_create(const model *m, const probe_params *p, probe **out, xq_err *err)
{
    *out = NULL;
    if (p->every < 1) return xq_fail(err, XQ_EINPUT, "probe interval %d (valid: 1 or more tokens)", p->every);
    probe *pr = calloc(1, sizeof *pr);
    if (!pr) return xq_fail(err, XQ_ERUN, "probe: out of memory");
    session_params sp = {.n_ctx = p->n_ctx, .n_threads = p->n_threads, .cache = {.mode = CACHE_FP16, .bits = 16}};
    int rc = session_create(m, &sp, &pr->shadow, err);
    if (rc) {
        free(pr);
        return rc;
    }
    pr->every = p->every;
    pr->cap = session_n_ctx(pr->shadow);
    if (!(pr->pending = malloc((size_t)pr->cap * sizeof *pr->pending))) {
        probe_destroy(pr);
        return xq_fail(err, XQ_ERUN, "probe: out of memory");
    }
    *out = pr;
    return XQ_OK;
}

void probe_destroy(probe *p)
{
    if (!p) return;
    session_destroy(p->shadow);
    free(p->pending);
    free(p);
}

void probe_reset(probe *p)
{
    session_reset(p->shadow);
    p->n_pending = 0;
}

int probe_feed(probe *p, const int32_t *ids, int64_t n, const float *main_logits, probe_check *out, xq_err *err)
{
    *out = (probe_check){0};
    if (session_pos(p->shadow) + p->n_pending + n > p->cap)
        return xq_fail(err, XQ_EINPUT, "probe: %lld tokens exceed the shadow's context %lld",
                       (long long)(session_pos(p->shadow) + p->n_pending + n), (long long)p->cap);
    memcpy(p->pending + p->n_pending, ids, (size_t)n * sizeof *ids);
    p->n_pending += n;
    if (p->n_pending < p->every) return XQ_OK;
    int64_t t0 = xq_now_ns();
    int rc = session_eval(p->shadow, p->pending, p->n_pending, err);
    p->n_pending = 0;
    if (rc) return rc;
    const model *m = session_model(p->shadow);
    out->match = logits_compare(session_logits(p->shadow, 0), main_logits, m->cfg.n_vocab);
    out->ctx = session_pos(p->shadow);
    out->ns = xq_now_ns() - t0;
    out->checked = true;
    return XQ_OK;
}
