/* Tokenizer construction from GGUF metadata, special-token partitioning, encode dispatch and detokenizing, as
 * llama.cpp's llama_vocab (commit c392e50): same default ids, same end-of-generation detection by token text,
 * same special-token splitting (longest text first; user-defined tokens are split out even without
 * parse_special) and the same token_to_piece rendering, precomputed per token.
 * Everything read from the file is validated first; the tokenizer keeps its own copies of all strings, so it
 * may outlive the gguf_file. Also home of the helpers shared by the BPE and SPM files (string table, heap). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/tok_internal.h"

enum { MAX_VOCAB = 1 << 24, MAX_MERGES = 1 << 24 }; /* ranks must stay exact as float heap priorities */

/* ======== string table ======== */

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

int tok_strtab_init(tok_strtab *t, uint32_t n_expected, bool hashed, xq_err *err)
{
    memset(t, 0, sizeof *t);
    t->cap = n_expected ? n_expected : 16;
    t->off = malloc(t->cap * sizeof *t->off);
    t->len = malloc(t->cap * sizeof *t->len);
    uint32_t n_slots = 16;
    while (hashed && n_slots < 2 * t->cap)
        n_slots *= 2;
    t->slots = hashed ? calloc(n_slots, sizeof *t->slots) : NULL;
    t->mask = n_slots - 1;
    if (!t->off || !t->len || (hashed && !t->slots)) return xq_fail(err, XQ_ERUN, "tokenizer: out of memory");
    return XQ_OK;
}

void tok_strtab_free(tok_strtab *t)
{
    free(t->pool);
    free(t->off);
    free(t->len);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

static void slot_insert(tok_strtab *t, uint32_t index)
{
    uint32_t i = (uint32_t)hash_bytes(t->pool + t->off[index], t->len[index]) & t->mask;
    while (t->slots[i])
        i = (i + 1) & t->mask;
    t->slots[i] = index + 1;
}

/* Keeps the load factor at most 1/2. */
static int rehash_if_full(tok_strtab *t)
{
    if (!t->slots || 2 * (t->n + 1) <= t->mask + 1) return XQ_OK;
    uint32_t n_slots = (t->mask + 1) * 2;
    uint32_t *slots = calloc(n_slots, sizeof *slots);
    if (!slots) return XQ_ERUN;
    free(t->slots);
    t->slots = slots;
    t->mask = n_slots - 1;
    for (uint32_t i = 0; i < t->n; i++)
        slot_insert(t, i);
    return XQ_OK;
}

static int grow_entries(tok_strtab *t)
{
    if (t->n < t->cap) return XQ_OK;
    uint32_t cap = t->cap * 2;
    uint32_t *off = realloc(t->off, cap * sizeof *off);
    if (off) t->off = off;
    uint32_t *len = realloc(t->len, cap * sizeof *len);
    if (len) t->len = len;
    if (!off || !len) return XQ_ERUN;
    t->cap = cap;
    return XQ_OK;
}

int tok_strtab_append(tok_strtab *t, const char *s, size_t len, xq_err *err)
{
    if (len >= UINT32_MAX - t->pool_len - 1) return xq_fail(err, XQ_EINPUT, "tokenizer: strings too large");
    if (t->pool_len + len + 1 > t->pool_cap) {
        size_t cap = t->pool_cap ? t->pool_cap : 4096;
        while (cap < t->pool_len + len + 1)
            cap *= 2;
        char *pool = realloc(t->pool, cap);
        if (!pool) return xq_fail(err, XQ_ERUN, "tokenizer: out of memory");
        t->pool = pool;
        t->pool_cap = cap;
    }
    if (grow_entries(t) != XQ_OK) return xq_fail(err, XQ_ERUN, "tokenizer: out of memory");
    if (len) memcpy(t->pool + t->pool_len, s, len);
    t->pool[t->pool_len + len] = '\0';
    t->off[t->n] = (uint32_t)t->pool_len;
    t->len[t->n] = (uint32_t)len;
    t->pool_len += len + 1;
    t->n++;
    return XQ_OK;
}

int tok_strtab_add(tok_strtab *t, const char *s, size_t len, int64_t *dup, xq_err *err)
{
    *dup = tok_strtab_find(t, s, len);
    if (*dup >= 0) return XQ_OK;
    if (rehash_if_full(t) != XQ_OK) return xq_fail(err, XQ_ERUN, "tokenizer: out of memory");
    int rc = tok_strtab_append(t, s, len, err);
    if (rc == XQ_OK) slot_insert(t, t->n - 1);
    return rc;
}

int32_t tok_strtab_find(const tok_strtab *t, const char *s, size_t len)
{
    if (!t->slots) return -1;
    uint32_t i = (uint32_t)hash_bytes(s, len) & t->mask;
    for (uint32_t idx; (idx = t->slots[i]) != 0; i = (i + 1) & t->mask) {
        idx--;
        if (t->len[idx] == len && memcmp(t->pool + t->off[idx], s, len) == 0) return (int32_t)idx;
    }
    return -1;
}

/* ======== bigram heap and symbols (shared by SPM and BPE) ======== */

static bool bigram_before(const tok_bigram *a, const tok_bigram *b)
{
    return a->prio > b->prio || (a->prio == b->prio && a->left < b->left);
}

/* A 4-ary heap: half the levels of a binary one, and the four children of a node share a cache line, which
 * matters once the heap outgrows the caches (a 1 MB text queues millions of bigrams). */
enum { HEAP_ARITY = 4 };

int tok_heap_push(tok_heap *h, tok_bigram b)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 256;
        tok_bigram *v = realloc(h->v, cap * sizeof *v);
        if (!v) return XQ_ERUN;
        h->v = v;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0 && bigram_before(&b, &h->v[(i - 1) / HEAP_ARITY])) {
        h->v[i] = h->v[(i - 1) / HEAP_ARITY];
        i = (i - 1) / HEAP_ARITY;
    }
    h->v[i] = b;
    return XQ_OK;
}

