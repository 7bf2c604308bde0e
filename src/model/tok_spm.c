/* SentencePiece-style tokenizing (tokenizer.ggml.model = "llama"), as llama.cpp's llm_tokenizer_spm_session:
 * spaces become U+2581 (with one prepended when asked), the text starts as one symbol per UTF-8 character, and
 * the adjacent pair whose concatenation is the vocabulary token of highest score (leftmost on ties) merges
 * first, until no pair forms a token. A final symbol that is not a token falls back to byte tokens <0xNN>.
 *
 * Segmenting (ours; same result): a merge can only join two characters that stand next to each other inside
 * some token. Where two neighbouring characters of the text never do, no merge ever crosses, so the text is cut
 * there and each segment merged on its own. Within a segment the order of merges is the global one (scores,
 * then position), so the tokens are exactly those of one pass over the whole text; the heaps stay small
 * (llama.cpp queues every bigram of the whole text at once). O(n log n) either way. */
#include <stdlib.h>
#include <string.h>

#include "model/tok_internal.h"

#define SPM_SPACE "\xe2\x96\x81" /* U+2581 LOWER ONE EIGHTH BLOCK */

/* ---- the set of adjacent character pairs found inside tokens */

/* A character of 1..4 bytes packed with its length, so that different characters never share a value. */
static uint64_t pack_char(const char *s, size_t n)
{
    uint64_t v = n;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | (uint8_t)s[i];
    return v;
}

static size_t char_len_at(const char *s, size_t pos, size_t len)
{
    size_t n = tok_utf8_len((unsigned char)s[pos]);
    return n < len - pos ? n : len - pos;
}

static uint64_t pair_key(uint64_t a, uint64_t b)
{
    return (a << 24) ^ b ^ (a >> 40); /* a ≤ 36 bits; collisions only cost a missed cut, never a wrong one */
}

static size_t slot_of(const tok_u64set *s, uint64_t key)
{
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h >> 20) & s->mask;
    while (s->used[i] && s->keys[i] != key)
        i = (i + 1) & s->mask;
    return i;
}

static void set_insert(tok_u64set *s, uint64_t key)
{
    size_t i = slot_of(s, key);
    if (!s->used[i]) s->used[i] = 1, s->keys[i] = key, s->n++;
}

static bool set_has(const tok_u64set *s, uint64_t key)
{
    return s->used[slot_of(s, key)] != 0;
}

static size_t count_pairs(const tokenizer *t)
{
    size_t n = 0;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        size_t len = t->tokens.len[id];
        const char *s = tok_strtab_text(&t->tokens, (uint32_t)id);
        for (size_t pos = 0; pos < len; n++)
            pos += char_len_at(s, pos, len);
    }
    return n;
}

int tok_spm_prepare(tokenizer *t, xq_err *err)
{
    size_t slots = 64;
    for (size_t need = 2 * count_pairs(t); slots < need;)
        slots *= 2;
    tok_u64set *set = &t->spm_pairs;
    set->keys = malloc(slots * sizeof *set->keys);
    set->used = calloc(slots, 1);
    set->mask = slots - 1;
    if (!set->keys || !set->used) return xq_fail(err, XQ_ERUN, "tokenizer: out of memory");
    for (int32_t id = 0; id < t->n_vocab; id++) {
        size_t len = t->tokens.len[id];
        const char *s = tok_strtab_text(&t->tokens, (uint32_t)id);
        for (size_t pos = 0, next; (next = pos + char_len_at(s, pos, len)) < len; pos = next) {
            uint64_t a = pack_char(s + pos, next - pos), b = pack_char(s + next, char_len_at(s, next, len));
            set_insert(set, pair_key(a, b));
        }
    }
    return XQ_OK;
}

void tok_spm_release(tokenizer *t)
{
    free(t->spm_pairs.keys);
    free(t->spm_pairs.used);
    memset(&t->spm_pairs, 0, sizeof t->spm_pairs);
}

/* ---- merging one segment */

