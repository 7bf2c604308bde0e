/* Writes real-shaped Llama models with random weights as GGUF (llama.cpp's "llama" architecture names).
 *
 * Streaming: weights are generated, quantized and written one row at a time, so memory stays at two row
 * buffers plus the vocabulary whatever the model size. Determinism: each tensor draws from its own splitmix64
 * stream seeded by (seed, tensor index), and normals are Irwin-Hall sums (integer PRNG, exact float ops and
 * sqrt, which IEEE rounds exactly), so the same seed gives the same bytes on every machine.
 * Scales: matrices N(0, 1/fan_in) with fan_in = row length; token embeddings N(0, 1); norm weights 1 + 0.1·U(-1,1).
 * Vocabulary: byte-level SentencePiece: <unk> <s> </s>, <0x00>..<0xFF>, then unique filler pieces.
 * Mixed file types (Q3_K_S … Q5_K_M) pick each tensor's type by llama.cpp's quantizer rule, so that our file and one
 * llama-quantize makes from an F16 file hold the same types. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model/gguf.h"
#include "model/qtypes.h"
#include "model/synth.h"

enum { SYNTH_N_SPECIAL = 3, SYNTH_N_BYTES = 256, SYNTH_PIECE_MAX = 16 };
enum { TOKEN_NORMAL = 1, TOKEN_UNKNOWN = 2, TOKEN_CONTROL = 3, TOKEN_BYTE = 6 }; /* llama.cpp token types */

typedef enum synth_init { INIT_MATRIX, INIT_EMBED, INIT_NORM } synth_init;

typedef struct synth_tensor {
    char name[48];
    uint32_t type;
    int64_t ne[2]; /* ne[0] = row length; ne[1] = rows (1 for vectors) */
    synth_init init;
} synth_tensor;

/* ---- PRNG ---------------------------------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rng_uniform(uint64_t *state) { return (double)(splitmix64(state) >> 11) * 0x1.0p-53; }

/* Irwin-Hall: the sum of 4 uniforms has mean 2 and variance 1/3. */
static float rng_normal(uint64_t *state)
{
    double sum = rng_uniform(state) + rng_uniform(state) + rng_uniform(state) + rng_uniform(state);
    return (float)((sum - 2.0) * 1.7320508075688772);
}

static void fill_row(const synth_tensor *t, uint64_t *state, float *row)
{
    float std = t->init == INIT_EMBED ? 1.0f : 1.0f / sqrtf((float)t->ne[0]);
    for (int64_t i = 0; i < t->ne[0]; i++) {
        if (t->init == INIT_NORM)
            row[i] = 1.0f + 0.1f * (float)(2.0 * rng_uniform(state) - 1.0);
        else
            row[i] = std * rng_normal(state);
    }
}

/* ---- llama.cpp's K-quant mixes ------------------------------------------------------------------------- */
/* The rule of llama.cpp's quantizer (llama_tensor_get_type) for a dense llama model, for its file types Q3_K_S,
 * Q3_K_M, Q3_K_L, Q4_K_S, Q4_K_M, Q5_K_S and Q5_K_M:
 *   - default Q3_K, Q4_K or Q5_K (the file type's);
 *   - the lm_head (output, or token_embd when the output is tied to it): Q6_K, or Q8_0 straight away when its
 *     rows are not a multiple of 256;
 *   - attn_v: Q3_K_M Q5_K in the first two layers, else Q4_K; Q3_K_L Q5_K; Q4_K_S Q5_K in the first four;
 *     Q4_K_M and Q5_K_M Q6_K in layers that "use more bits" (the first and last eighth, and every third layer
 *     in between); then on its "70B" class (80 layers, grouped-query attention) a Q3_K or Q4_K becomes Q5_K;
 *   - ffn_down: Q3_K_M Q5_K in the first sixteenth of the layers, else Q4_K; Q3_K_L Q5_K; Q4_K_S Q5_K in the
 *     first eighth; Q4_K_M and Q5_K_M Q6_K where more bits are used;
 *   - attn_output: Q3_K_M Q4_K, Q3_K_L Q5_K;
 *   - then a K type whose rows are not a multiple of 256 falls back: Q2_K, Q3_K, IQ4_XS → IQ4_NL, Q4_K → Q5_0,
 *     Q5_K → Q5_1, Q6_K → Q8_0, and to F16 if that block does not divide the row either.
 * (attn_v and ffn_down are counted in file order, one per layer, so the count is the layer index.) */