tok_bigram tok_heap_pop(tok_heap *h)
{
    tok_bigram top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t first = HEAP_ARITY * i + 1, best = first;
        if (first >= h->n) break;
        size_t end = first + HEAP_ARITY < h->n ? first + HEAP_ARITY : h->n;
        for (size_t c = first + 1; c < end; c++)
            if (bigram_before(&h->v[c], &h->v[best])) best = c;
        if (!bigram_before(&h->v[best], &last)) break;
        h->v[i] = h->v[best];
        i = best;
    }
    if (h->n > 0) h->v[i] = last;
    return top;
}

int tok_merge_symbols(tok_symbol *syms, size_t n_syms, tok_heap *heap, tok_pair_fn propose, void *ctx)
{
    heap->n = 0;
    for (size_t i = 1; i < n_syms; i++)
        if (propose(ctx, (int32_t)i - 1, (int32_t)i) != XQ_OK) return XQ_ERUN;
    while (heap->n > 0) {
        tok_bigram b = tok_heap_pop(heap);
        tok_symbol *l = &syms[b.left], *r = &syms[b.right];
        /* stale entries: a side already merged away, or the pair no longer adjacent */
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size || l->next != b.right) continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) syms[r->next].prev = b.left;
        if (propose(ctx, l->prev, b.left) != XQ_OK || propose(ctx, b.left, l->next) != XQ_OK) return XQ_ERUN;
    }
    return XQ_OK;
}

int tok_symbols_from_text(const char *text, size_t len, tok_symbol **syms, size_t *n_syms, size_t *cap)
{
    if (len >= INT32_MAX) return XQ_ERUN;
    if (len > *cap) {
        tok_symbol *v = realloc(*syms, len * sizeof *v);
        if (!v) return XQ_ERUN;
        *syms = v;
        *cap = len;
    }
    size_t n = 0;
    for (size_t off = 0; off < len; n++) {
        size_t char_len = tok_utf8_len((unsigned char)text[off]);
        if (char_len > len - off) char_len = len - off;
        (*syms)[n] = (tok_symbol){(int32_t)n - 1, -1, (uint32_t)off, (uint32_t)char_len};
        off += char_len;
        if (off < len) (*syms)[n].next = (int32_t)n + 1;
    }
    *n_syms = n;
    return XQ_OK;
}

/* ======== reading metadata ======== */

static bool vtype_is_int(gguf_vtype v)
{
    return v <= GGUF_I32 || v == GGUF_U64 || v == GGUF_I64;
}

/* An array of the wanted kind (strings, integers or numbers) with n entries (n = 0: any count), or NULL. */
static const gguf_kv *find_array(const gguf_file *f, const char *key, char kind, uint64_t n, bool required, int *rc,
                                 xq_err *err)
{
    *rc = XQ_OK;
    const gguf_kv *kv = gguf_find(f, key);
    if (!kv) {
        if (required) *rc = xq_fail(err, XQ_EINPUT, "tokenizer: missing %s", key);
        return NULL;
    }
    bool ok = kv->type == GGUF_ARRAY;
    if (ok && kind == 's') ok = kv->arr_type == GGUF_STRING && kv->strs;
    if (ok && kind == 'i') ok = vtype_is_int(kv->arr_type);
    if (ok && kind == 'f') ok = vtype_is_int(kv->arr_type) || kv->arr_type == GGUF_F32 || kv->arr_type == GGUF_F64;
    const char *what = kind == 's' ? "strings" : kind == 'i' ? "integers" : "numbers";
    if (!ok)
        *rc = xq_fail(err, XQ_EINPUT, "tokenizer: %s is not an array of %s", key, what);
    else if (n && kv->arr_n != n)
        *rc = xq_fail(err, XQ_EINPUT, "tokenizer: %s has %llu entries but the vocabulary has %llu tokens", key,
                      (unsigned long long)kv->arr_n, (unsigned long long)n);
    return *rc == XQ_OK ? kv : NULL;
}

