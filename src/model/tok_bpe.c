/* Byte-level BPE (tokenizer.ggml.model = "gpt2"): pre-tokenizer regexes chosen by tokenizer.ggml.pre, then
 * merges by rank, as llama.cpp's llm_tokenizer_bpe_session.
 *
 * Pre-tokenizing: the regexes of a list are applied in sequence, each one splitting every piece the previous
 * produced; a match becomes a piece and so does each run of unmatched text between matches (llama.cpp's
 * unicode_regex_split). Each piece is matched as a subject of its own, so lookaheads never see past it.
 * llama.cpp runs the gpt2 and llama3 regexes through hand-written equivalents and the others through std::regex
 * over a text whose code points are collapsed to category bytes; both treat white space as Unicode's White_Space
 * set, so \s and \S are rewritten here into that explicit class (PCRE2's own \s also takes U+180E).
 *
 * Merging: one symbol per character of the byte-level word; the candidate pair of lowest merge rank (leftmost
 * on ties) merges first; stale heap entries are recognised by their size. O(n log n) per word. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "model/tok_internal.h"

enum { MAX_REGEX = 6 };

struct tok_pretok {
    int n;
    pcre2_code *re[MAX_REGEX];
};

/* ---- regex lists (llama.cpp's, by pre-tokenizer type) */

#define RX_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define RX_LLAMA3_CONTRACTIONS "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
#define RX_LLAMA3                                                                                                      \
    RX_LLAMA3_CONTRACTIONS                                                                                             \
        "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RX_QWEN2                                                                                                       \
    RX_LLAMA3_CONTRACTIONS                                                                                             \
        "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RX_PORO " ?[^(\\s|.,!?…。，、।۔،)]+"

typedef struct regex_list {
    const char *name;
    const char *rx[MAX_REGEX]; /* NULL-terminated */
} regex_list;

