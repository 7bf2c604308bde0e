/* Changing a running session's cache mode between tokens (`xqprof top`, Modes view): the session keeps its
 * thread pool, buffers and the caller's token history; a cache of the new mode is built beside the old one,
 * installed, and the text so far is prefilled again so that generation carries on where it was. Building first
 * means a mode that cannot be built (no memory, parameters that do not fit the model) leaves the session as it
 * was. Readers of the old cache on other threads (the screen's per-layer bytes) get a callback between the
 * install and the old cache's destruction, where they let go of it. */
#ifndef XQ_ENGINE_MODE_SWITCH_H
#define XQ_ENGINE_MODE_SWITCH_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "cache/cache.h"
#include "engine/session.h"

typedef struct mode_switch_cost {
    int64_t build_ns;   /* the new cache allocated (and its SVD factors computed, for the SVD modes) */
    int64_t prefill_ns; /* the text so far evaluated again under the new mode */
    int64_t prefill_tokens;
} mode_switch_cost;

/* Called with the new cache installed and the old one still alive; NULL: nobody else reads the cache. */
typedef void (*mode_switch_installed_fn)(void *user, const cache *new_cache, const cache *old_cache);

/* Switches s to mode p and re-evaluates text[0..n_text) (the tokens evaluated so far; n_text may be 0). On a
 * build failure s is unchanged; on a prefill failure s holds the new mode at position 0. */
int mode_switch_apply(session *s, const cache_params *p, const int32_t *text, int64_t n_text,
                      mode_switch_installed_fn installed, void *user, mode_switch_cost *cost, xq_err *err);

/* The mode a step away from `current` among the modes valid for cfg, in cache_mode_names_all() order:
 * d_family ±1 moves to the next/previous family (fp16, fp32, kv-q8_0, kv-q4_0, kv-E, xq-E, xq-svd-E, xq-cl-E,
 * xq-cl-svd-E), keeping the bits where the new family offers them, else taking its first; d_bits ±1 moves
 * within the family. Writes the name to out; returns 0, or −1 when current is not a known mode. */
int mode_switch_neighbour(const model_config *cfg, const char *current, int d_family, int d_bits, char *out,
                          size_t size);

#endif