/* Reads an optional token id into *id. Absent, or -1 (also as the u32 0xFFFFFFFF, which converters write for
 * "none"): *id keeps its default, as llama.cpp does; any other value outside the vocabulary is an error. */
static int meta_id(const gguf_file *f, const char *key, int32_t n_vocab, int32_t *id, xq_err *err)
{
    if (!gguf_find(f, key)) return XQ_OK;
    int64_t v;
    if (!gguf_get_i64(f, key, &v)) return xq_fail(err, XQ_EINPUT, "tokenizer: %s is not an integer", key);
    if (v == -1 || v == UINT32_MAX) return XQ_OK;
    if (v < 0 || v >= n_vocab)
        return xq_fail(err, XQ_EINPUT, "tokenizer: %s = %lld is out of range (vocabulary of %d tokens)", key,
                       (long long)v, (int)n_vocab);
    *id = (int32_t)v;
    return XQ_OK;
}

static int meta_bool(const gguf_file *f, const char *key, bool *v, xq_err *err)
{
    if (!gguf_find(f, key)) return XQ_OK;
    if (!gguf_get_bool(f, key, v)) return xq_fail(err, XQ_EINPUT, "tokenizer: %s is not a boolean", key);
    return XQ_OK;
}

static int load_model_kind(const gguf_file *f, tokenizer *t, xq_err *err)
{
    gguf_str model;
    if (!gguf_find(f, "tokenizer.ggml.model"))
        return xq_fail(err, XQ_EINPUT, "tokenizer: missing tokenizer.ggml.model");
    if (!gguf_get_str(f, "tokenizer.ggml.model", &model))
        return xq_fail(err, XQ_EINPUT, "tokenizer: tokenizer.ggml.model is not a string");
    if (gguf_str_eq(model, "llama"))
        t->kind = TOK_SPM;
    else if (gguf_str_eq(model, "gpt2"))
        t->kind = TOK_BPE;
    else {
        int shown = model.len > 64 ? 64 : (int)model.len;
        return xq_fail(err, XQ_EINPUT, "tokenizer: unsupported tokenizer model '%.*s' (tokenizer.ggml.model)", shown,
                       model.ptr);
    }
    return XQ_OK;
}

/* Token texts; an empty one is renamed "[EMPTY_<id>]" as llama.cpp does; duplicates are refused (llama.cpp
 * asserts on them). */
static int load_tokens(const gguf_file *f, tokenizer *t, xq_err *err)
{
    int rc;
    const gguf_kv *kv = find_array(f, "tokenizer.ggml.tokens", 's', 0, true, &rc, err);
    if (!kv) return rc;
    if (kv->arr_n == 0 || kv->arr_n > MAX_VOCAB)
        return xq_fail(err, XQ_EINPUT, "tokenizer: tokenizer.ggml.tokens has %llu entries (expected 1..%d)",
                       (unsigned long long)kv->arr_n, MAX_VOCAB);
    t->n_vocab = (int32_t)kv->arr_n;
    if ((rc = tok_strtab_init(&t->tokens, (uint32_t)t->n_vocab, true, err)) != XQ_OK) return rc;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        char empty[32];
        const char *s = kv->strs[i].ptr;
        size_t len = kv->strs[i].len;
        if (len == 0) len = (size_t)snprintf(empty, sizeof empty, "[EMPTY_%d]", (int)i), s = empty;
        int64_t dup;
        if ((rc = tok_strtab_add(&t->tokens, s, len, &dup, err)) != XQ_OK) return rc;
        if (dup >= 0)
            return xq_fail(err, XQ_EINPUT, "tokenizer: tokens %lld and %d have the same text", (long long)dup, (int)i);
    }
    return XQ_OK;
}

static int load_scores_and_types(const gguf_file *f, tokenizer *t, xq_err *err)
{
    int rc;
    t->scores = calloc((size_t)t->n_vocab, sizeof *t->scores);
    t->types = malloc((size_t)t->n_vocab);
    t->eog = calloc((size_t)t->n_vocab, sizeof *t->eog);
    if (!t->scores || !t->types || !t->eog) return xq_fail(err, XQ_ERUN, "tokenizer: out of memory");
    memset(t->types, TOKT_NORMAL, (size_t)t->n_vocab);
    const gguf_kv *scores = find_array(f, "tokenizer.ggml.scores", 'f', (uint64_t)t->n_vocab, false, &rc, err);
    if (rc != XQ_OK) return rc;
    for (int32_t i = 0; scores && i < t->n_vocab; i++) {
        t->scores[i] = (float)gguf_arr_f64(scores, (uint64_t)i);
        if (isnan(t->scores[i])) return xq_fail(err, XQ_EINPUT, "tokenizer: tokenizer.ggml.scores[%d] is NaN", (int)i);
    }
    const gguf_kv *types = find_array(f, "tokenizer.ggml.token_type", 'i', (uint64_t)t->n_vocab, false, &rc, err);
    if (rc != XQ_OK) return rc;
    for (int32_t i = 0; types && i < t->n_vocab; i++) {
        int64_t v = gguf_arr_i64(types, (uint64_t)i);
        if (v < TOKT_UNDEFINED || v > TOKT_BYTE)
            return xq_fail(err, XQ_EINPUT, "tokenizer: tokenizer.ggml.token_type[%d] = %lld is not a token type (0..6)",
                           (int)i, (long long)v);
        t->types[i] = (uint8_t)v;
    }
    return XQ_OK;
}

