/* synth_write and the named shapes: metadata and tensors of the written file, reproducibility, weight scales,
 * the block-size check, and the Q4_K_M mix (llama.cpp's per-tensor types; the file loads and runs). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/session.h"
#include "model/gguf.h"
#include "model/model.h"
#include "model/qtypes.h"
#include "model/synth.h"
#include "testlib.h"

static char tmpdir[64];

static const char *tmp_path(const char *name)
{
    static char bufs[4][128];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%s/%s", tmpdir, name);
    return b;
}

static gguf_file *write_and_open(const char *name, const model_shape *s, uint32_t type, uint64_t seed)
{
    xq_err err = {0};
    int rc = synth_write(tmp_path(name), s, type, seed, &err);
    CHECKF(rc == XQ_OK, "synth_write %s: %s", name, err.msg);
    gguf_file *f = NULL;
    if (rc == XQ_OK) CHECKF(gguf_open(tmp_path(name), &f, &err) == XQ_OK, "gguf_open %s: %s", name, err.msg);
    return f;
}

static uint64_t get_u64(const gguf_file *f, const char *key)
{
    uint64_t v = UINT64_MAX;
    CHECKF(gguf_get_u64(f, key, &v), "%s missing", key);
    return v;
}

static void test_shapes_table(void)
{
    CHECK(model_shape_count() >= 9);
    for (int i = 0; i < model_shape_count(); i++) {
        const model_shape *s = model_shape_at(i);
        CHECK(model_shape_find(s->name) == s);
        CHECKF(s->n_embd % s->n_head == 0 && s->n_head % s->n_head_kv == 0, "%s heads", s->name);
    }
    const model_shape *l3 = model_shape_find("llama3-8b");
    CHECK(l3 && l3->n_layer == 32 && l3->n_ff == 14336 && l3->n_head_kv == 8 && l3->n_vocab == 128256);
    CHECK(l3 && l3->rope_base == 500000.0f && !l3->tied_output);
    const model_shape *smol = model_shape_find("smollm2-135m");
    CHECK(smol && smol->n_embd == 576 && smol->n_head == 9 && smol->n_head_kv == 3 && smol->tied_output);
    CHECK(model_shape_find("no-such-shape") == NULL);
    CHECK(model_shape_at(-1) == NULL && model_shape_at(model_shape_count()) == NULL);
}

static void check_hparams(const gguf_file *f)
{
    gguf_str s;
    CHECK(gguf_get_str(f, "general.architecture", &s) && gguf_str_eq(s, "llama"));
    CHECK(gguf_get_str(f, "general.name", &s) && gguf_str_eq(s, "tiny"));
    CHECK(get_u64(f, "llama.block_count") == 2);
    CHECK(get_u64(f, "llama.context_length") == 256);
    CHECK(get_u64(f, "llama.embedding_length") == 256);
    CHECK(get_u64(f, "llama.feed_forward_length") == 512);
    CHECK(get_u64(f, "llama.attention.head_count") == 4);
    CHECK(get_u64(f, "llama.attention.head_count_kv") == 2);
    CHECK(get_u64(f, "llama.rope.dimension_count") == 64);
    CHECK(get_u64(f, "llama.vocab_size") == 512);
    double v = 0;
    CHECK(gguf_get_f64(f, "llama.rope.freq_base", &v) && v == 10000.0);
    CHECK(gguf_get_f64(f, "llama.attention.layer_norm_rms_epsilon", &v) && v == (double)1e-5f);
}

static void check_vocab(const gguf_file *f)
{
    gguf_str s;
    bool add_bos = false;
    CHECK(gguf_get_str(f, "tokenizer.ggml.model", &s) && gguf_str_eq(s, "llama"));
    CHECK(get_u64(f, "tokenizer.ggml.bos_token_id") == 1 && get_u64(f, "tokenizer.ggml.eos_token_id") == 2);
    CHECK(get_u64(f, "tokenizer.ggml.unknown_token_id") == 0);
    CHECK(gguf_get_bool(f, "tokenizer.ggml.add_bos_token", &add_bos) && add_bos);
    const gguf_kv *tok = gguf_find(f, "tokenizer.ggml.tokens");
    const gguf_kv *type = gguf_find(f, "tokenizer.ggml.token_type");
    const gguf_kv *score = gguf_find(f, "tokenizer.ggml.scores");
    CHECK(tok && tok->arr_n == 512 && tok->strs && type && type->arr_n == 512 && score && score->arr_n == 512);
    if (!tok || !tok->strs || !type || !score || tok->arr_n != 512) return;
    CHECK(gguf_str_eq(tok->strs[0], "<unk>") && gguf_arr_i64(type, 0) == 2);
    CHECK(gguf_str_eq(tok->strs[1], "<s>") && gguf_str_eq(tok->strs[2], "</s>") && gguf_arr_i64(type, 2) == 3);
    CHECK(gguf_str_eq(tok->strs[3], "<0x00>") && gguf_str_eq(tok->strs[258], "<0xFF>"));
    CHECK(gguf_arr_i64(type, 3) == 6 && gguf_arr_i64(type, 258) == 6 && gguf_arr_i64(type, 511) == 1);
    CHECK(gguf_str_eq(tok->strs[259], "\xE2\x96\x81") && gguf_str_eq(tok->strs[260], "a"));
    CHECK(gguf_str_eq(tok->strs[286], "\xE2\x96\x81" "a") && gguf_str_eq(tok->strs[312], "\xE2\x96\x81" "aa"));
    CHECK(gguf_arr_f64(score, 300) > gguf_arr_f64(score, 301));
    int dups = 0;
    for (uint64_t i = 0; i < tok->arr_n; i++)
        for (uint64_t j = i + 1; j < tok->arr_n; j++)
            dups += tok->strs[i].len == tok->strs[j].len &&
                    memcmp(tok->strs[i].ptr, tok->strs[j].ptr, tok->strs[i].len) == 0;
    CHECKF(dups == 0, "%d duplicate token strings", dups);
}

static void check_tensor(const gguf_file *f, const char *name, uint32_t type, int64_t ne0, int64_t ne1)
{
    const gguf_tensor *t = gguf_find_tensor(f, name);
    CHECKF(t != NULL, "%s missing", name);
    if (!t) return;
    CHECKF(t->type == type && t->ne[0] == ne0 && t->ne[1] == ne1, "%s: type %u ne [%lld, %lld]", name, t->type,
           (long long)t->ne[0], (long long)t->ne[1]);
    CHECKF(t->n_dims == (ne1 == 1 ? 1u : 2u), "%s: %u dims", name, t->n_dims);
}

static void check_tensors(const gguf_file *f, uint32_t type, bool tied)
{
    CHECK(gguf_tensor_count(f) == (tied ? 20u : 21u));
    check_tensor(f, "token_embd.weight", type, 256, 512);
    check_tensor(f, "output_norm.weight", QT_F32, 256, 1);
    if (tied) CHECK(gguf_find_tensor(f, "output.weight") == NULL);
    else check_tensor(f, "output.weight", type, 256, 512);
    for (int layer = 0; layer < 2; layer++) {
        char name[64];
        struct { const char *n; uint32_t type; int64_t ne0, ne1; } want[] = {
            {"attn_norm", QT_F32, 256, 1}, {"attn_q", type, 256, 256}, {"attn_k", type, 256, 128},
            {"attn_v", type, 256, 128}, {"attn_output", type, 256, 256}, {"ffn_norm", QT_F32, 256, 1},
            {"ffn_gate", type, 256, 512}, {"ffn_up", type, 256, 512}, {"ffn_down", type, 512, 256}};
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
            snprintf(name, sizeof name, "blk.%d.%s.weight", layer, want[i].n);
            check_tensor(f, name, want[i].type, want[i].ne0, want[i].ne1);
        }
    }
}

/* Mean and standard deviation of a tensor's first rows, dequantized. */
static void tensor_stats(const gguf_file *f, const char *name, double *mean, double *std)
{
    const gguf_tensor *t = gguf_find_tensor(f, name);
    *mean = *std = -1;
    if (!t || !t->data) return;
    int64_t rows = t->ne[1] < 64 ? t->ne[1] : 64, n = rows * t->ne[0];
    float *x = malloc((size_t)n * sizeof *x);
    uint64_t row_bytes = qt_row_bytes(t->type, t->ne[0]);
    for (int64_t r = 0; r < rows; r++)
        qt_dequant_row(t->type, (const uint8_t *)t->data + r * row_bytes, x + r * t->ne[0], t->ne[0]);
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < n; i++) s += x[i], s2 += (double)x[i] * x[i];
    *mean = s / (double)n;
    *std = sqrt(s2 / (double)n - *mean * *mean);
    free(x);
}