static const struct mix_name {
    uint32_t type;
    const char *name;
} MIXES[] = {{SYNTH_MIX + 11, "Q3_K_S"}, {SYNTH_Q3_K_M, "Q3_K_M"}, {SYNTH_MIX + 13, "Q3_K_L"},
             {SYNTH_MIX + 14, "Q4_K_S"}, {SYNTH_Q4_K_M, "Q4_K_M"}, {SYNTH_MIX + 16, "Q5_K_S"},
             {SYNTH_MIX + 17, "Q5_K_M"}};
enum { N_MIXES = sizeof MIXES / sizeof MIXES[0] };

static const char *mix_name(uint32_t type)
{
    for (int i = 0; i < N_MIXES; i++)
        if (MIXES[i].type == type) return MIXES[i].name;
    return NULL;
}

static bool uses_more_bits(int layer, int n_layer)
{
    return layer < n_layer / 8 || layer >= 7 * n_layer / 8 || (layer - n_layer / 8) % 3 == 2;
}

static uint32_t k_fallback(uint32_t type, int64_t row_len)
{
    if (row_len % 256 == 0) return type;
    uint32_t fb = type == QT_Q2_K || type == QT_Q3_K || type == QT_IQ4_XS ? QT_IQ4_NL
                  : type == QT_Q4_K                    ? QT_Q5_0
                  : type == QT_Q5_K                    ? QT_Q5_1
                  : type == QT_Q6_K                    ? QT_Q8_0
                                                       : type;
    return row_len % qt_block_elems(fb) == 0 ? fb : QT_F16;
}

static uint32_t attn_v_type(int ftype, uint32_t type, int layer, const model_shape *s)
{
    if (ftype == 12) type = layer < 2 ? QT_Q5_K : QT_Q4_K;
    else if (ftype == 13) type = QT_Q5_K;
    else if (ftype == 14 && layer < 4) type = QT_Q5_K;
    else if ((ftype == 15 || ftype == 17) && uses_more_bits(layer, s->n_layer)) type = QT_Q6_K;
    bool class_70b = s->n_layer == 80 && s->n_head != s->n_head_kv;
    return class_70b && (type == QT_Q3_K || type == QT_Q4_K) ? QT_Q5_K : type;
}

static uint32_t ffn_down_type(int ftype, uint32_t type, int layer, const model_shape *s)
{
    if (ftype == 12) return layer < s->n_layer / 16 ? QT_Q5_K : QT_Q4_K;
    if (ftype == 13) return QT_Q5_K;
    if (ftype == 14 && layer < s->n_layer / 8) return QT_Q5_K;
    if ((ftype == 15 || ftype == 17) && uses_more_bits(layer, s->n_layer)) return QT_Q6_K;
    return type;
}

static uint32_t mix_type(uint32_t mix, const model_shape *s, const char *role, int layer, int64_t row_len)
{
    int ftype = (int)(mix - SYNTH_MIX);
    bool lm_head = !strcmp(role, "output") || (s->tied_output && !strcmp(role, "token_embd"));
    if (lm_head) return k_fallback(row_len % 256 ? QT_Q8_0 : QT_Q6_K, row_len);
    uint32_t type = ftype <= 13 ? QT_Q3_K : ftype <= 15 ? QT_Q4_K : QT_Q5_K;
    if (!strcmp(role, "attn_v")) type = attn_v_type(ftype, type, layer, s);
    else if (!strcmp(role, "ffn_down")) type = ffn_down_type(ftype, type, layer, s);
    else if (!strcmp(role, "attn_output") && (ftype == 12 || ftype == 13)) type = ftype == 12 ? QT_Q4_K : QT_Q5_K;
    return k_fallback(type, row_len);
}

uint32_t synth_tensor_type(const model_shape *s, uint32_t type, const char *role, int layer, int64_t row_len)
{
    return mix_name(type) ? mix_type(type, s, role, layer, row_len) : type;
}

int synth_type_from_name(const char *name)
{
    for (int i = 0; name && i < N_MIXES; i++)
        if (!strcasecmp(name, MIXES[i].name)) return (int)MIXES[i].type;
    return qt_from_name(name);
}

