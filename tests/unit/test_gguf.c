/* GGUF reader and writer: a writer round trip of every setter type and several tensor types, v2 parsing, every
 * scalar and array type read by hand-built files, a table of malformed files (each must fail with XQ_EINPUT and
 * a message naming the problem), every truncation of a valid file, writer failure modes, and stories260K.
 * `test_gguf --gen-corpus DIR` writes the fuzz seed corpus (tests/fuzz/corpus/gguf) from the same builders. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/gguf.h"
#include "model/qtypes.h"
#include "testlib.h"

static char tmp_dir[256];

static const char *tmp_path(const char *name)
{
    static char bufs[4][512];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, 512, "%s/%s", tmp_dir, name);
    return b;
}

static uint8_t *read_whole(const char *path, size_t *size)
{
    *size = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    *size = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *p = malloc(*size ? *size : 1);
    if (fread(p, 1, *size, fp) != *size) *size = 0;
    fclose(fp);
    return p;
}

static void write_whole(const char *path, const void *p, size_t n)
{
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(p, 1, n, fp) != n) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    fclose(fp);
}

static int files_in_tmp(void)
{
    int n = 0;
    DIR *d = opendir(tmp_dir);
    for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

static void clear_tmp(void)
{
    DIR *d = opendir(tmp_dir);
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_name[0] != '.') unlink(tmp_path(e->d_name));
    if (d) closedir(d);
}

/* ---- The sample file, written with the writer */

typedef struct sample_tensor {
    const char *name;
    uint32_t type, n_dims;
    int64_t ne[4];
    uint64_t nbytes;
} sample_tensor;

/* The last tensor's size is a multiple of 32 so the file ends exactly where its data ends (no padding): then
 * every proper prefix of the file is invalid. */
static const sample_tensor SAMPLE_TENSORS[] = {
    {"token_embd.weight", QT_F32, 2, {4, 3}, 48},
    {"w.f16", QT_F16, 3, {8, 2, 2}, 64},
    {"w.q8_0", QT_Q8_0, 2, {64, 2}, 136},
    {"x4", QT_F16, 4, {2, 2, 2, 2}, 32},
    {"output_norm.weight", QT_F32, 1, {8}, 32},
};
enum { N_SAMPLE_TENSORS = sizeof SAMPLE_TENSORS / sizeof SAMPLE_TENSORS[0] };

static const char *const SAMPLE_TOKENS[] = {"<unk>", "a", "", "h\xc3\xa9llo", "x y"};
static const float SAMPLE_F32S[] = {1.5f, -2.0f, 0.0f};
static const int32_t SAMPLE_I32S[] = {1, -1, INT32_MAX, INT32_MIN};

static uint8_t sample_byte(int tensor, uint64_t i) { return (uint8_t)(tensor * 37 + i * 11 + 5); }

static void set_sample_metadata(gguf_writer *w)
{
    gguf_writer_set_str(w, "general.architecture", "llama");
    gguf_writer_set_str(w, "general.name", "");
    gguf_writer_set_u32(w, "llama.block_count", 4); /* replaced below: setting a key again replaces it */
    gguf_writer_set_u32(w, "llama.block_count", 5);
    gguf_writer_set_i32(w, "test.i32", -7);
    gguf_writer_set_u64(w, "test.u64", (1ull << 40) | 3);
    gguf_writer_set_f32(w, "test.f32", 0.25f);
    gguf_writer_set_bool(w, "test.true", true);
    gguf_writer_set_bool(w, "test.false", false);
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", SAMPLE_TOKENS, 5);
    gguf_writer_set_arr_f32(w, "test.arr_f32", SAMPLE_F32S, 3);
    gguf_writer_set_arr_i32(w, "test.arr_i32", SAMPLE_I32S, 4);
    gguf_writer_set_arr_i32(w, "test.arr_empty", NULL, 0);
    gguf_writer_set_arr_str(w, "test.arr_str_empty", NULL, 0);
}
enum { N_SAMPLE_KV = 13 };

/* Writes the sample, streaming the tensor data in 13-byte pieces that straddle tensor boundaries. */
static int write_sample(const char *path, xq_err *err)
{
    gguf_writer *w;
    int rc = gguf_writer_create(path, &w, err);
    if (rc) return rc;
    set_sample_metadata(w);
    for (int t = 0; t < N_SAMPLE_TENSORS; t++)
        gguf_writer_add_tensor(w, SAMPLE_TENSORS[t].name, SAMPLE_TENSORS[t].type, SAMPLE_TENSORS[t].n_dims,
                               SAMPLE_TENSORS[t].ne);
    rc = gguf_writer_begin_data(w, err);
    uint8_t all[512];
    size_t n = 0;
    for (int t = 0; t < N_SAMPLE_TENSORS; t++)
        for (uint64_t i = 0; i < SAMPLE_TENSORS[t].nbytes; i++) all[n++] = sample_byte(t, i);
    for (size_t at = 0; rc == XQ_OK && at < n; at += 13)
        rc = gguf_writer_write(w, all + at, n - at < 13 ? n - at : 13, err);
    if (rc) {
        gguf_writer_abort(w);
        return rc;
    }
    return gguf_writer_finish(w, err);
}