static void check_scales(const gguf_file *f)
{
    double mean, std;
    tensor_stats(f, "token_embd.weight", &mean, &std);
    CHECKF(fabs(mean) < 0.05 && fabs(std - 1.0) < 0.1, "token_embd mean %g std %g", mean, std);
    tensor_stats(f, "blk.0.attn_q.weight", &mean, &std);
    CHECKF(fabs(mean) < 0.01 && fabs(std - 1 / 16.0) < 0.01, "attn_q mean %g std %g", mean, std);
    tensor_stats(f, "blk.1.ffn_down.weight", &mean, &std);
    CHECKF(fabs(std - 1 / sqrt(512.0)) < 0.01, "ffn_down std %g", std);
    tensor_stats(f, "blk.1.ffn_norm.weight", &mean, &std);
    CHECKF(fabs(mean - 1.0) < 0.02 && std > 0.03 && std < 0.08, "ffn_norm mean %g std %g", mean, std);
}

static void test_tiny(const char *shape_name, uint32_t type, bool check_values)
{
    char name[64];
    snprintf(name, sizeof name, "%s-%s.gguf", shape_name, qt_name(type));
    const model_shape *s = model_shape_find(shape_name);
    CHECK(s != NULL);
    gguf_file *f = s ? write_and_open(name, s, type, 7) : NULL;
    if (!f) return;
    if (strcmp(shape_name, "tiny") == 0) check_hparams(f);
    check_vocab(f);
    check_tensors(f, type, s->tied_output);
    if (check_values) check_scales(f);
    gguf_close(f);
}