const char *synth_type_name(uint32_t type) { return mix_name(type) ? mix_name(type) : qt_name(type); }

/* ---- tensor plan --------------------------------------------------------------------------------------- */

static void plan_add(synth_tensor *list, int *n, const char *name, uint32_t type, int64_t ne0, int64_t ne1,
                     synth_init init)
{
    synth_tensor *t = &list[(*n)++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->type = type;
    t->ne[0] = ne0;
    t->ne[1] = ne1;
    t->init = init;
}

static void plan_layer(synth_tensor *list, int *n, const model_shape *s, int layer, uint32_t type)
{
    int64_t d = s->n_embd, ff = s->n_ff, d_kv = (int64_t)s->n_embd / s->n_head * s->n_head_kv;
    static const char *const names[] = {"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
                                        "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"};
    const int64_t ne[9][2] = {{d, 1}, {d, d}, {d, d_kv}, {d, d_kv}, {d, d}, {d, 1}, {d, ff}, {d, ff}, {ff, d}};
    for (int i = 0; i < 9; i++) {
        char name[48];
        snprintf(name, sizeof name, "blk.%d.%s.weight", layer, names[i]);
        bool norm = ne[i][1] == 1;
        uint32_t t = norm ? QT_F32 : synth_tensor_type(s, type, names[i], layer, ne[i][0]);
        plan_add(list, n, name, t, ne[i][0], ne[i][1], norm ? INIT_NORM : INIT_MATRIX);
    }
}

/* Returns the tensor list (caller frees) in file order: token_embd, blocks, output_norm, output. */
static synth_tensor *plan_tensors(const model_shape *s, uint32_t type, int *count)
{
    synth_tensor *list = calloc((size_t)s->n_layer * 9 + 3, sizeof *list);
    if (!list) return NULL;
    int n = 0;
    plan_add(list, &n, "token_embd.weight", synth_tensor_type(s, type, "token_embd", -1, s->n_embd), s->n_embd,
             s->n_vocab, INIT_EMBED);
    for (int layer = 0; layer < s->n_layer; layer++) plan_layer(list, &n, s, layer, type);
    plan_add(list, &n, "output_norm.weight", QT_F32, s->n_embd, 1, INIT_NORM);
    if (!s->tied_output)
        plan_add(list, &n, "output.weight", synth_tensor_type(s, type, "output", -1, s->n_embd), s->n_embd,
                 s->n_vocab, INIT_MATRIX);
    *count = n;
    return list;
}

static int check_shape(const model_shape *s, uint32_t type, xq_err *err)
{
    if (!qt_supported(type) && !mix_name(type))
        return xq_fail(err, XQ_EINPUT, "synth: tensor type %s is not supported", qt_name(type));
    if (s->n_layer < 1 || s->n_embd < 1 || s->n_ff < 1 || s->n_head < 1 || s->n_head_kv < 1 || s->n_ctx < 1)
        return xq_fail(err, XQ_EINPUT, "synth: shape %s: sizes must be positive", s->name);
    if (s->n_embd % s->n_head || s->n_head % s->n_head_kv || s->n_embd / s->n_head % 2)
        return xq_fail(err, XQ_EINPUT, "synth: shape %s: heads do not divide the embedding evenly", s->name);
    if (s->n_vocab < SYNTH_N_SPECIAL + SYNTH_N_BYTES)
        return xq_fail(err, XQ_EINPUT, "synth: shape %s: vocabulary of %d tokens is below the %d special and byte "
                       "tokens", s->name, s->n_vocab, SYNTH_N_SPECIAL + SYNTH_N_BYTES);
    return XQ_OK;
}

static int check_rows(const synth_tensor *list, int n, xq_err *err)
{
    for (int i = 0; i < n; i++)
        if (qt_row_bytes(list[i].type, list[i].ne[0]) == 0)
            return xq_fail(err, XQ_EINPUT, "synth: %s: row of %lld elements is not a multiple of the %s block "
                           "size (%u)", list[i].name, (long long)list[i].ne[0], qt_name(list[i].type),
                           qt_block_elems(list[i].type));
    return XQ_OK;
}

/* ---- vocabulary ---------------------------------------------------------------------------------------- */

typedef struct synth_vocab {
    char (*text)[SYNTH_PIECE_MAX];
    const char **pieces;
    float *scores;
    int32_t *types;
} synth_vocab;

static void vocab_free(synth_vocab *v)
{
    free(v->text);
    free(v->pieces);
    free(v->scores);
    free(v->types);
    *v = (synth_vocab){0};
}

/* Filler k: "▁", then "a".."z", then "▁" + the bijective base-26 word of k-27 ("▁a" … "▁z", "▁aa" …). */
static void filler_piece(int k, char out[SYNTH_PIECE_MAX])
{
    static const char space[] = "\xE2\x96\x81"; /* U+2581, SentencePiece's word boundary */
    if (k == 0) {
        snprintf(out, SYNTH_PIECE_MAX, "%s", space);
        return;
    }
    if (k <= 26) {
        snprintf(out, SYNTH_PIECE_MAX, "%c", 'a' + k - 1);
        return;
    }
    char word[12];
    int len = 0;
    for (int m = k - 26; m > 0 && len < (int)sizeof word - 1; m = (m - 1) / 26)
        word[len++] = (char)('a' + (m - 1) % 26);
    for (int i = 0; i < len / 2; i++) {
        char c = word[i];
        word[i] = word[len - 1 - i];
        word[len - 1 - i] = c;
    }
    word[len] = '\0';
    snprintf(out, SYNTH_PIECE_MAX, "%s%s", space, word);
}

static void vocab_piece(int id, char out[SYNTH_PIECE_MAX], float *score, int32_t *type)
{
    static const char *const special[SYNTH_N_SPECIAL] = {"<unk>", "<s>", "</s>"};
    *score = 0.0f;
    if (id < SYNTH_N_SPECIAL) {
        snprintf(out, SYNTH_PIECE_MAX, "%s", special[id]);
        *type = id == 0 ? TOKEN_UNKNOWN : TOKEN_CONTROL;
    } else if (id < SYNTH_N_SPECIAL + SYNTH_N_BYTES) {
        snprintf(out, SYNTH_PIECE_MAX, "<0x%02X>", id - SYNTH_N_SPECIAL);
        *type = TOKEN_BYTE;
    } else {
        int k = id - SYNTH_N_SPECIAL - SYNTH_N_BYTES;
        filler_piece(k, out);
        *score = -(float)k;
        *type = TOKEN_NORMAL;
    }
}

static int vocab_build(synth_vocab *v, int n_vocab, xq_err *err)
{
    size_t n = (size_t)n_vocab;
    v->text = malloc(n * sizeof *v->text);
    v->pieces = malloc(n * sizeof *v->pieces);
    v->scores = malloc(n * sizeof *v->scores);
    v->types = malloc(n * sizeof *v->types);
    if (!v->text || !v->pieces || !v->scores || !v->types) {
        vocab_free(v);
        xq_fail(err, XQ_ERUN, "synth: out of memory for a vocabulary of %d tokens", n_vocab);
        return XQ_ERUN;
    }
    for (int id = 0; id < n_vocab; id++) {
        vocab_piece(id, v->text[id], &v->scores[id], &v->types[id]);
        v->pieces[id] = v->text[id];
    }
    return XQ_OK;
}

/* ---- metadata ------------------------------------------------------------------------------------------ */

/* llama.cpp's LLAMA_FTYPE for a file whose matrices are all `type` (K types: the _S variants), or of a mix. */
static uint32_t file_type_of(uint32_t type)
{
    if (type >= SYNTH_MIX) return type - SYNTH_MIX;
    switch (type) {
    case QT_F32: return 0;
    case QT_F16: return 1;
    case QT_Q4_0: return 2;
    case QT_Q4_1: return 3;
    case QT_Q8_0: return 7;
    case QT_Q5_0: return 8;
    case QT_Q5_1: return 9;
    case QT_Q2_K: return 10;
    case QT_Q3_K: return 11;
    case QT_Q4_K: return 14;
    case QT_Q5_K: return 16;
    case QT_Q6_K: return 18;
    case QT_IQ4_NL: return 25;
    case QT_IQ4_XS: return 30;
    case QT_BF16: return 32;
    default: return 1024; /* LLAMA_FTYPE_GUESSED */
    }
}

static void set_hparams(gguf_writer *w, const model_shape *s, uint32_t type)
{
    gguf_writer_set_str(w, "general.architecture", "llama");
    gguf_writer_set_str(w, "general.name", s->name);
    gguf_writer_set_u32(w, "general.file_type", file_type_of(type));
    gguf_writer_set_u32(w, "llama.block_count", (uint32_t)s->n_layer);
    gguf_writer_set_u32(w, "llama.context_length", (uint32_t)s->n_ctx);
    gguf_writer_set_u32(w, "llama.embedding_length", (uint32_t)s->n_embd);
    gguf_writer_set_u32(w, "llama.feed_forward_length", (uint32_t)s->n_ff);
    gguf_writer_set_u32(w, "llama.attention.head_count", (uint32_t)s->n_head);
    gguf_writer_set_u32(w, "llama.attention.head_count_kv", (uint32_t)s->n_head_kv);
    gguf_writer_set_f32(w, "llama.rope.freq_base", s->rope_base);
    gguf_writer_set_f32(w, "llama.attention.layer_norm_rms_epsilon", s->norm_eps);
    gguf_writer_set_u32(w, "llama.rope.dimension_count", (uint32_t)(s->n_embd / s->n_head));
    gguf_writer_set_u32(w, "llama.vocab_size", (uint32_t)s->n_vocab);
}

static void set_tokenizer(gguf_writer *w, const synth_vocab *v, int n_vocab)
{
    gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", v->pieces, (uint64_t)n_vocab);
    gguf_writer_set_arr_f32(w, "tokenizer.ggml.scores", v->scores, (uint64_t)n_vocab);
    gguf_writer_set_arr_i32(w, "tokenizer.ggml.token_type", v->types, (uint64_t)n_vocab);
    gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 1);
    gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 2);
    gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", true);
    gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", false);
}

