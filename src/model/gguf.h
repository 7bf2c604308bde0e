/* GGUF v2/v3 reader over mmap, and a streaming writer.
 *
 * The reader validates every offset, size, count and string length against the file size before use; a file
 * that violates the format yields XQ_EINPUT with "<path>: <what is wrong>" and never an out-of-bounds read.
 * Strings returned point into the mapping and are NOT nul-terminated (use .len). */
#ifndef XQ_MODEL_GGUF_H
#define XQ_MODEL_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

/* Metadata value types, numbered as in the GGUF specification. */
typedef enum gguf_vtype {
    GGUF_U8 = 0, GGUF_I8 = 1, GGUF_U16 = 2, GGUF_I16 = 3, GGUF_U32 = 4, GGUF_I32 = 5, GGUF_F32 = 6,
    GGUF_BOOL = 7, GGUF_STRING = 8, GGUF_ARRAY = 9, GGUF_U64 = 10, GGUF_I64 = 11, GGUF_F64 = 12,
    GGUF_VTYPE_COUNT
} gguf_vtype;

typedef struct gguf_str {
    const char *ptr;
    uint64_t len;
} gguf_str;

typedef struct gguf_kv {
    gguf_str key;
    gguf_vtype type;      /* GGUF_ARRAY for arrays */
    gguf_vtype arr_type;  /* element type when type == GGUF_ARRAY */
    uint64_t arr_n;       /* element count when type == GGUF_ARRAY */
    const uint8_t *data;  /* scalar value, or first array element (unaligned, little-endian, raw encoding) */
    const gguf_str *strs; /* arr_n entries when arr_type == GGUF_STRING (owned by the file); for a scalar
                             string, strs[0] is the value; else NULL */
} gguf_kv;

typedef struct gguf_tensor {
    gguf_str name;
    uint32_t n_dims;     /* 1..4 */
    int64_t ne[4];       /* ne[0] = row length (contiguous), unused dims are 1 */
    uint32_t type;       /* ggml type id (see model/qtypes.h); may be unsupported, check before use */
    uint64_t offset;     /* relative to the data section */
    const void *data;    /* pointer into the mapping; NULL if the type is unknown (size not computable) */
    uint64_t nbytes;     /* 0 if the type is unknown */
} gguf_tensor;

typedef struct gguf_file gguf_file;

/* Opens and fully validates path. On failure returns XQ_EINPUT (or XQ_ERUN for an mmap/IO failure) and err->msg
 * is "<path>: <what is wrong>". */
int gguf_open(const char *path, gguf_file **out, xq_err *err);
/* Same, over a caller-owned buffer (used by the fuzzer); name is used in messages. buf must outlive the file. */
int gguf_open_buffer(const void *buf, size_t size, const char *name, gguf_file **out, xq_err *err);
void gguf_close(gguf_file *f);

uint32_t gguf_version(const gguf_file *f);
const char *gguf_path(const gguf_file *f);
uint64_t gguf_file_size(const gguf_file *f);
uint64_t gguf_alignment(const gguf_file *f);
/* File offset of the data section (tensor offsets are relative to it). */
uint64_t gguf_data_offset(const gguf_file *f);
/* "u32", "string", "array" … for messages; "invalid" for ids outside the enum. */
const char *gguf_vtype_name(uint32_t type);

uint64_t gguf_kv_count(const gguf_file *f);
const gguf_kv *gguf_kv_at(const gguf_file *f, uint64_t i);
const gguf_kv *gguf_find(const gguf_file *f, const char *key); /* NULL if absent */

/* Typed getters. Return false if the key is absent or not convertible; integers convert between any integer
 * types when the value fits, floats accept F32/F64. */
bool gguf_get_u64(const gguf_file *f, const char *key, uint64_t *out);
bool gguf_get_i64(const gguf_file *f, const char *key, int64_t *out);
bool gguf_get_f64(const gguf_file *f, const char *key, double *out);
bool gguf_get_bool(const gguf_file *f, const char *key, bool *out);
bool gguf_get_str(const gguf_file *f, const char *key, gguf_str *out);
/* Array element readers (kv->type must be GGUF_ARRAY, i < arr_n); integer/float element types convert. */
int64_t gguf_arr_i64(const gguf_kv *kv, uint64_t i);
double gguf_arr_f64(const gguf_kv *kv, uint64_t i);
bool gguf_str_eq(gguf_str s, const char *z);

uint64_t gguf_tensor_count(const gguf_file *f);
const gguf_tensor *gguf_tensor_at(const gguf_file *f, uint64_t i);
const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name); /* NULL if absent */

/* ---- Writer: streams a GGUF v3 file. Metadata first, then tensor infos are declared with their data
 * written in declaration order. The file appears at `path` only on gguf_writer_finish (written to a temporary
 * name and renamed), so a failed write never leaves a half-written file. */
typedef struct gguf_writer gguf_writer;

int gguf_writer_create(const char *path, gguf_writer **out, xq_err *err);
void gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t v);
void gguf_writer_set_i32(gguf_writer *w, const char *key, int32_t v);
void gguf_writer_set_u64(gguf_writer *w, const char *key, uint64_t v);
void gguf_writer_set_f32(gguf_writer *w, const char *key, float v);
void gguf_writer_set_bool(gguf_writer *w, const char *key, bool v);
void gguf_writer_set_str(gguf_writer *w, const char *key, const char *v);
void gguf_writer_set_arr_str(gguf_writer *w, const char *key, const char *const *v, uint64_t n);
void gguf_writer_set_arr_f32(gguf_writer *w, const char *key, const float *v, uint64_t n);
void gguf_writer_set_arr_i32(gguf_writer *w, const char *key, const int32_t *v, uint64_t n);
/* Copies a value read from another file (any type, arrays included) under the same key. */
void gguf_writer_copy_kv(gguf_writer *w, const gguf_kv *kv);
/* Declares a tensor (n_dims 1..4, ne[0] contiguous) of a ggml type; nbytes is computed from the type. */
void gguf_writer_add_tensor(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims, const int64_t *ne);
/* Writes header, metadata and tensor infos; afterwards tensor data is appended in declaration order. */
int gguf_writer_begin_data(gguf_writer *w, xq_err *err);
/* Appends bytes of the current tensor's data; alignment padding between tensors is inserted automatically
 * once a tensor's nbytes are complete. */
int gguf_writer_write(gguf_writer *w, const void *data, size_t n, xq_err *err);
/* Checks all data was written, flushes, fsyncs and renames into place. Frees w. */
int gguf_writer_finish(gguf_writer *w, xq_err *err);
/* Abandons the file (removes the temporary) and frees w. Call it after a failed begin_data or write. Setters
 * and add_tensor record their first error (unknown type, bad shape, duplicate name, out of memory), which
 * begin_data or finish then returns. */
void gguf_writer_abort(gguf_writer *w);

#endif