/* Whole file into memory (small test files); NULL on failure. */
static bool same_bytes(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    char *da = test_read_file(a, &na), *db = test_read_file(b, &nb);
    bool same = da && db && na == nb && memcmp(da, db, na) == 0;
    free(da);
    free(db);
    return same;
}

static void test_reproducible(void)
{
    const model_shape *s = model_shape_find("tiny");
    xq_err err = {0};
    CHECK(synth_write(tmp_path("a.gguf"), s, QT_Q4_K, 42, &err) == XQ_OK);
    CHECK(synth_write(tmp_path("b.gguf"), s, QT_Q4_K, 42, &err) == XQ_OK);
    CHECK(synth_write(tmp_path("c.gguf"), s, QT_Q4_K, 43, &err) == XQ_OK);
    CHECK(same_bytes(tmp_path("a.gguf"), tmp_path("b.gguf")));
    CHECK(!same_bytes(tmp_path("a.gguf"), tmp_path("c.gguf")));
}

static void test_block_size_check(void)
{
    model_shape s = *model_shape_find("tiny");
    s.n_embd = 320; /* 5 heads of 64 would be fine for Q8_0, but 320 is not a multiple of 256 */
    s.n_head = 5;
    s.n_head_kv = 5;
    xq_err err = {0};
    CHECK(synth_write(tmp_path("bad.gguf"), &s, QT_Q4_K, 1, &err) == XQ_EINPUT);
    CHECKF(strstr(err.msg, "token_embd.weight") && strstr(err.msg, "Q4_K"), "message: %s", err.msg);
    CHECK(access(tmp_path("bad.gguf"), F_OK) != 0);
    CHECK(synth_write(tmp_path("ok.gguf"), &s, QT_Q8_0, 1, &err) == XQ_OK);
}