static void check_sample_metadata(const gguf_file *f)
{
    gguf_str s;
    uint64_t u;
    int64_t i;
    double d;
    bool b;
    CHECK(gguf_kv_count(f) == N_SAMPLE_KV);
    CHECK(gguf_get_str(f, "general.architecture", &s) && gguf_str_eq(s, "llama"));
    CHECK(gguf_get_str(f, "general.name", &s) && s.len == 0 && gguf_str_eq(s, ""));
    CHECK(gguf_get_u64(f, "llama.block_count", &u) && u == 5);
    CHECK(gguf_get_i64(f, "llama.block_count", &i) && i == 5);
    CHECK(gguf_get_i64(f, "test.i32", &i) && i == -7);
    CHECK(!gguf_get_u64(f, "test.i32", &u)); /* negative does not fit */
    CHECK(gguf_get_u64(f, "test.u64", &u) && u == ((1ull << 40) | 3));
    CHECK(gguf_get_f64(f, "test.f32", &d) && d == 0.25);
    CHECK(!gguf_get_f64(f, "test.i32", &d) && !gguf_get_u64(f, "test.f32", &u));
    CHECK(gguf_get_bool(f, "test.true", &b) && b);
    CHECK(gguf_get_bool(f, "test.false", &b) && !b);
    CHECK(!gguf_get_str(f, "llama.block_count", &s) && !gguf_get_bool(f, "test.i32", &b));
    CHECK(!gguf_get_u64(f, "no.such.key", &u) && gguf_find(f, "no.such.key") == NULL);
    CHECK(gguf_str_eq(gguf_kv_at(f, 0)->key, "general.architecture") && gguf_kv_at(f, N_SAMPLE_KV) == NULL);
}

static void check_sample_arrays(const gguf_file *f)
{
    const gguf_kv *kv = gguf_find(f, "tokenizer.ggml.tokens");
    CHECK(kv && kv->type == GGUF_ARRAY && kv->arr_type == GGUF_STRING && kv->arr_n == 5 && kv->strs);
    for (uint64_t i = 0; kv && i < 5; i++) CHECKF(gguf_str_eq(kv->strs[i], SAMPLE_TOKENS[i]), "token %d", (int)i);
    kv = gguf_find(f, "test.arr_f32");
    CHECK(kv && kv->arr_type == GGUF_F32 && kv->arr_n == 3);
    for (uint64_t i = 0; kv && i < 3; i++) CHECK(gguf_arr_f64(kv, i) == SAMPLE_F32S[i]);
    CHECK(kv && gguf_arr_i64(kv, 0) == 1 && gguf_arr_i64(kv, 1) == -2);
    kv = gguf_find(f, "test.arr_i32");
    CHECK(kv && kv->arr_type == GGUF_I32 && kv->arr_n == 4);
    for (uint64_t i = 0; kv && i < 4; i++) CHECK(gguf_arr_i64(kv, i) == SAMPLE_I32S[i]);
    CHECK(kv && gguf_arr_f64(kv, 3) == (double)INT32_MIN && gguf_arr_i64(kv, 4) == 0);
    kv = gguf_find(f, "test.arr_empty");
    CHECK(kv && kv->arr_type == GGUF_I32 && kv->arr_n == 0);
    kv = gguf_find(f, "test.arr_str_empty");
    CHECK(kv && kv->arr_type == GGUF_STRING && kv->arr_n == 0);
}

static void check_sample_tensors(const gguf_file *f, bool mapped)
{
    CHECK(gguf_tensor_count(f) == N_SAMPLE_TENSORS && gguf_alignment(f) == 32);
    CHECK(gguf_data_offset(f) % 32 == 0);
    for (int t = 0; t < N_SAMPLE_TENSORS; t++) {
        const sample_tensor *want = &SAMPLE_TENSORS[t];
        const gguf_tensor *got = gguf_find_tensor(f, want->name);
        CHECKF(got == gguf_tensor_at(f, (uint64_t)t), "tensor %s", want->name);
        if (!got) continue;
        CHECK(got->n_dims == want->n_dims && got->type == want->type && got->nbytes == want->nbytes);
        for (int d = 0; d < 4; d++) CHECK(got->ne[d] == (d < (int)want->n_dims ? want->ne[d] : 1));
        CHECK(got->offset % 32 == 0 && got->data != NULL);
        if (mapped) CHECK((uintptr_t)got->data % 32 == 0);
        int bad = 0;
        const uint8_t *bytes = got->data;
        for (uint64_t i = 0; bytes && i < got->nbytes; i++) bad += bytes[i] != sample_byte(t, i);
        CHECKF(bad == 0, "tensor %s: %d bytes differ", want->name, bad);
    }
    CHECK(gguf_find_tensor(f, "missing") == NULL && gguf_tensor_at(f, N_SAMPLE_TENSORS) == NULL);
}

static void test_round_trip(void)
{
    xq_err err = {0};
    const char *path = tmp_path("sample.gguf");
    CHECKF(write_sample(path, &err) == XQ_OK, "%s", err.msg);
    CHECK(files_in_tmp() == 1); /* no temporary left beside it */
    gguf_file *f = NULL;
    CHECKF(gguf_open(path, &f, &err) == XQ_OK, "%s", err.msg);
    if (!f) return;
    CHECK(gguf_version(f) == 3 && strcmp(gguf_path(f), path) == 0);
    check_sample_metadata(f);
    check_sample_arrays(f);
    check_sample_tensors(f, true);
    CHECK(gguf_file_size(f) == gguf_data_offset(f) + 352);
    gguf_close(f);

    size_t size;
    uint8_t *bytes = read_whole(path, &size);
    CHECKF(gguf_open_buffer(bytes, size, "buf", &f, &err) == XQ_OK, "%s", err.msg);
    if (f) {
        check_sample_metadata(f);
        check_sample_arrays(f);
        check_sample_tensors(f, false);
        gguf_close(f);
    }
    free(bytes);
}

/* Every proper prefix of a valid file must fail cleanly (ASan catches any read past the exact-size copy). */
static void check_all_truncations(const uint8_t *bytes, size_t size, const char *what)
{
    int wrong = 0;
    for (size_t n = 0; n < size; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, bytes, n);
        gguf_file *f = NULL;
        xq_err err = {0};
        int rc = gguf_open_buffer(n ? copy : NULL, n, "cut.gguf", &f, &err);
        if (rc != XQ_EINPUT || f || strncmp(err.msg, "cut.gguf: ", 10) != 0) {
            if (wrong++ < 5) fprintf(stderr, "%s prefix %zu: rc %d msg '%s'\n", what, n, rc, err.msg);
        }
        gguf_close(f);
        free(copy);
    }
    CHECKF(wrong == 0, "%s: %d of %zu prefixes did not fail with XQ_EINPUT", what, wrong, size);
}

