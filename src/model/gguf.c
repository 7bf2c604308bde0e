/* GGUF v2/v3 reader (over a read-only mmap or a caller's buffer) and streaming v3 writer.
 *
 * Reader invariants: every count, length and offset is checked against the bytes that remain before it is used
 * or allocated for, so memory use stays a small multiple of the file size and no read leaves the buffer. Keys
 * and tensor names are unique; one open-addressing hash index per kind serves both that check and lookups.
 * v2 and v3 share one layout (v3 only added big-endian files, which are rejected: the host is little-endian).
 * Writer invariants: tensor data is streamed straight to the file, never held; the file is written under a
 * temporary name and renamed into place only once complete and fsync'ed. */
#include "model/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/outfile.h"
#include "base/runfiles.h"
#include "model/qtypes.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "gguf.c reads little-endian values in place; a big-endian host needs byte swapping"
#endif

enum {
    GGUF_MAGIC = 0x46554747u,         /* "GGUF" read as a little-endian u32 */
    GGUF_DEFAULT_ALIGNMENT = 32,
    MIN_KV_BYTES = 8 + 4 + 1,          /* key length, value type, smallest value */
    MIN_TENSOR_INFO_BYTES = 8 + 4 + 8 + 4 + 8, /* name length, n_dims, one ne, type, offset */
    MAX_ENTRIES = INT32_MAX,           /* the hash index stores entry numbers as u32 */
};

static const uint8_t EMPTY_BUFFER[1];

/* Bytes of a scalar value of type t; 0 for strings and arrays (variable length). */
static uint64_t scalar_bytes(uint32_t t)
{
    static const uint8_t bytes[GGUF_VTYPE_COUNT] = {
        [GGUF_U8] = 1, [GGUF_I8] = 1, [GGUF_U16] = 2, [GGUF_I16] = 2, [GGUF_U32] = 4, [GGUF_I32] = 4,
        [GGUF_F32] = 4, [GGUF_BOOL] = 1, [GGUF_U64] = 8, [GGUF_I64] = 8, [GGUF_F64] = 8,
    };
    return t < GGUF_VTYPE_COUNT ? bytes[t] : 0;
}

static const char *vtype_name(uint32_t t)
{
    static const char *const names[GGUF_VTYPE_COUNT] = {
        "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64",
    };
    return t < GGUF_VTYPE_COUNT ? names[t] : "invalid";
}

static uint64_t load_u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t load_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static bool is_pow2(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }
static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

/* ---- Name index: open addressing over entry numbers; every entry struct begins with its gguf_str name. */

_Static_assert(offsetof(gguf_kv, key) == 0, "kv name first");
_Static_assert(offsetof(gguf_tensor, name) == 0, "tensor name first");

typedef struct name_index {
    uint32_t *slots; /* 1 + entry number; 0 marks an empty slot */
    uint64_t mask;
    const void *entries;
    size_t stride;
} name_index;

