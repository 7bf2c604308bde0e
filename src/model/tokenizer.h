/* Tokenizers built from GGUF metadata alone (vocabulary-only files load too):
 *  - BPE (tokenizer.ggml.model = "gpt2") with the pre-tokenizer named by tokenizer.ggml.pre (default gpt2,
 *    llama3/llama-bpe, smollm, starcoder …) through PCRE2 (UTF|UCP), regexes applied in sequence;
 *  - SentencePiece ("llama"): scores, byte fallback, O(n log n) merging.
 * Behaviour matches llama.cpp's llama_tokenize / llama_token_to_piece. */
#ifndef XQ_MODEL_TOKENIZER_H
#define XQ_MODEL_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "model/gguf.h"

typedef struct tokenizer tokenizer;

typedef enum tok_kind { TOK_SPM = 1, TOK_BPE = 2 } tok_kind;

/* XQ_EINPUT with a one-line message when the metadata is missing or inconsistent (out-of-range ids or token
 * types, unknown model, unknown pre-tokenizer: message names it). */
int tokenizer_create(const gguf_file *f, tokenizer **out, xq_err *err);
void tokenizer_destroy(tokenizer *t);

tok_kind tokenizer_kind(const tokenizer *t);
int32_t tokenizer_n_vocab(const tokenizer *t);
int32_t tokenizer_bos(const tokenizer *t); /* -1 if none */
int32_t tokenizer_eos(const tokenizer *t); /* -1 if none */
/* Also true for end-of-generation tokens such as <|im_end|> / <|eot_id|> / <|endoftext|> when present. */
bool tokenizer_is_eog(const tokenizer *t, int32_t id);
/* XQUANT.md §3 BOS rule: tokenizer.ggml.add_bos_token when present, else true for SPM and llama3, false for
 * other BPE pre-tokenizers (gpt2, smollm …). */
bool tokenizer_adds_bos(const tokenizer *t);
/* Token id of an exact piece text (e.g. "<|im_start|>"), or -1. */
int32_t tokenizer_find(const tokenizer *t, const char *piece);

/* Tokenizes text[0..len). add_bos: prepend BOS (caller applies the BOS rule). parse_special: text of control /
 * user-defined tokens (e.g. "<|im_start|>") becomes that token. Writes up to cap ids; returns the number of
 * tokens needed (may exceed cap: call again with more room), or -1 with err set (XQ_EINPUT) if the text is not
 * valid UTF-8. */
int64_t tokenizer_encode(const tokenizer *t, const char *text, size_t len, bool add_bos, bool parse_special,
                         int32_t *ids, int64_t cap, xq_err *err);

/* The bytes a token stands for, as llama.cpp's llama_token_to_piece with special = render_special: SPM's
 * U+2581 becomes a space, byte tokens <0xNN> become that byte, BPE byte-level chars map back to bytes.
 * Control tokens render as "" unless render_special. Returns length written (≤ cap) or the needed size. */
int tokenizer_piece(const tokenizer *t, int32_t id, bool render_special, char *buf, int cap);
/* Text of ids[0..n) as llama.cpp's llama_detokenize(remove_special = false, unparse_special = render_special):
 * the pieces concatenated, with the leading space an SPM tokenizer added dropped from the first piece, and for
 * BPE vocabularies that clean up tokenization spaces (llama.cpp's clean_spaces: gpt2-style pre-tokenizers such
 * as starcoder, not smollm or llama3) the space before ?!., and before some apostrophes removed. Ids out of
 * range render as nothing. Writes up to cap bytes (no nul); returns the full length (may exceed cap: call again
 * with more room), or -1 with err set (XQ_ERUN) if memory runs out. */
int64_t tokenizer_decode(const tokenizer *t, const int32_t *ids, int64_t n, bool render_special, char *buf,
                         int64_t cap, xq_err *err);
/* Raw vocabulary string of an id (as stored in GGUF); NULL if out of range. */
const char *tokenizer_token_text(const tokenizer *t, int32_t id);

#endif