/* Returns the escaped text (malloc'd) and its length, or NULL on allocation failure. */
static char *escape_spaces(const char *text, size_t len, bool space_prefix, size_t *out_len)
{
    size_t spaces = space_prefix ? 1 : 0;
    for (size_t i = 0; i < len; i++)
        spaces += text[i] == ' ';
    char *buf = malloc(len + spaces * 2 + 1);
    if (!buf) return NULL;
    size_t n = 0;
    if (space_prefix) {
        memcpy(buf, SPM_SPACE, 3);
        n = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(buf + n, SPM_SPACE, 3);
            n += 3;
        } else
            buf[n++] = text[i];
    }
    *out_len = n;
    return buf;
}

typedef struct spm_work {
    const char *text; /* the current segment */
    tok_symbol *syms;
    size_t n_syms, cap;
    tok_heap heap;
} spm_work;

static int try_bigram(const tokenizer *t, spm_work *w, int32_t left, int32_t right)
{
    if (left < 0 || right < 0) return XQ_OK;
    const tok_symbol *l = &w->syms[left], *r = &w->syms[right];
    int32_t id = tok_strtab_find(&t->tokens, w->text + l->off, l->n + r->n); /* l and r are adjacent */
    if (id < 0) return XQ_OK;
    tok_bigram b = {t->scores[id], left, right, l->n + r->n};
    return tok_heap_push(&w->heap, b);
}

typedef struct try_bigram_ctx {
    const tokenizer *t;
    spm_work *w;
} try_bigram_ctx;

static int propose_pair(void *ctx, int32_t left, int32_t right)
{
    try_bigram_ctx *c = ctx;
    return try_bigram(c->t, c->w, left, right);
}

static int merge_by_score(const tokenizer *t, spm_work *w)
{
    try_bigram_ctx c = {t, w};
    return tok_merge_symbols(w->syms, w->n_syms, &w->heap, propose_pair, &c);
}

/* A symbol that is no token: each byte as its byte token; llama.cpp would throw where the vocabulary has no
 * such token, we emit <unk> (or nothing when there is none). */
static void emit_bytes(const tokenizer *t, const char *s, uint32_t n, tok_out *out)
{
    for (uint32_t j = 0; j < n; j++) {
        int32_t id = t->byte_token[(uint8_t)s[j]];
        if (id < 0) id = t->unk;
        if (id >= 0) tok_out_push(out, id);
    }
}

static void emit_symbols(const tokenizer *t, const spm_work *w, tok_out *out)
{
    for (int32_t i = 0; i >= 0 && (size_t)i < w->n_syms; i = w->syms[i].next) {
        const tok_symbol *s = &w->syms[i];
        int32_t id = tok_strtab_find(&t->tokens, w->text + s->off, s->n);
        if (id >= 0)
            tok_out_push(out, id);
        else
            emit_bytes(t, w->text + s->off, s->n, out);
    }
}

static int encode_segment(const tokenizer *t, spm_work *w, const char *seg, size_t len, tok_out *out)
{
    w->text = seg;
    if (tok_symbols_from_text(seg, len, &w->syms, &w->n_syms, &w->cap) != XQ_OK) return XQ_ERUN;
    if (merge_by_score(t, w) != XQ_OK) return XQ_ERUN;
    emit_symbols(t, w, out);
    return XQ_OK;
}

/* Cuts text between neighbouring characters that no token holds side by side. */
static int encode_segments(const tokenizer *t, spm_work *w, const char *text, size_t len, tok_out *out)
{
    size_t start = 0, pos = 0;
    while (pos < len) {
        size_t n = char_len_at(text, pos, len), next = pos + n;
        if (next < len) {
            uint64_t key = pair_key(pack_char(text + pos, n), pack_char(text + next, char_len_at(text, next, len)));
            if (set_has(&t->spm_pairs, key)) {
                pos = next;
                continue;
            }
        }
        if (encode_segment(t, w, text + start, next - start, out) != XQ_OK) return XQ_ERUN;
        start = pos = next;
    }
    return XQ_OK;
}

int tok_spm_encode(const tokenizer *t, const char *text, size_t len, bool space_prefix, tok_out *out, xq_err *err)
{
    size_t n = 0;
    char *escaped = escape_spaces(text, len, space_prefix, &n);
    spm_work w = {0};
    int rc = escaped ? encode_segments(t, &w, escaped, n, out) : XQ_ERUN;
    if (rc != XQ_OK) xq_fail(err, XQ_ERUN, "tokenizer: out of memory");
    free(w.syms);
    free(w.heap.v);
    free(escaped);
    return rc;
}