static uint64_t hash_bytes(const char *p, uint64_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (uint64_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
    return h;
}

static bool index_init(name_index *ix, uint64_t n, const void *entries, size_t stride)
{
    uint64_t cap = 16;
    while (cap < 2 * n) cap <<= 1;
    ix->slots = calloc(cap, sizeof *ix->slots);
    ix->mask = cap - 1;
    ix->entries = entries;
    ix->stride = stride;
    return ix->slots != NULL;
}

/* The slot holding name, or the empty slot where it would go. */
static uint32_t *index_slot(const name_index *ix, const char *p, uint64_t n)
{
    for (uint64_t k = hash_bytes(p, n) & ix->mask;; k = (k + 1) & ix->mask) {
        uint32_t *slot = &ix->slots[k];
        if (*slot == 0) return slot;
        const gguf_str *e = (const gguf_str *)((const char *)ix->entries + (size_t)(*slot - 1) * ix->stride);
        if (e->len == n && memcmp(e->ptr, p, n) == 0) return slot;
    }
}

/* Adds entry i; false if its name is already present. */
static bool index_add(name_index *ix, uint32_t i)
{
    const gguf_str *name = (const gguf_str *)((const char *)ix->entries + (size_t)i * ix->stride);
    uint32_t *slot = index_slot(ix, name->ptr, name->len);
    if (*slot != 0) return false;
    *slot = i + 1;
    return true;
}

static const void *index_find(const name_index *ix, const char *z)
{
    if (!ix->slots || !z) return NULL;
    uint32_t slot = *index_slot(ix, z, strlen(z));
    return slot ? (const char *)ix->entries + (size_t)(slot - 1) * ix->stride : NULL;
}

/* ---- The parsed file */

struct gguf_file {
    char *path;
    const uint8_t *base;
    uint64_t size;
    void *map; /* munmap'ed on close when the file was opened from a path */
    uint32_t version;
    uint64_t alignment;
    uint64_t data_offset;
    uint64_t n_kv, n_tensors;
    gguf_kv *kvs;
    gguf_str *scalar_strs; /* one per kv; kvs[i].strs points here when kvs[i] is a scalar string */
    gguf_tensor *tensors;
    name_index kv_index, tensor_index;
};

void gguf_close(gguf_file *f)
{
    if (!f) return;
    for (uint64_t i = 0; f->kvs && i < f->n_kv; i++)
        if (f->kvs[i].type == GGUF_ARRAY) free((void *)f->kvs[i].strs);
    free(f->kvs);
    free(f->scalar_strs);
    free(f->tensors);
    free(f->kv_index.slots);
    free(f->tensor_index.slots);
    if (f->map) munmap(f->map, f->size);
    free(f->path);
    free(f);
}

/* ---- Reader cursor: bounds-checked little-endian reads with context for error messages */

typedef struct reader {
    const uint8_t *base;
    uint64_t size, pos;
    const char *name;
    xq_err *err;
    char where[192];  /* what is being read, e.g. "tensor info 12 ('output.weight')" */
    int64_t element;  /* array element being read, or -1 */
} reader;

static bool fail(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(reader *r, const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    xq_fail(r->err, XQ_EINPUT, "%s: %s", r->name, what);
    return false;
}

static bool fail_oom(reader *r)
{
    xq_fail(r->err, XQ_ERUN, "%s: out of memory while reading %s", r->name, r->where);
    return false;
}

/* Copies a name from the file into a message, printable ASCII only, so a message stays one readable line. */
static void printable(char *dst, size_t cap, gguf_str s)
{
    size_t n = 0;
    for (uint64_t i = 0; i < s.len && n + 4 < cap; i++) {
        char c = s.ptr[i];
        dst[n++] = (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    if (s.len > n) memcpy(dst + n, "...", 3), n += 3;
    dst[n] = '\0';
}

static void set_where(reader *r, const char *what, uint64_t i, const gguf_str *name)
{
    if (name) {
        char shown[96];
        printable(shown, sizeof shown, *name);
        snprintf(r->where, sizeof r->where, "%s %" PRIu64 " ('%s')", what, i, shown);
    } else {
        snprintf(r->where, sizeof r->where, "%s %" PRIu64, what, i);
    }
    r->element = -1;
}

static bool need(reader *r, uint64_t n)
{
    if (n <= r->size - r->pos) return true;
    if (r->element >= 0)
        return fail(r, "truncated: %s element %" PRId64 " extends past end of file (size %" PRIu64 ")", r->where,
                    r->element, r->size);
    return fail(r, "truncated: %s extends past end of file (size %" PRIu64 ")", r->where, r->size);
}

static bool read_u32(reader *r, uint32_t *v)
{
    if (!need(r, 4)) return false;
    *v = load_u32(r->base + r->pos);
    r->pos += 4;
    return true;
}

static bool read_u64(reader *r, uint64_t *v)
{
    if (!need(r, 8)) return false;
    *v = load_u64(r->base + r->pos);
    r->pos += 8;
    return true;
}

static bool read_str(reader *r, gguf_str *s)
{
    uint64_t len;
    if (!read_u64(r, &len)) return false;
    if (len > r->size - r->pos) {
        char element[32] = "";
        if (r->element >= 0) snprintf(element, sizeof element, " element %" PRId64, r->element);
        return fail(r, "truncated: %s%s: string of length %" PRIu64 " extends past end of file (size %" PRIu64 ")",
                    r->where, element, len, r->size);
    }
    s->ptr = (const char *)r->base + r->pos;
    s->len = len;
    r->pos += len;
    return true;
}

/* ---- Header and metadata */

static bool parse_version(reader *r, uint32_t version)
{
    if (version == 2 || version == 3) return true;
    if (version == 1) return fail(r, "GGUF version 1 is not supported (only versions 2 and 3)");
    if (version == 0x02000000u || version == 0x03000000u)
        return fail(r, "big-endian GGUF files are not supported");
    return fail(r, "unsupported GGUF version %" PRIu32 " (only versions 2 and 3)", version);
}

static bool parse_header(reader *r, gguf_file *f)
{
    uint32_t magic;
    snprintf(r->where, sizeof r->where, "GGUF header");
    if (!read_u32(r, &magic)) return false;
    if (magic != GGUF_MAGIC)
        return fail(r, "not a GGUF file (bad magic 0x%08" PRIx32 ", expected \"GGUF\")", magic);
    if (!read_u32(r, &f->version) || !parse_version(r, f->version)) return false;
    if (!read_u64(r, &f->n_tensors) || !read_u64(r, &f->n_kv)) return false;
    uint64_t left = r->size - r->pos;
    if (f->n_kv > MAX_ENTRIES || f->n_kv > left / MIN_KV_BYTES)
        return fail(r, "metadata kv count %" PRIu64 " is impossible: the remaining %" PRIu64
                       " bytes hold at most %" PRIu64 " (truncated or corrupt file)", f->n_kv, left,
                    left / MIN_KV_BYTES);
    left -= f->n_kv * MIN_KV_BYTES;
    if (f->n_tensors > MAX_ENTRIES || f->n_tensors > left / MIN_TENSOR_INFO_BYTES)
        return fail(r, "tensor count %" PRIu64 " is impossible: the remaining %" PRIu64
                       " bytes hold at most %" PRIu64 " (truncated or corrupt file)", f->n_tensors, left,
                    left / MIN_TENSOR_INFO_BYTES);
    return true;
}

static bool parse_string_array(reader *r, gguf_kv *kv)
{
    gguf_str *strs = calloc(kv->arr_n ? kv->arr_n : 1, sizeof *strs);
    if (!strs) return fail_oom(r);
    kv->strs = strs;
    for (uint64_t i = 0; i < kv->arr_n; i++) {
        r->element = (int64_t)i;
        if (!read_str(r, &strs[i])) return false;
    }
    r->element = -1;
    return true;
}

static bool parse_array(reader *r, gguf_kv *kv)
{
    uint32_t type;
    if (!read_u32(r, &type)) return false;
    if (type == GGUF_ARRAY) return fail(r, "%s: nested arrays are not supported", r->where);
    if (type >= GGUF_VTYPE_COUNT) return fail(r, "%s: invalid array element type %" PRIu32, r->where, type);
    if (!read_u64(r, &kv->arr_n)) return false;
    kv->arr_type = type;
    kv->data = r->base + r->pos;
    uint64_t min_bytes = type == GGUF_STRING ? 8 : scalar_bytes(type);
    uint64_t left = r->size - r->pos;
    if (kv->arr_n > left / min_bytes)
        return fail(r, "%s: array count %" PRIu64 " of %s exceeds what the remaining %" PRIu64 " bytes can hold",
                    r->where, kv->arr_n, vtype_name(type), left);
    if (type == GGUF_STRING) return parse_string_array(r, kv);
    r->pos += kv->arr_n * min_bytes;
    return true;
}

static bool parse_value(reader *r, gguf_kv *kv, gguf_str *scalar_str)
{
    uint32_t type;
    if (!read_u32(r, &type)) return false;
    if (type >= GGUF_VTYPE_COUNT) return fail(r, "%s: invalid value type %" PRIu32, r->where, type);
    kv->type = type;
    kv->data = r->base + r->pos;
    if (type == GGUF_ARRAY) return parse_array(r, kv);
    if (type == GGUF_STRING) {
        kv->strs = scalar_str;
        return read_str(r, scalar_str);
    }
    if (!need(r, scalar_bytes(type))) return false;
    r->pos += scalar_bytes(type);
    return true;
}

static bool parse_kvs(reader *r, gguf_file *f)
{
    f->kvs = calloc(f->n_kv ? f->n_kv : 1, sizeof *f->kvs);
    f->scalar_strs = calloc(f->n_kv ? f->n_kv : 1, sizeof *f->scalar_strs);
    if (!f->kvs || !f->scalar_strs || !index_init(&f->kv_index, f->n_kv, f->kvs, sizeof *f->kvs))
        return fail_oom(r);
    for (uint64_t i = 0; i < f->n_kv; i++) {
        gguf_kv *kv = &f->kvs[i];
        set_where(r, "metadata kv", i, NULL);
        if (!read_str(r, &kv->key)) return false;
        set_where(r, "metadata kv", i, &kv->key);
        if (!parse_value(r, kv, &f->scalar_strs[i])) return false;
        if (!index_add(&f->kv_index, (uint32_t)i)) return fail(r, "%s: duplicate key", r->where);
    }
    return true;
}

static bool parse_alignment(reader *r, gguf_file *f)
{
    f->alignment = GGUF_DEFAULT_ALIGNMENT;
    const gguf_kv *kv = gguf_find(f, "general.alignment");
    if (!kv) return true;
    if (kv->type != GGUF_U32)
        return fail(r, "general.alignment must be a u32 (found %s)", vtype_name(kv->type));
    uint32_t a = load_u32(kv->data);
    if (!is_pow2(a)) return fail(r, "general.alignment %" PRIu32 " is not a nonzero power of two", a);
    f->alignment = a;
    return true;
}

/* ---- Tensor infos */

static bool parse_shape(reader *r, gguf_tensor *t)
{
    if (!read_u32(r, &t->n_dims)) return false;
    if (t->n_dims < 1 || t->n_dims > 4)
        return fail(r, "%s: n_dims %" PRIu32 " is out of range 1..4", r->where, t->n_dims);
    int64_t elems = 1;
    for (uint32_t d = 0; d < 4; d++) {
        uint64_t ne = 1;
        if (d < t->n_dims && !read_u64(r, &ne)) return false;
        if (ne == 0) return fail(r, "%s: dimension ne[%" PRIu32 "] is 0", r->where, d);
        if (ne > INT64_MAX || __builtin_mul_overflow(elems, (int64_t)ne, &elems))
            return fail(r, "%s: element count overflows (ne[%" PRIu32 "] = %" PRIu64 ")", r->where, d, ne);
        t->ne[d] = (int64_t)ne;
    }
    return true;
}

/* Computes nbytes for a known type; unknown types keep nbytes 0 so higher layers can name them. */
static bool compute_nbytes(reader *r, gguf_tensor *t)
{
    if (!qt_known(t->type)) return true;
    uint64_t block_elems = qt_block_elems(t->type), block_bytes = qt_block_bytes(t->type);
    if (block_elems == 0 || block_bytes == 0) return true;
    if ((uint64_t)t->ne[0] % block_elems != 0)
        return fail(r, "%s: row length %" PRId64 " is not a multiple of the block size %" PRIu64 " of type %s",
                    r->where, t->ne[0], block_elems, qt_name(t->type));
    uint64_t bytes = (uint64_t)t->ne[0] / block_elems;
    if (__builtin_mul_overflow(bytes, block_bytes, &bytes)) goto overflow;
    for (int d = 1; d < 4; d++)
        if (__builtin_mul_overflow(bytes, (uint64_t)t->ne[d], &bytes)) goto overflow;
    t->nbytes = bytes;
    return true;
overflow:
    return fail(r, "%s: data size overflows", r->where);
}

static bool parse_tensor_info(reader *r, gguf_file *f, uint64_t i)
{
    gguf_tensor *t = &f->tensors[i];
    set_where(r, "tensor info", i, NULL);
    if (!read_str(r, &t->name)) return false;
    set_where(r, "tensor info", i, &t->name);
    if (!parse_shape(r, t) || !read_u32(r, &t->type)) return false;
    if (t->type >= QT_MAX_ID) return fail(r, "%s: invalid type id %" PRIu32, r->where, t->type);
    if (!read_u64(r, &t->offset) || !compute_nbytes(r, t)) return false;
    if (!index_add(&f->tensor_index, (uint32_t)i)) return fail(r, "%s: duplicate tensor name", r->where);
    return true;
}

static bool parse_tensor_infos(reader *r, gguf_file *f)
{
    f->tensors = calloc(f->n_tensors ? f->n_tensors : 1, sizeof *f->tensors);
    if (!f->tensors || !index_init(&f->tensor_index, f->n_tensors, f->tensors, sizeof *f->tensors))
        return fail_oom(r);
    for (uint64_t i = 0; i < f->n_tensors; i++)
        if (!parse_tensor_info(r, f, i)) return false;
    return true;
}

/* Places every tensor in the data section, which begins at the first aligned offset after the infos. */
static bool place_tensor_data(reader *r, gguf_file *f)
{
    f->data_offset = align_up(r->pos, f->alignment);
    if (f->n_tensors == 0) return true; /* vocabulary-only files may end without padding */
    if (f->data_offset > r->size)
        return fail(r, "truncated: data section (offset %" PRIu64 ") starts past end of file (size %" PRIu64 ")",
                    f->data_offset, r->size);
    uint64_t data_bytes = r->size - f->data_offset;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        gguf_tensor *t = &f->tensors[i];
        set_where(r, "tensor", i, &t->name);
        if (t->offset % f->alignment != 0)
            return fail(r, "%s: data offset %" PRIu64 " is not a multiple of the alignment %" PRIu64, r->where,
                        t->offset, f->alignment);
        if (t->offset > data_bytes || t->nbytes > data_bytes - t->offset)
            return fail(r, "truncated: %s: data at offset %" PRIu64 " (%" PRIu64 " bytes) extends past end of "
                           "file (size %" PRIu64 ")", r->where, t->offset, t->nbytes, r->size);
        if (t->nbytes > 0) t->data = f->base + f->data_offset + t->offset;
    }
    return true;
}

static int parse_file(gguf_file *f, xq_err *err)
{
    reader r = {.base = f->base, .size = f->size, .name = f->path, .err = err, .element = -1};
    if (!parse_header(&r, f) || !parse_kvs(&r, f) || !parse_alignment(&r, f) || !parse_tensor_infos(&r, f) ||
        !place_tensor_data(&r, f))
        return err ? err->code : XQ_EINPUT;
    return XQ_OK;
}

static int open_mapped(const uint8_t *base, uint64_t size, void *map, const char *name, gguf_file **out,
                       xq_err *err)
{
    gguf_file *f = calloc(1, sizeof *f);
    char *path = strdup(name ? name : "(buffer)");
    if (!f || !path) {
        free(f);
        free(path);
        if (map) munmap(map, size);
        return xq_fail(err, XQ_ERUN, "%s: out of memory", name ? name : "(buffer)");
    }
    *f = (gguf_file){.path = path, .base = base, .size = size, .map = map};
    xq_err local;
    int rc = parse_file(f, err ? err : &local);
    if (rc != XQ_OK) {
        gguf_close(f);
        return rc;
    }
    *out = f;
    return XQ_OK;
}

int gguf_open_buffer(const void *buf, size_t size, const char *name, gguf_file **out, xq_err *err)
{
    *out = NULL;
    if (!buf && size > 0) return xq_fail(err, XQ_EINPUT, "%s: no buffer", name ? name : "(buffer)");
    /* An empty buffer may be NULL; point at a real byte so no arithmetic is done on a null pointer. */
    return open_mapped(size ? buf : EMPTY_BUFFER, size, NULL, name, out, err);
}

static int open_error_code(int e) { return (e == ENOMEM || e == EMFILE || e == ENFILE) ? XQ_ERUN : XQ_EINPUT; }

int gguf_open(const char *path, gguf_file **out, xq_err *err)
{
    *out = NULL;
    /* O_NONBLOCK so that a FIFO given by mistake is rejected instead of blocking the open. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return xq_fail(err, open_error_code(errno), "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return xq_fail(err, XQ_ERUN, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        const char *why = S_ISDIR(st.st_mode) ? "Is a directory" : "not a regular file";
        return xq_fail(err, XQ_EINPUT, "%s: %s", path, why);
    }
    xq_files_note_input(path, "GGUF");
    uint64_t size = (uint64_t)st.st_size;
    void *map = NULL;
    if (size > 0) {
        map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            int e = errno;
            close(fd);
            return xq_fail(err, XQ_ERUN, "%s: mmap failed: %s", path, strerror(e));
        }
    }
    close(fd);
    return open_mapped(map ? map : EMPTY_BUFFER, size, map, path, out, err);
}

/* ---- Accessors */

uint32_t gguf_version(const gguf_file *f) { return f->version; }
const char *gguf_path(const gguf_file *f) { return f->path; }
uint64_t gguf_file_size(const gguf_file *f) { return f->size; }
uint64_t gguf_alignment(const gguf_file *f) { return f->alignment; }
uint64_t gguf_data_offset(const gguf_file *f) { return f->data_offset; }
uint64_t gguf_kv_count(const gguf_file *f) { return f->n_kv; }
uint64_t gguf_tensor_count(const gguf_file *f) { return f->n_tensors; }

const gguf_kv *gguf_kv_at(const gguf_file *f, uint64_t i) { return i < f->n_kv ? &f->kvs[i] : NULL; }
const gguf_tensor *gguf_tensor_at(const gguf_file *f, uint64_t i)
{
    return i < f->n_tensors ? &f->tensors[i] : NULL;
}

const gguf_kv *gguf_find(const gguf_file *f, const char *key) { return index_find(&f->kv_index, key); }
const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name)
{
    return index_find(&f->tensor_index, name);
}

bool gguf_str_eq(gguf_str s, const char *z)
{
    return strlen(z) == s.len && (s.len == 0 || memcmp(s.ptr, z, s.len) == 0);
}

const char *gguf_vtype_name(uint32_t type) { return vtype_name(type); }

/* ---- Typed values: integers as (signed?, value) so that u64 and i64 both convert exactly. */

typedef struct int_value {
    bool is_signed;
    int64_t s;
    uint64_t u;
} int_value;

static bool read_int(gguf_vtype type, const uint8_t *p, int_value *v)
{
    int8_t i8; int16_t i16; int32_t i32; int64_t i64; uint16_t u16;
    *v = (int_value){0};
    switch (type) {
    case GGUF_U8: v->u = p[0]; return true;
    case GGUF_U16: memcpy(&u16, p, 2); v->u = u16; return true;
    case GGUF_U32: v->u = load_u32(p); return true;
    case GGUF_U64: v->u = load_u64(p); return true;
    case GGUF_I8: memcpy(&i8, p, 1); v->s = i8; break;
    case GGUF_I16: memcpy(&i16, p, 2); v->s = i16; break;
    case GGUF_I32: memcpy(&i32, p, 4); v->s = i32; break;
    case GGUF_I64: memcpy(&i64, p, 8); v->s = i64; break;
    default: return false;
    }
    v->is_signed = true;
    return true;
}

static bool read_float(gguf_vtype type, const uint8_t *p, double *out)
{
    if (type == GGUF_F32) {
        float x;
        memcpy(&x, p, 4);
        *out = x;
        return true;
    }
    if (type == GGUF_F64) {
        memcpy(out, p, 8);
        return true;
    }
    return false;
}

bool gguf_get_u64(const gguf_file *f, const char *key, uint64_t *out)
{
    const gguf_kv *kv = gguf_find(f, key);
    int_value v;
    if (!kv || !read_int(kv->type, kv->data, &v)) return false;
    if (v.is_signed && v.s < 0) return false;
    *out = v.is_signed ? (uint64_t)v.s : v.u;
    return true;
}

bool gguf_get_i64(const gguf_file *f, const char *key, int64_t *out)
{
    const gguf_kv *kv = gguf_find(f, key);
    int_value v;
    if (!kv || !read_int(kv->type, kv->data, &v)) return false;
    if (!v.is_signed && v.u > INT64_MAX) return false;
    *out = v.is_signed ? v.s : (int64_t)v.u;
    return true;
}

bool gguf_get_f64(const gguf_file *f, const char *key, double *out)
{
    const gguf_kv *kv = gguf_find(f, key);
    return kv && read_float(kv->type, kv->data, out);
}

bool gguf_get_bool(const gguf_file *f, const char *key, bool *out)
{
    const gguf_kv *kv = gguf_find(f, key);
    if (!kv || kv->type != GGUF_BOOL) return false;
    *out = kv->data[0] != 0;
    return true;
}

bool gguf_get_str(const gguf_file *f, const char *key, gguf_str *out)
{
    const gguf_kv *kv = gguf_find(f, key);
    if (!kv || kv->type != GGUF_STRING) return false;
    *out = kv->strs[0];
    return true;
}

static const uint8_t *element_ptr(const gguf_kv *kv, uint64_t i)
{
    if (kv->type != GGUF_ARRAY || i >= kv->arr_n || kv->arr_type == GGUF_STRING) return NULL;
    return kv->data + i * scalar_bytes(kv->arr_type);
}

/* Saturating float to integer: a plain cast of NaN or an out-of-range value is undefined behaviour. */
static int64_t saturate_i64(double x)
{
    if (isnan(x)) return 0;
    if (x >= 9223372036854775807.0) return INT64_MAX;
    if (x <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)x;
}

int64_t gguf_arr_i64(const gguf_kv *kv, uint64_t i)
{
    const uint8_t *p = element_ptr(kv, i);
    int_value v;
    double x;
    if (!p) return 0;
    if (kv->arr_type == GGUF_BOOL) return p[0] != 0;
    if (read_float(kv->arr_type, p, &x)) return saturate_i64(x);
    read_int(kv->arr_type, p, &v);
    if (v.is_signed) return v.s;
    return v.u > INT64_MAX ? INT64_MAX : (int64_t)v.u;
}

double gguf_arr_f64(const gguf_kv *kv, uint64_t i)
{
    const uint8_t *p = element_ptr(kv, i);
    int_value v;
    double x;
    if (!p) return 0.0;
    if (kv->arr_type == GGUF_BOOL) return p[0] != 0;
    if (read_float(kv->arr_type, p, &x)) return x;
    read_int(kv->arr_type, p, &v);
    return v.is_signed ? (double)v.s : (double)v.u;
}

/* ==== Writer ==== */

typedef struct byte_buf {
    uint8_t *p;
    size_t len, cap;
    bool oom;
} byte_buf;

static void buf_put(byte_buf *b, const void *src, size_t n)
{
    if (b->oom) return;
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap - b->len < n) cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void buf_u32(byte_buf *b, uint32_t v) { buf_put(b, &v, 4); }
static void buf_u64(byte_buf *b, uint64_t v) { buf_put(b, &v, 8); }
static void buf_str(byte_buf *b, const char *z)
{
    size_t n = strlen(z);
    buf_u64(b, n);
    buf_put(b, z, n);
}

typedef struct writer_kv {
    char *key;
    byte_buf value; /* encoded: value type, then the value */
} writer_kv;

typedef struct writer_tensor {
    char *name;
    uint32_t type, n_dims;
    int64_t ne[4];
    uint64_t nbytes, offset;
} writer_tensor;

struct gguf_writer {
    char *path;
    xq_outfile out; /* the temporary, renamed into place by gguf_writer_finish */
    writer_kv *kvs;
    size_t n_kv, cap_kv;
    writer_tensor *tensors;
    size_t n_tensors, cap_tensors;
    uint64_t alignment;
    xq_err deferred;   /* first error of a void declaration call; reported by begin_data */
    bool data_begun;
    size_t cur_tensor; /* tensor whose data is being written */
    uint64_t cur_written;
};

static void defer_error(gguf_writer *w, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void defer_error(gguf_writer *w, int code, const char *fmt, ...)
{
    if (w->deferred.code != XQ_OK) return;
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    xq_fail(&w->deferred, code, "%s: %s", w->path, what);
}

static int open_temp(gguf_writer *w, xq_err *err)
{
    int rc = xq_out_open(&w->out, w->path, err);
    if (rc == XQ_OK) setvbuf(w->out.f, NULL, _IOFBF, 1 << 18);
    return rc;
}

static void writer_free(gguf_writer *w)
{
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kvs[i].key);
        free(w->kvs[i].value.p);
    }
    for (size_t i = 0; i < w->n_tensors; i++) free(w->tensors[i].name);
    free(w->kvs);
    free(w->tensors);
    free(w->path);
    free(w);
}

int gguf_writer_create(const char *path, gguf_writer **out, xq_err *err)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) /* renaming over a device (/dev/null) would replace it */
        return xq_fail(err, XQ_EINPUT, "%s: not a regular file; a model is written to a file", path);
    gguf_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        return xq_fail(err, XQ_ERUN, "%s: out of memory", path);
    }
    w->alignment = GGUF_DEFAULT_ALIGNMENT;
    int rc = open_temp(w, err);
    if (rc != XQ_OK) {
        writer_free(w);
        return rc;
    }
    *out = w;
    return XQ_OK;
}