/* Merges "left right" keyed by their own text: symbols never hold a raw space (byte-level), so "left right" is
 * unambiguous. A repeated merge keeps its first rank (llama.cpp's emplace); later copies stay unhashed so that
 * indices remain ranks. */
static int load_merges(const gguf_file *f, tokenizer *t, xq_err *err)
{
    int rc;
    const gguf_kv *kv = find_array(f, "tokenizer.ggml.merges", 's', 0, true, &rc, err);
    if (!kv) return rc;
    if (kv->arr_n > MAX_MERGES)
        return xq_fail(err, XQ_EINPUT, "tokenizer: tokenizer.ggml.merges has %llu entries (at most %d)",
                       (unsigned long long)kv->arr_n, MAX_MERGES);
    if ((rc = tok_strtab_init(&t->merges, (uint32_t)kv->arr_n, true, err)) != XQ_OK) return rc;
    for (uint64_t i = 0; i < kv->arr_n; i++) {
        gguf_str m = kv->strs[i];
        const char *space = m.len > 1 ? memchr(m.ptr + 1, ' ', m.len - 1) : NULL;
        if (!space || (uint64_t)(space - m.ptr) + 1 >= m.len)
            return xq_fail(err, XQ_EINPUT, "tokenizer: tokenizer.ggml.merges[%llu] is not of the form 'left right'",
                           (unsigned long long)i);
        int64_t dup;
        if ((rc = tok_strtab_add(&t->merges, m.ptr, m.len, &dup, err)) != XQ_OK) return rc;
        if (dup >= 0 && (rc = tok_strtab_append(&t->merges, m.ptr, m.len, err)) != XQ_OK) return rc;
    }
    return XQ_OK;
}

static int load_special_ids(const gguf_file *f, tokenizer *t, bool add_bos_default, xq_err *err)
{
    bool spm = t->kind == TOK_SPM;
    /* llama.cpp's defaults when the file names none (a default beyond the vocabulary means none) */
    t->bos = spm ? 1 : 11;
    t->eos = spm ? 2 : 11;
    t->unk = spm ? 0 : -1;
    if (t->bos >= t->n_vocab) t->bos = -1;
    if (t->eos >= t->n_vocab) t->eos = -1;
    int32_t pad = -1;
    int rc = meta_id(f, "tokenizer.ggml.bos_token_id", t->n_vocab, &t->bos, err);
    if (rc == XQ_OK) rc = meta_id(f, "tokenizer.ggml.eos_token_id", t->n_vocab, &t->eos, err);
    if (rc == XQ_OK) rc = meta_id(f, "tokenizer.ggml.unknown_token_id", t->n_vocab, &t->unk, err);
    if (rc == XQ_OK) rc = meta_id(f, "tokenizer.ggml.padding_token_id", t->n_vocab, &pad, err);
    t->add_bos = spm || add_bos_default;
    t->add_space_prefix = spm;
    if (rc == XQ_OK) rc = meta_bool(f, "tokenizer.ggml.add_bos_token", &t->add_bos, err);
    if (rc == XQ_OK) rc = meta_bool(f, "tokenizer.ggml.add_space_prefix", &t->add_space_prefix, err);
    return rc;
}

/* ======== end-of-generation and control tokens detected by text (llama.cpp's workaround) ======== */

typedef struct text_group {
    const char *key; /* metadata id that, when present, replaces detection */
    bool eog;
    const char *texts[8]; /* NULL-terminated */
} text_group;