static void test_truncations(void)
{
    xq_err err = {0};
    const char *path = tmp_path("sample.gguf");
    CHECKF(write_sample(path, &err) == XQ_OK, "%s", err.msg);
    size_t size;
    uint8_t *bytes = read_whole(path, &size);
    check_all_truncations(bytes, size, "sample");
    free(bytes);
}

/* ---- Hand-built files */

typedef struct hbuf {
    uint8_t p[8192];
    size_t n;
} hbuf;

static void put(hbuf *h, const void *src, size_t n)
{
    if (h->n + n > sizeof h->p) {
        fprintf(stderr, "hbuf overflow\n");
        exit(1);
    }
    memcpy(h->p + h->n, src, n);
    h->n += n;
}
static void put_u8(hbuf *h, uint8_t v) { put(h, &v, 1); }
static void put_u32(hbuf *h, uint32_t v) { put(h, &v, 4); }
static void put_u64(hbuf *h, uint64_t v) { put(h, &v, 8); }
static void put_str(hbuf *h, const char *z)
{
    put_u64(h, strlen(z));
    put(h, z, strlen(z));
}
static void put_header(hbuf *h, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
    put(h, "GGUF", 4);
    put_u32(h, version);
    put_u64(h, n_tensors);
    put_u64(h, n_kv);
}
static void put_kv_u32(hbuf *h, const char *key, uint32_t v)
{
    put_str(h, key);
    put_u32(h, GGUF_U32);
    put_u32(h, v);
}
static void put_kv_str(hbuf *h, const char *key, const char *v)
{
    put_str(h, key);
    put_u32(h, GGUF_STRING);
    put_str(h, v);
}
static void put_tensor(hbuf *h, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type, uint64_t off)
{
    put_str(h, name);
    put_u32(h, n_dims);
    for (uint32_t d = 0; d < n_dims; d++) put_u64(h, ne[d]);
    put_u32(h, type);
    put_u64(h, off);
}
/* Pads to `align` and appends n data bytes. */
static void put_data(hbuf *h, size_t align, size_t n)
{
    while (h->n % align) put_u8(h, 0);
    for (size_t i = 0; i < n; i++) put_u8(h, (uint8_t)(i * 7 + 1));
}

static const uint64_t NE8[] = {8};

/* A valid file: one kv, one F32 tensor of 8 elements. The variants below break one thing each. */
static void build_minimal(hbuf *h, uint32_t version)
{
    put_header(h, version, 1, 1);
    put_kv_str(h, "general.architecture", "llama");
    put_tensor(h, "a", 1, NE8, QT_F32, 0);
    put_data(h, 32, 32);
}
static void build_v2(hbuf *h) { build_minimal(h, 2); }
static void build_v3(hbuf *h) { build_minimal(h, 3); }
static void build_v1(hbuf *h) { build_minimal(h, 1); }
static void build_v4(hbuf *h) { build_minimal(h, 4); }
static void build_big_endian(hbuf *h) { build_minimal(h, 0x03000000u); }
static void build_bad_magic(hbuf *h)
{
    build_minimal(h, 3);
    h->p[3] = 'X';
}
static void build_empty(hbuf *h) { (void)h; }
static void build_short(hbuf *h) { put(h, "GGU", 3); }

static void build_absurd_tensor_count(hbuf *h)
{
    put_header(h, 3, 1ull << 62, 0);
    put_data(h, 1, 64);
}
static void build_absurd_kv_count(hbuf *h)
{
    put_header(h, 3, 0, 1ull << 62);
    put_data(h, 1, 64);
}
static void build_absurd_key_len(hbuf *h)
{
    put_header(h, 3, 0, 1);
    put_u64(h, 1ull << 62);
    put_data(h, 1, 64);
}
static void build_absurd_value_len(hbuf *h)
{
    put_header(h, 3, 0, 1);
    put_str(h, "k");
    put_u32(h, GGUF_STRING);
    put_u64(h, 1ull << 62);
    put_data(h, 1, 64);
}
static void build_absurd_array_count(hbuf *h)
{
    put_header(h, 3, 0, 1);
    put_str(h, "k");
    put_u32(h, GGUF_ARRAY);
    put_u32(h, GGUF_STRING);
    put_u64(h, 1ull << 62);
    put_data(h, 1, 64);
}
static void build_absurd_array_count_u8(hbuf *h)
{
    put_header(h, 3, 0, 1);
    put_str(h, "k");
    put_u32(h, GGUF_ARRAY);
    put_u32(h, GGUF_U8);
    put_u64(h, UINT64_MAX);
    put_data(h, 1, 64);
}
static void build_nested_array(hbuf *h)
{
    put_header(h, 3, 0, 1);
    put_str(h, "k");
    put_u32(h, GGUF_ARRAY);
    put_u32(h, GGUF_ARRAY);
    put_u64(h, 1);
    put_u32(h, GGUF_U8);
    put_u64(h, 1);
    put_u8(h, 1);
}
static void build_bad_vtype(hbuf *h)
{
    put_header(h, 3, 0, 1);
    put_str(h, "k");
    put_u32(h, 13);
    put_u32(h, 0);
}
static void build_bad_array_type(hbuf *h)
{
    put_header(h, 3, 0, 1);
    put_str(h, "k");
    put_u32(h, GGUF_ARRAY);
    put_u32(h, 99);
    put_u64(h, 0);
}
static void build_duplicate_key(hbuf *h)
{
    put_header(h, 3, 0, 2);
    put_kv_u32(h, "k", 1);
    put_kv_u32(h, "k", 2);
}