/* Grows an array of elem-sized items to hold one more; false when out of memory. */
static bool grow(void **items, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) return true;
    size_t new_cap = *cap ? *cap * 2 : 16;
    void *p = realloc(*items, new_cap * elem);
    if (!p) return false;
    *items = p;
    *cap = new_cap;
    return true;
}

/* Stores an encoded value under key, replacing an earlier value of the same key. Takes ownership of value. */
static void set_value(gguf_writer *w, const char *key, byte_buf value)
{
    if (w->data_begun) defer_error(w, XQ_ERUN, "metadata key '%s' set after the data began", key);
    if (value.oom) defer_error(w, XQ_ERUN, "out of memory");
    if (w->deferred.code != XQ_OK) {
        free(value.p);
        return;
    }
    for (size_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kvs[i].key, key) == 0) {
            free(w->kvs[i].value.p);
            w->kvs[i].value = value;
            return;
        }
    }
    char *key_copy = strdup(key);
    if (!key_copy || !grow((void **)&w->kvs, &w->cap_kv, w->n_kv, sizeof *w->kvs)) {
        free(key_copy);
        free(value.p);
        defer_error(w, XQ_ERUN, "out of memory");
        return;
    }
    w->kvs[w->n_kv++] = (writer_kv){.key = key_copy, .value = value};
}