static const text_group TEXT_GROUPS[] = {
    {"tokenizer.ggml.eot_token_id",
     true,
     {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>",
      "<\xef\xbd\x9c"
      "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
      NULL}},
    {"tokenizer.ggml.eom_token_id", true, {"<|eom_id|>", NULL}},
    {"tokenizer.ggml.fim_pre_token_id",
     false,
     {"<|fim_prefix|>", "<fim-prefix>",
      "<\xef\xbd\x9c"
      "fim\xe2\x96\x81"
      "begin\xef\xbd\x9c>",
      "<PRE>", NULL}},
    {"tokenizer.ggml.fim_suf_token_id",
     false,
     {"<|fim_suffix|>", "<fim-suffix>",
      "<\xef\xbd\x9c"
      "fim\xe2\x96\x81hole\xef\xbd\x9c>",
      "<SUF>", NULL}},
    {"tokenizer.ggml.fim_mid_token_id",
     false,
     {"<|fim_middle|>", "<fim-middle>",
      "<\xef\xbd\x9c"
      "fim\xe2\x96\x81"
      "end\xef\xbd\x9c>",
      "<MID>", NULL}},
    {"tokenizer.ggml.fim_pad_token_id", true, {"<|fim_pad|>", "<fim-pad>", "<PAD>", NULL}},
    {"tokenizer.ggml.fim_rep_token_id", true, {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", NULL}},
    {"tokenizer.ggml.fim_sep_token_id", true, {"<|file_sep|>", NULL}},
};

/* Every token with one of these texts ends generation and is a control token. <|end_of_text|> is our
 * addition (Llama 3's end of text; llama.cpp reaches it only through eos). */
static const char *const EOG_TEXTS[] = {"<|eot_id|>",    "<|im_end|>", "<|end|>", "<end_of_turn>",
                                        "<|endoftext|>", "<|eom_id|>", "<EOT>",   "<|end_of_text|>"};

static int apply_text_group(const gguf_file *f, tokenizer *t, const text_group *g, xq_err *err)
{
    int32_t id = -1;
    if (gguf_find(f, g->key)) {
        int rc = meta_id(f, g->key, t->n_vocab, &id, err);
        if (rc != XQ_OK) return rc;
    } else {
        for (int i = 0; g->texts[i]; i++) {
            int32_t found = tokenizer_find(t, g->texts[i]);
            if (found >= 0 && (id < 0 || found < id)) id = found; /* llama.cpp takes an arbitrary one */
        }
        if (id >= 0) t->types[id] = TOKT_CONTROL;
    }
    if (id >= 0 && g->eog) t->eog[id] = true;
    return XQ_OK;
}

static int mark_eog_tokens(const gguf_file *f, tokenizer *t, xq_err *err)
{
    for (size_t i = 0; i < sizeof TEXT_GROUPS / sizeof *TEXT_GROUPS; i++) {
        int rc = apply_text_group(f, t, &TEXT_GROUPS[i], err);
        if (rc != XQ_OK) return rc;
    }
    for (size_t i = 0; i < sizeof EOG_TEXTS / sizeof *EOG_TEXTS; i++) {
        int32_t id = tokenizer_find(t, EOG_TEXTS[i]);
        if (id < 0) continue;
        t->eog[id] = true;
        t->types[id] = TOKT_CONTROL;
    }
    if (t->eos >= 0) t->eog[t->eos] = true;
    return XQ_OK;
}

/* ======== special tokens, pieces, byte tokens ======== */

typedef struct len_id {
    uint32_t len;
    int32_t id;
} len_id;

static int by_len_desc(const void *a, const void *b)
{
    const len_id *x = a, *y = b;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static bool is_special_type(uint8_t type)
{
    return type == TOKT_CONTROL || type == TOKT_USER_DEFINED || type == TOKT_UNKNOWN;
}

static int collect_specials(tokenizer *t, xq_err *err)
{
    len_id *v = malloc((size_t)t->n_vocab * sizeof *v);
    t->specials = malloc((size_t)t->n_vocab * sizeof *t->specials);
    if (!v || !t->specials) {
        free(v);
        return xq_fail(err, XQ_ERUN, "tokenizer: out of memory");
    }
    int32_t n = 0;
    for (int32_t id = 0; id < t->n_vocab; id++)
        if (is_special_type(t->types[id])) v[n++] = (len_id){t->tokens.len[id], id};
    qsort(v, (size_t)n, sizeof *v, by_len_desc);
    for (int32_t i = 0; i < n; i++)
        t->specials[i] = v[i].id;
    t->n_specials = n;
    free(v);
    return XQ_OK;
}

enum { MAX_PIECE = 1 << 20 };

/* BPE text back to bytes (out = NULL: only count). A character outside GPT-2's byte alphabet renders as
 * llama.cpp does, "[UNK_BYTE_0x<hex>" followed by the whole token text and "]", unless that would make the
 * piece absurdly long (verbose = false), when it renders as its own UTF-8 bytes. */
static size_t decode_byte_level(const char *text, size_t len, bool verbose, char *out)
{
    size_t n = 0;
    for (size_t pos = 0; pos < len;) {
        uint32_t cp = tok_utf8_get(text, len, &pos);
        int b = tok_cp_to_byte(cp);
        char utf8[4];
        size_t k = b >= 0 ? 0 : tok_utf8_put(cp, utf8);
        if (b >= 0) {
            if (out) out[n] = (char)b;
            n++;
        } else if (!verbose) {
            if (out) memcpy(out + n, utf8, k);
            n += k;
        } else {
            if (out) memcpy(out + n, "[UNK_BYTE_0x", 12);
            for (size_t j = 0; out && j < k; j++)
                snprintf(out + n + 12 + 2 * j, 3, "%02x", (uint8_t)utf8[j]);
            n += 12 + 2 * k;
            if (out) memcpy(out + n, text, len), out[n + len] = ']';
            n += len + 1;
        }
    }
    return n;
}

/* SPM text with U+2581 turned back into spaces. */
static size_t unescape_spaces(const char *text, size_t len, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (i + 2 < len && memcmp(text + i, "\xe2\x96\x81", 3) == 0) {
            out[n++] = ' ';
            i += 2;
        } else {
            out[n++] = text[i];
        }
    }
    return n;
}

/* Size of token id's piece, and whether llama.cpp's verbose rendering of foreign characters is kept. */
static size_t piece_size(const tokenizer *t, int32_t id, bool *verbose)
{
    const char *text = tok_strtab_text(&t->tokens, (uint32_t)id);
    size_t len = t->tokens.len[id];
    *verbose = true;
    if (t->kind == TOK_SPM || t->types[id] != TOKT_NORMAL) return len + 1;
    size_t n = decode_byte_level(text, len, true, NULL);
    if (n > MAX_PIECE) *verbose = false, n = decode_byte_level(text, len, false, NULL);
    return n;
}

/* Writes the bytes of token id as llama_token_to_piece(special = true) would; returns their count. */
static size_t render_piece(const tokenizer *t, int32_t id, bool verbose, char *out)
{
    const char *text = tok_strtab_text(&t->tokens, (uint32_t)id);
    size_t len = t->tokens.len[id];
    uint8_t type = t->types[id];
    if (is_special_type(type)) {
        memcpy(out, text, len);
        return len;
    }
    if (t->kind == TOK_SPM && type == TOKT_BYTE) {
        out[0] = (char)strtol(text + 3, NULL, 16); /* "<0xNN>", checked at load */
        return 1;
    }
    if (type != TOKT_NORMAL) return 0; /* unused, undefined, and BPE byte tokens render as nothing */
    return t->kind == TOK_SPM ? unescape_spaces(text, len, out) : decode_byte_level(text, len, verbose, out);
}

static int build_pieces(tokenizer *t, xq_err *err)
{
    int rc = tok_strtab_init(&t->pieces, (uint32_t)t->n_vocab, false, err);
    char *buf = NULL;
    size_t buf_cap = 0;
    for (int32_t id = 0; id < t->n_vocab && rc == XQ_OK; id++) {
        bool verbose;
        size_t need = piece_size(t, id, &verbose);
        if (need > buf_cap) {
            char *p = realloc(buf, need);
            if (!p) {
                rc = xq_fail(err, XQ_ERUN, "tokenizer: out of memory");
                break;
            }
            buf = p;
            buf_cap = need;
        }
        rc = tok_strtab_append(&t->pieces, buf, render_piece(t, id, verbose, buf), err);
    }
    free(buf);
    return rc;
}

static bool is_hex_byte_text(const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEFabcdef";
    return len == 6 && memcmp(s, "<0x", 3) == 0 && s[5] == '>' && s[3] && s[4] && strchr(hex, s[3]) &&
           strchr(hex, s[4]);
}

/* SPM byte fallback ids, as llama.cpp's byte_to_token: "<0xNN>", else the 1-byte text itself. */
static int build_byte_tokens(tokenizer *t, xq_err *err)
{
    for (int32_t id = 0; id < t->n_vocab; id++) {
        if (t->types[id] == TOKT_BYTE &&
            !is_hex_byte_text(tok_strtab_text(&t->tokens, (uint32_t)id), t->tokens.len[id]))
            return xq_fail(err, XQ_EINPUT, "tokenizer: token %d has type BYTE but its text is not <0xNN>", (int)id);
    }
    for (int b = 0; b < 256; b++) {
        char name[8], raw = (char)b;
        snprintf(name, sizeof name, "<0x%02X>", b);
        int32_t id = tok_strtab_find(&t->tokens, name, 6);
        t->byte_token[b] = id >= 0 ? id : tok_strtab_find(&t->tokens, &raw, 1);
    }
    return XQ_OK;
}

/* ======== create / destroy ======== */

/* SPM ignores tokenizer.ggml.pre (llama.cpp does too); BPE needs it and the merges. */
static int load_kind_specific(const gguf_file *f, tokenizer *t, bool *add_bos_default, xq_err *err)
{
    if (t->kind == TOK_SPM) {
        int rc = build_byte_tokens(t, err);
        return rc == XQ_OK ? tok_spm_prepare(t, err) : rc;
    }
    gguf_str pre = {NULL, 0};
    if (gguf_find(f, "tokenizer.ggml.pre") && !gguf_get_str(f, "tokenizer.ggml.pre", &pre))
        return xq_fail(err, XQ_EINPUT, "tokenizer: tokenizer.ggml.pre is not a string");
    tok_pre_flags flags;
    int rc = tok_pretok_create(pre.ptr, pre.len, &t->pretok, &flags, err);
    if (rc != XQ_OK) return rc;
    t->ignore_merges = flags.ignore_merges;
    t->clean_spaces = flags.clean_spaces;
    *add_bos_default = flags.add_bos;
    return load_merges(f, t, err);
}

int tokenizer_create(const gguf_file *f, tokenizer **out, xq_err *err)
{
    *out = NULL;
    tokenizer *t = calloc(1, sizeof *t);
    if (!t) return xq_fail(err, XQ_ERUN, "tokenizer: out of memory");
    bool add_bos_default = false;
    int rc = load_model_kind(f, t, err);
    if (rc == XQ_OK) rc = load_tokens(f, t, err);
    if (rc == XQ_OK) rc = load_scores_and_types(f, t, err);
    if (rc == XQ_OK) rc = load_kind_specific(f, t, &add_bos_default, err);
    if (rc == XQ_OK) rc = load_special_ids(f, t, add_bos_default, err);
    if (rc == XQ_OK) rc = mark_eog_tokens(f, t, err);
    if (rc == XQ_OK) rc = collect_specials(t, err);
    if (rc == XQ_OK) rc = build_pieces(t, err);
    if (rc != XQ_OK) {
        tokenizer_destroy(t);
        return rc;
    }
    *out = t;
    return XQ_OK;
}

void tokenizer_destroy(tokenizer *t)
{
    if (!t) return;
    tok_strtab_free(&t->tokens);
    tok_strtab_free(&t->pieces);
    tok_strtab_free(&t->merges);
    tok_pretok_destroy(t->pretok);
    tok_spm_release(t);
    free(t->scores);
    free(t->types);
    free(t->eog);
    free(t->specials);
    free(t);
}

/* ======== accessors ======== */

tok_kind tokenizer_kind(const tokenizer *t)
{
    return t->kind;
}
int32_t tokenizer_n_vocab(const tokenizer *t)
{
    return t->n_vocab;
}
int32_t tokenizer_bos(const tokenizer *t)
{
    return t->bos;
}
int32_t tokenizer_eos(const tokenizer *t)
{
    return t->eos;
}
bool tokenizer_adds_bos(const tokenizer *t)
{
    return t->add_bos;
}

bool tokenizer_is_eog(const tokenizer *t, int32_t id)
{
    return id >= 0 && id < t->n_vocab && t->eog[id];
}

int32_t tokenizer_find(const tokenizer *t, const char *piece)
{
    return tok_strtab_find(&t->tokens, piece, strlen(piece));
}

const char *tokenizer_token_text(const tokenizer *t, int32_t id)
{
    return id >= 0 && id < t->n_vocab ? tok_strtab_text(&t->tokens, (uint32_t)id) : NULL;
}

int tokenizer_piece(const tokenizer *t, int32_t id, bool render_special, char *buf, int cap)
{
    if (id < 0 || id >= t->n_vocab) return 0;
    uint8_t type = t->types[id];
    if (!render_special && (type == TOKT_CONTROL || type == TOKT_UNKNOWN)) return 0;
    int len = (int)t->pieces.len[id];
    if (len <= cap) memcpy(buf, tok_strtab_text(&t->pieces, (uint32_t)id), (size_t)len);
    return len;
}

/* ======== encoding ======== */

typedef struct fragment {
    int32_t id; /* a special token, or -1 for raw text [off, off + len) */
    size_t off, len;
} fragment;

typedef struct frag_vec {
    fragment *v;
    size_t n, cap;
} frag_vec;

static int frag_push(frag_vec *f, int32_t id, size_t off, size_t len)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        fragment *v = realloc(f->v, cap * sizeof *v);
        if (!v) return XQ_ERUN;
        f->v = v;
        f->cap = cap;
    }
    f->v[f->n++] = (fragment){id, off, len};
    return XQ_OK;
}

