/* Real-shaped Llama models with random weights, written as GGUF (streamed: a 7B file never needs 7B of RAM).
 * Used by the tests (tiny models in every tensor type) and by `xqprof synth`. */
#ifndef XQ_MODEL_SYNTH_H
#define XQ_MODEL_SYNTH_H

#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"

typedef struct model_shape {
    const char *name;
    int32_t n_layer, n_embd, n_ff, n_head, n_head_kv, n_vocab, n_ctx;
    float rope_base, norm_eps;
    bool tied_output; /* no output.weight: lm_head = token_embd */
} model_shape;

/* The named shapes table (llama2-7b, llama3-8b, mistral-7b, smollm2-135m, tiny …); NULL if unknown. */
const model_shape *model_shape_find(const char *name);
int model_shape_count(void);
const model_shape *model_shape_at(int i);

/* A file type that mixes tensor types as llama.cpp's quantizer does (value: SYNTH_MIX + llama.cpp's ftype id),
 * accepted wherever a tensor type is. */
enum { SYNTH_MIX = 0x10000, SYNTH_Q3_K_M = SYNTH_MIX + 12, SYNTH_Q4_K_M = SYNTH_MIX + 15 };

/* A --type name: a tensor type (qt_from_name) or a mix ("Q3_K_M", "Q4_K_M", case-insensitive); -1 if neither. */
int synth_type_from_name(const char *name);
/* The mix's name ("Q4_K_M" …), else qt_name. */
const char *synth_type_name(uint32_t type);

/* The type a matrix is written in: `type` itself, or for a mix the type llama.cpp's quantizer picks for it.
 * role: the tensor's name without "blk.N." and ".weight" ("attn_v", "ffn_down", "token_embd", "output" …);
 * layer: N (ignored outside blocks); row_len: ne[0]. */
uint32_t synth_tensor_type(const model_shape *s, uint32_t type, const char *role, int layer, int64_t row_len);

/* Writes a llama-architecture GGUF with the given shape: every matrix in `type` (norms F32; token_embd in `type`
 * too) or in the types a mix picks per tensor (synth_tensor_type), weights drawn from a seeded PRNG with a
 * realistic scale, and a byte-level SentencePiece vocabulary of shape->n_vocab tokens (<unk>, <s>, </s>, 256
 * byte tokens, then filler pieces) so that the file loads as a complete model. XQ_EINPUT if a row length is not
 * a multiple of the type's block size. */
int synth_write(const char *path, const model_shape *shape, uint32_t type, uint64_t seed, xq_err *err);

/* Same, reporting progress as tensor data is written (bytes done of total; done == total at the end). */
typedef void (*synth_progress_fn)(void *ctx, uint64_t bytes_done, uint64_t bytes_total);
int synth_write_progress(const char *path, const model_shape *shape, uint32_t type, uint64_t seed,
                         synth_progress_fn progress, void *progress_ctx, xq_err *err);

/* Writes the model at src with its matrices re-encoded in `type` (a tensor type or a mix), as llama-quantize would
 * (K types fall back where rows are not a multiple of 256, norms stay F32, every other metadata key copied): real
 * weights in a type the source was not distributed in. Same progress reporting as synth_write_progress. */
int synth_requantize(const char *src, const char *dst, uint32_t type, synth_progress_fn progress, void *progress_ctx,
                     xq_err *err);

#endif
