/* Perplexity exactly as llama.cpp's llama-perplexity computes it (XQUANT.md §3): non-overlapping chunks of
 * n_ctx tokens, each with a fresh cache, the first token replaced by BOS when the vocabulary adds BOS, logits at
 * positions n_ctx/2 … n_ctx−2 scored against the next token, mean NLL accumulated in double. */
#ifndef XQ_ENGINE_PPL_H
#define XQ_ENGINE_PPL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"
#include "engine/session.h"

typedef struct ppl_result {
    double ppl, ppl_err; /* exp(mean NLL) and its standard error, as llama-perplexity prints them */
    double nll_mean;
    int n_chunks;
    int64_t n_scored;
} ppl_result;

/* Called after every chunk with the running estimate; chunk_logits (n_ctx × n_vocab, valid from n_ctx/2) and
 * the chunk's tokens let callers compare modes (eval). May be NULL. */
typedef void (*ppl_chunk_fn)(void *user, int chunk, int n_chunks, double running_ppl, const session *s,
                             const int32_t *chunk_tokens);

/* The session must have been created with logits_all, n_ctx == n_batch == the chunk size. bos: the id to put
 * first in each chunk, or -1. max_chunks ≤ 0: all. XQ_EINPUT if the text has fewer than 2·n_ctx tokens. */
int ppl_run(session *s, const int32_t *tokens, int64_t n_tokens, int32_t bos, int max_chunks, ppl_chunk_fn cb,
            void *user, ppl_result *out, xq_err *err);

#endif
