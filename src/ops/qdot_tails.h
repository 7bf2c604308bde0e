/* The float tails of the K-quant dot products (Q2_K … Q6_K): the reference's expressions (model/qtypes.c),
 * shared by the AVX2 and AVX-512 kernels.
 *
 * GCC contracts a·b + c into an FMA wherever the target allows (-ffp-contract=fast, the gnu17 default), so the
 * reference's K-quant tails round once or twice depending on the build's flags. These helpers repeat the
 * reference expressions verbatim, compiled with the project's flags (which are qtypes.c's) in their own file and
 * never inlined into an FMA-enabled SIMD caller, so the compiler makes the same choice for both. (The legacy
 * formats need no such care: their float products are of two fp16 values, exact in f32, so fused or not rounds
 * the same.) */
#ifndef XQ_OPS_QDOT_TAILS_H
#define XQ_OPS_QDOT_TAILS_H

#include <stdint.h>

/* sum + d·yd·s1 − dmin·yd·s2 (Q2_K, Q4_K, Q5_K). */
float qdot_kq_tail(float sum, float d, float dmin, float yd, int s1, int s2);
/* sum + d·yd·total (Q3_K, Q6_K). */
float qdot_q6k_tail(float sum, float d, float yd, int total);
/* The same for the T tokens of a tile at one super-block: one call per super-block, not per token (a call per
 * token spilled the tile's unpacked codes around it and took half the time). Each element is the expression
 * above, which the compiler contracts the same way in this loop (the bit tests check it). */
void qdot_kq_tails(float *sum, int64_t T, float d, float dmin, const float *yd, const int *s1, const int *s2);
void qdot_q6k_tails(float *sum, int64_t T, float d, const float *yd, const int *total);

#endif