static const regex_list REGEX_LISTS[] = {
    {"default", {"[\\p{P}\\$\\+<=>\\^~\\|]+", RX_GPT2, "\\p{N}+", "[0-9][0-9][0-9]", NULL}},
    {"llama3", {RX_LLAMA3, NULL}},
    {"starcoder", {"\\p{N}", RX_GPT2, NULL}},
    {"gpt2", {RX_GPT2, NULL}},
    {"qwen2", {RX_QWEN2, NULL}},
    {"falcon", {"[\\p{P}\\$\\+<=>\\^~\\|`]+", RX_GPT2, "[0-9][0-9][0-9]", NULL}},
    {"deepseek-coder", {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}", NULL}},
    {"poro", {RX_PORO, NULL}},
    {"viking", {RX_PORO, "\\p{N}", NULL}},
};

/* tokenizer.ggml.pre names, as llama.cpp's llama_vocab::impl::load maps them, with the flags each sets. */
typedef struct pre_name {
    const char *name;
    const char *list;
    tok_pre_flags flags; /* ignore_merges, add_bos, clean_spaces */
} pre_name;

#define PLAIN                                                                                                          \
    {                                                                                                                  \
        false, false, true                                                                                             \
    }
#define NO_CLEAN                                                                                                       \
    {                                                                                                                  \
        false, false, false                                                                                            \
    }
#define LLAMA3                                                                                                         \
    {                                                                                                                  \
        true, true, true                                                                                               \
    }

static const pre_name PRE_NAMES[] = {
    {"default", "default", PLAIN},
    {"llama3", "llama3", LLAMA3},
    {"llama-v3", "llama3", LLAMA3},
    {"llama-bpe", "llama3", LLAMA3},
    {"falcon3", "llama3", LLAMA3},
    {"dbrx", "llama3", PLAIN},
    {"smaug-bpe", "llama3", PLAIN},
    {"chatglm-bpe", "llama3", PLAIN},
    {"starcoder", "starcoder", PLAIN},
    {"refact", "starcoder", PLAIN},
    {"command-r", "starcoder", NO_CLEAN},
    {"smollm", "starcoder", NO_CLEAN},
    {"codeshell", "starcoder", PLAIN},
    {"exaone", "starcoder", PLAIN},
    {"minerva-7b", "starcoder", PLAIN},
    {"gpt-2", "gpt2", PLAIN},
    {"phi-2", "gpt2", PLAIN},
    {"jina-es", "gpt2", PLAIN},
    {"jina-de", "gpt2", PLAIN},
    {"gigachat", "gpt2", PLAIN},
    {"jina-v1-en", "gpt2", PLAIN},
    {"jina-v2-es", "gpt2", PLAIN},
    {"jina-v2-de", "gpt2", PLAIN},
    {"jina-v2-code", "gpt2", PLAIN},
    {"roberta-bpe", "gpt2", PLAIN},
    {"mpt", "gpt2", PLAIN},
    {"olmo", "gpt2", PLAIN},
    {"jais", "gpt2", PLAIN},
    {"qwen2", "qwen2", NO_CLEAN},
    {"deepseek-r1-qwen", "qwen2", NO_CLEAN},
    {"megrez", "qwen2", PLAIN},
    {"stablelm2", "qwen2", PLAIN},
    {"falcon", "falcon", PLAIN},
    {"deepseek-coder", "deepseek-coder", NO_CLEAN},
    {"poro-chat", "poro", NO_CLEAN},
    {"bloom", "poro", PLAIN},
    {"gpt3-finnish", "poro", PLAIN},
    {"viking", "viking", NO_CLEAN},
};

#define WS_CLASS                                                                                                       \
    "\\t\\n\\x0b\\f\\r \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}"

/* Copies rx with \s and \S replaced by the White_Space class; returns a malloc'd string or NULL. */
static char *rewrite_whitespace(const char *rx)
{
    size_t cap = strlen(rx) * (sizeof WS_CLASS + 4) + 1;
    char *out = malloc(cap), *o = out;
    if (!out) return NULL;
    bool in_class = false;
    for (const char *p = rx; *p; p++) {
        if (*p == '\\' && (p[1] == 's' || (p[1] == 'S' && !in_class))) {
            const char *open = p[1] == 's' ? (in_class ? "" : "[") : "[^";
            const char *close = (p[1] == 's' && in_class) ? "" : "]";
            o += sprintf(o, "%s%s%s", open, WS_CLASS, close);
            p++;
            continue;
        }
        if (*p == '\\' && p[1]) {
            *o++ = *p++;
            *o++ = *p;
            continue;
        }
        if (*p == '[' && !in_class)
            in_class = true;
        else if (*p == ']' && in_class)
            in_class = false;
        *o++ = *p;
    }
    *o = '\0';
    return out;
}

static int compile_regex(const char *rx, pcre2_code **out, xq_err *err)
{
    char *pattern = rewrite_whitespace(rx);
    if (!pattern) return xq_fail(err, XQ_ERUN, "tokenizer: out of memory");
    int code;
    PCRE2_SIZE at;
    *out = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &code, &at, NULL);
    free(pattern);
    if (!*out) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof msg);
        return xq_fail(err, XQ_ERUN, "tokenizer: cannot compile pre-tokenizer regex '%s': %s", rx, (char *)msg);
    }
    (void)pcre2_jit_compile(*out, PCRE2_JIT_COMPLETE); /* optional speed-up; the interpreter is the fallback */
    return XQ_OK;
}

static const regex_list *find_list(const char *name)
{
    for (size_t i = 0; i < sizeof REGEX_LISTS / sizeof *REGEX_LISTS; i++)
        if (strcmp(REGEX_LISTS[i].name, name) == 0) return &REGEX_LISTS[i];
    return NULL;
}

static const pre_name *find_pre(const char *pre, size_t len)
{
    if (!pre || len == 0) return &PRE_NAMES[0]; /* absent: llama.cpp falls back to "default" */
    for (size_t i = 0; i < sizeof PRE_NAMES / sizeof *PRE_NAMES; i++)
        if (strlen(PRE_NAMES[i].name) == len && memcmp(PRE_NAMES[i].name, pre, len) == 0) return &PRE_NAMES[i];
    return NULL;
}