static void set_scalar(gguf_writer *w, const char *key, gguf_vtype type, const void *v, size_t n)
{
    byte_buf b = {0};
    buf_u32(&b, type);
    buf_put(&b, v, n);
    set_value(w, key, b);
}

void gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t v) { set_scalar(w, key, GGUF_U32, &v, 4); }
void gguf_writer_set_i32(gguf_writer *w, const char *key, int32_t v) { set_scalar(w, key, GGUF_I32, &v, 4); }
void gguf_writer_set_u64(gguf_writer *w, const char *key, uint64_t v) { set_scalar(w, key, GGUF_U64, &v, 8); }
void gguf_writer_set_f32(gguf_writer *w, const char *key, float v) { set_scalar(w, key, GGUF_F32, &v, 4); }

void gguf_writer_set_bool(gguf_writer *w, const char *key, bool v)
{
    uint8_t byte = v ? 1 : 0;
    set_scalar(w, key, GGUF_BOOL, &byte, 1);
}

void gguf_writer_set_str(gguf_writer *w, const char *key, const char *v)
{
    byte_buf b = {0};
    buf_u32(&b, GGUF_STRING);
    buf_str(&b, v);
    set_value(w, key, b);
}

static byte_buf array_head(gguf_vtype elem_type, uint64_t n)
{
    byte_buf b = {0};
    buf_u32(&b, GGUF_ARRAY);
    buf_u32(&b, elem_type);
    buf_u64(&b, n);
    return b;
}