/* ---- data ---------------------------------------------------------------------------------------------- */

static uint64_t tensor_bytes(const synth_tensor *t) { return qt_row_bytes(t->type, t->ne[0]) * (uint64_t)t->ne[1]; }

/* Bytes written so far, reported about every 0.5% (and at the end) to the caller's callback. */
typedef struct synth_meter {
    synth_progress_fn fn;
    void *ctx;
    uint64_t done, total, next;
} synth_meter;

static void meter_add(synth_meter *m, uint64_t bytes)
{
    m->done += bytes;
    if (!m->fn || (m->done < m->next && m->done < m->total)) return;
    m->fn(m->ctx, m->done, m->total);
    m->next = m->done + m->total / 200;
}

static int write_tensor(gguf_writer *w, const synth_tensor *t, uint64_t state, float *row, void *qrow,
                        synth_meter *meter, xq_err *err)
{
    size_t row_bytes = (size_t)qt_row_bytes(t->type, t->ne[0]);
    for (int64_t r = 0; r < t->ne[1]; r++) {
        fill_row(t, &state, row);
        qt_quantize_row(t->type, row, qrow, t->ne[0]);
        int rc = gguf_writer_write(w, qrow, row_bytes, err);
        if (rc) return rc;
        meter_add(meter, row_bytes);
    }
    return XQ_OK;
}