int tok_pretok_create(const char *pre, size_t pre_len, tok_pretok **out, tok_pre_flags *flags, xq_err *err)
{
    const pre_name *pn = find_pre(pre, pre_len);
    if (!pn) {
        int shown = pre_len > 64 ? 64 : (int)pre_len;
        return xq_fail(err, XQ_EINPUT, "tokenizer: unsupported pre-tokenizer '%.*s' (tokenizer.ggml.pre)", shown, pre);
    }
    const regex_list *list = find_list(pn->list);
    tok_pretok *p = calloc(1, sizeof *p);
    if (!p) return xq_fail(err, XQ_ERUN, "tokenizer: out of memory");
    for (int i = 0; i < MAX_REGEX && list->rx[i]; i++) {
        if (compile_regex(list->rx[i], &p->re[i], err) != XQ_OK) {
            tok_pretok_destroy(p);
            return err ? err->code : XQ_ERUN;
        }
        p->n = i + 1;
    }
    *flags = pn->flags;
    *out = p;
    return XQ_OK;
}

void tok_pretok_destroy(tok_pretok *p)
{
    if (!p) return;
    for (int i = 0; i < p->n; i++)
        pcre2_code_free(p->re[i]);
    free(p);
}

/* ---- pre-tokenizing */

typedef struct span {
    size_t off, len;
} span;

typedef struct span_vec {
    span *v;
    size_t n, cap;
} span_vec;

static int span_push(span_vec *s, size_t off, size_t len)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        span *v = realloc(s->v, cap * sizeof *v);
        if (!v) return XQ_ERUN;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = (span){off, len};
    return XQ_OK;
}

/* Splits one piece by one regex: matches and the unmatched runs between them, in order. */
static int split_piece(const pcre2_code *re, pcre2_match_data *md, const char *text, span piece, span_vec *out,
                       xq_err *err)
{
    const PCRE2_SPTR subject = (PCRE2_SPTR)(text + piece.off);
    size_t pos = 0, prev_end = 0;
    while (pos < piece.len) {
        int rc = pcre2_match(re, subject, piece.len, pos, PCRE2_NO_UTF_CHECK, md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) return xq_fail(err, XQ_ERUN, "tokenizer: pre-tokenizer regex failed (PCRE2 error %d)", rc);
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t start = ov[0], end = ov[1];
        if (end == start) { /* empty match: step one character, as a regex iterator would */
            pos = start + tok_utf8_len((unsigned char)text[piece.off + start]);
            continue;
        }
        if (start > prev_end && span_push(out, piece.off + prev_end, start - prev_end) != XQ_OK) goto oom;
        if (span_push(out, piece.off + start, end - start) != XQ_OK) goto oom;
        prev_end = pos = end;
    }
    if (prev_end < piece.len && span_push(out, piece.off + prev_end, piece.len - prev_end) != XQ_OK) goto oom;
    return XQ_OK;
oom:
    return xq_fail(err, XQ_ERUN, "tokenizer: out of memory");
}

/* Applies every regex of the list in sequence; on success *words holds the final pieces. */
static int pretokenize(const tok_pretok *p, const char *text, size_t len, span_vec *words, xq_err *err)
{
    span_vec cur = {0}, next = {0};
    int rc = XQ_OK;
    pcre2_match_data *md = pcre2_match_data_create(8, NULL);
    if (!md || span_push(&cur, 0, len) != XQ_OK) {
        rc = xq_fail(err, XQ_ERUN, "tokenizer: out of memory");
        goto done;
    }
    for (int r = 0; r < p->n && rc == XQ_OK; r++) {
        next.n = 0;
        for (size_t i = 0; i < cur.n && rc == XQ_OK; i++)
            rc = split_piece(p->re[r], md, text, cur.v[i], &next, err);
        span_vec swap = cur;
        cur = next;
        next = swap;
    }
done:
    pcre2_match_data_free(md);
    free(next.v);
    if (rc != XQ_OK) {
        free(cur.v);
        return rc;
    }
    *words = cur;
    return XQ_OK;
}

/* ---- merging one word */

typedef struct bpe_work {
    char *enc; /* the word in GPT-2's byte-level alphabet */
    size_t enc_cap;
    tok_symbol *syms;
    size_t n_syms, syms_cap;
    tok_heap heap;
    char *key; /* "left right", the form merges are stored in */
    size_t key_cap;
} bpe_work;

