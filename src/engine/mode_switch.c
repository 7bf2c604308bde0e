/* Switching a session's cache mode (mode_switch.h). */
#include "engine/mode_switch.h"

#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "engine/forward.h"

int mode_switch_apply(session *s, const cache_params *p, const int32_t *text, int64_t n_text,
                      mode_switch_installed_fn installed, void *user, mode_switch_cost *cost, xq_err *err)
{
    *cost = (mode_switch_cost){0};
    int64_t t0 = xq_now_ns();
    cache *fresh;
    int rc = cache_create(p, s->m, s->ops, s->sink, s->n_ctx, s->n_batch, &fresh, err);
    if (rc) return rc;
    cache *old = s->cache;
    s->cache = fresh;
    s->pos = 0;
    if (installed) installed(user, fresh, old);
    cache_destroy(old);
    int64_t t1 = xq_now_ns();
    cost->build_ns = t1 - t0;
    if (n_text > 0) rc = session_eval(s, text, n_text, err);
    cost->prefill_ns = xq_now_ns() - t1;
    cost->prefill_tokens = rc ? 0 : n_text;
    return rc;
}

/* ---- neighbours among the modes a model can run ---------------------------------------------------------- */

enum { MAX_MODES = 64 };

typedef struct mode_entry {
    const char *name;
    cache_mode_id family;
    int bits;
} mode_entry;

/* The modes valid for cfg with their defaults, in cache_mode_names_all() order. */
static int valid_modes(const model_config *cfg, mode_entry *out)
{
    int n = 0;
    for (const char *const *name = cache_mode_names_all(); *name && n < MAX_MODES; name++) {
        cache_params p;
        xq_err err = {0};
        if (cache_params_parse(*name, &p, &err) || cache_params_check(&p, cfg, &err)) continue;
        out[n++] = (mode_entry){*name, p.mode, p.bits};
    }
    return n;
}

static int wrap(int i, int n)
{
    return ((i % n) + n) % n;
}

/* The family `d` families away from entry `at`'s, as the index of its entry with the same bits, else its first. */
static int step_family(const mode_entry *e, int n, int at, int d)
{
    cache_mode_id families[MAX_MODES];
    int n_fam = 0, here = 0;
    for (int i = 0; i < n; i++)
        if (!n_fam || families[n_fam - 1] != e[i].family) families[n_fam++] = e[i].family;
    for (int f = 0; f < n_fam; f++)
        if (families[f] == e[at].family) here = f;
    cache_mode_id target = families[wrap(here + d, n_fam)];
    int first = -1;
    for (int i = 0; i < n; i++) {
        if (e[i].family != target) continue;
        if (first < 0) first = i;
        if (e[i].bits == e[at].bits) return i;
    }
    return first;
}

/* The entry `d` steps away from `at` within its own family. */
static int step_bits(const mode_entry *e, int n, int at, int d)
{
    int members[MAX_MODES], n_mem = 0, here = 0;
    for (int i = 0; i < n; i++)
        if (e[i].family == e[at].family) {
            if (i == at) here = n_mem;
            members[n_mem++] = i;
        }
    return members[wrap(here + d, n_mem)];
}

int mode_switch_neighbour(const model_config *cfg, const char *current, int d_family, int d_bits, char *out,
                          size_t size)
{
    mode_entry e[MAX_MODES];
    int n = valid_modes(cfg, e), at = -1;
    for (int i = 0; i < n; i++)
        if (strcmp(e[i].name, current) == 0) at = i;
    if (at < 0) return -1;
    if (d_family) at = step_family(e, n, at, d_family);
    if (d_bits) at = step_bits(e, n, at, d_bits);
    snprintf(out, size, "%s", e[at].name);
    return 0;
}