static int write_data(gguf_writer *w, const synth_tensor *list, int n, uint64_t seed, synth_meter *meter,
                      xq_err *err)
{
    int64_t max_row = 1;
    for (int i = 0; i < n; i++) {
        max_row = list[i].ne[0] > max_row ? list[i].ne[0] : max_row;
        meter->total += tensor_bytes(&list[i]);
    }
    float *row = malloc((size_t)max_row * sizeof *row);
    void *qrow = malloc((size_t)max_row * sizeof(float)); /* no supported type is larger than F32 */
    if (!row || !qrow) {
        free(row);
        free(qrow);
        xq_fail(err, XQ_ERUN, "synth: out of memory for a row of %lld", (long long)max_row);
        return XQ_ERUN;
    }
    int rc = XQ_OK;
    for (int i = 0; i < n && rc == XQ_OK; i++) {
        uint64_t stream = seed ^ (0xD1B54A32D192ED03ull * (uint64_t)(i + 1));
        rc = write_tensor(w, &list[i], splitmix64(&stream), row, qrow, meter, err);
    }
    free(row);
    free(qrow);
    return rc;
}

static void declare_tensors(gguf_writer *w, const synth_tensor *list, int n)
{
    for (int i = 0; i < n; i++) {
        uint32_t n_dims = list[i].ne[1] == 1 ? 1 : 2;
        gguf_writer_add_tensor(w, list[i].name, list[i].type, n_dims, list[i].ne);
    }
}

