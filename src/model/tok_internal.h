/* Private to the tokenizer files (tokenizer.c, tok_bpe.c, tok_spm.c, unicode.c): the tokenizer struct, a
 * string table with hash lookup, a bigram heap, the output sink, and UTF-8 / byte-level helpers.
 * Invariants: every token text is unique and nul-terminated in its pool; ids are 0..n_vocab-1; token types
 * are 0..6 (llama.cpp's LLAMA_TOKEN_TYPE_*). */
#ifndef XQ_MODEL_TOK_INTERNAL_H
#define XQ_MODEL_TOK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "model/tokenizer.h"

/* llama.cpp's token types, as stored in tokenizer.ggml.token_type. */
enum {
    TOKT_UNDEFINED = 0,
    TOKT_NORMAL = 1,
    TOKT_UNKNOWN = 2,
    TOKT_CONTROL = 3,
    TOKT_USER_DEFINED = 4,
    TOKT_UNUSED = 5,
    TOKT_BYTE = 6
};

/* ---- strings indexed 0..n-1, with an open-addressing hash from text to index. */
typedef struct tok_strtab {
    char *pool; /* all texts, each followed by a nul */
    size_t pool_len, pool_cap;
    uint32_t *off; /* text i starts at pool + off[i] */
    uint32_t *len;
    uint32_t n, cap;
    uint32_t *slots; /* index + 1, 0 = empty */
    uint32_t mask;
} tok_strtab;

/* hashed: keep a text -> index hash (tok_strtab_add); otherwise only tok_strtab_append may be used. */
int tok_strtab_init(tok_strtab *t, uint32_t n_expected, bool hashed, xq_err *err);
void tok_strtab_free(tok_strtab *t);
/* Appends text as entry t->n. If an equal text exists, nothing is added and its index is returned in *dup
 * (else *dup = -1). Returns XQ_OK or XQ_ERUN (allocation). */
int tok_strtab_add(tok_strtab *t, const char *s, size_t len, int64_t *dup, xq_err *err);
/* Appends without hashing or duplicate check (unhashed tables). */
int tok_strtab_append(tok_strtab *t, const char *s, size_t len, xq_err *err);
int32_t tok_strtab_find(const tok_strtab *t, const char *s, size_t len); /* index or -1 */
static inline const char *tok_strtab_text(const tok_strtab *t, uint32_t i)
{
    return t->pool + t->off[i];
}

/* ---- a set of 64-bit keys (open addressing). */
typedef struct tok_u64set {
    uint64_t *keys;
    uint8_t *used;
    size_t n, mask;
} tok_u64set;

/* ---- pre-tokenizer (BPE): opaque list of compiled regexes. */
typedef struct tok_pretok tok_pretok;

/* ---- the tokenizer */
struct tokenizer {
    tok_kind kind;
    int32_t n_vocab;
    tok_strtab tokens; /* id -> text, text -> id */
    float *scores;     /* SPM merge scores (0 when absent) */
    uint8_t *types;    /* TOKT_* after llama.cpp's overrides */
    bool *eog;         /* end-of-generation flags */
    tok_strtab pieces; /* id -> bytes the token renders to (render_special = true); not hashed */
    int32_t *specials; /* control / user-defined / unknown ids, longest text first */
    int32_t n_specials;
    int32_t bos, eos, unk;
    bool add_bos;
    bool add_space_prefix;   /* SPM */
    int32_t byte_token[256]; /* SPM byte fallback: id of <0xNN> (or of the 1-byte text), -1 if none */
    tok_u64set spm_pairs;    /* SPM: adjacent character pairs that occur inside some token */
    tok_strtab merges;       /* BPE: "left right" -> rank */
    bool ignore_merges;      /* BPE: a word that is a token is emitted whole (llama3) */
    bool clean_spaces;       /* BPE: tokenizer_decode removes spaces before punctuation */
    tok_pretok *pretok;      /* BPE */
};

/* ---- output sink: writes up to cap ids, counts all. */
typedef struct tok_out {
    int32_t *ids;
    int64_t cap;
    int64_t n;
} tok_out;

static inline void tok_out_push(tok_out *o, int32_t id)
{
    if (o->n < o->cap) o->ids[o->n] = id;
    o->n++;
}