/* Splits raw fragment fr around every occurrence of special token id, left to right. */
static int split_fragment(const tokenizer *t, const char *text, fragment fr, int32_t id, frag_vec *out)
{
    const char *s = tok_strtab_text(&t->tokens, (uint32_t)id);
    size_t slen = t->tokens.len[id], pos = fr.off, end = fr.off + fr.len;
    const char *m;
    while (pos < end && (m = memmem(text + pos, end - pos, s, slen)) != NULL) {
        size_t at = (size_t)(m - text);
        if (at > pos && frag_push(out, -1, pos, at - pos) != XQ_OK) return XQ_ERUN;
        if (frag_push(out, id, at, slen) != XQ_OK) return XQ_ERUN;
        pos = at + slen;
    }
    if (pos < end && frag_push(out, -1, pos, end - pos) != XQ_OK) return XQ_ERUN;
    return XQ_OK;
}

/* llama.cpp's tokenizer_st_partition: special tokens, longest first, carve the raw text into fragments.
 * Without parse_special only user-defined tokens are carved out. */
static int partition(const tokenizer *t, const char *text, size_t len, bool parse_special, frag_vec *out)
{
    frag_vec cur = {0}, next = {0};
    int rc = len ? frag_push(&cur, -1, 0, len) : XQ_OK;
    for (int32_t i = 0; i < t->n_specials && rc == XQ_OK; i++) {
        int32_t id = t->specials[i];
        if (!parse_special && t->types[id] != TOKT_USER_DEFINED) continue;
        next.n = 0;
        for (size_t k = 0; k < cur.n && rc == XQ_OK; k++)
            rc = cur.v[k].id >= 0 ? frag_push(&next, cur.v[k].id, cur.v[k].off, cur.v[k].len)
                                  : split_fragment(t, text, cur.v[k], id, &next);
        frag_vec swap = cur;
        cur = next;
        next = swap;
    }
    free(next.v);
    if (rc != XQ_OK)
        free(cur.v);
    else
        *out = cur;
    return rc;
}

