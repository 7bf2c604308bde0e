/* SHA-256 of a model file, computed a slice at a time (so the trace writer thread keeps draining between
 * slices) and cached per file (real path, size, mtime) in ${XDG_CACHE_HOME:-~/.cache}/xqprof/sha256.tsv, so a
 * model is hashed once per machine. */
#ifndef XQ_STORE_MODEL_HASH_H
#define XQ_STORE_MODEL_HASH_H

#include <stdbool.h>
#include <stddef.h>

typedef struct model_hash model_hash;

/* NULL if the file cannot be opened or memory is short (the trace then has no hash). */
model_hash *model_hash_start(const char *path);
/* Hashes up to max_bytes more; true once finished (then model_hash_hex is set, or NULL after a read error). */
bool model_hash_step(model_hash *h, size_t max_bytes);
const char *model_hash_hex(const model_hash *h);
void model_hash_free(model_hash *h);

#endif