static void build_one_tensor(hbuf *h, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type,
                             uint64_t off, size_t data_bytes)
{
    put_header(h, 3, 1, 0);
    put_tensor(h, name, n_dims, ne, type, off);
    put_data(h, 32, data_bytes);
}
static void build_n_dims_0(hbuf *h) { build_one_tensor(h, "t", 0, NE8, QT_F32, 0, 32); }
static void build_n_dims_5(hbuf *h)
{
    const uint64_t ne[5] = {8, 1, 1, 1, 1};
    build_one_tensor(h, "t", 5, ne, QT_F32, 0, 32);
}
static void build_ne_zero(hbuf *h)
{
    const uint64_t ne[2] = {0, 4};
    build_one_tensor(h, "t", 2, ne, QT_F32, 0, 32);
}
static void build_ne_overflow(hbuf *h)
{
    const uint64_t ne[3] = {1ull << 32, 1ull << 32, 4};
    build_one_tensor(h, "t", 3, ne, QT_F32, 0, 32);
}
static void build_ne_huge(hbuf *h)
{
    const uint64_t ne[1] = {UINT64_MAX};
    build_one_tensor(h, "t", 1, ne, QT_F32, 0, 32);
}
static void build_bytes_overflow(hbuf *h)
{
    const uint64_t ne[2] = {1ull << 61, 2}; /* 2^62 elements fit in int64, 2^64 bytes do not fit in u64 */
    build_one_tensor(h, "t", 2, ne, QT_F32, 0, 32);
}
static void build_misaligned(hbuf *h) { build_one_tensor(h, "t", 1, NE8, QT_F32, 4, 64); }
static void build_past_eof(hbuf *h) { build_one_tensor(h, "t", 1, NE8, QT_F32, 32, 32); }
static void build_offset_huge(hbuf *h) { build_one_tensor(h, "t", 1, NE8, QT_F32, UINT64_MAX - 31, 32); }
static void build_type_200(hbuf *h) { build_one_tensor(h, "t", 1, NE8, 200, 0, 32); }
static void build_q8_bad_row(hbuf *h)
{
    const uint64_t ne[1] = {33};
    build_one_tensor(h, "t", 1, ne, QT_Q8_0, 0, 68);
}
static void build_duplicate_tensor(hbuf *h)
{
    put_header(h, 3, 2, 0);
    put_tensor(h, "t", 1, NE8, QT_F32, 0);
    put_tensor(h, "t", 1, NE8, QT_F32, 32);
    put_data(h, 32, 64);
}

static void build_with_alignment(hbuf *h, uint32_t vtype, uint64_t value)
{
    put_header(h, 3, 1, 1);
    put_str(h, "general.alignment");
    put_u32(h, vtype);
    if (vtype == GGUF_U64) put_u64(h, value);
    else put_u32(h, (uint32_t)value);
    put_tensor(h, "t", 1, NE8, QT_F32, 0);
    put_data(h, 32, 32);
}
static void build_align_0(hbuf *h) { build_with_alignment(h, GGUF_U32, 0); }
static void build_align_3(hbuf *h) { build_with_alignment(h, GGUF_U32, 3); }
static void build_align_u64(hbuf *h) { build_with_alignment(h, GGUF_U64, 32); }
static void build_align_64(hbuf *h)
{
    put_header(h, 3, 2, 1);
    put_kv_u32(h, "general.alignment", 64);
    put_tensor(h, "a", 1, NE8, QT_F32, 0);
    put_tensor(h, "b", 1, NE8, QT_F32, 64);
    put_data(h, 64, 96);
}
/* Unknown size, so no data bytes: the file ends where the data section begins. */
static void build_type_40(hbuf *h) { build_one_tensor(h, "t", 1, NE8, 40, 0, 0); }

/* Every scalar type, and an array of each scalar type, by hand (the writer has setters for only some). */
static void build_all_types(hbuf *h)
{
    put_header(h, 3, 0, 24);
    const char *names[GGUF_VTYPE_COUNT] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool",
                                           "string", "array", "u64", "i64", "f64"};
    const uint64_t raw[GGUF_VTYPE_COUNT] = {200, 0xfe, 60000, 0x8000, 4000000000u, 0xfffffff9u, 0x3e800000u, 1,
                                            0, 0, UINT64_MAX, (uint64_t)-5, 0x3ff8000000000000ull};
    const int bytes[GGUF_VTYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    for (int t = 0; t < GGUF_VTYPE_COUNT; t++) {
        if (bytes[t] == 0) continue;
        char key[32];
        snprintf(key, sizeof key, "s.%s", names[t]);
        put_str(h, key);
        put_u32(h, (uint32_t)t);
        put(h, &raw[t], (size_t)bytes[t]);
        snprintf(key, sizeof key, "a.%s", names[t]);
        put_str(h, key);
        put_u32(h, GGUF_ARRAY);
        put_u32(h, (uint32_t)t);
        put_u64(h, 2);
        put(h, &raw[t], (size_t)bytes[t]);
        put(h, &raw[t], (size_t)bytes[t]);
    }
    put_kv_str(h, "s.string", "hi");
    put_str(h, "a.string");
    put_u32(h, GGUF_ARRAY);
    put_u32(h, GGUF_STRING);
    put_u64(h, 2);
    put_str(h, "x");
    put_str(h, "");
}

