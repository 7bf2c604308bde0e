/* Accuracy results that `xqprof eval --trace` recorded: one run per cache mode, with the metrics dppl, kl, top1,
 * ppl … For `plan --eval`, which needs the Δppl of each mode measured on a model of the planned shape. */
#ifndef XQ_STORE_EVAL_RESULTS_H
#define XQ_STORE_EVAL_RESULTS_H

#include "base/status.h"
#include "store/reader.h"

enum { STORE_EVAL_MAX = 64 };

typedef struct store_eval_result {
    char mode[40];
    double dppl, kl, top1;
} store_eval_result;

typedef struct store_eval_shape { /* what must match between the evaluated model and the planned one */
    int n_layer, n_embd, n_head, n_head_kv;
} store_eval_shape;

/* The newest result per mode among finished eval runs on a model of this shape. XQ_EINPUT with a message naming
 * the shapes that are there when none matches (or the file holds no eval results), and "damaged trace" when a
 * matching run's dppl (or its kl or top1, when present) is not a finite number: NULL, text, ±inf. */
int store_eval_results(store_reader *r, const store_eval_shape *shape, store_eval_result *out, int cap, int *n,
                       xq_err *err);

#endif
