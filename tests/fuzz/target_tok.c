/* Fuzz target for the tokenizers: the input is text, tokenized by the starcoder BPE vocabulary and the Llama
 * SPM vocabulary of ../shared/vocab (loaded once; a missing one is skipped), with and without special-token
 * parsing. Promises checked (a broken one aborts): invalid UTF-8 is refused with XQ_EINPUT; a second call
 * with room for every id gives the same count; every id is in range; each piece fits the size it announced;
 * and the pieces of all tokens rebuild the input (BPE: less bytes the vocabulary has no character for;
 * SPM: after the space it prepends and with U+2581 read as a space, without special parsing). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/gguf.h"
#include "model/tokenizer.h"

int xq_fuzz_tok(const uint8_t *data, size_t size);

static const char *const VOCABS[] = {"vocab/ggml-vocab-starcoder.gguf", "vocab/ggml-vocab-llama-spm.gguf"};
enum { N_VOCABS = sizeof VOCABS / sizeof VOCABS[0] };

static gguf_file *vocab_files[N_VOCABS];
static tokenizer *vocab_toks[N_VOCABS];

static void require(bool ok, const char *what)
{
    if (ok) return;
    fprintf(stderr, "xq_fuzz_tok: broken promise: %s\n", what);
    abort();
}

static bool readable(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (fp) fclose(fp);
    return fp != NULL;
}

/* The shared folder: $XQ_SHARED, ../shared, or beside the source tree (ctest runs from the build folder). */
static const char *shared_file(const char *rel, char *buf, size_t cap)
{
    char beside[2048];
    snprintf(beside, sizeof beside, "%s", __FILE__);
    char *slash = strrchr(beside, '/');
    if (slash) snprintf(slash, sizeof beside - (size_t)(slash - beside), "/../../../shared");
    const char *bases[] = {getenv("XQ_SHARED"), "../shared", slash ? beside : NULL};
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        if (!bases[i]) continue;
        snprintf(buf, cap, "%s/%s", bases[i], rel);
        if (readable(buf)) return buf;
    }
    return NULL;
}

static void load_once(void)
{
    static bool loaded;
    if (loaded) return;
    loaded = true;
    for (int i = 0; i < N_VOCABS; i++) {
        char path[4096];
        xq_err err = {0};
        if (!shared_file(VOCABS[i], path, sizeof path)) {
            fprintf(stderr, "xq_fuzz_tok: %s absent, skipped\n", VOCABS[i]);
            continue;
        }
        if (gguf_open(path, &vocab_files[i], &err) != XQ_OK ||
            tokenizer_create(vocab_files[i], &vocab_toks[i], &err) != XQ_OK)
            fprintf(stderr, "xq_fuzz_tok: %s\n", err.msg);
    }
}

/* Concatenates the pieces of ids (render_special) and compares them with want. */
static void check_pieces(const tokenizer *t, const int32_t *ids, int64_t n, const char *want, size_t want_len)
{
    char *joined = malloc(want_len + 1);
    size_t at = 0;
    bool same = joined != NULL;
    for (int64_t i = 0; i < n; i++) {
        require(ids[i] >= 0 && ids[i] < tokenizer_n_vocab(t), "ids are in range");
        char small[4];
        int need = tokenizer_piece(t, ids[i], true, small, 0);
        char *piece = malloc((size_t)need + 1);
        require(piece && tokenizer_piece(t, ids[i], true, piece, need) == need, "a piece fits its announced size");
        require(tokenizer_piece(t, ids[i], false, small, 0) <= need, "plain pieces are no longer");
        if (same && at + (size_t)need <= want_len)
            memcpy(joined + at, piece, (size_t)need);
        else
            same = false;
        at += (size_t)need;
        free(piece);
    }
    require(same && at == want_len && memcmp(joined, want, want_len) == 0, "pieces rebuild the text");
    free(joined);
}

/* GPT-2's byte-level alphabet, written independently of src/: printable bytes stand for themselves, the other
 * 68 map in order to U+0100 and up. */
static unsigned byte_char(unsigned b)
{
    unsigned n = 0;
    for (unsigned c = 0; c < b; c++)
        n += !((c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || c >= 0xAE);
    return ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE) ? b : 256 + n;
}

/* What BPE pieces spell: the text without the bytes whose character the vocabulary lacks (the starcoder
 * vocabulary has no token for 0xC0, 0xC1, 0xF1, 0xF5..0xFF; llama.cpp drops them too). */
static char *bpe_expected(const tokenizer *t, const char *text, size_t len, size_t *out_len)
{
    bool known[256];
    for (unsigned b = 0; b < 256; b++) {
        unsigned cp = byte_char(b);
        char utf8[3] = {(char)cp, 0, 0};
        if (cp >= 0x80) utf8[0] = (char)(0xC0 | cp >> 6), utf8[1] = (char)(0x80 | (cp & 0x3F));
        known[b] = tokenizer_find(t, utf8) >= 0;
    }
    char *out = malloc(len + 1);
    require(out != NULL, "memory");
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (known[(uint8_t)text[i]]) out[n++] = text[i];
    *out_len = n;
    return out;
}

/* What SPM pieces spell: a space first, and U+2581 (SentencePiece's space) read back as a space. */
static char *spm_expected(const char *text, size_t len, size_t *out_len)
{
    char *out = malloc(len + 1);
    require(out != NULL, "memory");
    size_t n = 0;
    out[n++] = ' ';
    for (size_t i = 0; i < len; i++) {
        bool mark = i + 2 < len && memcmp(text + i, "\xe2\x96\x81", 3) == 0;
        out[n++] = mark ? ' ' : text[i];
        i += mark ? 2 : 0;
    }
    *out_len = n;
    return out;
}

static void run_one(const tokenizer *t, const char *text, size_t len, bool parse_special)
{
    int32_t few[8];
    xq_err err = {0};
    int64_t n = tokenizer_encode(t, text, len, false, parse_special, few, 8, &err);
    if (n < 0) {
        require(err.code == XQ_EINPUT, "refusals are XQ_EINPUT");
        return;
    }
    int32_t *ids = malloc((size_t)(n ? n : 1) * sizeof *ids);
    require(ids && tokenizer_encode(t, text, len, false, parse_special, ids, n, &err) == n, "stable token count");
    bool spm = tokenizer_kind(t) == TOK_SPM;
    if (!spm) {
        size_t kept_len;
        char *kept = bpe_expected(t, text, len, &kept_len);
        check_pieces(t, ids, n, kept, kept_len);
        free(kept);
    } else if (!parse_special && len > 0) {
        size_t spaced_len;
        char *spaced = spm_expected(text, len, &spaced_len);
        check_pieces(t, ids, n, spaced, spaced_len);
        free(spaced);
    }
    int64_t decoded = tokenizer_decode(t, ids, n, parse_special, NULL, 0, &err);
    require(decoded >= 0, "decode sizes");
    free(ids);
}

int xq_fuzz_tok(const uint8_t *data, size_t size)
{
    load_once();
    for (int i = 0; i < N_VOCABS; i++) {
        if (!vocab_toks[i]) continue;
        run_one(vocab_toks[i], (const char *)data, size, false);
        run_one(vocab_toks[i], (const char *)data, size, true);
    }
    return 0;
}