/* A vocabulary-only file, shaped like the shared ggml-vocab-*.gguf files: 0 tensors, tokenizer metadata. */
static void build_vocab_only(hbuf *h)
{
    put_header(h, 3, 0, 6);
    put_kv_str(h, "general.architecture", "llama");
    put_kv_str(h, "tokenizer.ggml.model", "llama");
    put_str(h, "tokenizer.ggml.tokens");
    put_u32(h, GGUF_ARRAY);
    put_u32(h, GGUF_STRING);
    put_u64(h, 6);
    const char *tokens[6] = {"<unk>", "<s>", "</s>", "<0x0A>", "\xe2\x96\x81the", "a"};
    for (int i = 0; i < 6; i++) put_str(h, tokens[i]);
    put_str(h, "tokenizer.ggml.scores");
    put_u32(h, GGUF_ARRAY);
    put_u32(h, GGUF_F32);
    put_u64(h, 6);
    for (int i = 0; i < 6; i++) put_u32(h, 0xbf800000u); /* -1.0f */
    put_str(h, "tokenizer.ggml.token_type");
    put_u32(h, GGUF_ARRAY);
    put_u32(h, GGUF_I32);
    put_u64(h, 6);
    const int32_t types[6] = {2, 3, 3, 6, 1, 1};
    put(h, types, sizeof types);
    put_kv_u32(h, "tokenizer.ggml.bos_token_id", 1);
}

typedef struct file_case {
    const char *name;
    void (*build)(hbuf *h);
    const char *expect; /* substring of the error message; NULL: the file is valid */
} file_case;

static const file_case FILE_CASES[] = {
    {"valid_v2", build_v2, NULL},
    {"valid_v3", build_v3, NULL},
    {"valid_align_64", build_align_64, NULL},
    {"valid_type_40", build_type_40, NULL},
    {"valid_all_types", build_all_types, NULL},
    {"valid_vocab_only", build_vocab_only, NULL},
    {"bad_magic", build_bad_magic, "bad magic"},
    {"version_1", build_v1, "version 1"},
    {"version_4", build_v4, "version 4"},
    {"big_endian", build_big_endian, "big-endian"},
    {"empty", build_empty, "truncated"},
    {"short", build_short, "truncated"},
    {"absurd_tensor_count", build_absurd_tensor_count, "tensor count"},
    {"absurd_kv_count", build_absurd_kv_count, "kv count"},
    {"absurd_key_len", build_absurd_key_len, "metadata kv 0: string of length 4611686018427387904"},
    {"absurd_string_len", build_absurd_value_len, "metadata kv 0 ('k'): string of length 4611686018427387904"},
    {"absurd_array_count", build_absurd_array_count, "array count"},
    {"absurd_array_count_u8", build_absurd_array_count_u8, "array count"},
    {"nested_array", build_nested_array, "nested arrays"},
    {"bad_value_type", build_bad_vtype, "invalid value type 13"},
    {"bad_array_type", build_bad_array_type, "invalid array element type 99"},
    {"duplicate_key", build_duplicate_key, "duplicate key"},
    {"n_dims_0", build_n_dims_0, "n_dims 0"},
    {"n_dims_5", build_n_dims_5, "n_dims 5"},
    {"ne_zero", build_ne_zero, "ne[0] is 0"},
    {"ne_overflow", build_ne_overflow, "element count overflows"},
    {"ne_huge", build_ne_huge, "element count overflows"},
    {"bytes_overflow", build_bytes_overflow, "data size overflows"},
    {"misaligned_offset", build_misaligned, "not a multiple of the alignment"},
    {"data_past_eof", build_past_eof, "extends past end of file"},
    {"offset_huge", build_offset_huge, "extends past end of file"},
    {"type_200", build_type_200, "invalid type id 200"},
    {"q8_0_bad_row", build_q8_bad_row, "not a multiple of the block size"},
    {"duplicate_tensor", build_duplicate_tensor, "duplicate tensor name"},
    {"align_0", build_align_0, "power of two"},
    {"align_3", build_align_3, "power of two"},
    {"align_u64", build_align_u64, "must be a u32"},
};
enum { N_FILE_CASES = sizeof FILE_CASES / sizeof FILE_CASES[0] };

static void test_file_cases(void)
{
    for (int c = 0; c < N_FILE_CASES; c++) {
        static hbuf h;
        h.n = 0;
        FILE_CASES[c].build(&h);
        uint8_t *copy = malloc(h.n ? h.n : 1); /* exact size, so ASan sees any over-read */
        memcpy(copy, h.p, h.n);
        gguf_file *f = NULL;
        xq_err err = {0};
        int rc = gguf_open_buffer(copy, h.n, "case.gguf", &f, &err);
        if (!FILE_CASES[c].expect) {
            CHECKF(rc == XQ_OK && f, "%s: %s", FILE_CASES[c].name, err.msg);
        } else {
            CHECKF(rc == XQ_EINPUT && !f && strncmp(err.msg, "case.gguf: ", 11) == 0 &&
                       strstr(err.msg, FILE_CASES[c].expect),
                   "%s: rc %d, message '%s' should mention '%s'", FILE_CASES[c].name, rc, err.msg,
                   FILE_CASES[c].expect);
        }
        gguf_close(f);
        free(copy);
    }
}

static gguf_file *open_case(void (*build)(hbuf *h), hbuf *h)
{
    h->n = 0;
    build(h);
    gguf_file *f = NULL;
    xq_err err = {0};
    CHECKF(gguf_open_buffer(h->p, h->n, "case.gguf", &f, &err) == XQ_OK, "%s", err.msg);
    return f;
}

static void test_v2_and_alignment(void)
{
    static hbuf h;
    gguf_file *f = open_case(build_v2, &h);
    if (f) {
        gguf_str s;
        CHECK(gguf_version(f) == 2 && gguf_get_str(f, "general.architecture", &s) && gguf_str_eq(s, "llama"));
        const gguf_tensor *t = gguf_find_tensor(f, "a");
        CHECK(t && t->ne[0] == 8 && t->nbytes == 32 && t->data == h.p + gguf_data_offset(f));
        CHECK(gguf_data_offset(f) == 128 && t && ((const uint8_t *)t->data)[1] == 8);
        gguf_close(f);
    }
    f = open_case(build_align_64, &h);
    if (f) {
        CHECK(gguf_alignment(f) == 64 && gguf_data_offset(f) % 64 == 0);
        CHECK(gguf_find_tensor(f, "b") && gguf_find_tensor(f, "b")->offset == 64);
        gguf_close(f);
    }
    f = open_case(build_type_40, &h); /* unknown but in-range type: parses, no data */
    if (f) {
        const gguf_tensor *t = gguf_tensor_at(f, 0);
        CHECK(!qt_known(40) && t && t->type == 40 && t->data == NULL && t->nbytes == 0);
        gguf_close(f);
    }
}

