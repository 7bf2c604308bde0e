/* Fuzz target for the GGUF reader: parse a buffer and, if it parses, touch everything the reader hands out
 * (every key, string, array element and the first and last byte of every tensor's data), checking the reader's
 * promises on the way. A broken promise aborts, so libFuzzer and the corpus replay both report it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/gguf.h"
#include "model/qtypes.h"

int xq_fuzz_gguf(const uint8_t *data, size_t size);

static const char FUZZ_NAME[] = "fuzz.gguf";

/* Keeps the reads from being optimized away. */
static volatile uint64_t fuzz_sink;

static void require(int ok, const char *what)
{
    if (ok) return;
    fprintf(stderr, "xq_fuzz_gguf: broken promise: %s\n", what);
    abort();
}

static void touch_str(gguf_str s)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < s.len; i++) sum += (uint8_t)s.ptr[i];
    fuzz_sink += sum;
}

/* Looks a key up by its own name (when it has no NUL inside) and checks the index finds this very entry. */
static void check_lookup(const gguf_file *f, const gguf_kv *kv)
{
    if (memchr(kv->key.ptr, 0, kv->key.len)) return;
    char *key = malloc(kv->key.len + 1);
    require(key != NULL, "key copy");
    memcpy(key, kv->key.ptr, kv->key.len);
    key[kv->key.len] = '\0';
    require(gguf_find(f, key) == kv, "gguf_find returns the entry of its key");
    uint64_t u;
    int64_t i;
    double d;
    bool b;
    gguf_str s;
    fuzz_sink += gguf_get_u64(f, key, &u) ? u : 0;
    fuzz_sink += gguf_get_i64(f, key, &i) ? (uint64_t)i : 0;
    fuzz_sink += gguf_get_f64(f, key, &d) ? (d == d) : 0;
    fuzz_sink += gguf_get_bool(f, key, &b) ? b : 0;
    if (gguf_get_str(f, key, &s)) touch_str(s);
    free(key);
}

static void walk_kv(const gguf_file *f, const gguf_kv *kv)
{
    touch_str(kv->key);
    require(kv->type < GGUF_VTYPE_COUNT, "value type in range");
    check_lookup(f, kv);
    if (kv->type != GGUF_ARRAY) return;
    require(kv->arr_type < GGUF_VTYPE_COUNT && kv->arr_type != GGUF_ARRAY, "array element type");
    for (uint64_t i = 0; i < kv->arr_n; i++) {
        if (kv->arr_type == GGUF_STRING) {
            touch_str(kv->strs[i]);
        } else {
            double x = gguf_arr_f64(kv, i);
            fuzz_sink += (uint64_t)gguf_arr_i64(kv, i) + (x == x);
        }
    }
}

static void walk_tensor(const gguf_file *f, const gguf_tensor *t, const uint8_t *data, size_t size)
{
    touch_str(t->name);
    require(t->n_dims >= 1 && t->n_dims <= 4 && t->type < QT_MAX_ID, "tensor n_dims and type");
    for (int d = 0; d < 4; d++) require(t->ne[d] >= 1, "ne >= 1");
    require(t->offset % gguf_alignment(f) == 0, "aligned offset");
    if (!t->data) {
        require(t->nbytes == 0 && !qt_known(t->type), "only unknown types lack data");
        return;
    }
    const uint8_t *p = t->data;
    require(p >= data && t->nbytes <= size && (size_t)(p - data) <= size - t->nbytes, "data inside the buffer");
    require(t->nbytes == qt_row_bytes(t->type, t->ne[0]) * (uint64_t)(t->ne[1] * t->ne[2] * t->ne[3]),
            "nbytes matches the shape");
    fuzz_sink += p[0] + p[t->nbytes - 1];
}

int xq_fuzz_gguf(const uint8_t *data, size_t size)
{
    gguf_file *f = NULL;
    xq_err err = {0};
    int rc = gguf_open_buffer(data, size, FUZZ_NAME, &f, &err);
    if (rc != XQ_OK) {
        require(f == NULL && rc == err.code && (rc == XQ_EINPUT || rc == XQ_ERUN), "error code");
        require(strncmp(err.msg, "fuzz.gguf: ", 11) == 0, "message names the input");
        return 0;
    }
    for (uint64_t i = 0; i < gguf_kv_count(f); i++) walk_kv(f, gguf_kv_at(f, i));
    for (uint64_t i = 0; i < gguf_tensor_count(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        walk_tensor(f, t, data, size);
        if (!memchr(t->name.ptr, 0, t->name.len) && t->name.len < 256) {
            char name[256];
            memcpy(name, t->name.ptr, t->name.len);
            name[t->name.len] = '\0';
            require(gguf_find_tensor(f, name) == t, "gguf_find_tensor returns the entry of its name");
        }
    }
    gguf_close(f);
    return 0;
}