/* Writes the byte-level form of text[0..len) into w->enc; returns its length or SIZE_MAX on allocation failure. */
static size_t byte_encode(bpe_work *w, const char *text, size_t len)
{
    if (!xq_grow((void **)&w->enc, &w->enc_cap, len * 2 + 1, 1)) return SIZE_MAX;
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += tok_utf8_put(tok_byte_to_cp((uint8_t)text[i]), w->enc + n);
    return n;
}

static int add_bigram(const tokenizer *t, bpe_work *w, int32_t left, int32_t right)
{
    if (left < 0 || right < 0) return XQ_OK;
    const tok_symbol *l = &w->syms[left], *r = &w->syms[right];
    if (!xq_grow((void **)&w->key, &w->key_cap, l->n + r->n + 1, 1)) return XQ_ERUN;
    memcpy(w->key, w->enc + l->off, l->n);
    w->key[l->n] = ' ';
    memcpy(w->key + l->n + 1, w->enc + r->off, r->n);
    int32_t rank = tok_strtab_find(&t->merges, w->key, l->n + 1 + r->n);
    if (rank < 0) return XQ_OK;
    tok_bigram b = {-(float)rank, left, right, l->n + r->n};
    return tok_heap_push(&w->heap, b);
}

typedef struct add_bigram_ctx {
    const tokenizer *t;
    bpe_work *w;
} add_bigram_ctx;

static int propose_pair(void *ctx, int32_t left, int32_t right)
{
    add_bigram_ctx *c = ctx;
    return add_bigram(c->t, c->w, left, right);
}

static int merge_symbols(const tokenizer *t, bpe_work *w)
{
    add_bigram_ctx c = {t, w};
    return tok_merge_symbols(w->syms, w->n_syms, &w->heap, propose_pair, &c);
}

/* A final symbol that is not a token is emitted byte by byte, each byte only if it is a token itself. */
static void emit_symbols(const tokenizer *t, const bpe_work *w, tok_out *out)
{
    for (int32_t i = 0; i >= 0 && (size_t)i < w->n_syms; i = w->syms[i].next) {
        const tok_symbol *s = &w->syms[i];
        int32_t id = tok_strtab_find(&t->tokens, w->enc + s->off, s->n);
        if (id >= 0) {
            tok_out_push(out, id);
            continue;
        }
        for (uint32_t j = 0; j < s->n; j++) {
            int32_t byte_id = tok_strtab_find(&t->tokens, w->enc + s->off + j, 1);
            if (byte_id >= 0) tok_out_push(out, byte_id);
        }
    }
}

static int encode_word(const tokenizer *t, bpe_work *w, const char *text, size_t len, tok_out *out)
{
    size_t n = byte_encode(w, text, len);
    if (n == SIZE_MAX) return XQ_ERUN;
    if (t->ignore_merges) {
        int32_t id = tok_strtab_find(&t->tokens, w->enc, n);
        if (id >= 0) {
            tok_out_push(out, id);
            return XQ_OK;
        }
    }
    if (tok_symbols_from_text(w->enc, n, &w->syms, &w->n_syms, &w->syms_cap) != XQ_OK) return XQ_ERUN;
    if (merge_symbols(t, w) != XQ_OK) return XQ_ERUN;
    emit_symbols(t, w, out);
    return XQ_OK;
}

int tok_bpe_encode(const tokenizer *t, const char *text, size_t len, tok_out *out, xq_err *err)
{
    span_vec words = {0};
    int rc = pretokenize(t->pretok, text, len, &words, err);
    if (rc != XQ_OK) return rc;
    bpe_work w = {0};
    for (size_t i = 0; i < words.n && rc == XQ_OK; i++) {
        if (encode_word(t, &w, text + words.v[i].off, words.v[i].len, out) != XQ_OK)
            rc = xq_fail(err, XQ_ERUN, "tokenizer: out of memory");
    }
    free(w.enc);
    free(w.syms);
    free(w.heap.v);
    free(w.key);
    free(words.v);
    return rc;
}