/* ---- Q4_K_M ---------------------------------------------------------------------------------------------- */

/* What llama-quantize (llama.cpp c392e50) wrote for `xqprof synth --shape smollm2-135m --type F16` quantized to
 * Q4_K_M: attn_v and ffn_down of these layers got Q6_K (attn_v's rows of 576 falling back to Q8_0), the rest of
 * them Q4_K (attn_v: Q5_0); every other matrix Q5_0 (rows of 576); token_embd, the tied lm_head, Q8_0. */
static const int SMOL_MORE_BITS[] = {0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 26, 27, 28, 29};

static bool smol_more_bits(int layer)
{
    for (size_t i = 0; i < sizeof SMOL_MORE_BITS / sizeof SMOL_MORE_BITS[0]; i++)
        if (SMOL_MORE_BITS[i] == layer) return true;
    return false;
}

static uint32_t smol_expected(const char *role, int layer)
{
    if (!strcmp(role, "attn_v")) return smol_more_bits(layer) ? QT_Q8_0 : QT_Q5_0;
    if (!strcmp(role, "ffn_down")) return smol_more_bits(layer) ? QT_Q6_K : QT_Q4_K;
    return QT_Q5_0;
}

static const char *const MATRIX_ROLES[] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up",
                                           "ffn_down"};

static int64_t role_row_len(const model_shape *s, const char *role)
{
    return strcmp(role, "ffn_down") ? s->n_embd : s->n_ff;
}

static void test_q4_k_m_rule(void)
{
    const model_shape *smol = model_shape_find("smollm2-135m");
    CHECK(synth_tensor_type(smol, SYNTH_Q4_K_M, "token_embd", -1, 576) == QT_Q8_0);
    for (int layer = 0; layer < smol->n_layer; layer++)
        for (size_t i = 0; i < sizeof MATRIX_ROLES / sizeof MATRIX_ROLES[0]; i++) {
            uint32_t got = synth_tensor_type(smol, SYNTH_Q4_K_M, MATRIX_ROLES[i], layer, role_row_len(smol, MATRIX_ROLES[i]));
            CHECKF(got == smol_expected(MATRIX_ROLES[i], layer), "smollm2 blk.%d.%s: %s", layer, MATRIX_ROLES[i],
                   qt_name(got));
        }
    /* Rows of 256k keep the K types; an untied output is Q6_K and token_embd the default Q4_K. */
    const model_shape *l2 = model_shape_find("llama2-7b");
    CHECK(synth_tensor_type(l2, SYNTH_Q4_K_M, "output", -1, 4096) == QT_Q6_K);
    CHECK(synth_tensor_type(l2, SYNTH_Q4_K_M, "token_embd", -1, 4096) == QT_Q4_K);
    CHECK(synth_tensor_type(l2, SYNTH_Q4_K_M, "attn_q", 0, 4096) == QT_Q4_K);
    /* 32 layers: the first and last 4, and layers with (layer − 4) % 3 == 2. */
    CHECK(synth_tensor_type(l2, SYNTH_Q4_K_M, "attn_v", 3, 4096) == QT_Q6_K);
    CHECK(synth_tensor_type(l2, SYNTH_Q4_K_M, "attn_v", 4, 4096) == QT_Q4_K);
    CHECK(synth_tensor_type(l2, SYNTH_Q4_K_M, "attn_v", 6, 4096) == QT_Q6_K);
    CHECK(synth_tensor_type(l2, SYNTH_Q4_K_M, "ffn_down", 28, 11008) == QT_Q6_K);
    CHECK(synth_tensor_type(l2, SYNTH_Q4_K_M, "ffn_down", 26, 11008) == QT_Q4_K);
    /* The 70B class lifts the other attn_v to Q5_K. */
    const model_shape *l70 = model_shape_find("llama3-70b");
    CHECK(synth_tensor_type(l70, SYNTH_Q4_K_M, "attn_v", 11, 8192) == QT_Q5_K);
    CHECK(synth_tensor_type(l70, SYNTH_Q4_K_M, "attn_v", 0, 8192) == QT_Q6_K);
    /* Fallbacks for rows that are not a multiple of 256, and of 32. */
    CHECK(synth_tensor_type(l70, SYNTH_Q4_K_M, "attn_v", 11, 8192 + 32) == QT_Q5_1);
    CHECK(synth_tensor_type(l2, SYNTH_Q4_K_M, "attn_q", 0, 80) == QT_F16);
    /* Plain types pass through; names. */
    CHECK(synth_tensor_type(l2, QT_Q8_0, "attn_v", 0, 4096) == QT_Q8_0);
    CHECK(synth_type_from_name("q4_k_m") == SYNTH_Q4_K_M && synth_type_from_name("Q4_K") == QT_Q4_K);
    CHECK(synth_type_from_name("Q4_K_X") == -1 && !strcmp(synth_type_name(SYNTH_Q4_K_M), "Q4_K_M"));
}