static int write_file(const char *path, const model_shape *s, uint32_t type, const synth_tensor *list, int n,
                      uint64_t seed, synth_progress_fn progress, void *progress_ctx, xq_err *err)
{
    synth_vocab vocab = {0};
    synth_meter meter = {.fn = progress, .ctx = progress_ctx};
    int rc = vocab_build(&vocab, s->n_vocab, err);
    if (rc) return rc;
    gguf_writer *w = NULL;
    rc = gguf_writer_create(path, &w, err);
    if (rc == XQ_OK) {
        set_hparams(w, s, type);
        set_tokenizer(w, &vocab, s->n_vocab);
        declare_tensors(w, list, n);
        rc = gguf_writer_begin_data(w, err);
        if (rc == XQ_OK) rc = write_data(w, list, n, seed, &meter, err);
        if (rc == XQ_OK)
            rc = gguf_writer_finish(w, err);
        else
            gguf_writer_abort(w);
    }
    vocab_free(&vocab);
    return rc;
}

int synth_write_progress(const char *path, const model_shape *shape, uint32_t type, uint64_t seed,
                         synth_progress_fn progress, void *progress_ctx, xq_err *err)
{
    int rc = check_shape(shape, type, err);
    if (rc) return rc;
    int n = 0;
    synth_tensor *list = plan_tensors(shape, type, &n);
    if (!list) return xq_fail(err, XQ_ERUN, "synth: out of memory");
    rc = check_rows(list, n, err);
    if (rc == XQ_OK) rc = write_file(path, shape, type, list, n, seed, progress, progress_ctx, err);
    free(list);
    if (rc && err && strncmp(err->msg, "synth: ", 7) != 0) xq_err_prefix(err, "synth"); /* writer errors */
    return rc;
}

int synth_write(const char *path, const model_shape *shape, uint32_t type, uint64_t seed, xq_err *err)
{
    return synth_write_progress(path, shape, type, seed, NULL, NULL, err);
}

/* ---- a real model's weights in another type ------------------------------------------------------------- */

/* "blk.3.attn_v.weight" → role "attn_v", layer 3; "output.weight" → "output", −1. */
static void tensor_role(gguf_str name, char *role, size_t cap, int *layer)
{
    char full[256];
    snprintf(full, sizeof full, "%.*s", (int)(name.len < 255 ? name.len : 255), name.ptr);
    char *dot = strrchr(full, '.');
    if (dot && !strcmp(dot, ".weight")) *dot = 0;
    int n = 0;
    *layer = -1;
    const char *r = sscanf(full, "blk.%d.%n", layer, &n) == 1 && n > 0 ? full + n : full;
    snprintf(role, cap, "%.*s", (int)(cap - 1), r);
}

/* The type a tensor of the source is written in: 1-D tensors (norms) F32; matrices as a file of `type` would hold
 * them (a mix's rule), a K type falling back where its 256-element blocks do not divide the rows (as
 * llama-quantize does), any type falling back to F16 where its block does not. */
static uint32_t requant_type(const model_shape *s, uint32_t type, const gguf_tensor *t)
{
    if (t->n_dims == 1 || t->ne[1] == 1) return QT_F32;
    char role[64];
    int layer;
    tensor_role(t->name, role, sizeof role, &layer);
    return k_fallback(synth_tensor_type(s, type, role, layer, t->ne[0]), t->ne[0]);
}

/* The shape facts the mix rule reads, from the source's metadata (absent keys: a 1-layer model, no GQA). */
static model_shape source_shape(const gguf_file *f)
{
    uint64_t v;
    model_shape s = {.name = "source", .n_layer = 1, .n_head = 1, .n_head_kv = 1};
    if (gguf_get_u64(f, "llama.block_count", &v)) s.n_layer = (int32_t)v;
    if (gguf_get_u64(f, "llama.attention.head_count", &v)) s.n_head = (int32_t)v;
    s.n_head_kv = gguf_get_u64(f, "llama.attention.head_count_kv", &v) ? (int32_t)v : s.n_head;
    s.tied_output = gguf_find_tensor(f, "output.weight") == NULL;
    return s;
}

