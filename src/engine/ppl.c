#include "engine/ppl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* −log softmax(logits)[target], in double. */
static double token_nll(const float *logits, int32_t n_vocab, int32_t target)
{
    float mx = logits[0];
    for (int32_t i = 1; i < n_vocab; i++) mx = logits[i] > mx ? logits[i] : mx;
    double sum = 0.0;
    for (int32_t i = 0; i < n_vocab; i++) sum += exp((double)logits[i] - mx);
    return log(sum) - ((double)logits[target] - mx);
}

int ppl_run(session *s, const int32_t *tokens, int64_t n_tokens, int32_t bos, int max_chunks, ppl_chunk_fn cb,
            void *user, ppl_result *out, xq_err *err)
{
    int64_t n_ctx = session_n_ctx(s);
    if (n_tokens < 2 * n_ctx)
        return xq_fail(err, XQ_EINPUT, "text too short: %lld tokens, need at least 2*n_ctx = %lld",
                       (long long)n_tokens, (long long)(2 * n_ctx));
    int n_chunks = (int)(n_tokens / n_ctx);
    if (max_chunks > 0 && max_chunks < n_chunks) n_chunks = max_chunks;
    int32_t n_vocab = session_model(s)->cfg.n_vocab;
    int32_t *chunk = malloc((size_t)n_ctx * sizeof *chunk);
    if (!chunk) return xq_fail(err, XQ_ERUN, "ppl: out of memory");
    double nll = 0.0, nll2 = 0.0;
    int64_t count = 0;
    int64_t first = n_ctx / 2;
    session_keep_logits_from(s, first); /* only the second half is scored */
    for (int ic = 0; ic < n_chunks; ic++) {
        memcpy(chunk, tokens + (int64_t)ic * n_ctx, (size_t)n_ctx * sizeof *chunk);
        if (bos >= 0) chunk[0] = bos;
        session_reset(s);
        int rc = session_eval(s, chunk, n_ctx, err);
        if (rc) {
            free(chunk);
            return rc;
        }
        for (int64_t j = first; j < n_ctx - 1; j++) {
            double v = token_nll(session_logits(s, j), n_vocab, chunk[j + 1]);
            nll += v;
            nll2 += v * v;
            count++;
        }
        if (cb) cb(user, ic, n_chunks, exp(nll / (double)count), s, chunk);
    }
    free(chunk);
    double mean = nll / (double)count, var = nll2 / (double)count - mean * mean;
    out->nll_mean = mean;
    out->ppl = exp(mean);
    out->ppl_err = var > 0 && count > 1 ? sqrt(var / (double)(count - 1)) * out->ppl : 0.0;
    out->n_chunks = n_chunks;
    out->n_scored = count;
    return XQ_OK;
}