void gguf_writer_set_arr_str(gguf_writer *w, const char *key, const char *const *v, uint64_t n)
{
    byte_buf b = array_head(GGUF_STRING, n);
    for (uint64_t i = 0; i < n; i++) buf_str(&b, v[i]);
    set_value(w, key, b);
}

void gguf_writer_copy_kv(gguf_writer *w, const gguf_kv *kv)
{
    char *key = strndup(kv->key.ptr, (size_t)kv->key.len);
    if (!key) {
        defer_error(w, XQ_ERUN, "out of memory");
        return;
    }
    bool array = kv->type == GGUF_ARRAY;
    gguf_vtype elem = array ? kv->arr_type : kv->type;
    uint64_t n = array ? kv->arr_n : 1;
    byte_buf b = {0};
    if (array) b = array_head(elem, n);
    else buf_u32(&b, elem);
    for (uint64_t i = 0; elem == GGUF_STRING && i < n; i++) { /* a string is its length, then its bytes */
        buf_u64(&b, kv->strs[i].len);
        buf_put(&b, kv->strs[i].ptr, (size_t)kv->strs[i].len);
    }
    if (elem != GGUF_STRING && n) buf_put(&b, kv->data, (size_t)(n * scalar_bytes(elem)));
    set_value(w, key, b);
    free(key);
}

