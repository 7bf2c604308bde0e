/* ggml tensor block formats: sizes, dequantization, dot products against f32 vectors, and quantization
 * (used by the GGUF writer to make test models). Type ids are ggml's. Simple scalar code lives here; faster
 * kernels belong in src/ops behind the same semantics. */
#ifndef XQ_MODEL_QTYPES_H
#define XQ_MODEL_QTYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    QT_F32 = 0, QT_F16 = 1, QT_Q4_0 = 2, QT_Q4_1 = 3, QT_Q5_0 = 6, QT_Q5_1 = 7, QT_Q8_0 = 8, QT_Q8_1 = 9,
    QT_Q2_K = 10, QT_Q3_K = 11, QT_Q4_K = 12, QT_Q5_K = 13, QT_Q6_K = 14, QT_Q8_K = 15, QT_IQ4_NL = 20,
    QT_IQ4_XS = 23, QT_BF16 = 30, QT_MAX_ID = 64
};

/* True for the types xqprof computes with: F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K Q4_K Q5_K Q6_K
 * IQ4_NL IQ4_XS. */
bool qt_supported(uint32_t type);
/* True if the size of the type is known (supported types plus other ggml types, for skipping/reporting). */
bool qt_known(uint32_t type);
/* ggml's name ("Q4_K", "F16" …) or "type<id>" for unknown ids (static storage per id is fine). */
const char *qt_name(uint32_t type);
/* Parses a name as qt_name prints it (case-insensitive); returns -1 if not a supported type. */
int qt_from_name(const char *name);
uint32_t qt_block_elems(uint32_t type); /* elements per block (1 for float types); 0 if unknown */
uint32_t qt_block_bytes(uint32_t type); /* bytes per block; 0 if unknown */
/* Bytes of a row of n elements; 0 if n is not a multiple of the block size or the type is unknown. */
uint64_t qt_row_bytes(uint32_t type, int64_t n);

/* IQ4_NL's 16 levels: a 4-bit index i decodes to d·QT_IQ4NL_LEVELS[i]. */
extern const int8_t QT_IQ4NL_LEVELS[16];

/* n must be a multiple of the block size. */
void qt_dequant_row(uint32_t type, const void *src, float *dst, int64_t n);
float qt_dot_row(uint32_t type, const void *row, const float *x, int64_t n);
void qt_quantize_row(uint32_t type, const float *src, void *dst, int64_t n);

/* Activations as llama.cpp converts them before a dot product with weights of wtype (ggml's vec_dot_type):
 * F32→F32, F16→F16, BF16→BF16, Q4_0/Q5_0/Q8_0/IQ4_NL→Q8_0, Q4_1/Q5_1→Q8_1, Q2_K…Q6_K/IQ4_XS→Q8_K. */
uint32_t qt_act_type(uint32_t wtype);
/* Converts n activations (a multiple of the block size) to act_type (Q8_0, Q8_1, Q8_K or a float type). */
void qt_quantize_act(uint32_t act_type, const float *x, void *dst, int64_t n);
/* The activations a dot product with wtype weights sees, back in f32 (quantize, then dequantize); out may be x. */
void qt_act_roundtrip(uint32_t wtype, const float *x, float *out, int64_t n);
/* Dot product of a weight row with activations converted by qt_quantize_act(qt_act_type(wtype)): integer sums
 * per block combined with the block scales, as ggml's vec_dot does. The reference for faster kernels. */
float qt_dot_act(uint32_t wtype, const void *wrow, const void *act, int64_t n);

#endif