static void test_all_types(void)
{
    static hbuf h;
    gguf_file *f = open_case(build_all_types, &h);
    if (!f) return;
    uint64_t u;
    int64_t i;
    double d;
    bool b;
    gguf_str s;
    CHECK(gguf_get_u64(f, "s.u8", &u) && u == 200 && gguf_get_i64(f, "s.i8", &i) && i == -2);
    CHECK(gguf_get_u64(f, "s.u16", &u) && u == 60000 && gguf_get_i64(f, "s.i16", &i) && i == -32768);
    CHECK(gguf_get_u64(f, "s.u32", &u) && u == 4000000000u && gguf_get_i64(f, "s.i32", &i) && i == -7);
    CHECK(gguf_get_u64(f, "s.u64", &u) && u == UINT64_MAX && !gguf_get_i64(f, "s.u64", &i));
    CHECK(gguf_get_i64(f, "s.i64", &i) && i == -5 && !gguf_get_u64(f, "s.i64", &u));
    CHECK(gguf_get_f64(f, "s.f32", &d) && d == 0.25 && gguf_get_f64(f, "s.f64", &d) && d == 1.5);
    CHECK(gguf_get_bool(f, "s.bool", &b) && b && gguf_get_str(f, "s.string", &s) && gguf_str_eq(s, "hi"));
    const gguf_kv *kv;
    CHECK((kv = gguf_find(f, "a.u8")) && kv->arr_n == 2 && gguf_arr_i64(kv, 1) == 200);
    CHECK((kv = gguf_find(f, "a.i8")) && gguf_arr_i64(kv, 0) == -2 && gguf_arr_f64(kv, 1) == -2.0);
    CHECK((kv = gguf_find(f, "a.u16")) && gguf_arr_i64(kv, 1) == 60000);
    CHECK((kv = gguf_find(f, "a.i16")) && gguf_arr_i64(kv, 1) == -32768);
    CHECK((kv = gguf_find(f, "a.u32")) && gguf_arr_i64(kv, 1) == 4000000000ll);
    CHECK((kv = gguf_find(f, "a.i32")) && gguf_arr_i64(kv, 1) == -7);
    CHECK((kv = gguf_find(f, "a.f32")) && gguf_arr_f64(kv, 1) == 0.25 && gguf_arr_i64(kv, 1) == 0);
    CHECK((kv = gguf_find(f, "a.bool")) && gguf_arr_i64(kv, 1) == 1);
    CHECK((kv = gguf_find(f, "a.u64")) && gguf_arr_i64(kv, 1) == INT64_MAX); /* saturates */
    CHECK((kv = gguf_find(f, "a.i64")) && gguf_arr_i64(kv, 1) == -5);
    CHECK((kv = gguf_find(f, "a.f64")) && gguf_arr_f64(kv, 1) == 1.5 && gguf_arr_i64(kv, 0) == 1);
    CHECK((kv = gguf_find(f, "a.string")) && kv->arr_n == 2 && gguf_str_eq(kv->strs[0], "x") &&
          gguf_str_eq(kv->strs[1], "") && gguf_arr_i64(kv, 0) == 0);
    gguf_close(f);
}

/* gguf_writer_copy_kv writes every value type (arrays, strings, empty strings) back as it was read. */
static void test_writer_copy_kv(void)
{
    static hbuf h;
    static const uint8_t size[GGUF_VTYPE_COUNT] = {[GGUF_U8] = 1,  [GGUF_I8] = 1,  [GGUF_U16] = 2,  [GGUF_I16] = 2,
                                                  [GGUF_U32] = 4, [GGUF_I32] = 4, [GGUF_F32] = 4,  [GGUF_BOOL] = 1,
                                                  [GGUF_U64] = 8, [GGUF_I64] = 8, [GGUF_F64] = 8};
    gguf_file *src = open_case(build_all_types, &h), *dst = NULL;
    if (!src) return;
    xq_err err = {0};
    const char *path = tmp_path("copied.gguf");
    gguf_writer *w = NULL;
    CHECKF(gguf_writer_create(path, &w, &err) == XQ_OK, "%s", err.msg);
    for (uint64_t i = 0; w && i < gguf_kv_count(src); i++) gguf_writer_copy_kv(w, gguf_kv_at(src, i));
    CHECKF(w && gguf_writer_begin_data(w, &err) == XQ_OK && gguf_writer_finish(w, &err) == XQ_OK, "%s", err.msg);
    CHECKF(gguf_open(path, &dst, &err) == XQ_OK, "%s", err.msg);
    int differ = 0;
    for (uint64_t i = 0; dst && i < gguf_kv_count(src); i++) {
        const gguf_kv *a = gguf_kv_at(src, i);
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)a->key.len, a->key.ptr);
        const gguf_kv *b = gguf_find(dst, key);
        bool array = a->type == GGUF_ARRAY;
        gguf_vtype elem = array ? a->arr_type : a->type;
        uint64_t n = array ? a->arr_n : 1;
        bool same = b && b->type == a->type && (!array || (b->arr_type == a->arr_type && b->arr_n == a->arr_n));
        for (uint64_t k = 0; same && elem == GGUF_STRING && k < n; k++)
            same = a->strs[k].len == b->strs[k].len && !memcmp(a->strs[k].ptr, b->strs[k].ptr, a->strs[k].len);
        if (same && elem != GGUF_STRING) same = !memcmp(a->data, b->data, n * size[elem]);
        differ += !same;
    }
    CHECKF(dst && differ == 0 && gguf_kv_count(dst) == gguf_kv_count(src), "%d of %llu values not copied as read",
           differ, (unsigned long long)gguf_kv_count(src));
    gguf_close(dst);
    gguf_close(src);
    unlink(path);
}