/* llama.cpp's Q3_K_M: Q3_K by default, attn_v Q5_K in layers 0-1 then Q4_K (Q5_K on the 70B class), attn_output
 * Q4_K, ffn_down Q5_K in the first n_layer/16 layers then Q4_K, the lm_head Q6_K; rows not of 256k fall back
 * (Q3_K to IQ4_NL). */
static void test_q3_k_m_rule(void)
{
    const model_shape *l2 = model_shape_find("llama2-7b");
    CHECK(synth_type_from_name("q3_k_m") == SYNTH_Q3_K_M && !strcmp(synth_type_name(SYNTH_Q3_K_M), "Q3_K_M"));
    CHECK(synth_tensor_type(l2, SYNTH_Q3_K_M, "output", -1, 4096) == QT_Q6_K);
    CHECK(synth_tensor_type(l2, SYNTH_Q3_K_M, "token_embd", -1, 4096) == QT_Q3_K);
    CHECK(synth_tensor_type(l2, SYNTH_Q3_K_M, "attn_q", 5, 4096) == QT_Q3_K);
    CHECK(synth_tensor_type(l2, SYNTH_Q3_K_M, "ffn_up", 5, 4096) == QT_Q3_K);
    CHECK(synth_tensor_type(l2, SYNTH_Q3_K_M, "attn_output", 5, 4096) == QT_Q4_K);
    CHECK(synth_tensor_type(l2, SYNTH_Q3_K_M, "attn_v", 1, 4096) == QT_Q5_K);
    CHECK(synth_tensor_type(l2, SYNTH_Q3_K_M, "attn_v", 2, 4096) == QT_Q4_K);
    CHECK(synth_tensor_type(l2, SYNTH_Q3_K_M, "ffn_down", 1, 11008) == QT_Q5_K); /* 32 / 16 = 2 layers */
    CHECK(synth_tensor_type(l2, SYNTH_Q3_K_M, "ffn_down", 2, 11008) == QT_Q4_K);
    const model_shape *l70 = model_shape_find("llama3-70b");
    CHECK(synth_tensor_type(l70, SYNTH_Q3_K_M, "attn_v", 40, 8192) == QT_Q5_K);
    CHECK(synth_tensor_type(l70, SYNTH_Q3_K_M, "ffn_down", 4, 28672) == QT_Q5_K);
    CHECK(synth_tensor_type(l70, SYNTH_Q3_K_M, "ffn_down", 5, 28672) == QT_Q4_K);
    const model_shape *smol = model_shape_find("smollm2-135m"); /* rows of 576: fallbacks, as llama-quantize's */
    CHECK(synth_tensor_type(smol, SYNTH_Q3_K_M, "attn_q", 3, 576) == QT_IQ4_NL);
    CHECK(synth_tensor_type(smol, SYNTH_Q3_K_M, "attn_v", 0, 576) == QT_Q5_1);
    CHECK(synth_tensor_type(smol, SYNTH_Q3_K_M, "attn_output", 3, 576) == QT_Q5_0);
    CHECK(synth_tensor_type(smol, SYNTH_Q3_K_M, "ffn_down", 3, 1536) == QT_Q4_K);
    CHECK(synth_tensor_type(smol, SYNTH_Q3_K_M, "token_embd", -1, 576) == QT_Q8_0);
}