void gguf_writer_set_arr_f32(gguf_writer *w, const char *key, const float *v, uint64_t n)
{
    byte_buf b = array_head(GGUF_F32, n);
    if (n) buf_put(&b, v, n * sizeof *v);
    set_value(w, key, b);
}

void gguf_writer_set_arr_i32(gguf_writer *w, const char *key, const int32_t *v, uint64_t n)
{
    byte_buf b = array_head(GGUF_I32, n);
    if (n) buf_put(&b, v, n * sizeof *v);
    set_value(w, key, b);
}

/* Validates a declaration and computes its data size; false (with a deferred error) if it is invalid. */
static bool declared_nbytes(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims, const int64_t *ne,
                            uint64_t *nbytes)
{
    if (n_dims < 1 || n_dims > 4) {
        defer_error(w, XQ_EINPUT, "tensor '%s': n_dims %" PRIu32 " is not 1..4", name, n_dims);
        return false;
    }
    if (!qt_known(type)) {
        defer_error(w, XQ_EINPUT, "tensor '%s': unknown type id %" PRIu32, name, type);
        return false;
    }
    uint64_t rows = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
        if (ne[d] < 1 || (d > 0 && __builtin_mul_overflow(rows, (uint64_t)ne[d], &rows))) {
            defer_error(w, XQ_EINPUT, "tensor '%s': invalid or overflowing ne[%" PRIu32 "] = %" PRId64, name, d,
                        ne[d]);
            return false;
        }
    }
    uint64_t row_bytes = qt_row_bytes(type, ne[0]);
    if (row_bytes == 0) {
        defer_error(w, XQ_EINPUT, "tensor '%s': row length %" PRId64 " is not a multiple of the block size of %s",
                    name, ne[0], qt_name(type));
        return false;
    }
    if (__builtin_mul_overflow(row_bytes, rows, nbytes)) {
        defer_error(w, XQ_EINPUT, "tensor '%s': data size overflows", name);
        return false;
    }
    return true;
}