/* ---- symbols and a max-heap of candidate merges (shared by SPM and BPE). */
typedef struct tok_symbol {
    int32_t prev, next;
    uint32_t off, n; /* bytes [off, off+n) of the text being merged; n = 0 once merged away */
} tok_symbol;

typedef struct tok_bigram {
    float prio;   /* larger first: SPM score, or -rank for BPE */
    int32_t left; /* ties: smaller left first */
    int32_t right;
    uint32_t size; /* byte length of the merged text when queued; a mismatch means the entry is stale */
} tok_bigram;

typedef struct tok_heap {
    tok_bigram *v;
    size_t n, cap;
} tok_heap;

int tok_heap_push(tok_heap *h, tok_bigram b); /* XQ_OK or XQ_ERUN */
tok_bigram tok_heap_pop(tok_heap *h);         /* h->n > 0 */

/* Proposes the pair (left, right) of adjacent symbols: pushes a bigram on the heap when the pair may merge (a
 * negative index means no neighbour). XQ_OK or XQ_ERUN. */
typedef int (*tok_pair_fn)(void *ctx, int32_t left, int32_t right);
/* The merge loop shared by BPE (rank order) and SentencePiece (score order): repeatedly merges the heap's best
 * pair that is still valid and proposes the new neighbours. */
int tok_merge_symbols(tok_symbol *syms, size_t n_syms, tok_heap *heap, tok_pair_fn propose, void *ctx);

/* Splits text[0..len) into one symbol per UTF-8 character (length from the lead byte, as llama.cpp). */
int tok_symbols_from_text(const char *text, size_t len, tok_symbol **syms, size_t *n_syms, size_t *cap);

/* ---- UTF-8 and GPT-2 byte-level mapping (unicode.c) */
/* Byte offset of the first invalid sequence, or len if text is valid UTF-8 (no overlongs, surrogates, or
 * code points above U+10FFFF). */
size_t tok_utf8_check(const char *text, size_t len);
/* Sequence length from the lead byte (1 for continuation or invalid bytes), as llama.cpp's unicode_len_utf8. */
size_t tok_utf8_len(unsigned char lead);
/* Encodes cp as UTF-8 into out (≥ 4 bytes); returns its length. */
size_t tok_utf8_put(uint32_t cp, char *out);
/* Decodes one code point at text[*pos] (an invalid byte decodes as U+FFFD and is skipped). */
uint32_t tok_utf8_get(const char *text, size_t len, size_t *pos);
/* GPT-2 bytes_to_unicode: the code point byte b is written as, and its inverse (-1 if cp is not one). */
uint32_t tok_byte_to_cp(uint8_t b);
int tok_cp_to_byte(uint32_t cp);

/* ---- BPE (tok_bpe.c) */
/* What tokenizer.ggml.pre implies besides its regexes (llama.cpp's per-name settings). */
typedef struct tok_pre_flags {
    bool ignore_merges, add_bos, clean_spaces;
} tok_pre_flags;

/* Looks up the regex list for tokenizer.ggml.pre (NULL/empty = "default") and compiles it. XQ_EINPUT naming an
 * unknown pre-tokenizer. */
int tok_pretok_create(const char *pre, size_t pre_len, tok_pretok **out, tok_pre_flags *flags, xq_err *err);
void tok_pretok_destroy(tok_pretok *p);
/* Tokenizes one raw-text fragment (valid UTF-8). XQ_OK or XQ_ERUN (allocation / regex failure). */
int tok_bpe_encode(const tokenizer *t, const char *text, size_t len, tok_out *out, xq_err *err);

/* ---- SPM (tok_spm.c) */
/* Builds t->spm_pairs from the token texts. XQ_OK or XQ_ERUN. */
int tok_spm_prepare(tokenizer *t, xq_err *err);
void tok_spm_release(tokenizer *t);
/* Tokenizes one raw-text fragment: adds the leading space when asked, escapes spaces as U+2581, merges by
 * score, falls back to bytes. XQ_OK or XQ_ERUN. */
int tok_spm_encode(const tokenizer *t, const char *text, size_t len, bool space_prefix, tok_out *out, xq_err *err);

#endif