/* Truncations of the hand-built valid files too (the vocabulary-only shape has no data section). */
static void test_case_truncations(void)
{
    for (int c = 0; c < N_FILE_CASES; c++) {
        if (FILE_CASES[c].expect) continue;
        static hbuf h;
        h.n = 0;
        FILE_CASES[c].build(&h);
        check_all_truncations(h.p, h.n, FILE_CASES[c].name);
    }
}

static void test_open_errors(void)
{
    gguf_file *f = NULL;
    xq_err err = {0};
    const char *missing = tmp_path("missing.gguf");
    CHECK(gguf_open(missing, &f, &err) == XQ_EINPUT && !f);
    CHECKF(strstr(err.msg, missing) && strstr(err.msg, "No such file or directory"), "%s", err.msg);
    CHECK(gguf_open(tmp_dir, &f, &err) == XQ_EINPUT && !f);
    CHECKF(strstr(err.msg, "Is a directory"), "%s", err.msg);
    const char *empty = tmp_path("empty.gguf");
    write_whole(empty, "", 0);
    CHECK(gguf_open(empty, &f, &err) == XQ_EINPUT && !f);
    CHECKF(strstr(err.msg, "empty.gguf: truncated"), "%s", err.msg);
    const char *bad = tmp_path("bad.gguf");
    write_whole(bad, "GGUF\x01\0\0\0", 8);
    CHECK(gguf_open(bad, &f, &err) == XQ_EINPUT && !f);
    CHECKF(strstr(err.msg, "bad.gguf: GGUF version 1 is not supported"), "%s", err.msg);
    clear_tmp();
}

/* ---- Writer failure modes */