static bool tensor_declared(const gguf_writer *w, const char *name)
{
    for (size_t i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0) return true;
    return false;
}

void gguf_writer_add_tensor(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims, const int64_t *ne)
{
    uint64_t nbytes = 0;
    if (w->data_begun) defer_error(w, XQ_ERUN, "tensor '%s' declared after the data began", name);
    if (tensor_declared(w, name)) defer_error(w, XQ_EINPUT, "duplicate tensor name '%s'", name);
    if (w->deferred.code != XQ_OK || !declared_nbytes(w, name, type, n_dims, ne, &nbytes)) return;
    char *name_copy = strdup(name);
    if (!name_copy || !grow((void **)&w->tensors, &w->cap_tensors, w->n_tensors, sizeof *w->tensors)) {
        free(name_copy);
        defer_error(w, XQ_ERUN, "out of memory");
        return;
    }
    writer_tensor *t = &w->tensors[w->n_tensors++];
    *t = (writer_tensor){.name = name_copy, .type = type, .n_dims = n_dims, .nbytes = nbytes};
    for (uint32_t d = 0; d < 4; d++) t->ne[d] = d < n_dims ? ne[d] : 1;
}

static int write_bytes(gguf_writer *w, const void *p, size_t n, xq_err *err)
{
    if (n == 0 || fwrite(p, 1, n, w->out.f) == n) return XQ_OK;
    return xq_fail(err, XQ_ERUN, "%s: write failed: %s", w->path, strerror(errno));
}