static int64_t tensor_rows(const gguf_tensor *t) { return t->ne[1] * t->ne[2] * t->ne[3]; }

static int requant_declare(gguf_writer *w, const gguf_file *f, const model_shape *s, uint32_t type, uint32_t *types,
                           uint64_t *total, xq_err *err)
{
    for (uint64_t i = 0; i < gguf_kv_count(f); i++) {
        const gguf_kv *kv = gguf_kv_at(f, i);
        /* the writer aligns its data at its own default; the file type is set below */
        if (!gguf_str_eq(kv->key, "general.alignment") && !gguf_str_eq(kv->key, "general.file_type"))
            gguf_writer_copy_kv(w, kv);
    }
    gguf_writer_set_u32(w, "general.file_type", file_type_of(type));
    for (uint64_t i = 0; i < gguf_tensor_count(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        if (!t->data || !qt_supported(t->type))
            return xq_fail(err, XQ_EINPUT, "%s: tensor '%.*s' has type %u, which cannot be read", gguf_path(f),
                           (int)t->name.len, t->name.ptr, t->type);
        types[i] = requant_type(s, type, t);
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(t->name.len < 255 ? t->name.len : 255), t->name.ptr);
        gguf_writer_add_tensor(w, name, types[i], t->n_dims, t->ne);
        *total += qt_row_bytes(types[i], t->ne[0]) * (uint64_t)tensor_rows(t);
    }
    return XQ_OK;
}

/* Each row read in its stored type and written in the new one; a tensor whose type stays is copied as it is. */
static int requant_data(gguf_writer *w, const gguf_file *f, const uint32_t *types, synth_meter *meter, xq_err *err)
{
    int64_t max_row = 1;
    for (uint64_t i = 0; i < gguf_tensor_count(f); i++)
        max_row = gguf_tensor_at(f, i)->ne[0] > max_row ? gguf_tensor_at(f, i)->ne[0] : max_row;
    float *row = malloc((size_t)max_row * sizeof *row);
    void *qrow = malloc((size_t)max_row * sizeof(float)); /* no supported type is larger than F32 */
    int rc = row && qrow ? XQ_OK : xq_fail(err, XQ_ERUN, "out of memory for a row of %lld", (long long)max_row);
    for (uint64_t i = 0; i < gguf_tensor_count(f) && rc == XQ_OK; i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        size_t in_bytes = (size_t)qt_row_bytes(t->type, t->ne[0]), out_bytes = (size_t)qt_row_bytes(types[i], t->ne[0]);
        for (int64_t r = 0; r < tensor_rows(t) && rc == XQ_OK; r++) {
            const unsigned char *src = (const unsigned char *)t->data + (size_t)r * in_bytes;
            if (types[i] != t->type) {
                qt_dequant_row(t->type, src, row, t->ne[0]);
                qt_quantize_row(types[i], row, qrow, t->ne[0]);
            }
            rc = gguf_writer_write(w, types[i] == t->type ? (const void *)src : qrow, out_bytes, err);
            meter_add(meter, out_bytes);
        }
    }
    free(row);
    free(qrow);
    return rc;
}

int synth_requantize(const char *src, const char *dst, uint32_t type, synth_progress_fn progress, void *progress_ctx,
                     xq_err *err)
{
    gguf_file *f = NULL;
    int rc = gguf_open(src, &f, err);
    if (rc) return rc;
    uint32_t *types = calloc(gguf_tensor_count(f) + 1, sizeof *types);
    gguf_writer *w = NULL;
    synth_meter meter = {.fn = progress, .ctx = progress_ctx};
    model_shape s = source_shape(f);
    if (!types) rc = xq_fail(err, XQ_ERUN, "out of memory");
    if (rc == XQ_OK) rc = gguf_writer_create(dst, &w, err);
    if (rc == XQ_OK) {
        rc = requant_declare(w, f, &s, type, types, &meter.total, err);
        if (rc == XQ_OK) rc = gguf_writer_begin_data(w, err);
        if (rc == XQ_OK) rc = requant_data(w, f, types, &meter, err);
        if (rc == XQ_OK) rc = gguf_writer_finish(w, err);
        else gguf_writer_abort(w);
    }
    free(types);
    gguf_close(f);
    return rc;
}