static int encode_fragments(const tokenizer *t, const char *text, const frag_vec *frags, tok_out *out, xq_err *err)
{
    bool prev_special = true; /* SPM: the first raw fragment gets the space prefix */
    for (size_t i = 0; i < frags->n; i++) {
        const fragment *fr = &frags->v[i];
        if (fr->id >= 0) {
            tok_out_push(out, fr->id);
            prev_special = true;
            continue;
        }
        int rc = t->kind == TOK_SPM
                     ? tok_spm_encode(t, text + fr->off, fr->len, t->add_space_prefix && prev_special, out, err)
                     : tok_bpe_encode(t, text + fr->off, fr->len, out, err);
        if (rc != XQ_OK) return rc;
        prev_special = false;
    }
    return XQ_OK;
}

int64_t tokenizer_encode(const tokenizer *t, const char *text, size_t len, bool add_bos, bool parse_special,
                         int32_t *ids, int64_t cap, xq_err *err)
{
    size_t bad = tok_utf8_check(text, len);
    if (bad < len) {
        xq_fail(err, XQ_EINPUT, "prompt is not valid UTF-8 (byte offset %zu)", bad);
        return -1;
    }
    tok_out out = {ids, cap < 0 ? 0 : cap, 0};
    if (add_bos && t->bos >= 0) tok_out_push(&out, t->bos);
    frag_vec frags = {0};
    if (partition(t, text, len, parse_special, &frags) != XQ_OK) {
        xq_fail(err, XQ_ERUN, "tokenizer: out of memory");
        return -1;
    }
    int rc = encode_fragments(t, text, &frags, &out, err);
    free(frags.v);
    return rc == XQ_OK ? out.n : -1;
}