static int write_zeros(gguf_writer *w, uint64_t n, xq_err *err)
{
    static const uint8_t zeros[256];
    int rc = XQ_OK;
    while (n > 0 && rc == XQ_OK) {
        size_t k = n < sizeof zeros ? (size_t)n : sizeof zeros;
        rc = write_bytes(w, zeros, k, err);
        n -= k;
    }
    return rc;
}

/* The configured alignment: general.alignment when set (must be a u32 power of two), else 32. */
static int resolve_alignment(gguf_writer *w, xq_err *err)
{
    for (size_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kvs[i].key, "general.alignment") != 0) continue;
        const byte_buf *v = &w->kvs[i].value;
        uint32_t a = v->len == 8 && load_u32(v->p) == GGUF_U32 ? load_u32(v->p + 4) : 0;
        if (!is_pow2(a))
            return xq_fail(err, XQ_EINPUT, "%s: general.alignment must be a u32 nonzero power of two", w->path);
        w->alignment = a;
    }
    return XQ_OK;
}

/* Encodes header, metadata and tensor infos (assigning aligned data offsets) into one buffer. */
static byte_buf encode_head(gguf_writer *w)
{
    byte_buf b = {0};
    buf_u32(&b, GGUF_MAGIC);
    buf_u32(&b, 3);
    buf_u64(&b, w->n_tensors);
    buf_u64(&b, w->n_kv);
    for (size_t i = 0; i < w->n_kv; i++) {
        buf_str(&b, w->kvs[i].key);
        buf_put(&b, w->kvs[i].value.p, w->kvs[i].value.len);
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < w->n_tensors; i++) {
        writer_tensor *t = &w->tensors[i];
        t->offset = offset;
        offset = align_up(offset + t->nbytes, w->alignment);
        buf_str(&b, t->name);
        buf_u32(&b, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++) buf_u64(&b, (uint64_t)t->ne[d]);
        buf_u32(&b, t->type);
        buf_u64(&b, t->offset);
    }
    return b;
}

/* Reports the first error of a void declaration call, if any. */
static int deferred_error(const gguf_writer *w, xq_err *err)
{
    if (w->deferred.code != XQ_OK && err) *err = w->deferred;
    return w->deferred.code;
}

int gguf_writer_begin_data(gguf_writer *w, xq_err *err)
{
    if (deferred_error(w, err) != XQ_OK) return w->deferred.code;
    if (w->data_begun) return xq_fail(err, XQ_ERUN, "%s: begin_data called twice", w->path);
    int rc = resolve_alignment(w, err);
    if (rc != XQ_OK) return rc;
    byte_buf head = encode_head(w);
    if (head.oom) {
        free(head.p);
        return xq_fail(err, XQ_ERUN, "%s: out of memory", w->path);
    }
    rc = write_bytes(w, head.p, head.len, err);
    /* Vocabulary-only files end after the infos; with tensors, the data section starts aligned. */
    if (rc == XQ_OK && w->n_tensors > 0) rc = write_zeros(w, align_up(head.len, w->alignment) - head.len, err);
    free(head.p);
    w->data_begun = rc == XQ_OK;
    return rc;
}

int gguf_writer_write(gguf_writer *w, const void *data, size_t n, xq_err *err)
{
    if (!w->data_begun) return xq_fail(err, XQ_ERUN, "%s: tensor data written before begin_data", w->path);
    const uint8_t *p = data;
    while (n > 0) {
        if (w->cur_tensor >= w->n_tensors)
            return xq_fail(err, XQ_ERUN, "%s: more tensor data written than declared", w->path);
        writer_tensor *t = &w->tensors[w->cur_tensor];
        uint64_t room = t->nbytes - w->cur_written;
        size_t k = n < room ? n : (size_t)room;
        int rc = write_bytes(w, p, k, err);
        if (rc != XQ_OK) return rc;
        p += k;
        n -= k;
        w->cur_written += k;
        if (w->cur_written == t->nbytes) {
            /* Pad after every tensor, the last included, as ggml's writer does. */
            rc = write_zeros(w, align_up(t->nbytes, w->alignment) - t->nbytes, err);
            if (rc != XQ_OK) return rc;
            w->cur_tensor++;
            w->cur_written = 0;
        }
    }
    return XQ_OK;
}

static int check_complete(gguf_writer *w, xq_err *err)
{
    if (w->cur_tensor >= w->n_tensors) return XQ_OK;
    const writer_tensor *t = &w->tensors[w->cur_tensor];
    return xq_fail(err, XQ_ERUN, "%s: tensor '%s' has %" PRIu64 " of its %" PRIu64 " bytes of data", w->path,
                   t->name, w->cur_written, t->nbytes);
}

int gguf_writer_finish(gguf_writer *w, xq_err *err)
{
    int rc = w->data_begun ? deferred_error(w, err) : gguf_writer_begin_data(w, err);
    if (rc == XQ_OK) rc = check_complete(w, err);
    if (rc != XQ_OK) {
        gguf_writer_abort(w);
        return rc;
    }
    rc = xq_out_commit(&w->out, err); /* flush, fsync, rename, fsync the folder */
    writer_free(w);
    return rc;
}

void gguf_writer_abort(gguf_writer *w)
{
    if (!w) return;
    xq_out_abort(&w->out);
    writer_free(w);
}