/* The other mixes, on llama2-7b's shape (32 layers, rows of 4096/11008) and the 70B class: the defaults, attn_v,
 * ffn_down and attn_output as llama_tensor_get_type picks them (checked against llama-quantize on three models,
 * tests/data/llamacpp/README.md). */
static void test_other_mixes(void)
{
    const model_shape *l2 = model_shape_find("llama2-7b"), *l70 = model_shape_find("llama3-70b");
    static const char *const names[] = {"Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int t = synth_type_from_name(names[i]);
        CHECKF(t >= SYNTH_MIX && !strcmp(synth_type_name((uint32_t)t), names[i]), "%s", names[i]);
        CHECK(synth_tensor_type(l2, (uint32_t)t, "output", -1, 4096) == QT_Q6_K);
    }
    uint32_t q3s = (uint32_t)synth_type_from_name("q3_k_s"), q3l = (uint32_t)synth_type_from_name("Q3_K_L");
    uint32_t q4s = (uint32_t)synth_type_from_name("Q4_K_S"), q5s = (uint32_t)synth_type_from_name("Q5_K_S");
    uint32_t q5m = (uint32_t)synth_type_from_name("Q5_K_M");
    CHECK(synth_tensor_type(l2, q3s, "attn_v", 0, 4096) == QT_Q3_K);
    CHECK(synth_tensor_type(l2, q3s, "ffn_down", 0, 11008) == QT_Q3_K);
    CHECK(synth_tensor_type(l70, q3s, "attn_v", 40, 8192) == QT_Q5_K);
    CHECK(synth_tensor_type(l2, q3l, "attn_v", 9, 4096) == QT_Q5_K);
    CHECK(synth_tensor_type(l2, q3l, "ffn_down", 9, 11008) == QT_Q5_K);
    CHECK(synth_tensor_type(l2, q3l, "attn_output", 9, 4096) == QT_Q5_K);
    CHECK(synth_tensor_type(l2, q3l, "attn_q", 9, 4096) == QT_Q3_K);
    CHECK(synth_tensor_type(l2, q4s, "attn_v", 3, 4096) == QT_Q5_K);
    CHECK(synth_tensor_type(l2, q4s, "attn_v", 4, 4096) == QT_Q4_K);
    CHECK(synth_tensor_type(l2, q4s, "ffn_down", 3, 11008) == QT_Q5_K);
    CHECK(synth_tensor_type(l2, q4s, "ffn_down", 4, 11008) == QT_Q4_K);
    CHECK(synth_tensor_type(l70, q4s, "attn_v", 40, 8192) == QT_Q5_K);
    CHECK(synth_tensor_type(l2, q5s, "attn_v", 0, 4096) == QT_Q5_K);
    CHECK(synth_tensor_type(l2, q5s, "ffn_down", 0, 11008) == QT_Q5_K);
    CHECK(synth_tensor_type(l2, q5m, "attn_v", 3, 4096) == QT_Q6_K);
    CHECK(synth_tensor_type(l2, q5m, "attn_v", 4, 4096) == QT_Q5_K);
    CHECK(synth_tensor_type(l2, q5m, "ffn_down", 28, 11008) == QT_Q6_K);
    CHECK(synth_tensor_type(l2, q5m, "attn_q", 5, 4096) == QT_Q5_K);
    CHECK(synth_tensor_type(l2, q5m, "attn_v", 4, 4096 + 32) == QT_Q5_1); /* the fallbacks still apply */
}