static void test_writer_abort_and_misuse(void)
{
    xq_err err = {0};
    gguf_writer *w;
    const char *path = tmp_path("w.gguf");
    const int64_t ne[1] = {32};
    CHECK(gguf_writer_create(path, &w, &err) == XQ_OK);
    gguf_writer_add_tensor(w, "t", QT_F32, 1, ne);
    CHECK(gguf_writer_begin_data(w, &err) == XQ_OK);
    CHECK(files_in_tmp() == 1);
    gguf_writer_abort(w);
    CHECK(files_in_tmp() == 0);

    CHECK(gguf_writer_create(path, &w, &err) == XQ_OK); /* data left incomplete */
    gguf_writer_add_tensor(w, "t", QT_F32, 1, ne);
    CHECK(gguf_writer_begin_data(w, &err) == XQ_OK && gguf_writer_write(w, "abcd", 4, &err) == XQ_OK);
    CHECK(gguf_writer_finish(w, &err) == XQ_ERUN && strstr(err.msg, "4 of its 128 bytes"));
    CHECK(files_in_tmp() == 0);

    uint8_t data[160] = {0};
    CHECK(gguf_writer_create(path, &w, &err) == XQ_OK); /* too much data */
    gguf_writer_add_tensor(w, "t", QT_F32, 1, ne);
    CHECK(gguf_writer_begin_data(w, &err) == XQ_OK);
    CHECK(gguf_writer_write(w, data, sizeof data, &err) == XQ_ERUN && strstr(err.msg, "more tensor data"));
    gguf_writer_abort(w);

    const int64_t ne33[1] = {33};
    const struct { uint32_t type, n_dims; const int64_t *ne; const char *expect; } bad[] = {
        {QT_Q8_0, 1, ne33, "not a multiple of the block size"}, {40, 1, ne, "unknown type id 40"},
        {QT_F32, 0, ne, "n_dims 0"}, {QT_F32, 5, ne, "n_dims 5"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(gguf_writer_create(path, &w, &err) == XQ_OK);
        gguf_writer_add_tensor(w, "t", bad[i].type, bad[i].n_dims, bad[i].ne);
        CHECKF(gguf_writer_begin_data(w, &err) == XQ_EINPUT && strstr(err.msg, bad[i].expect), "%s", err.msg);
        gguf_writer_abort(w);
    }
    CHECK(gguf_writer_create(path, &w, &err) == XQ_OK);
    gguf_writer_add_tensor(w, "t", QT_F32, 1, ne);
    gguf_writer_add_tensor(w, "t", QT_F32, 1, ne);
    CHECK(gguf_writer_begin_data(w, &err) == XQ_EINPUT && strstr(err.msg, "duplicate tensor name 't'"));
    gguf_writer_abort(w);
    CHECK(gguf_writer_create(path, &w, &err) == XQ_OK); /* metadata after the data began */
    CHECK(gguf_writer_begin_data(w, &err) == XQ_OK);
    gguf_writer_set_u32(w, "late", 1);
    CHECK(gguf_writer_finish(w, &err) == XQ_ERUN && strstr(err.msg, "'late' set after the data began"));
    CHECK(files_in_tmp() == 0);
    CHECK(gguf_writer_create("/nonexistent-dir/x.gguf", &w, &err) == XQ_ERUN && strstr(err.msg, "cannot create"));
}

static void test_writer_alignment_and_vocab(void)
{
    xq_err err = {0};
    gguf_writer *w;
    const char *path = tmp_path("a.gguf");
    const int64_t ne[1] = {3};
    CHECK(gguf_writer_create(path, &w, &err) == XQ_OK);
    gguf_writer_set_u32(w, "general.alignment", 64);
    gguf_writer_add_tensor(w, "a", QT_F32, 1, ne);
    gguf_writer_add_tensor(w, "b", QT_F32, 1, ne);
    uint8_t data[24] = {1, 2, 3};
    CHECK(gguf_writer_begin_data(w, &err) == XQ_OK && gguf_writer_write(w, data, 24, &err) == XQ_OK);
    CHECKF(gguf_writer_finish(w, &err) == XQ_OK, "%s", err.msg);
    gguf_file *f = NULL;
    CHECKF(gguf_open(path, &f, &err) == XQ_OK, "%s", err.msg);
    if (f) {
        CHECK(gguf_alignment(f) == 64 && gguf_find_tensor(f, "b")->offset == 64);
        CHECK(gguf_data_offset(f) % 64 == 0 && gguf_file_size(f) == gguf_data_offset(f) + 128);
        gguf_close(f);
    }
    /* metadata only: no data section, the file ends after the last kv */
    CHECK(gguf_writer_create(path, &w, &err) == XQ_OK);
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", SAMPLE_TOKENS, 5);
    CHECKF(gguf_writer_finish(w, &err) == XQ_OK, "%s", err.msg);
    size_t size;
    uint8_t *bytes = read_whole(path, &size);
    CHECK(gguf_open_buffer(bytes, size, "v", &f, &err) == XQ_OK && gguf_tensor_count(f) == 0);
    gguf_close(f);
    check_all_truncations(bytes, size, "metadata-only");
    free(bytes);
    clear_tmp();
}

/* A write error (here: the file size limit, as a full disk would) gives XQ_ERUN and leaves no file. */
static void test_writer_write_error(void)
{
    struct rlimit old, small;
    if (getrlimit(RLIMIT_FSIZE, &old) != 0) return;
    signal(SIGXFSZ, SIG_IGN);
    small = old;
    small.rlim_cur = 4096;
    if (setrlimit(RLIMIT_FSIZE, &small) != 0) return;
    xq_err err = {0};
    gguf_writer *w;
    const int64_t ne[2] = {256, 64};
    int rc = gguf_writer_create(tmp_path("full.gguf"), &w, &err);
    if (rc == XQ_OK) {
        static const float zeros[256 * 64];
        gguf_writer_add_tensor(w, "big", QT_F32, 2, ne);
        rc = gguf_writer_begin_data(w, &err);
        if (rc == XQ_OK) rc = gguf_writer_write(w, zeros, sizeof zeros, &err);
        if (rc == XQ_OK) rc = gguf_writer_finish(w, &err);
        else gguf_writer_abort(w);
    }
    setrlimit(RLIMIT_FSIZE, &old);
    CHECKF(rc == XQ_ERUN && strstr(err.msg, "full.gguf: write failed"), "rc %d: %s", rc, err.msg);
    CHECK(files_in_tmp() == 0);
}

static void test_stories260k(void)
{
    const char *path = test_shared_path("models/stories260K/stories260K.gguf");
    if (!path) {
        printf("skip: stories260K.gguf not found under the shared folder\n");
        return;
    }
    gguf_file *f = NULL;
    xq_err err = {0};
    CHECKF(gguf_open(path, &f, &err) == XQ_OK, "%s", err.msg);
    if (!f) return;
    uint64_t u;
    CHECK(gguf_get_u64(f, "llama.block_count", &u) && u == 5);
    CHECK(gguf_get_u64(f, "llama.embedding_length", &u) && u == 64);
    const gguf_tensor *t = gguf_find_tensor(f, "token_embd.weight");
    CHECK(t && t->n_dims == 2 && t->ne[0] == 64 && t->ne[1] == 512 && t->type == QT_F32 && t->data);
    const gguf_kv *tokens = gguf_find(f, "tokenizer.ggml.tokens");
    CHECK(tokens && tokens->arr_type == GGUF_STRING && tokens->arr_n == 512);
    gguf_close(f);
}

/* ---- Corpus generation for the fuzzer */

static void save_case(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.gguf", dir, name);
    write_whole(path, p, n);
}

/* The sample with one u64 field at byte `at` replaced (a count, length or offset). */
static void save_patched(const char *dir, const char *name, const uint8_t *p, size_t n, size_t at, uint64_t v)
{
    uint8_t *copy = malloc(n);
    memcpy(copy, p, n);
    memcpy(copy + at, &v, 8);
    save_case(dir, name, copy, n);
    free(copy);
}

static int gen_corpus(const char *dir)
{
    static hbuf h;
    for (int c = 0; c < N_FILE_CASES; c++) {
        h.n = 0;
        FILE_CASES[c].build(&h);
        save_case(dir, FILE_CASES[c].name, h.p, h.n);
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/valid_sample.gguf", dir);
    xq_err err = {0};
    if (write_sample(path, &err) != XQ_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    size_t n;
    uint8_t *p = read_whole(path, &n);
    const size_t cuts[] = {7, 16, 24, 40, 200, n / 2, n - 353, n - 300, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "trunc_%04zu", cuts[i]);
        save_case(dir, name, p, cuts[i]);
    }
    save_patched(dir, "sample_tensor_count_plus1", p, n, 8, N_SAMPLE_TENSORS + 1);
    save_patched(dir, "sample_kv_count_plus1", p, n, 16, N_SAMPLE_KV + 1);
    save_patched(dir, "sample_key_len_big", p, n, 24, 100000);
    save_patched(dir, "sample_key_len_max", p, n, 24, UINT64_MAX);
    free(p);
    printf("corpus written to %s\n", dir);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--gen-corpus") == 0) return gen_corpus(argv[2]);
    snprintf(tmp_dir, sizeof tmp_dir, "%s/test_gguf.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trip();
    clear_tmp();
    test_truncations();
    clear_tmp();
    test_file_cases();
    test_v2_and_alignment();
    test_all_types();
    test_writer_copy_kv();
    test_case_truncations();
    test_open_errors();
    test_writer_abort_and_misuse();
    test_writer_alignment_and_vocab();
    test_writer_write_error();
    test_stories260k();
    clear_tmp();
    rmdir(tmp_dir);
    return test_report("test_gguf");
}