/* ======== decoding ======== */

/* llama.cpp's clean_up_tokenization_spaces, three passes in place; each reads s[i - 1] after earlier writes,
 * exactly as the original does (pass 2 blanks the space it skips, which the next step then sees). */
static size_t clean_before_punct(char *s, size_t n)
{
    size_t out = n ? 1 : 0;
    for (size_t i = 1; i < n; i++) {
        char x = s[i];
        if (s[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) out--;
        s[out++] = x;
    }
    return out;
}

static size_t clean_lone_apostrophe(char *s, size_t n)
{
    size_t out = n ? 1 : 0;
    for (size_t i = 1; i < n; i++) {
        char x = s[i];
        if (x == '\'' && i + 1 < n && s[i - 1] == ' ' && s[i + 1] == ' ') {
            out--;
            s[++i] = '\0';
        }
        s[out++] = x;
    }
    return out;
}

static size_t clean_contractions(char *s, size_t n)
{
    size_t out = n ? 1 : 0;
    for (size_t i = 1; i < n; i++) {
        char x = s[i];
        if (s[i - 1] == ' ' && x == '\'' && i + 1 < n) {
            char x1 = s[i + 1], x2 = i + 2 < n ? s[i + 2] : '\0';
            bool drop = x1 == 's' || x1 == 'm' || (x2 && ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')));
            if (drop) out--; /* " 's", " 'm", " 're", " 've" (not " 't", " 'd", " 'll") */
        }
        s[out++] = x;
    }
    return out;
}

static int piece_len(const tokenizer *t, int32_t id, bool render_special)
{
    char none;
    return tokenizer_piece(t, id, render_special, &none, 0);
}

int64_t tokenizer_decode(const tokenizer *t, const int32_t *ids, int64_t n, bool render_special, char *buf, int64_t cap,
                         xq_err *err)
{
    size_t total = 0;
    for (int64_t i = 0; i < n; i++)
        total += (size_t)piece_len(t, ids[i], render_special);
    char *text = malloc(total + 1);
    if (!text) {
        xq_fail(err, XQ_ERUN, "tokenizer: out of memory");
        return -1;
    }
    size_t len = 0;
    for (int64_t i = 0; i < n; i++) {
        size_t room = total - len;
        int k = tokenizer_piece(t, ids[i], render_special, text + len, room > INT32_MAX ? INT32_MAX : (int)room);
        if (i == 0 && t->add_space_prefix && k > 0 && text[len] == ' ') /* the space SPM added when encoding */
            memmove(text + len, text + len + 1, (size_t)--k);
        len += (size_t)k;
    }
    if (t->clean_spaces) len = clean_contractions(text, clean_lone_apostrophe(text, clean_before_punct(text, len)));
    if (cap > 0) memcpy(buf, text, len < (size_t)cap ? len : (size_t)cap);
    free(text);
    return (int64_t)len;
}