/* A 30-layer model with SmolLM2's row pattern (d 128: not 256k; ff 256) written as Q4_K_M: every tensor has the
 * rule's type, the file says LLAMA_FTYPE_MOSTLY_Q4_K_M (15), and the engine loads it and computes finite logits. */
static void test_q4_k_m_file(void)
{
    model_shape s = {"mini-q4km", 30, 128, 256, 4, 2, 512, 256, 10000.0f, 1e-5f, true};
    gguf_file *f = write_and_open("q4km.gguf", &s, SYNTH_Q4_K_M, 5);
    if (!f) return;
    CHECK(get_u64(f, "general.file_type") == 15);
    check_tensor(f, "token_embd.weight", QT_Q8_0, 128, 512);
    for (int layer = 0; layer < s.n_layer; layer++)
        for (size_t i = 0; i < sizeof MATRIX_ROLES / sizeof MATRIX_ROLES[0]; i++) {
            char name[64];
            snprintf(name, sizeof name, "blk.%d.%s.weight", layer, MATRIX_ROLES[i]);
            const gguf_tensor *t = gguf_find_tensor(f, name);
            uint32_t want = synth_tensor_type(&s, SYNTH_Q4_K_M, MATRIX_ROLES[i], layer, role_row_len(&s, MATRIX_ROLES[i]));
            CHECKF(t && t->type == want && want == smol_expected(MATRIX_ROLES[i], layer), "%s: %s", name,
                   t ? qt_name(t->type) : "missing");
        }
    gguf_close(f);
    model *m = NULL;
    xq_err err = {0};
    CHECKF(model_load(tmp_path("q4km.gguf"), &m, &err) == XQ_OK, "model_load: %s", err.msg);
    session *ses = NULL;
    session_params sp = {.n_ctx = 32, .n_threads = 1};
    if (m) CHECKF(session_create(m, &sp, &ses, &err) == XQ_OK, "session_create: %s", err.msg);
    const int32_t ids[] = {1, 300, 301, 302, 303};
    if (ses) CHECKF(session_eval(ses, ids, 5, &err) == XQ_OK, "session_eval: %s", err.msg);
    if (ses) {
        const float *logits = session_logits(ses, 0);
        int finite = 0;
        for (int i = 0; i < s.n_vocab; i++) finite += isfinite(logits[i]) != 0;
        CHECK(finite == s.n_vocab);
    }
    session_destroy(ses);
    model_free(m);
}

static void remove_tmpdir(void)
{
    static const char *const names[] = {"tiny-F32.gguf", "tiny-Q4_K.gguf", "tiny-tied-F32.gguf", "a.gguf",
                                        "b.gguf", "c.gguf", "bad.gguf", "ok.gguf", "q4km.gguf"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) unlink(tmp_path(names[i]));
    rmdir(tmpdir);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/xq_test_synth_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_shapes_table();
    test_tiny("tiny", QT_F32, true);
    test_tiny("tiny", QT_Q4_K, true);
    test_tiny("tiny-tied", QT_F32, false);
    test_reproducible();
    test_block_size_check();
    test_q4_k_m_rule();
    test_q3_k_m_rule();
    test_other_mixes();
    test_q4_k_m_file();
    remove_tmpdir();
    return test_report("test_synth");
}
